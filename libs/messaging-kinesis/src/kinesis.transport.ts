import { ListStreamsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { BrokerTransport, type SqlExecutor, type TransportOptions } from '@boxoffice/messaging';
import type {
  ChannelDepth,
  ConsumerSpec,
  DeadLetterScope,
  InboundMessage,
  OutgoingMessage,
  PublishOptions,
  Transport,
} from '@boxoffice/messaging';
import { KinesisCheckpoints } from './kinesis.checkpoints.js';
import { createKinesisClient } from './kinesis.client.js';
import { KinesisConsumer, type KinesisConsumerOptions } from './kinesis.consumer.js';
import { KinesisDeadLetters } from './kinesis.dead-letters.js';
import { KinesisPublisher, type PublisherOptions } from './kinesis.publisher.js';
import { readStreamDepth, readStreamToEnd } from './kinesis.stream-reader.js';
import { KinesisStreams, streamOf } from './kinesis.streams.js';

export interface KinesisTransportOptions extends TransportOptions {
  /** KINESIS_ENDPOINT: kinesis-local's `http://127.0.0.1:4568` here; unset for AWS itself. */
  readonly endpoint?: string;
  readonly region?: string;
  /**
   * The consuming service's database, where its checkpoints and leases live (stream_checkpoint,
   * stream_lease): its Prisma client, or a PgTransactionRunner over a pool. Read and renewed
   * outside the batches; the batches write them through the pipeline's own transaction. Only
   * consuming and `depth` need it: a tool that publishes or handles dead letters has none.
   */
  readonly database?: SqlExecutor;
  /** Shards of the streams `provision` creates. Default 2. */
  readonly shards?: number;
  readonly consumer?: Omit<KinesisConsumerOptions, 'logger'>;
  readonly publisher?: PublisherOptions;
}

/**
 * Kinesis behind the transport port: a stream, "dumb pipe, smart consumer". The stream keeps a
 * retained log and nothing else: no groups, no cursor, no acks. So the cursor is ours, in the
 * consumer's database (checkpoints committed with the inbox, leases to share the shards among
 * instances), and retries in place and dead-letter streams are ours too. See the README. There
 * is no connection to hold, so `connect` only asks Kinesis once.
 */
export class KinesisTransport extends BrokerTransport<KinesisConsumer> implements Transport {
  readonly client: KinesisClient;
  private readonly publisher: KinesisPublisher;

  constructor(private readonly options: KinesisTransportOptions) {
    super('kinesis', options);
    this.client = createKinesisClient({ endpoint: options.endpoint, region: options.region });
    this.publisher = new KinesisPublisher(this.client, options.publisher);
  }

  /** Stops the consumers (their batches in hand finish, their leases are given back), then the client. */
  async close(): Promise<void> {
    await this.leaveConsumers((consumer) => consumer.stop());
    this.client.destroy();
  }

  async provision(channels: ReadonlyArray<string>): Promise<void> {
    await new KinesisStreams(this.client).ensure(
      channels.map((channel) => ({ stream: streamOf(channel), shards: this.options.shards ?? 2 })),
    );
  }

  /**
   * Deletes the channels' streams and their groups' dead-letter streams. The checkpoints and leases
   * in each consumer's own database stay: they go with that database.
   */
  async deprovision(channels: ReadonlyArray<string>): Promise<void> {
    await new KinesisStreams(this.client).deprovision(channels.map(streamOf));
  }

  publish(messages: ReadonlyArray<OutgoingMessage>, options?: PublishOptions): Promise<void> {
    return this.publisher.publish(messages, options);
  }

  /** Every record the stream holds now, from TRIM_HORIZON, to where each shard was when the read began. */
  readToEnd(channel: string, timeoutMs: number): Promise<InboundMessage[]> {
    return readStreamToEnd(this.client, streamOf(channel), timeoutMs);
  }

  consumer(spec: ConsumerSpec): KinesisConsumer {
    return this.track(new KinesisConsumer(this.client, this.database(), spec, { ...this.options.consumer, logger: this.logger }));
  }

  deadLetters(scope: DeadLetterScope): KinesisDeadLetters {
    return new KinesisDeadLetters(this.client, scope);
  }

  async health(): Promise<void> {
    try {
      await this.client.send(new ListStreamsCommand({ Limit: 1 }));
    } catch (error) {
      throw new Error(`Kinesis does not answer at ${this.options.endpoint ?? 'its AWS endpoint'} (KINESIS_ENDPOINT): ${String(error)}`, {
        cause: error,
      });
    }
  }

  /**
   * Records after the consumer's checkpoints, per shard, counted by reading each shard to its end
   * (Kinesis keeps no cursor of ours to compare with): a few reads on a small stream, capped at
   * 100,000 a shard; with when the oldest of them arrived, and the stream's retention
   * (readStreamDepth). `consumers` is null.
   */
  async depth(channel: string, consumer: string): Promise<ChannelDepth> {
    const stream = streamOf(channel);
    const checkpoints = await KinesisCheckpoints.ofStream(this.database(), consumer, stream);
    return { channel, consumer, consumers: null, ...(await readStreamDepth(this.client, stream, checkpoints)) };
  }

  private database(): SqlExecutor {
    if (!this.options.database)
      throw new Error(
        "this KinesisTransport was made without a database: consuming keeps its checkpoints and leases in the consumer's own",
      );
    return this.options.database;
  }
}
