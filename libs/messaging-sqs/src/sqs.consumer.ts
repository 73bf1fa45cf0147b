import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { setTimeout as delay } from 'node:timers/promises';
import {
  Backoff,
  reconnectBackoff,
  silentLogger,
  type ConsumerSpec,
  type ConsumerState,
  type Logger,
  type Settlement,
  type SourceSemantics,
  type TransportConsumer,
} from '@boxoffice/messaging';
import { chunk, GROUP_HEADER, inboundOf, MAX_BATCH_ENTRIES, packHeaders, RECEIVE_ATTRIBUTES, sizeOfEntry, visibilitySecondsOf } from './sqs.message.js';
import type { SqsQueues } from './sqs.queues.js';

export interface SqsConsumerOptions {
  /** The long poll of a lane's first receive: short, so `stop()` is quick (SQS allows up to 20 s). */
  readonly waitTimeSeconds?: number;
  /** How long `stop()` waits for the batches in flight; after that their messages come back when their visibility times out. */
  readonly stopTimeoutMs?: number;
  readonly logger?: Logger;
}

/** One receive loop on one queue: it gathers a batch, has it processed, settles it, and takes the next. */
interface Lane {
  readonly channel: string;
  readonly url: string;
  running: Promise<void> | null;
}

/** Remembered holds are few (one key's messages behind one retry); this only bounds a leak. */
const MAX_REMEMBERED_HOLDS = 10_000;

/**
 * Competing consumers on SQS queues, in batches. Each lane long-polls its queue (up to 10
 * messages a receive, several receives to fill a batch within `maxWaitMs`), hands the batch to
 * the pipeline, and after its commit carries out the settlements:
 *
 * - ack: DeleteMessageBatch, ten at a time;
 * - retry: the same message made visible again after the delay (ChangeMessageVisibility): the
 *   visibility timeout is the backoff, and on a FIFO queue the key's later messages wait behind it;
 * - dead-letter: a copy with the failure headers to `<queue>-dlq`, then the delete;
 * - held (FIFO only): visible again at once; its group stays blocked by the retried message.
 *
 * While a batch is in the pipeline its messages are kept invisible (every half visibility
 * timeout). A consumer that dies before the delete loses nothing: the visibility timeout runs
 * out and SQS hands the messages out again, and the inbox turns what had committed into
 * duplicates. SQS counts each receive, and that count is the attempt number the pipeline reads
 * (sqs.message.ts, inboundOf); a message that no consumer ever settles (it kills the process
 * each time) is moved to the dead letter queue by SQS's redrive policy.
 */
export class SqsConsumer implements TransportConsumer {
  private readonly lanes: Lane[] = [];
  private readonly semantics: SourceSemantics;
  private readonly logger: Logger;
  /** Receives each message spent held behind an earlier one of its key: those are not attempts. */
  private readonly holds = new Map<string, number>();
  private phase: ConsumerState = 'new';
  private stopping = false;
  /** Set by `abandon()`: nothing in flight is settled any more, as if the process had died. */
  private abandoned = false;
  private halt = new AbortController();

  constructor(
    private readonly client: SQSClient,
    private readonly queues: SqsQueues,
    private readonly spec: ConsumerSpec,
    private readonly options: SqsConsumerOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    // A FIFO queue hands out a key's messages in order and one batch at a time; a standard one in no order.
    this.semantics = { ordered: queues.fifo, exclusive: true };
  }

  get state(): ConsumerState {
    return this.phase;
  }

  /** Creates the queues (idempotent), then starts `concurrency` receive loops per queue. */
  async start(): Promise<void> {
    if (this.phase === 'starting' || this.phase === 'running') throw new Error('SqsConsumer already started');
    this.phase = 'starting';
    this.stopping = false;
    this.abandoned = false;
    this.halt = new AbortController();
    try {
      for (const channel of this.spec.channels) {
        const { queueUrl } = await this.queues.provision(channel);
        for (let i = 0; i < this.spec.concurrency; i++) this.lanes.push({ channel, url: queueUrl, running: null });
      }
    } catch (error) {
      this.lanes.splice(0);
      this.phase = 'stopped';
      throw error;
    }
    for (const lane of this.lanes) lane.running = this.run(lane);
    this.phase = 'running';
    this.logger.log(`sqs consumer ${this.spec.consumer}: consuming ${this.spec.channels.join(', ')}`);
  }

