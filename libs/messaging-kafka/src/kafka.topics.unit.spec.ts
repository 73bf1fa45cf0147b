import { describe, expect, it } from '@jest/globals';
import { deadLetterTopicOf, isDeadLetterTopic } from './kafka.topics.js';

describe('dead-letter topic names', () => {
  it('belong to one topic and one consumer group', () => {
    expect(deadLetterTopicOf('boxoffice.orders', 'email')).toBe('boxoffice.orders.email.dlt');
  });

  it('are told apart from the topics they serve', () => {
    expect(isDeadLetterTopic('boxoffice.orders.email.dlt')).toBe(true);
    expect(isDeadLetterTopic('boxoffice.orders')).toBe(false);
  });
});
