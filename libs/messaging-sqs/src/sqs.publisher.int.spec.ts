import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { EnvelopeFactory, PublishIncomplete, type OutgoingMessage, type RetryPolicy } from '@boxoffice/messaging';
import { numberedMessage } from '@boxoffice/messaging-contract';
import { uniqueName } from '@boxoffice/testing';
import { sqsEndpoint } from '../test/test-sqs.js';
import { SqsTransport } from './sqs.transport.js';

const Sent = numberedMessage('SqsPublisherSent', 'command');
const policy: RetryPolicy = { maxAttempts: 3, initialDelayMs: 100, multiplier: 2, maxDelayMs: 1_000, jitter: 0 };

describe('publishing to SQS', () => {
  const channel = uniqueName('sqs.publisher');
  const envelopes = new EnvelopeFactory('sqs-publisher-spec');
  const message = (seq: number, to = channel): OutgoingMessage => ({
    envelope: envelopes.create(Sent, { key: `k${seq}`, seq }),
    destination: { transport: 'sqs', channel: to, key: `k${seq}` },
  });
  let transport: SqsTransport;

  /** Every message waiting in the queue, by seq; taken off it. */
  async function drained(): Promise<number[]> {
    const url = await transport.queues.urlOf(channel);
    const seqs: number[] = [];
    for (;;) {
      const { Messages = [] } = await transport.client.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 60 }),
      );
      if (Messages.length === 0) return seqs.sort((a, b) => a - b);
      seqs.push(...Messages.map((m) => (JSON.parse(m.Body!) as { payload: { seq: number } }).payload.seq));
    }
  }

  beforeAll(async () => {
    transport = new SqsTransport({ endpoint: sqsEndpoint, retryPolicy: policy });
    await transport.provision([channel]);
  });
  afterAll(async () => {
    await transport.queues.remove(channel);
    await transport.close();
  });

  describe('when a publish goes to a queue that does not exist beside one that does', () => {
    it('names the messages for the missing queue as refused, and takes the others', async () => {
      const error = await transport.publish([message(1), message(2, uniqueName('sqs.missing')), message(3)]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PublishIncomplete);
      expect([...(error as PublishIncomplete).failed]).toEqual([[1, { reason: expect.any(String), refused: true }]]);
      await expect(drained()).resolves.toEqual([1, 3]);
    });
  });

  describe('when one message is over the 256 KB a message may be', () => {
    it('refuses that message alone, without sending it, and takes its neighbours', async () => {
      const tooLarge = { ...message(5), headers: { padding: 'x'.repeat(256 * 1024) } };
      const error = await transport.publish([message(4), tooLarge, message(6)]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PublishIncomplete);
      expect([...(error as PublishIncomplete).failed]).toEqual([[1, { reason: expect.stringMatching(/over SQS's limit/), refused: true }]]);
      await expect(drained()).resolves.toEqual([4, 6]);
    });
  });
});