  /** Stops receiving, lets the batches in flight finish and settle (up to `stopTimeoutMs`). */
  async stop(): Promise<void> {
    if (this.phase !== 'running') return;
    this.phase = 'stopping';
    this.stopping = true;
    this.halt.abort();
    const timeoutMs = this.options.stopTimeoutMs ?? 10_000;
    const timer = new AbortController();
    const finished = await Promise.race([
      Promise.allSettled(this.lanes.map((lane) => lane.running)).then(() => true),
      delay(timeoutMs, false, { signal: timer.signal }).catch(() => false),
    ]);
    timer.abort();
    if (!finished) this.logger.warn(`sqs consumer: batches still running after ${timeoutMs} ms; SQS hands their messages out again after their visibility timeout`);
    this.lanes.splice(0);
    this.phase = 'stopped';
  }

  /** Leaves at once, settling nothing more: what is in flight comes back after its visibility timeout. */
  abandon(): void {
    if (this.phase !== 'running') return;
    this.abandoned = true;
    this.stopping = true;
    this.halt.abort();
    this.lanes.splice(0);
    this.phase = 'stopped';
  }

  private async run(lane: Lane): Promise<void> {
    const backoff = new Backoff(reconnectBackoff);
    while (!this.stopping) {
      let batch: Message[];
      try {
        batch = await this.nextBatch(lane);
        backoff.reset();
      } catch (error) {
        if (this.stopping) break;
        const wait = backoff.next();
        this.logger.warn(`sqs consumer ${lane.channel}: receiving failed (${String(error)}); trying again in ${wait} ms`);
        await delay(wait, undefined, { signal: this.halt.signal }).catch(() => {});
        continue;
      }
      if (batch.length === 0) continue;
      try {
        await this.handle(lane, batch);
      } catch (error) {
        // Unsettled: the messages come back after their visibility timeout.
        this.logger.error(`sqs consumer ${lane.channel}: settling a batch failed`, error);
      }
    }
  }

  /**
   * A long poll for the first messages, then short receives until the batch is full or
   * `maxWaitMs` passed, whichever comes first: that bounds the latency batching adds.
   */
  private async nextBatch(lane: Lane): Promise<Message[]> {
    const { maxMessages, maxWaitMs } = this.spec.batch;
    const batch = await this.receive(lane.url, Math.min(MAX_BATCH_ENTRIES, maxMessages), this.options.waitTimeSeconds ?? 1);
    const deadline = performance.now() + maxWaitMs;
    while (batch.length > 0 && batch.length < maxMessages && performance.now() < deadline && !this.stopping) {
      const more = await this.receive(lane.url, Math.min(MAX_BATCH_ENTRIES, maxMessages - batch.length), 0);
      if (more.length === 0) break;
      batch.push(...more);
    }
    return batch;
  }

