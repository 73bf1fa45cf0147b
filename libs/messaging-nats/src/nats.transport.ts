import { randomUUID } from 'node:crypto';
import { JetStreamApiError, jetstream, jetstreamManager, RetentionPolicy, type StreamConfig } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { MessageKind } from '@boxoffice/contracts';
import {
  describeError,
  envelopeHeaders,
  silentLogger,
  type ChannelDepth,
  type ConsumerSpec,
  type DeadLetterScope,
  type DeadLetterStore,
  type Logger,
} from '@boxoffice/messaging';
import type { InboundMessage, OutgoingMessage, RetryPolicy, Transport, TransportConsumer } from '@boxoffice/messaging';
import { NatsDeadLetters } from './nats.dead-letters.js';
import { NatsConsumer } from './nats.consumer.js';
import { toNatsHeaders } from './nats.message.js';
import { readStreamToEnd } from './nats.stream-reader.js';
import { deadLetterStreamOf, deadLetterSubjectOf, natsNameOf, streamOf, unlessMissing, type JetStreamSession } from './nats.streams.js';

export interface NatsTransportOptions {
  /** `nats://127.0.0.1:4222`, or the servers of a cluster. */
  readonly servers: string | string[];
  /** The client's name, as the server's monitoring shows it. */
  readonly name: string;
  /** Whether a channel carries commands (a work queue) or events (a log every group reads): the catalog says. */
  readonly kindOf: (channel: string) => MessageKind;
  /** The pipeline's policy: twice its `maxAttempts` is `max_deliver`, the backstop for a message no consumer ever settles. */
  readonly retryPolicy: RetryPolicy;
  /** How long a delivery is a consumer's before JetStream hands it out again (kept alive while worked on); 30 s unless told. */
  readonly ackWaitMs?: number;
  /** How long an event stream keeps its messages; 7 days unless told, as Kafka's topics. */
  readonly eventRetentionMs?: number;
  readonly logger?: Logger;
}

/**
 * NATS JetStream behind the transport port: a channel is a stream (a work queue for commands, a log for events) with
 * a `<stream>_dlq` stream beside it, read by one durable pull consumer per consuming service. No HealingConnection:
 * the NATS client reconnects by itself (for ever, as set here); a pull or publish that fails meanwhile is tried again
 * by the lanes and the outbox.
 */
export class NatsTransport implements Transport {
  readonly name = 'nats';
  private connected: JetStreamSession | null = null;
  private readonly consumers = new Set<NatsConsumer>();
  private readonly logger: Logger;

  constructor(private readonly options: NatsTransportOptions) {
    this.logger = options.logger ?? silentLogger;
  }

  /** Rejects when no server answers, for the caller to try again. */
  async connect(): Promise<void> {
    if (this.connected) return;
    const connection = await connect({ servers: this.options.servers, name: this.options.name, maxReconnectAttempts: -1 });
    try {
      this.connected = { connection, js: jetstream(connection), jsm: await jetstreamManager(connection) };
    } catch (error) {
      await connection.close(); // a server without JetStream: this try's connection is not kept, the next try opens its own
      throw error;
    }
    void (async () => {
      for await (const { type } of connection.status())
        if (type === 'disconnect' || type === 'reconnect') this.logger.warn(`nats ${this.options.name}: ${type}`);
    })();
  }

  /** Consumers not stopped by now are abandoned: what they hold comes back after the ack wait. */
  async close(): Promise<void> {
    for (const consumer of this.consumers) consumer.abandon();
    this.consumers.clear();
    const connection = this.connected?.connection;
    this.connected = null;
    await connection?.close();
  }

