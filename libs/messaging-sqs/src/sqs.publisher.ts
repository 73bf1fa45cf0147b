import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import {
  describeError,
  envelopeHeaders,
  retryTransient,
  silentLogger,
  throwUnlessAllTaken,
  type Logger,
  type OutgoingMessage,
  type PublishFailure,
  type PublishOptions,
} from '@boxoffice/messaging';
import { chunk, groupIdOf, MAX_BATCH_BYTES, packHeaders, sizeOfEntry } from './sqs.message.js';
import { isMissingQueue, type SqsQueues } from './sqs.queues.js';

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

/** One message of the publish, by its index in the published array, as an entry of a batch. */
interface Item {
  readonly index: number;
  readonly entry: SendMessageBatchRequestEntry;
}

/** What a publish did not get SQS to take, by index, as the port's PublishIncomplete names it. */
type Account = Map<number, PublishFailure>;

/**
 * The port's `publish`: every message goes with SendMessageBatch, ten (and 256 KB) at a time and
 * all batches at once. SQS answers each entry of a batch on its own (Successful or Failed), so the
 * publish accounts for each message: what SQS took is taken, whatever happened to its neighbours,
 * and `publish` rejects with PublishIncomplete naming the rest. An entry SQS turned down for a
 * reason of its own (throttling, an internal error) is sent again, and if still not taken after
 * the tries it is named as not answered; one it blames on us (too big, a bad attribute), and every
 * message for a queue that does not exist, is named as refused, for the outbox to park after its
 * attempts.
 *
 * On a FIFO queue the MessageGroupId is the destination's key, so SQS keeps the order per key,
 * and the batches of one key go one after the other (four lanes of keys at once). A lane stops at
 * the first batch SQS did not take whole: its later batches are not sent (named as not answered),
 * so no later message of a key overtakes one that is still to go. Within that one batch, as on
 * every transport, the later messages of a refused one's key are taken; the relay then holds the
 * key's next messages behind the refused one until it is taken or parked.
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

  /** Once the caller's signal is aborted (the relay's deadline), the requests in flight are aborted and no batch is sent after them. */
  async publish(messages: ReadonlyArray<OutgoingMessage>, { signal }: PublishOptions = {}): Promise<void> {
    const call = randomUUID();
    const byChannel = new Map<string, Item[]>();
    messages.forEach((message, index) => {
      const items = byChannel.get(message.destination.channel) ?? [];
      items.push({ index, entry: this.entryOf(message, index, `${call}-${index}`) });
      byChannel.set(message.destination.channel, items);
    });
    const failed: Account = new Map();
    const firstError: { error?: unknown } = {};
    const fail = (items: ReadonlyArray<Item>, failure: PublishFailure, error: unknown) => {
      for (const { index } of items) failed.set(index, failure);
      firstError.error ??= error;
    };
    await Promise.all([...byChannel].map(([channel, items]) => this.publishTo(channel, items, fail, signal)));
    throwUnlessAllTaken('SQS publish', failed, messages.length, firstError.error);
  }

  /** A channel's messages, in lanes of batches. */
  private async publishTo(channel: string, items: ReadonlyArray<Item>, fail: Fail, signal?: AbortSignal): Promise<void> {
    let url: string;
    try {
      url = await this.queues.urlOf(channel);
    } catch (error) {
      // No such queue is SQS's no to each message for it; any other error (SQS away) says nothing of them.
      return fail(items, { reason: describeError(error), refused: isMissingQueue(error) }, error);
    }
    const sizeOf = ({ entry }: Item) => sizeOfEntry(entry.MessageBody!, entry.MessageAttributes ?? {});
    const tooLarge = items.filter((item) => sizeOf(item) > MAX_BATCH_BYTES);
    for (const item of tooLarge) {
      const reason = `${sizeOf(item)} bytes, over SQS's limit of ${MAX_BATCH_BYTES} bytes (body and attributes)`;
      fail([item], { reason, refused: true }, new Error(reason));
    }
    const sendable = items.filter((item) => !tooLarge.includes(item));
    // On a standard queue each batch is a lane of its own. On a FIFO queue SQS keeps a group in the
    // order it received it, so a key's messages must go one batch after the other: lanes by a hash
    // of the group, in publish order within each.
    const lanes = this.queues.fifo
      ? this.fifoLanes(sendable).map((lane) => chunk(lane, sizeOf))
      : chunk(sendable, sizeOf).map((batch) => [batch]);
    await Promise.all(lanes.map((batches) => this.sendInTurn(url, batches, fail, signal)));
  }

  private fifoLanes(items: ReadonlyArray<Item>): Item[][] {
    const lanes: Item[][] = Array.from({ length: FIFO_LANES }, () => []);
    for (const item of items) lanes[laneOf(item.entry.MessageGroupId!)].push(item);
    return lanes.filter((lane) => lane.length > 0);
  }

  /** A lane's batches one after the other, until one is not taken whole: the rest are not sent. */
  private async sendInTurn(url: string, batches: ReadonlyArray<ReadonlyArray<Item>>, fail: Fail, signal?: AbortSignal): Promise<void> {
    for (const [position, batch] of batches.entries()) {
      const rest = batches.slice(position + 1).flat();
      try {
        const notTaken = await this.send(url, batch, signal);
        if (notTaken.length === 0) continue;
        for (const { item, failure } of notTaken) fail([item], failure, new Error(failure.reason));
      } catch (error) {
        // The request itself failed: nothing is known of this batch. A queue gone is a no to the rest of the lane as well.
        const failure = { reason: describeError(error), refused: isMissingQueue(error) };
        return fail([...batch, ...rest], failure, error);
      }
      return fail(rest, { reason: 'not sent: an earlier batch of its lane was not taken whole', refused: false }, null);
    }
  }

  /**
   * Sends one batch; entries SQS did not take for a reason of its own go again, until they all
   * went or the tries are spent. Returns the entries not taken, each with why.
   */
  private async send(
    url: string,
    items: ReadonlyArray<Item>,
    signal?: AbortSignal,
  ): Promise<Array<{ item: Item; failure: PublishFailure }>> {
    const byId = new Map(items.map((item) => [item.entry.Id!, item]));
    const notTaken: Array<{ item: Item; failure: PublishFailure }> = [];
    let pending = items;
    let tries = 0;
    try {
      await retryTransient(
        async () => {
          signal?.throwIfAborted();
          tries += 1;
          const { Failed = [] } = await this.client.send(
            new SendMessageBatchCommand({ QueueUrl: url, Entries: pending.map(({ entry }) => entry) }),
            { abortSignal: signal },
          );
          if (Failed.length === 0) return;
          this.logger.warn(`sqs publisher: ${Failed.length} messages to ${url} not taken (${Failed[0].Code})`);
          // Ours (too big, a bad attribute) never pass: refused at once. SQS's own (throttling, an internal error) pass with time.
          for (const failure of Failed.filter((f) => f.SenderFault))
            notTaken.push({
              item: byId.get(failure.Id!)!,
              failure: { reason: `${failure.Code} ${failure.Message ?? ''}`.trim(), refused: true },
            });
          const again = new Set(Failed.filter((f) => !f.SenderFault).map((f) => f.Id));
          pending = pending.filter(({ entry }) => again.has(entry.Id));
          if (pending.length > 0) {
            const why = Failed.filter((f) => again.has(f.Id)).map((f) => `${f.Id}: ${f.Code} ${f.Message ?? ''}`.trim());
            throw new NotTakenYet(
              `SQS did not take ${pending.length} of ${items.length} messages to ${url} (after ${tries} tries): ${why.join('; ')}`,
            );
          }
        },
        { transient: (error) => error instanceof NotTakenYet, backoff: entryBackoff, attempts: this.options.attempts ?? 5 },
      );
    } catch (error) {
      if (!(error instanceof NotTakenYet)) throw error;
      for (const item of pending) notTaken.push({ item, failure: { reason: error.message, refused: false } });
    }
    return notTaken;
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

type Fail = (items: ReadonlyArray<Item>, failure: PublishFailure, error: unknown) => void;
