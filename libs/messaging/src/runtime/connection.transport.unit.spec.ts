import { describe, expect, it } from '@jest/globals';
import type { ConsumerState, OutgoingMessage, TransportConsumer } from '../transport.port.js';
import { ConnectionTransport, type ConnectionPublisher } from './connection.transport.js';
import { HealingConnection } from './healing.connection.js';

/** A transport whose broker, publisher and consumers write down, in order, what was done to them. */
class TestTransport extends ConnectionTransport<string, TransportConsumer & { abandon(): void }> {
  readonly connection: HealingConnection<string>;
  protected readonly publisher: ConnectionPublisher;

  constructor(readonly steps: string[]) {
    super('rabbitmq', {});
    this.connection = new HealingConnection<string>(
      {
        open: async () => (steps.push('open'), 'connection'),
        close: async () => void steps.push('close the connection'),
        watch: () => {},
      },
      { name: 'test' },
    );
    this.publisher = {
      publish: async (messages) => void steps.push(`publish ${messages.length}`),
      close: async () => void steps.push('close the publisher'),
    };
  }

  async provision(): Promise<void> {}

  consumer(name: string): TransportConsumer {
    const steps = this.steps;
    return this.track({
      state: 'running' as ConsumerState,
      start: async () => {},
      stop: async () => {},
      abandon: () => void steps.push(`abandon ${name}`),
    });
  }

  async health(): Promise<void> {}
}

describe('a transport on a self-healing connection', () => {
  it('connects its connection, publishes with its publisher, and on close abandons its consumers, then closes the publisher and the connection', async () => {
    const steps: string[] = [];
    const transport = new TestTransport(steps);
    await transport.connect();
    await transport.publish([{} as OutgoingMessage, {} as OutgoingMessage]);
    transport.consumer('a');
    transport.consumer('b');
    await transport.close();
    expect(steps).toEqual(['open', 'publish 2', 'abandon a', 'abandon b', 'close the publisher', 'close the connection']);
  });
});
