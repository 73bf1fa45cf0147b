import { describe, expect, it } from '@jest/globals';
import { FailureHeaders } from '../failure.headers.js';
import { logDeadLetterOf } from './dead-letter.logs.js';

describe('a dead letter on a log', () => {
  const parked = { transport: 'kafka', store: 'boxoffice.orders.email.dlt', body: '{"id":"m-1"}', position: 'partition 0 offset 3' };

  it('is read from its failure record, and goes back where that record says', () => {
    const headers = { 'message-id': 'm-1', [FailureHeaders.attempts]: '5', [FailureHeaders.originalSource]: 'boxoffice.orders' };
    expect(logDeadLetterOf({ ...parked, headers })).toMatchObject({
      id: 'm-1',
      attempts: 5,
      originalSource: 'boxoffice.orders',
      position: 'partition 0 offset 3',
      body: '{"id":"m-1"}',
    });
  });

  it('names no source without that record, rather than guessing one from the log', () => {
    expect(logDeadLetterOf({ ...parked, headers: { 'message-id': 'm-1' } }).originalSource).toBe('');
  });
});
