import { randomUUID } from 'node:crypto';
import { JetStreamApiError, jetstream, jetstreamManager, RetentionPolicy, type StreamConfig } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { MessageKind } from '@boxoffice/contracts';
import { allConfirmed, BrokerTransport, sendEach, envelopeHeaders, type TransportOptions } from '@boxoffice/messaging';
import type { ChannelDepth, ConsumerSpec, DeadLetterScope, OutgoingMessage, RetryPolicy, Transport } from '@boxoffice/messaging';
import { NatsDeadLetters } from './nats.dead-letters.js';
import { NatsConsumer } from './nats.consumer.js';
import { readStreamToEnd, type StreamRecord } from './nats.stream-reader.js';
import { deadLetterStreamOf, deadLetterSubjectOf, natsNameOf, streamOf, toNatsHeaders, unlessMissing } from './nats.streams.js';
import type { JetStreamSession } from './nats.streams.js';

export interface NatsTransportOptions extends TransportOptions {
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
}

/**
 * NATS JetStream behind the transport port: a channel is a stream (a work queue for commands, a log for events) with
 * a `<stream>_dlq` stream beside it, read by one durable pull consumer per consuming service. No HealingConnection:
 * the NATS client reconnects by itself (for ever, as set here); a pull or publish that fails meanwhile is tried again
 * by the lanes and the outbox.
 */
export class NatsTransport extends BrokerTransport<NatsConsumer> implements Transport {
  private connected: JetStreamSession | null = null;

  constructor(private readonly options: NatsTransportOptions) {
    super('nats', options);
  }

  /** Rejects when no server answers, for the caller to try again. */
  override async connect(): Promise<void> {
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
    await this.leaveConsumers((consumer) => consumer.abandon());
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
    const acks = sendEach(messages, ({ envelope, destination, headers }) =>
      js.publish(destination.channel, JSON.stringify(envelope), {
        msgID: randomUUID(),
        headers: toNatsHeaders(envelopeHeaders(envelope, headers)),
        retries: 3,
      }),
    );
    // No stream takes the subject: the server has no responder for it, JetStream's no to that message.
    await allConfirmed(acks, 'NATS publish', { refused: (error) => String((error as Error).cause).includes('no responders') });
  }

  readToEnd(channel: string, timeoutMs: number): Promise<StreamRecord[]> {
    return readStreamToEnd(this.session().connection, channel, timeoutMs);
  }

  consumer(spec: ConsumerSpec): NatsConsumer {
    const provision = (channel: string) => this.provision([channel]);
    return this.track(new NatsConsumer(() => this.session(), spec, { ...this.options, provision, logger: this.logger }));
  }

  deadLetters(scope: DeadLetterScope): NatsDeadLetters {
    return new NatsDeadLetters(() => this.session(), scope);
  }

  /** JetStream answers for this account. */
  async health(): Promise<void> {
    await this.session().jsm.getAccountInfo();
  }

  /**
   * The group's messages not delivered yet plus those delivered and not acked (a group not there
   * yet has the whole stream ahead); its lag in time, from the stamp of the oldest of them (the
   * message after the group's ack floor, or the stream's first); and the stream's max_age, after
   * which JetStream drops a message, read or not. One stream per channel: one "partition".
   */
  async depth(channel: string, consumer: string): Promise<ChannelDepth> {
    const { jsm } = this.session();
    const stream = streamOf(channel);
    const streamInfo = await jsm.streams.info(stream).catch(unlessMissing(null));
    if (!streamInfo) return { channel, consumer, waiting: 0, consumers: null };
    const info = await jsm.consumers.info(stream, natsNameOf(consumer)).catch(unlessMissing(null));
    const waiting = info ? info.num_pending + info.num_ack_pending : streamInfo.state.messages;
    const firstUnsettled = Math.max(streamInfo.state.first_seq, (info?.ack_floor.stream_seq ?? 0) + 1);
    // Gone meanwhile (acked off a work queue, or expired): no age this time, the next reading has one.
    const oldest = waiting === 0 ? null : await jsm.streams.getMessage(stream, { seq: firstUnsettled }).catch(() => undefined);
    const oldestAt = oldest === null ? null : oldest?.time.getTime();
    return {
      channel,
      consumer,
      waiting,
      consumers: null,
      partitions: [{ partition: 0, waiting, ...(oldestAt !== undefined ? { oldestAt } : {}) }],
      retentionMs: streamInfo.config.max_age > 0 ? streamInfo.config.max_age / 1e6 : null,
    };
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
