import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { describeError, LaneConsumer, renewEvery, type ConsumerSpec, type Lane, type Logger, type Settlement } from '@boxoffice/messaging';
import {
  chunk,
  GROUP_HEADER,
  inboundOf,
  MAX_BATCH_ENTRIES,
  packHeaders,
  RECEIVE_ATTRIBUTES,
  sizeOfEntry,
  visibilitySecondsOf,
} from './sqs.message.js';
import type { SqsQueues } from './sqs.queues.js';

export interface SqsConsumerOptions {
  /** The long poll of a lane's first receive: short, so `stop()` is quick (SQS allows up to 20 s). */
  readonly waitTimeSeconds?: number;
  /** How long `stop()` waits for the batches in flight; after that their messages come back when their visibility times out. */
  readonly stopTimeoutMs?: number;
  readonly logger?: Logger;
}

/** A channel's queue, as the lanes on it settle to it. */
interface Queue {
  readonly channel: string;
  readonly url: string;
}

/** A message's new visibility: the retry's delay, 0 to give it back at once, or the timeout again to keep it. */
interface VisibilityChange {
  readonly message: Message;
  readonly seconds: number;
}

/** Remembered holds are few (one key's messages behind one retry); this only bounds a leak. */
const MAX_REMEMBERED_HOLDS = 10_000;

/**
 * Competing consumers on SQS queues, in batches, as lanes of the messaging runtime's LaneRunner
 * (which owns the loop, the retries while the database is away, stop and abandon). Each lane
 * long-polls its queue (up to 10 messages a receive, several receives to fill a batch within
 * `maxWaitMs`), and after the batch's commit carries out the settlements:
 *
 * - ack: DeleteMessageBatch, ten at a time;
 * - retry: the same message made visible again after the delay (ChangeMessageVisibility): the
 *   visibility timeout is the backoff, and on a FIFO queue the key's later messages wait behind it;
 * - dead-letter: a copy with the failure headers to `<queue>-dlq`, then the delete;
 * - held (FIFO only): visible again at once; its group stays blocked by the retried message.
 *
 * While a batch is in the pipeline its messages are kept invisible (every half visibility
 * timeout); a batch left unsettled on `stop()` is made visible again at once. A consumer that
 * dies before the delete loses nothing: the visibility timeout runs out and SQS hands the
 * messages out again, and the inbox turns what had committed into duplicates. SQS counts each
 * receive, and that count is the attempt number the pipeline reads (sqs.message.ts, inboundOf);
 * a message that no consumer ever settles (it kills the process each time) is moved to the dead
 * letter queue by SQS's redrive policy.
 */
export class SqsConsumer extends LaneConsumer<Message> {
  /** Receives each message spent held behind an earlier one of its key: those are not attempts. */
  private readonly holds = new Map<string, number>();

  constructor(
    private readonly client: SQSClient,
    private readonly queues: SqsQueues,
    spec: ConsumerSpec,
    private readonly options: SqsConsumerOptions = {},
  ) {
    // A FIFO queue hands out a key's messages in order and one batch at a time; a standard one in no order.
    super('sqs', spec, { ...options, semantics: { ordered: queues.fifo, exclusive: true } });
  }

  /** Creates the queues (idempotent): `concurrency` lanes per queue. */
  protected async lanes(): Promise<Array<Lane<Message>>> {
    const lanes: Array<Lane<Message>> = [];
    for (const channel of this.spec.channels) {
      const { queueUrl } = await this.queues.provision(channel);
      const lane = this.laneOn({ channel, url: queueUrl });
      for (let i = 0; i < this.spec.concurrency; i++) lanes.push(lane);
    }
    this.logger.log(`${this.label}: consuming ${this.spec.channels.join(', ')}`);
    return lanes;
  }

  /** The lane on one queue, run `concurrency` times over: it keeps nothing between batches, so its runs share it. */
  private laneOn(queue: Queue): Lane<Message> {
    return {
      source: queue.channel,
      receive: (signal) => this.nextBatch(queue, signal),
      inbound: (message) => inboundOf(message, this.holds.get(message.MessageId!) ?? 0),
      settle: (batch, settlements) => this.settle(queue, batch, settlements),
      // Not settled (stopping): given back now rather than after the visibility timeout.
      release: (batch) =>
        this.changeVisibility(
          queue,
          batch.map((message) => ({ message, seconds: 0 })),
        ),
      keepAlive: (batch) => this.keepInvisible(queue, batch),
    };
  }

