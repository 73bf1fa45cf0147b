import type { Envelope } from '@boxoffice/contracts';
import type { BatchProcessor, InboundMessage } from './consumer/consumer.pipeline.js';
import type { DeadLetterStore } from './dead-letters/dead-letter.js';
import type { Destination, TransportName } from './destination.js';

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
  /** `waiting` per partition, where the channel has them (a topic's lag per partition), for metrics. */
  readonly partitions?: ReadonlyArray<{ readonly partition: number; readonly waiting: number }>;
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
  /** Creates what the channels need up front (topics, say); idempotent. */
  provision(channels: ReadonlyArray<string>): Promise<void>;
  /** Deletes the channels and all the transport made for them (retry and dead-letter queues or topics, idle groups). */
  deprovision(channels: ReadonlyArray<string>): Promise<void>;
  /** Resolves only once the broker took responsibility for every message; rejects otherwise. */
  publish(messages: ReadonlyArray<OutgoingMessage>): Promise<void>;
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
