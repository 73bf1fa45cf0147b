import { describe, expect, it } from '@jest/globals';
import { silentLogger, type Logger } from '../logger.js';
import type { ConsumerState, TransportConsumer } from '../transport.port.js';
import { BrokerTransport, type TransportOptions } from './broker.transport.js';

/** A consumer that says how it was left. */
class TestConsumer implements TransportConsumer {
  state: ConsumerState = 'running';
  async start(): Promise<void> {}
  async stop(): Promise<void> {
    this.state = 'stopped';
  }
  abandon(): void {
    this.state = 'stopped';
  }
}

/** A transport that makes consumers and leaves them as it is told to on close. */
class TestTransport extends BrokerTransport<TestConsumer> {
  constructor(
    options: TransportOptions,
    private readonly leave: (consumer: TestConsumer) => void | Promise<void> = (consumer) => consumer.abandon(),
  ) {
    super('nats', options);
  }

  healthChecks = 0;

  get logs(): Logger {
    return this.logger;
  }

  async health(): Promise<void> {
    this.healthChecks += 1;
  }

  async provision(): Promise<void> {}

  consumer(): TestConsumer {
    return this.track(new TestConsumer());
  }

  close(): Promise<void> {
    return this.leaveConsumers(this.leave);
  }
}

describe('what every transport keeps', () => {
  it('is named for its broker, and logs nowhere unless given a logger', () => {
    const logger: Logger = { ...silentLogger };
    expect(new TestTransport({}).name).toBe('nats');
    expect(new TestTransport({}).logs).toBe(silentLogger);
    expect(new TestTransport({ logger }).logs).toBe(logger);
  });

  it('connects, with nothing to hold open, by asking the broker once', async () => {
    const transport = new TestTransport({});
    await transport.connect();
    expect(transport.healthChecks).toBe(1);
  });

  it('leaves every consumer it made on close, once, and waits for each', async () => {
    const left: TestConsumer[] = [];
    let release!: () => void;
    const stopping = new Promise<void>((resolve) => (release = resolve));
    const transport = new TestTransport({}, async (consumer) => {
      await stopping; // a stop that takes its time, until the spec lets it end
      left.push(consumer);
      await consumer.stop();
    });
    const consumers = [transport.consumer(), transport.consumer()];
    let closed = false;
    const closing = transport.close().then(() => (closed = true));
    await Promise.resolve();
    expect(closed).toBe(false);
    release();
    await closing;
    expect(left).toEqual(consumers);
    expect(consumers.map((consumer) => consumer.state)).toEqual(['stopped', 'stopped']);
    await transport.close();
    expect(left).toHaveLength(2);
  });
});
