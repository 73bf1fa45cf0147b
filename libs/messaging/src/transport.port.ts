import type { Envelope } from '@boxoffice/contracts';
import type { DeadLetterStore } from './dead-letters/dead-letter.js';
import type { Destination, TransportName } from './destination.js';
import type { Headers } from './failure.headers.js';
import type { SqlExecutor } from './sql-client.js';

/** A message as a transport received it: bytes and headers, nothing decoded yet. */
export interface InboundMessage {
  readonly body: Buffer | string | null;
  readonly headers: Headers;
}

/**
 * What the transport must do with one message of a batch, after the batch's commit:
 * - `ack`: done, a duplicate the inbox dropped, or an event this consumer does not take;
 * - `retry`: deliver it again after `delayMs`, carrying `headers` (its failure record);
 * - `dead-letter`: park it with `headers` in the dead letter store;
 * - `held`: not handled, because an earlier message of an ordered source is waiting for a retry;
 *   deliver it again after that one.
 */
export type Settlement =
  | { readonly kind: 'ack'; readonly as: 'done' | 'duplicate' | 'skipped' }
  | {
      readonly kind: 'retry';
      readonly delayMs: number;
      readonly attempts: number;
      readonly reason: string;
      readonly headers: Record<string, string>;
    }
  | {
      readonly kind: 'dead-letter';
      readonly attempts: number;
      readonly reason: string;
      readonly headers: Record<string, string>;
      readonly messageId: string | null;
    }
  | { readonly kind: 'held' };

/** How the source behaves, as the transport knows it. */
export interface SourceSemantics {
  /** A log read in order (a partition): nothing may overtake a message that waits for a retry. */
  readonly ordered: boolean;
  /** The source is this consumer's alone (a work queue): a type it does not handle is poison, not someone else's. */
  readonly exclusive: boolean;
  /**
   * The transport's own writes in the batch's transaction, called with every settlement just
   * before COMMIT, so they commit (or not) with the inbox rows: a stream whose cursor lives in
   * the consumer's database (Kinesis) writes its checkpoint here. Throwing aborts the batch, as
   * a database failure does. With it, a batch of nothing but poison or skipped messages still
   * opens a transaction, so the cursor moves past them too.
   */
  readonly withinTransaction?: (tx: SqlExecutor, settlements: ReadonlyArray<Settlement>) => Promise<void>;
}

/** What a transport consumer hands its batches to. */
export interface BatchProcessor {
  process(source: string, messages: ReadonlyArray<InboundMessage>, semantics: SourceSemantics): Promise<Settlement[]>;
}

/** What a publish is given besides its messages. */
export interface PublishOptions {
  /**
   * Aborted when the caller has stopped waiting (the outbox relay's publish deadline): the publish
   * has failed, whatever answer comes later. An adapter that can cancel lets go of what the publish
   * holds (a request in flight, a channel whose confirms are overdue), so that a late answer finds
   * nothing waiting for it and nothing piles up behind a broker that does not answer.
   */
  readonly signal?: AbortSignal;
}

