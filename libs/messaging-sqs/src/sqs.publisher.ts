import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { allConfirmed, envelopeHeaders, retryTransient, silentLogger, type Logger, type OutgoingMessage } from '@boxoffice/messaging';
import { chunk, groupIdOf, packHeaders, sizeOfEntry } from './sqs.message.js';
import type { SqsQueues } from './sqs.queues.js';

export interface SqsPublisherOptions {
  /** Tries per batch entry SQS did not take for a reason of its own (not the sender's fault). */
  readonly attempts?: number;
  readonly logger?: Logger;
}

/** Batches to one FIFO queue in flight at once, each lane carrying its own keys. */
const FIFO_LANES = 4;

function laneOf(group: string): number {
  let hash = 0;
  for (let i = 0; i < group.length; i++) hash = (hash * 31 + group.charCodeAt(i)) | 0;
  return Math.abs(hash) % FIFO_LANES;
}

/** 50 ms doubling: a throttled or busy SQS gets a moment, and the outbox relay is not held up for long. */
const entryBackoff = { initialDelayMs: 50, multiplier: 2, maxDelayMs: 1_000, jitter: 0.2 };

/** Entries SQS refused for a reason of its own: sent again after a backoff. */
class NotTakenYet extends Error {}

/**
 * The port's `publish`: every message goes with SendMessageBatch, ten (and 256 KB) at a time and
 * all batches at once, and `publish` resolves only when SQS took every entry. An entry SQS turned
 * down for a reason of its own (throttling, an internal error) is sent again; one it blames on us
 * (too big, a bad attribute), or one still refused after the tries, rejects the whole call, and
 * the outbox keeps the batch to publish it again.
 *
 * On a FIFO queue the MessageGroupId is the destination's key, so SQS keeps the order per key,
 * and the batches of one key go one after the other (four lanes of keys at once).
 * The deduplication id is one per entry and publish call, kept across its tries: SQS drops a
 * try that had landed after all, but two publishes of one envelope both arrive, for the inbox to
 * tell (a relay resending after its 5-minute window would pass SQS's dedup anyway).
 */
export class SqsPublisher {
  private readonly logger: Logger;

  constructor(
    private readonly client: SQSClient,
    private readonly queues: SqsQueues,
    private readonly options: SqsPublisherOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
  }

  async publish(messages: ReadonlyArray<OutgoingMessage>): Promise<void> {
    const byChannel = new Map<string, OutgoingMessage[]>();
    for (const message of messages)
      byChannel.set(message.destination.channel, [...(byChannel.get(message.destination.channel) ?? []), message]);
    const call = randomUUID();
    const sends: Array<Promise<void>> = [];
    for (const [channel, list] of byChannel) {
      const url = await this.queues.urlOf(channel);
      const entries = list.map((message, index) => this.entryOf(message, index, `${call}-${index}`));
      for (const lane of this.lanesOf(entries)) {
        const batches = chunk(lane, (entry) => sizeOfEntry(entry.MessageBody!, entry.MessageAttributes ?? {}));
        sends.push(this.sendInTurn(url, batches));
      }
    }
    // One confirmation per lane, not per message: which messages of a failed lane SQS took is not
    // known here, so the publish fails as a whole (a plain error, not PublishIncomplete) and the
    // outbox keeps every message of it.
    await allConfirmed(sends, 'SQS publish, in lanes of batches').catch((error: unknown) => {
      throw new Error((error as Error).message, { cause: (error as Error).cause });
    });
  }

  /**
   * Entries split for sending at once. On a standard queue each batch is a lane of its own. On a
   * FIFO queue SQS keeps a group in the order it received it, so a key's messages must go one
   * batch after the other: lanes by a hash of the group, in publish order within each.
   */
  private lanesOf(entries: ReadonlyArray<SendMessageBatchRequestEntry>): SendMessageBatchRequestEntry[][] {
    if (!this.queues.fifo) return chunk(entries, (entry) => sizeOfEntry(entry.MessageBody!, entry.MessageAttributes ?? {}));
    const lanes: SendMessageBatchRequestEntry[][] = Array.from({ length: FIFO_LANES }, () => []);
    for (const entry of entries) lanes[laneOf(entry.MessageGroupId!)].push(entry);
    return lanes.filter((lane) => lane.length > 0);
  }

  private async sendInTurn(url: string, batches: ReadonlyArray<ReadonlyArray<SendMessageBatchRequestEntry>>): Promise<void> {
    for (const batch of batches) await this.send(url, batch);
  }

  /** Sends one batch; entries SQS did not take for a reason of its own go again, until they all went or the tries are spent. */
  private async send(url: string, entries: ReadonlyArray<SendMessageBatchRequestEntry>): Promise<void> {
    let pending = entries;
    let tries = 0;
    await retryTransient(
      async () => {
        tries += 1;
        const { Failed = [] } = await this.client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [...pending] }));
        if (Failed.length === 0) return;
        // On a FIFO queue a refused entry sent again lands after its key's later entries SQS took: rare, and then that key's order breaks.
        const again = new Set(Failed.map((failure) => failure.Id));
        pending = pending.filter((entry) => again.has(entry.Id));
        this.logger.warn(`sqs publisher: ${Failed.length} messages to ${url} not taken (${Failed[0].Code})`);
        const why = Failed.map((failure) => `${failure.Id}: ${failure.Code} ${failure.Message ?? ''}`.trim()).join('; ');
        const refusal = `SQS refused ${Failed.length} of ${entries.length} messages to ${url} (after ${tries} tries): ${why}`;
        // SQS's own reasons (throttling, an internal error) pass with time; ours (too big, a bad attribute) never do.
        throw Failed.some((failure) => failure.SenderFault) ? new Error(refusal) : new NotTakenYet(refusal);
      },
      { transient: (error) => error instanceof NotTakenYet, backoff: entryBackoff, attempts: this.options.attempts ?? 5 },
    );
  }

  private entryOf(message: OutgoingMessage, index: number, deduplicationId: string): SendMessageBatchRequestEntry {
    return {
      Id: `m${index}`,
      MessageBody: JSON.stringify(message.envelope),
      MessageAttributes: packHeaders(envelopeHeaders(message.envelope, message.headers)),
      ...(this.queues.fifo ? { MessageGroupId: groupIdOf(message.destination.key), MessageDeduplicationId: deduplicationId } : {}),
    };
  }
}