  /**
   * A long poll for the first messages, then short receives until the batch is full or
   * `maxWaitMs` passed, whichever comes first: that bounds the latency batching adds.
   */
  private async nextBatch(queue: Queue, signal: AbortSignal): Promise<Message[]> {
    const { maxMessages, maxWaitMs } = this.spec.batch;
    const batch = await this.receive(queue, Math.min(MAX_BATCH_ENTRIES, maxMessages), this.options.waitTimeSeconds ?? 1, signal);
    const deadline = performance.now() + maxWaitMs;
    while (batch.length > 0 && batch.length < maxMessages && performance.now() < deadline && !signal.aborted) {
      const more = await this.receive(queue, Math.min(MAX_BATCH_ENTRIES, maxMessages - batch.length), 0, signal);
      if (more.length === 0) break;
      batch.push(...more);
    }
    return batch;
  }

  private async receive(queue: Queue, count: number, waitTimeSeconds: number, signal: AbortSignal): Promise<Message[]> {
    const { Messages = [] } = await this.client.send(
      new ReceiveMessageCommand({
        QueueUrl: queue.url,
        MaxNumberOfMessages: count,
        WaitTimeSeconds: waitTimeSeconds,
        MessageSystemAttributeNames: [...RECEIVE_ATTRIBUTES],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: signal },
    );
    return Messages;
  }

  private async settle(queue: Queue, batch: ReadonlyArray<Message>, settlements: ReadonlyArray<Settlement>): Promise<void> {
    const deletes: Message[] = [];
    const retries: VisibilityChange[] = [];
    const held: VisibilityChange[] = [];
    const deadLetters: Array<{ message: Message; headers: Record<string, string> }> = [];
    batch.forEach((message, i) => {
      const settlement = settlements[i];
      this.remember(message, settlement.kind === 'held');
      if (settlement.kind === 'ack') deletes.push(message);
      else if (settlement.kind === 'retry') retries.push({ message, seconds: visibilitySecondsOf(settlement.delayMs) });
      else if (settlement.kind === 'held') held.push({ message, seconds: 0 });
      else deadLetters.push({ message, headers: settlement.headers });
    });
    deletes.push(...(await this.moveToDeadLetters(queue, deadLetters)));
    // The retries first: on a FIFO queue they keep their key's group blocked while the held ones become visible.
    await this.changeVisibility(queue, retries);
    await this.changeVisibility(queue, held);
    await this.delete(queue, deletes);
  }

  /**
   * Copies dead letters, with their failure record, to the channel's dead letter queue, and
   * returns those SQS took (to be deleted). A copy not taken leaves its original to come back
   * after its visibility timeout and fail again. On a FIFO dead letter queue each letter is a
   * group of its own (its SQS message id), so listing sees every one; the key goes in a header,
   * for the replay. The deduplication id is the original's SQS message id: a consumer that dies
   * between the copy and the delete does not park the same delivery twice within SQS's window.
   */
  private async moveToDeadLetters(
    queue: Queue,
    letters: ReadonlyArray<{ message: Message; headers: Record<string, string> }>,
  ): Promise<Message[]> {
    if (letters.length === 0) return [];
    let url: string;
    try {
      url = await this.queues.deadLetterUrlOf(queue.channel);
    } catch (error) {
      this.logger.error(
        `${this.label} ${queue.channel}: no dead letter queue; ${letters.length} messages come back after their visibility timeout`,
        error,
      );
      return [];
    }
    const moved: Message[] = [];
    const entries = letters.map(({ message, headers }, i) => {
      const group = message.Attributes?.MessageGroupId;
      return {
        message,
        entry: {
          Id: `d${i}`,
          MessageBody: message.Body ?? '',
          MessageAttributes: packHeaders(group ? { ...headers, [GROUP_HEADER]: group } : headers),
          ...(this.queues.fifo ? { MessageGroupId: message.MessageId, MessageDeduplicationId: message.MessageId } : {}),
        },
      };
    });
    let parts: Array<typeof entries>;
    try {
      parts = chunk(entries, ({ entry }) => sizeOfEntry(entry.MessageBody, entry.MessageAttributes));
    } catch (error) {
      // With its failure record it is over SQS's 256 KB: only the redrive policy can park it (without the record).
      this.logger.error(
        `${this.label} ${queue.channel}: a dead letter is too big to copy; SQS's redrive moves it after its receives`,
        error,
      );
      return [];
    }
    await Promise.all(
      parts.map(async (part) => {
        try {
          const { Failed = [] } = await this.client.send(
            new SendMessageBatchCommand({ QueueUrl: url, Entries: part.map(({ entry }) => entry) }),
          );
          const failed = new Set(Failed.map((failure) => failure.Id));
          for (const { message, entry } of part) if (!failed.has(entry.Id)) moved.push(message);
          if (Failed.length > 0)
            this.logger.error(
              `${this.label} ${queue.channel}: ${Failed.length} dead letters not taken (${Failed[0].Code}); they come back and fail again`,
            );
        } catch (error) {
          this.logger.error(
            `${this.label} ${queue.channel}: could not park ${part.length} dead letters; they come back and fail again`,
            error,
          );
        }
      }),
    );
    return moved;
  }

  /** Deletes settled messages ten at a time, all at once: the ack, after the batch's commit. */
  private async delete(queue: Queue, messages: ReadonlyArray<Message>): Promise<void> {
    // An expired receipt handle: SQS hands the message out again, and the inbox says duplicate.
    await this.tenAtATime(queue, messages, { what: 'deletes', then: 'they come again as duplicates' }, (part) =>
      this.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queue.url,
          Entries: part.map((message, i) => ({ Id: `a${i}`, ReceiptHandle: message.ReceiptHandle })),
        }),
      ),
    );
  }

  private async changeVisibility(queue: Queue, changes: ReadonlyArray<VisibilityChange>): Promise<void> {
    await this.tenAtATime(queue, changes, { what: 'visibility changes', then: "they come back after the queue's timeout" }, (part) =>
      this.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queue.url,
          Entries: part.map(({ message, seconds }, i) => ({
            Id: `v${i}`,
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: seconds,
          })),
        }),
      ),
    );
  }

  /**
   * A batch call per ten entries, all at once, for what is best done after the commit and is no
   * loss when it fails: a failure is logged, with what follows from it, and not thrown.
   */
  private async tenAtATime<T>(
    queue: Queue,
    entries: ReadonlyArray<T>,
    failure: { readonly what: string; readonly then: string },
    send: (part: T[]) => Promise<{ Failed?: ReadonlyArray<{ Code?: string }> }>,
  ): Promise<void> {
    const warn = (why: string) => this.logger.warn(`${this.label} ${queue.channel}: ${why}; ${failure.then}`);
    await Promise.all(
      chunk(entries, () => 0).map(async (part) => {
        try {
          const { Failed = [] } = await send(part);
          if (Failed.length > 0) warn(`${Failed.length} of ${part.length} ${failure.what} failed (${Failed[0].Code})`);
        } catch (error) {
          warn(`${part.length} ${failure.what} failed (${describeError(error)})`);
        }
      }),
    );
  }

  /**
   * While the batch is in the pipeline, its messages' visibility is renewed every half timeout, so
   * nobody else gets them meanwhile; after an abandon no more (the runner ends it), as a dead process would not.
   */
  private keepInvisible(queue: Queue, batch: ReadonlyArray<Message>): () => void {
    const seconds = this.queues.settings.visibilityTimeoutSeconds;
    return renewEvery((seconds * 1000) / 2, () =>
      this.changeVisibility(
        queue,
        batch.map((message) => ({ message, seconds })),
      ),
    );
  }

  private remember(message: Message, held: boolean): void {
    const id = message.MessageId!;
    if (!held) {
      this.holds.delete(id);
      return;
    }
    this.holds.set(id, (this.holds.get(id) ?? 0) + 1);
    if (this.holds.size > MAX_REMEMBERED_HOLDS) this.holds.delete(this.holds.keys().next().value!);
  }
}