export interface OutgoingMessage {
  readonly envelope: Envelope;
  readonly destination: Destination;
  /** Transport headers to add on top of those derived from the envelope. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** How a consumer gathers its batches: it closes at a size or after a wait, whichever comes first. */
export interface BatchSettings {
  readonly maxMessages: number;
  readonly maxWaitMs: number;
}

export interface ConsumerSpec {
  /** The consuming service: its queue consumers compete, its group reads every event. */
  readonly consumer: string;
  readonly channels: ReadonlyArray<string>;
  readonly pipeline: BatchProcessor;
  readonly batch: BatchSettings;
  /** Batches in flight at once (channels on a queue, partitions of a topic). */
  readonly concurrency: number;
}

export type ConsumerState = 'new' | 'starting' | 'running' | 'rejoining' | 'stopping' | 'stopped';

export interface TransportConsumer {
  /** Resolves once consuming started (queue declared and subscribed, group joined). */
  start(): Promise<void>;
  /** Stops fetching, finishes and settles the batches in flight, then leaves. */
  stop(): Promise<void>;
  readonly state: ConsumerState;
}

/** How far behind a consumer is on one channel: ready messages on a queue, or lag on a topic. */
export interface ChannelDepth {
  readonly channel: string;
  readonly consumer: string;
  readonly waiting: number;
  /** Consumers attached right now, where the transport can tell (a queue's consumer count). */
  readonly consumers: number | null;
  /** `waiting` per partition (a topic's) or shard (a stream's), where the channel has them, for metrics. */
  readonly partitions?: ReadonlyArray<PartitionDepth>;
  /**
   * How long the channel keeps a message before the broker drops it, read or not (a log's
   * retention), where the transport says; null where it keeps them for ever.
   */
  readonly retentionMs?: number | null;
}

/** How far behind a consumer is on one partition or shard. */
export interface PartitionDepth {
  readonly partition: number | string;
  readonly waiting: number;
  /**
   * When the oldest message the consumer has not settled was written, in epoch milliseconds, by
   * the broker's stamp (what a log's retention counts from): lag in time. Null when nothing
   * waits; left out where the transport cannot read it.
   */
  readonly oldestAt?: number | null;
}

/** What the dead-letter tools are scoped to: each channel with the consumers that read it. */
export type DeadLetterScope = ReadonlyArray<{ readonly channel: string; readonly consumers: ReadonlyArray<string> }>;

/**
 * What a broker or stream provides to boxoffice, and all it provides: publish with the broker's
 * confirmation, consume in batches and settle each message as the pipeline decided, a dead
 * letter store, health and depth. Decoding, the inbox, outcomes, retries and dead-lettering are
 * decided once, in ConsumerPipeline; an adapter only says them in its broker's terms.
 */
export interface Transport {
  readonly name: TransportName;
  connect(): Promise<void>;
  close(): Promise<void>;
  /** Creates what the channels need up front (topics, say), for a service that reads them; idempotent. */
  provision(channels: ReadonlyArray<string>): Promise<void>;
  /**
   * What a service that only sends to the channels creates: most brokers, what `provision` does,
   * so that a message sent before its consumer first started waits for it. RabbitMQ leaves a queue
   * to the service that reads it (RabbitMqTransport).
   */
  provisionForSending(channels: ReadonlyArray<string>): Promise<void>;
  /** Deletes the channels and all the transport made for them (retry and dead-letter queues or topics, idle groups). */
  deprovision(channels: ReadonlyArray<string>): Promise<void>;
  /**
   * Resolves only once the broker took responsibility for every message. Rejects with
   * PublishIncomplete when it can say, message by message, what it took and what it did not (so
   * the outbox marks the first published and retries only the rest), with any other error when it
   * cannot (the connection was lost before an answer): then every message is tried again.
   * Once `options.signal` is aborted the caller treats the publish as failed; see PublishOptions.
   */
  publish(messages: ReadonlyArray<OutgoingMessage>, options?: PublishOptions): Promise<void>;
  consumer(spec: ConsumerSpec): TransportConsumer;
  deadLetters(scope: DeadLetterScope): DeadLetterStore;
  /** Throws when the broker does not answer. */
  health(): Promise<void>;
  depth(channel: string, consumer: string): Promise<ChannelDepth>;
  /**
   * A log's every message, oldest first, up to the end it had when the read began, moving no
   * cursor: what a projection is rebuilt from. Only a log keeps what it delivered; a work queue
   * does not, and has no such method.
   */
  readToEnd?(channel: string, timeoutMs: number): Promise<InboundMessage[]>;
}

/** Why one message of a publish was not taken. */
export interface PublishFailure {
  readonly reason: string;
  /**
   * The broker answered no for this message (a nack, unroutable, rejected, too large, no such
   * queue): trying it again may not help, so the outbox counts an attempt and parks the message
   * after its last. False when no answer came in time: nothing is known, and nothing is counted.
   */
  readonly refused: boolean;
}

/**
 * The broker said no to this one message (a nack, unroutable, rejected): what an adapter rejects
 * a message's confirmation with, so that `allConfirmed` tells a refusal from a lost answer.
 */
export class MessageRefused extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MessageRefused';
  }
}

/**
 * A publish the broker took in part: `failed` holds, by index in the published array, the
 * messages it did not take; it took every other one.
 */
export class PublishIncomplete extends Error {
  constructor(
    what: string,
    readonly failed: ReadonlyMap<number, PublishFailure>,
    readonly total: number,
    options?: ErrorOptions,
  ) {
    const first = failed.values().next().value;
    super(`${what}: ${failed.size} of ${total} not taken (${first?.reason ?? 'no reason given'})`, options);
    this.name = 'PublishIncomplete';
  }
}
