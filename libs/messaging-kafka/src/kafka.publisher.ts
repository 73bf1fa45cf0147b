import { envelopeHeaders, unlessAborted, type OutgoingMessage, type PublishOptions } from '@boxoffice/messaging';
import kafkajs, { type Kafka, type Producer, type TopicMessages } from 'kafkajs';

/**
 * Publishes envelopes to Kafka topics; the outbox relay's Kafka side.
 *
 * The producer is idempotent (`enable.idempotence` in Java terms): the broker drops the duplicate
 * a retried request would otherwise write, and with one request in flight it also keeps a
 * partition's records in the order they were sent. acks=-1 (all in-sync replicas) is what lets
 * `publish` promise the records are safe once it resolves.
 *
 * The publish fails as a whole, never message by message: kafkajs sends one produce request per
 * broker and reports any partition's error as the failure of the whole send, so which records a
 * broker did write is not known here (see libs/messaging's README, "How each transport answers a
 * publish").
 */
export class KafkaPublisher {
  private producer: Producer;
  private connecting: Promise<void> | null = null;

  constructor(private readonly kafka: Kafka) {
    this.producer = this.newProducer();
  }

  private newProducer(): Producer {
    return this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      // The key alone decides the partition (murmur2, like the Java client), so every record of one
      // order or one concert lands in one partition and is read in order.
      createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
  }

  /** Optional: `publish` connects on first use. Call it at startup to fail fast on a bad address. */
  connect(): Promise<void> {
    this.connecting ??= this.producer.connect().catch((error: unknown) => {
      this.connecting = null;
      throw error;
    });
    return this.connecting;
  }

  /**
   * Sends the batch in one request per broker and resolves once every record is acknowledged by
   * all in-sync replicas. Rejects if any is not: the relay keeps the batch and tries again, and
   * the idempotent producer plus the consumers' inbox absorb a record that did get through.
   * Once the caller's signal is aborted (the relay's deadline), it rejects at once and the
   * producer is replaced: kafkajs takes no signal, and would otherwise go on retrying the send
   * (or a connect to a broker that does not answer) for up to its request timeout a try, and the
   * next publish would queue behind it.
   */
  async publish(messages: ReadonlyArray<OutgoingMessage>, { signal }: PublishOptions = {}): Promise<void> {
    if (messages.length === 0) return;
    const topicMessages = toTopicMessages(messages);
    signal?.throwIfAborted();
    const producer = this.producer;
    const connecting = this.connect();
    try {
      await unlessAborted(
        connecting.then(() => producer.sendBatch({ acks: -1, topicMessages })),
        signal,
      );
    } catch (error) {
      // An idempotent producer whose sequence the broker lost (a restart, say) is refused for good
      // (OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID): kafkajs does not start it over. So a
      // failed batch gets a fresh producer, with a new producer id, for the relay's next try; what
      // got through twice meanwhile, the inboxes drop.
      this.replaceProducer(producer, connecting);
      throw error;
    }
  }

  /**
   * A fresh producer in place of `failed`, unless another failed publish has replaced it already.
   * The failed one is disconnected once its connect has settled: kafkajs cannot stop a connect it
   * is retrying, and one that succeeded after the disconnect would stay open.
   */
  private replaceProducer(failed: Producer, connecting: Promise<void>): void {
    if (this.producer === failed) {
      this.producer = this.newProducer();
      this.connecting = null;
    }
    void connecting.catch(() => undefined).then(() => failed.disconnect().catch(() => undefined));
  }

  async disconnect(): Promise<void> {
    if (!this.connecting) return;
    this.connecting = null;
    await this.producer.disconnect();
  }
}

/**
 * Groups a batch by topic, keeping the given order within each topic, so that records with the
 * same key reach their partition in the order the outbox recorded them.
 */
export function toTopicMessages(messages: ReadonlyArray<OutgoingMessage>): TopicMessages[] {
  const byTopic = new Map<string, TopicMessages>();
  for (const { envelope, destination, headers } of messages) {
    if (destination.transport !== 'kafka') {
      throw new Error(`KafkaPublisher cannot publish ${envelope.type} ${envelope.id} to ${destination.transport}`);
    }
    let group = byTopic.get(destination.channel);
    if (!group) byTopic.set(destination.channel, (group = { topic: destination.channel, messages: [] }));
    group.messages.push({
      key: destination.key,
      value: JSON.stringify(envelope),
      headers: envelopeHeaders(envelope, headers),
    });
  }
  return [...byTopic.values()];
}
