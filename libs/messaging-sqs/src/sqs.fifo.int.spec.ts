import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ChangeMessageVisibilityCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { EnvelopeFactory, Outcome, type ConsumerPipeline, type HandlerOutcome } from '@boxoffice/messaging';
import type { MessageHandler, RetryPolicy, SqlExecutor, TransportConsumer } from '@boxoffice/messaging';
import { numberedMessage, numberedPipeline, type Numbered } from '@boxoffice/messaging-contract';
import { createTestDatabase, uniqueName, waitFor, type TestDatabase } from '@boxoffice/testing';
import { sqsEndpoint, testVisibilityTimeoutSeconds } from '../test/test-sqs.js';
import { SqsTransport } from './sqs.transport.js';

const Step = numberedMessage('SqsSpecStep', 'command');

const policy: RetryPolicy = { maxAttempts: 3, initialDelayMs: 100, multiplier: 2, maxDelayMs: 1_000, jitter: 0 };

describe('SQS FIFO queues', () => {
  let db: TestDatabase;
  let transport: SqsTransport;
  let channel: string;
  let consumer: TransportConsumer;
  const envelopes = new EnvelopeFactory('sqs-spec');
  let decide: (seq: number, attempt: number) => HandlerOutcome;
  let handled: Array<{ seq: number; attempt: number }>;

  const handler: MessageHandler<Numbered, SqlExecutor> = {
    async handle(message, context) {
      handled.push({ seq: message.payload.seq, attempt: context.attempt });
      return decide(message.payload.seq, context.attempt);
    },
  };

  async function consume(): Promise<ConsumerPipeline<SqlExecutor>> {
    const pipeline = numberedPipeline(db, Step, handler, { consumer: uniqueName('sqs-spec'), retryPolicy: policy });
    consumer = transport.consumer({
      consumer: pipeline.consumer,
      channels: [channel],
      pipeline,
      batch: { maxMessages: 50, maxWaitMs: 10 },
      concurrency: 2,
    });
    await consumer.start();
    return pipeline;
  }

  beforeAll(async () => {
    db = await createTestDatabase('sqs_fifo', [
      new URL('../../messaging/sql/outbox-inbox.sql', import.meta.url),
      new URL('../../messaging/sql/outbox-parking.sql', import.meta.url),
    ]);
  });
  afterAll(() => db.drop());

  beforeEach(async () => {
    handled = [];
    decide = () => Outcome.done();
    channel = uniqueName('sqs.spec');
    transport = new SqsTransport({ endpoint: sqsEndpoint, retryPolicy: policy, visibilityTimeoutSeconds: testVisibilityTimeoutSeconds });
    await transport.provision([channel]);
  });
  afterEach(async () => {
    await consumer?.stop();
    await transport.queues.remove(channel);
    await transport.close();
  });

  describe('when a message of a key is retried', () => {
    it('keeps the later messages of that key behind it, and their waiting is not counted as attempts', async () => {
      decide = (seq, attempt) => (seq === 1 && attempt < 3 ? Outcome.retry('not yet') : Outcome.done());
      await transport.publish(
        [1, 2, 3].map((seq) => ({
          envelope: envelopes.create(Step, { key: 'k', seq }),
          destination: { transport: 'sqs', channel, key: 'k' },
        })),
      );
      const pipeline = await consume();
      await waitFor(
        () => pipeline.counters.processed,
        (n) => n === 3,
        { description: 'all three done', timeoutMs: 20_000 },
      );
      const done = handled.filter(({ seq, attempt }) => seq !== 1 || attempt === 3);
      expect(done).toEqual([
        { seq: 1, attempt: 3 },
        { seq: 2, attempt: 1 },
        { seq: 3, attempt: 1 },
      ]);
    });
  });

  describe('when a message cannot be decoded', () => {
    it('is in the dead letter queue after its first receive, with why', async () => {
      const url = await transport.queues.urlOf(channel);
      await transport.client.send(
        new SendMessageCommand({ QueueUrl: url, MessageBody: 'not json', MessageGroupId: 'k', MessageDeduplicationId: 'poison-1' }),
      );
      const pipeline = await consume();
      const store = transport.deadLetters([{ channel, consumers: [pipeline.consumer] }]);
      const [letter] = await waitFor(
        () => store.list(),
        (list) => list.length === 1,
        { description: 'the poison message parked' },
      );
      expect(letter).toMatchObject({ id: null, attempts: 1, originalSource: channel, body: 'not json', transport: 'sqs' });
      expect(letter.lastError).toMatch(/^poison/);
      expect(handled).toEqual([]);
    });
  });

  describe('when a message is received more often than the redrive policy allows, and never settled', () => {
    it('is moved to the dead letter queue by SQS itself, and replays from there under its key', async () => {
      const strict = new SqsTransport({
        endpoint: sqsEndpoint,
        retryPolicy: policy,
        visibilityTimeoutSeconds: testVisibilityTimeoutSeconds,
        maxReceiveCount: 1,
      });
      await strict.provision([channel]);
      const step = envelopes.create(Step, { key: 'k', seq: 7 });
      await strict.publish([{ envelope: step, destination: { transport: 'sqs', channel, key: 'k' } }]);
      const url = await strict.queues.urlOf(channel);
      // A consumer that takes it and dies: received once, never deleted, visible again.
      const { Messages = [] } = await strict.client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
      expect(Messages).toHaveLength(1);
      await strict.client.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: Messages[0].ReceiptHandle, VisibilityTimeout: 0 }),
      );
      // The next receive finds its count spent, and SQS moves it instead of handing it out.
      const next = await strict.client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
      expect(next.Messages ?? []).toEqual([]);

      const store = strict.deadLetters([{ channel, consumers: ['sqs-spec'] }]);
      const [letter] = await waitFor(
        () => store.list(),
        (list) => list.length === 1,
        { description: 'the redriven message' },
      );
      expect(letter).toMatchObject({ id: step.id, originalSource: channel, lastError: expect.stringMatching(/redrive/) });
      await expect(store.counts?.()).resolves.toEqual([{ store: strict.queues.deadLetterQueueNameOf(channel), messages: 1 }]);
      await store.replay(step.id);
      await strict.close();
      const pipeline = await consume();
      await waitFor(
        () => pipeline.counters.processed,
        (n) => n === 1,
        { description: 'the replayed message done' },
      );
      expect(handled).toEqual([{ seq: 7, attempt: 1 }]);
    });
  });

  describe('when a channel is provisioned again with another visibility timeout', () => {
    it('keeps the queue and takes the new timeout', async () => {
      const again = new SqsTransport({ endpoint: sqsEndpoint, retryPolicy: policy, visibilityTimeoutSeconds: 7 });
      await again.provision([channel]);
      const url = await again.queues.urlOf(channel);
      const { Attributes } = await again.client.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['VisibilityTimeout', 'RedrivePolicy', 'FifoQueue'] }),
      );
      await again.close();
      expect(Attributes).toMatchObject({ VisibilityTimeout: '7', FifoQueue: 'true' });
      expect(JSON.parse(Attributes!.RedrivePolicy!)).toMatchObject({ maxReceiveCount: 6 });
    });
  });
});