  /** Each channel's stream and dead-letter stream, created or brought to this configuration. */
  async provision(channels: ReadonlyArray<string>): Promise<void> {
    const events = { retention: RetentionPolicy.Limits, max_age: (this.options.eventRetentionMs ?? 7 * 24 * 3600_000) * 1e6 };
    for (const channel of channels) {
      // A command is gone once acked; an event stays for its retention, for every group (and a rebuild) to read.
      await this.putStream({
        name: streamOf(channel),
        subjects: [channel],
        ...(this.options.kindOf(channel) === 'command' ? { retention: RetentionPolicy.Workqueue } : events),
      });
      // Dead letters wait for a human: kept until replayed or purged.
      await this.putStream({
        name: deadLetterStreamOf(channel),
        subjects: [deadLetterSubjectOf(channel)],
        retention: RetentionPolicy.Limits,
      });
    }
  }

  /** Deletes the channels' streams and dead-letter streams, and with them every durable consumer of theirs. */
  async deprovision(channels: ReadonlyArray<string>): Promise<void> {
    for (const stream of channels.flatMap((channel) => [streamOf(channel), deadLetterStreamOf(channel)])) {
      await this.session().jsm.streams.delete(stream).catch(unlessMissing(false));
    }
  }

  /**
   * Resolves once JetStream stored every message (a PubAck each). The msgID is per message and call, so the client's
   * own retry of a lost ack is not stored twice; not the envelope id: a republished envelope must arrive, for the inbox.
   */
  async publish(messages: ReadonlyArray<OutgoingMessage>): Promise<void> {
    const { js } = this.session();
    const acks = await Promise.allSettled(
      messages.map(({ envelope, destination, headers }) =>
        js.publish(destination.channel, JSON.stringify(envelope), {
          msgID: randomUUID(),
          headers: toNatsHeaders(envelopeHeaders(envelope, headers)),
          retries: 3,
        }),
      ),
    );
    const refused = acks.filter((ack) => ack.status === 'rejected');
    if (refused.length > 0)
      throw new Error(`NATS did not store ${refused.length} of ${messages.length} messages: ${describeError(refused[0].reason)}`, {
        cause: refused[0].reason,
      });
  }

  readToEnd(channel: string, timeoutMs: number): Promise<InboundMessage[]> {
    return readStreamToEnd(this.session().connection, channel, timeoutMs);
  }

  consumer(spec: ConsumerSpec): TransportConsumer {
    const { kindOf, ackWaitMs = 30_000, retryPolicy } = this.options;
    const options = {
      provision: (channel: string) => this.provision([channel]),
      kindOf,
      ackWaitMs,
      maxDeliver: 2 * retryPolicy.maxAttempts,
      logger: this.logger,
    };
    const consumer = new NatsConsumer(() => this.session(), spec, options);
    this.consumers.add(consumer);
    return consumer;
  }

  deadLetters(scope: DeadLetterScope): DeadLetterStore {
    return new NatsDeadLetters(() => this.session(), scope);
  }

  /** JetStream answers for this account. */
  async health(): Promise<void> {
    await this.session().jsm.getAccountInfo();
  }

  /** The group's messages not delivered yet plus those delivered and not acked; a group not there yet has the whole stream ahead. */
  async depth(channel: string, consumer: string): Promise<ChannelDepth> {
    const { jsm } = this.session();
    const info = await jsm.consumers.info(streamOf(channel), natsNameOf(consumer)).catch(unlessMissing(null));
    const waiting = info
      ? info.num_pending + info.num_ack_pending
      : ((await jsm.streams.info(streamOf(channel)).catch(unlessMissing(null)))?.state.messages ?? 0);
    return { channel, consumer, waiting, consumers: null };
  }

  /** Creates a stream, or brings the one of that name to this configuration (10058: in use with another). */
  private async putStream(config: Partial<StreamConfig> & { name: string }): Promise<void> {
    const { jsm } = this.session();
    const changed = (error: unknown) =>
      error instanceof JetStreamApiError && error.code === 10058 ? jsm.streams.update(config.name, config) : Promise.reject(error);
    await jsm.streams.add(config).catch(changed);
  }

  private session(): JetStreamSession {
    if (!this.connected) throw new Error(`nats ${this.options.name}: not connected`);
    return this.connected;
  }
}
