import { afterEach, describe, expect, it } from '@jest/globals';
import {
  EnvelopeFactory,
  type BatchProcessor,
  type BatchSettings,
  type InboundMessage,
  type RetryPolicy,
  type Settlement,
  type TransportConsumer,
} from '@boxoffice/messaging';
import { numberedMessage } from '@boxoffice/messaging-contract';
import { uniqueName, waitFor } from '@boxoffice/testing';
import { activeMqUrl } from '../test/test-broker.js';
import { ActiveMqTransport } from './activemq.transport.js';

const Numbered = numberedMessage('ActiveMqNumbered', 'command');
const envelopes = new EnvelopeFactory('activemq-spec');
const policy: RetryPolicy = { maxAttempts: 3, initialDelayMs: 50, multiplier: 2, maxDelayMs: 500, jitter: 0 };

/** Stands in for the pipeline: records what it was given and settles as `decide` says. */
function recorder(decide: (seq: number) => Settlement) {
  const seen: Array<{ seq: number; id: string; attempts: string | undefined }> = [];
  const processor: BatchProcessor = {
    async process(_source: string, messages: ReadonlyArray<InboundMessage>) {
      return messages.map((message) => {
        const envelope = JSON.parse(String(message.body)) as { id: string; payload: { seq: number } };
        seen.push({ seq: envelope.payload.seq, id: envelope.id, attempts: message.headers['x-attempts'] });
        return decide(envelope.payload.seq);
      });
    },
  };
  return { processor, seen };
}

/** Has the broker close `transport`'s connection, found by its local port among the broker's connections. */
async function closeFromTheBroker(transport: ActiveMqTransport): Promise<void> {
  const port = (transport.connection.current() as unknown as { _connection: { socket: { localPort: number } } })._connection.socket
    .localPort;
  const admin = new ActiveMqTransport({ url: activeMqUrl, name: 'activemq-spec-admin', retryPolicy: policy });
  await admin.connect();
  try {
    const connections = await admin.management.call<Array<{ connectionID: string; clientAddress: string }>>(
      'broker',
      'listConnectionsAsJSON',
    );
    const mine = connections.find(({ clientAddress }) => clientAddress.endsWith(`:${port}`));
    if (!mine) throw new Error(`the broker lists no connection from port ${port}`);
    await admin.management.call('broker', 'closeConnectionWithID', [mine.connectionID]);
  } finally {
    await admin.close();
  }
}

describe('the ActiveMQ consumer', () => {
  let transport: ActiveMqTransport;
  let queue: string;
  let consumer: TransportConsumer | null = null;

  /** A fresh queue, provisioned; returns how to publish numbered commands to it. */
  async function provisioned() {
    queue = uniqueName('activemq.q');
    transport = new ActiveMqTransport({
      url: activeMqUrl,
      name: 'activemq-consumer-spec',
      retryPolicy: policy,
      reconnectInitialDelayMs: 50,
    });
    await transport.connect();
    await transport.provision([queue]);
    return (count: number) => {
      const messages = Array.from({ length: count }, (_, seq) => ({
        envelope: envelopes.create(Numbered, { key: String(seq), seq }),
        destination: { transport: 'activemq', channel: queue, key: String(seq) },
      }));
      return { messages, published: transport.publish(messages) };
    };
  }

  /** The spec's consumer on the queue, started. */
  async function consume(processor: BatchProcessor, batch: BatchSettings, concurrency: number): Promise<void> {
    consumer = transport.consumer({ consumer: 'spec', channels: [queue], pipeline: processor, batch, concurrency });
    await consumer.start();
  }

  afterEach(async () => {
    await consumer?.stop();
    consumer = null;
    await transport.deprovision([queue]);
    await transport.close();
  });

  describe('when one batch holds a retry next to an ack', () => {
    it('retries the one and accepts the other, each by its own outcome', async () => {
      // rhea would give the second delivery of a turn the first one's outcome (activemq.settlement.ts).
      const { processor, seen } = recorder((seq) =>
        seq === 1 ? { kind: 'retry', delayMs: 0, attempts: 1, reason: 'not yet', headers: {} } : { kind: 'ack', as: 'done' },
      );
      const publish = await provisioned();
      await publish(3).published;
      await consume(processor, { maxMessages: 10, maxWaitMs: 50 }, 1);
      await waitFor(
        () => seen.filter((s) => s.seq === 1).length,
        (n) => n === 3,
        { description: 'the retried one delivered three times' },
      );
      expect(seen.filter((s) => s.seq === 1).map((s) => s.attempts)).toEqual([undefined, '1', '2']);
      expect(
        seen
          .filter((s) => s.seq !== 1)
          .map((s) => s.seq)
          .sort(),
      ).toEqual([0, 2]);
      // Its attempts used up, the broker parked it in the queue's own dead letter queue.
      await waitFor(
        () => transport.deadLetters([{ channel: queue, consumers: ['spec'] }]).list(),
        (list) => list.length === 1,
        { description: 'the broker to dead-letter it' },
      );
    });
  });

  describe('when the connection drops in the middle of a stream', () => {
    it('reconnects by itself and every message is handled', async () => {
      const { processor, seen } = recorder(() => ({ kind: 'ack', as: 'done' }));
      const publish = await provisioned();
      const { messages, published } = publish(300);
      await published;
      await consume(processor, { maxMessages: 20, maxWaitMs: 5 }, 2);
      await waitFor(
        () => seen.length,
        (n) => n >= 20,
        { description: 'the first batches' },
      );
      // The broker ends the connection (as when it shuts down, or an operator closes it), asked by another client.
      await closeFromTheBroker(transport);
      // Every message may be handled before the reconnect is: each assertion waits for what it names.
      await waitFor(
        () => ({ ...transport.connection.counters }),
        (counters) => counters.connects >= 2,
        { description: 'the reconnect' },
      );
      expect(transport.connection.counters).toMatchObject({ connects: 2, connectionLosses: 1 });
      await waitFor(
        () => new Set(seen.map((s) => s.id)).size,
        (n) => n === messages.length,
        { description: 'every message handled after the reconnect' },
      );
      // What was out on delivery when the connection went comes back once more (duplicates for an inbox), then the queue is empty.
      await waitFor(
        () => transport.depth(queue, 'spec'),
        (depth) => depth.waiting === 0 && depth.consumers === 2,
        { description: 'the queue drained, both lanes attached' },
      );
    });
  });
});