  private async receive(url: string, count: number, waitTimeSeconds: number): Promise<Message[]> {
    const { Messages = [] } = await this.client.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: count,
        WaitTimeSeconds: waitTimeSeconds,
        MessageSystemAttributeNames: [...RECEIVE_ATTRIBUTES],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: this.halt.signal },
    );
    return Messages;
  }

  /** Processes a batch (again after a backoff while the database is away), keeping it invisible meanwhile, and settles it. */
  private async handle(lane: Lane, batch: ReadonlyArray<Message>): Promise<void> {
    const inbound = batch.map((message) => inboundOf(message, this.holds.get(message.MessageId!) ?? 0));
    const stopKeeping = this.keepInvisible(lane, batch);
    const backoff = new Backoff(reconnectBackoff);
    let settlements: Settlement[] | null = null;
    try {
      while (settlements === null) {
        try {
          settlements = await this.spec.pipeline.process(lane.channel, inbound, this.semantics);
        } catch (error) {
          if (this.abandoned) return;
          if (this.stopping) {
            // Not settled: given back now rather than after the visibility timeout.
            await this.changeVisibility(lane, batch.map((message) => ({ message, seconds: 0 })));
            return;
          }
          const wait = backoff.next();
          this.logger.warn(`sqs consumer ${lane.channel}: a batch of ${batch.length} failed (${String(error)}); trying it again in ${wait} ms`);
          await delay(wait, undefined, { signal: this.halt.signal }).catch(() => {});
        }
      }
    } finally {
      stopKeeping();
    }
    if (this.abandoned) return;
    await this.settle(lane, batch, settlements);
  }

  private async settle(lane: Lane, batch: ReadonlyArray<Message>, settlements: ReadonlyArray<Settlement>): Promise<void> {
    const deletes: Message[] = [];
    const visibility: Array<{ message: Message; seconds: number }> = [];
    const held: Array<{ message: Message; seconds: number }> = [];
    const deadLetters: Array<{ message: Message; headers: Record<string, string> }> = [];
    batch.forEach((message, i) => {
      const settlement = settlements[i];
      this.remember(message, settlement.kind === 'held');
      if (settlement.kind === 'ack') deletes.push(message);
      else if (settlement.kind === 'retry') visibility.push({ message, seconds: visibilitySecondsOf(settlement.delayMs) });
      else if (settlement.kind === 'held') held.push({ message, seconds: 0 });
      else deadLetters.push({ message, headers: settlement.headers });
    });
    deletes.push(...(await this.moveToDeadLetters(lane, deadLetters)));
    // The retries first: on a FIFO queue they keep their key's group blocked while the held ones become visible.
    await this.changeVisibility(lane, visibility);
    await this.changeVisibility(lane, held);
    await this.delete(lane, deletes);
  }

  /**
   * Copies dead letters, with their failure record, to the channel's dead letter queue, and
   * returns those SQS took (to be deleted). A copy not taken leaves its original to come back
   * after its visibility timeout and fail again. On a FIFO dead letter queue each letter is a
   * group of its own (its SQS message id), so listing sees every one; the key goes in a header,
   * for the replay. The deduplication id is the original's SQS message id: a consumer that dies
   * between the copy and the delete does not park the same delivery twice within SQS's window.
   */
  private async moveToDeadLetters(lane: Lane, letters: ReadonlyArray<{ message: Message; headers: Record<string, string> }>): Promise<Message[]> {
    if (letters.length === 0) return [];
    let url: string;
    try {
      url = await this.queues.deadLetterUrlOf(lane.channel);
    } catch (error) {
      this.logger.error(`sqs consumer ${lane.channel}: no dead letter queue; ${letters.length} messages come back after their visibility timeout`, error);
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
      this.logger.error(`sqs consumer ${lane.channel}: a dead letter is too big to copy; SQS's redrive moves it after its receives`, error);
      return [];
    }
    await Promise.all(
      parts.map(async (part) => {
        try {
          const { Failed = [] } = await this.client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: part.map(({ entry }) => entry) }));
          const failed = new Set(Failed.map((failure) => failure.Id));
          for (const { message, entry } of part) if (!failed.has(entry.Id)) moved.push(message);
          if (Failed.length > 0) this.logger.error(`sqs consumer ${lane.channel}: ${Failed.length} dead letters not taken (${Failed[0].Code}); they come back and fail again`);
        } catch (error) {
          this.logger.error(`sqs consumer ${lane.channel}: could not park ${part.length} dead letters; they come back and fail again`, error);
        }
      }),
    );
    return moved;
  }

  /** Deletes settled messages ten at a time, all at once: the ack, after the batch's commit. */
  private async delete(lane: Lane, messages: ReadonlyArray<Message>): Promise<void> {
    await Promise.all(
      chunk(messages, () => 0).map(async (part) => {
        try {
          const { Failed = [] } = await this.client.send(
            new DeleteMessageBatchCommand({ QueueUrl: lane.url, Entries: part.map((message, i) => ({ Id: `a${i}`, ReceiptHandle: message.ReceiptHandle })) }),
          );
          // An expired receipt handle: SQS hands the message out again, and the inbox says duplicate.
          if (Failed.length > 0) this.logger.warn(`sqs consumer ${lane.channel}: ${Failed.length} deletes failed (${Failed[0].Code}); those messages come again as duplicates`);
        } catch (error) {
          this.logger.warn(`sqs consumer ${lane.channel}: deleting ${part.length} messages failed (${String(error)}); they come again as duplicates`);
        }
      }),
    );
  }

  private async changeVisibility(lane: Lane, changes: ReadonlyArray<{ message: Message; seconds: number }>): Promise<void> {
    await Promise.all(
      chunk(changes, () => 0).map(async (part) => {
        try {
          const { Failed = [] } = await this.client.send(
            new ChangeMessageVisibilityBatchCommand({
              QueueUrl: lane.url,
              Entries: part.map(({ message, seconds }, i) => ({ Id: `v${i}`, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: seconds })),
            }),
          );
          if (Failed.length > 0) this.logger.warn(`sqs consumer ${lane.channel}: ${Failed.length} visibility changes failed (${Failed[0].Code}); those come back after the queue's timeout`);
        } catch (error) {
          this.logger.warn(`sqs consumer ${lane.channel}: changing the visibility of ${part.length} messages failed (${String(error)}); they come back after the queue's timeout`);
        }
      }),
    );
  }

  /** While the batch is in the pipeline, its messages' visibility is renewed every half timeout, so nobody else gets them meanwhile. */
  private keepInvisible(lane: Lane, batch: ReadonlyArray<Message>): () => void {
    const seconds = this.queues.settings.visibilityTimeoutSeconds;
    const timer = setInterval(() => {
      if (this.abandoned) return;
      void this.changeVisibility(lane, batch.map((message) => ({ message, seconds })));
    }, (seconds * 1000) / 2);
    timer.unref();
    return () => clearInterval(timer);
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
