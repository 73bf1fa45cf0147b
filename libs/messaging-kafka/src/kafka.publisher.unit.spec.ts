import { describe, expect, it } from '@jest/globals';
import type { OutgoingMessage } from '@boxoffice/messaging';
import { toTopicMessages } from './kafka.publisher.js';
import { testEvent } from './testing/kafka.fixtures.js';

describe('toTopicMessages', () => {
  it('groups a batch by topic, keeping the order within each topic', () => {
    const batch = [
      testEvent('orders', 'o-1', 0),
      testEvent('payments', 'o-1', 1),
      testEvent('orders', 'o-2', 2),
      testEvent('orders', 'o-1', 3),
    ];

    const grouped = toTopicMessages(batch);

    expect(grouped.map((g) => [g.topic, g.messages.map((m) => m.key)])).toEqual([
      ['orders', ['o-1', 'o-2', 'o-1']],
      ['payments', ['o-1']],
    ]);
    expect(grouped[0].messages.map((m) => JSON.parse(m.value as string).payload.seq)).toEqual([0, 2, 3]);
  });

  it('sends the envelope as JSON, keyed by the destination key, with its headers', () => {
    const message = testEvent('orders', 'o-1');
    const [{ messages }] = toTopicMessages([{ ...message, headers: { 'x-extra': 'yes' } }]);
    expect(messages[0]).toEqual({
      key: 'o-1',
      value: JSON.stringify(message.envelope),
      headers: expect.objectContaining({ 'message-id': message.envelope.id, type: 'KafkaTestEvent', 'x-extra': 'yes' }),
    });
  });

  it('refuses a message meant for RabbitMQ', () => {
    const command: OutgoingMessage = { ...testEvent('orders', 'o-1'), destination: { transport: 'rabbitmq', channel: 'q', key: 'k' } };
    expect(() => toTopicMessages([command])).toThrow(/cannot publish .* to rabbitmq/);
  });
});
