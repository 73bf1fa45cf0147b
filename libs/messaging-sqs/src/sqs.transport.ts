import { GetQueueAttributesCommand, ListQueuesCommand, SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
import { BrokerTransport, type TransportOptions } from '@boxoffice/messaging';
import type {
  ChannelDepth,
  ConsumerSpec,
  DeadLetterScope,
  OutgoingMessage,
  PublishOptions,
  RetryPolicy,
  Transport,
} from '@boxoffice/messaging';
import { SqsConsumer } from './sqs.consumer.js';
import { SqsDeadLetters } from './sqs.dead-letters.js';
import { SqsPublisher } from './sqs.publisher.js';
import { isMissingQueue, SqsQueues, type QueueType } from './sqs.queues.js';

export interface SqsTransportOptions extends TransportOptions {
  /** ElasticMQ's `http://127.0.0.1:9324`; unset for AWS's own endpoint of `region`. */
  readonly endpoint?: string;
  /** `us-east-1` unless told. */
  readonly region?: string;
  /**
   * For real AWS, leave unset: the SDK's usual chain (environment, profile, instance role).
   * With an `endpoint` and no credentials, static dummy ones: ElasticMQ checks none.
   */
  readonly credentials?: SQSClientConfig['credentials'];
  /** The consumer pipeline's policy; its `maxAttempts` sizes the redrive backstop. */
  readonly retryPolicy: RetryPolicy;
  /** `fifo` (the default): per-key order, MessageGroupId = the destination's key. `standard`: no order, no FIFO throughput limits. */
  readonly queueType?: QueueType;
  /** How long a received message stays invisible; the consumer renews it while a batch runs. 30 s unless told. */
  readonly visibilityTimeoutSeconds?: number;
  /** Receives after which SQS's redrive moves a message no consumer settled; twice `maxAttempts` unless told. */
  readonly maxReceiveCount?: number;
  /** The first receive's long poll, in seconds; 1 unless told. */
  readonly waitTimeSeconds?: number;
}

/**
 * Amazon SQS (locally ElasticMQ) behind the transport port: a broker that tracks delivery by
 * visibility. A received message is hidden, not removed: the delete after the commit is the
 * ack, a message made visible again after a delay is the retry, and what comes back too often
 * goes to `<queue>-dlq` (by the consumer with its failure record, or by SQS's redrive policy as
 * the backstop). FIFO queues keep each key's messages in order (sqs.queues.ts for the names).
 * SQS is HTTP: there is no connection to hold, so `connect` only asks it once.
 */
export class SqsTransport extends BrokerTransport<SqsConsumer> implements Transport {
  readonly client: SQSClient;
  readonly queues: SqsQueues;
  private readonly publisher: SqsPublisher;

  constructor(private readonly options: SqsTransportOptions) {
    super('sqs', options);
    this.client = new SQSClient({
      region: options.region ?? 'us-east-1',
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.credentials
        ? { credentials: options.credentials }
        : options.endpoint
          ? { credentials: { accessKeyId: 'elasticmq', secretAccessKey: 'elasticmq' } }
          : {}),
      // The SDK waits for ever by default. A request that gets no answer (a partition, a hung
      // endpoint) fails after 30 s: past the longest receive's 20 s long poll. (At its
      // requestTimeout the handler only warns unless told to throw.) The outbox relay's publishes
      // are aborted sooner, at its deadline.
      requestHandler: { connectionTimeout: 2_000, requestTimeout: 30_000, throwOnRequestTimeout: true },
    });
    this.queues = new SqsQueues(this.client, {
      type: options.queueType ?? 'fifo',
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 30,
      maxReceiveCount: options.maxReceiveCount ?? 2 * options.retryPolicy.maxAttempts,
    });
    this.publisher = new SqsPublisher(this.client, this.queues, { logger: this.logger });
  }

  /** Consumers not stopped by now are abandoned: what they hold comes back after its visibility timeout. */
  async close(): Promise<void> {
    await this.leaveConsumers((consumer) => consumer.abandon());
    this.client.destroy();
  }

  /**
   * Creates each channel's queue and dead letter queue. The sending service does it as well as
   * the consuming one, so a command sent before its consumer ever started waits in its queue.
   */
  async provision(channels: ReadonlyArray<string>): Promise<void> {
    for (const channel of channels) await this.queues.provision(channel);
  }

  /** Deletes each channel's queue and dead letter queue, FIFO and standard alike (SqsQueues.remove). */
  async deprovision(channels: ReadonlyArray<string>): Promise<void> {
    for (const channel of channels) await this.queues.remove(channel);
  }

  publish(messages: ReadonlyArray<OutgoingMessage>, options?: PublishOptions): Promise<void> {
    return this.publisher.publish(messages, options);
  }

  consumer(spec: ConsumerSpec): SqsConsumer {
    return this.track(
      new SqsConsumer(this.client, this.queues, spec, { waitTimeSeconds: this.options.waitTimeSeconds, logger: this.logger }),
    );
  }

  deadLetters(scope: DeadLetterScope): SqsDeadLetters {
    return new SqsDeadLetters(
      this.client,
      this.queues,
      scope.map(({ channel }) => channel),
      { logger: this.logger },
    );
  }

  async health(): Promise<void> {
    try {
      await this.client.send(new ListQueuesCommand({ MaxResults: 1 }));
    } catch (error) {
      throw new Error(
        `SQS does not answer at ${this.options.endpoint ?? `its ${this.options.region ?? 'us-east-1'} endpoint`} (SQS_ENDPOINT): ${String(error)}`,
        { cause: error },
      );
    }
  }

  /** Messages waiting (visible) in the channel's queue; SQS does not say how many consumers poll it. */
  async depth(channel: string, consumer: string): Promise<ChannelDepth> {
    try {
      const url = await this.queues.urlOf(channel);
      const { Attributes } = await this.client.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
      );
      return { channel, consumer, waiting: Number(Attributes?.ApproximateNumberOfMessages ?? 0), consumers: null };
    } catch (error) {
      if (isMissingQueue(error)) return { channel, consumer, waiting: 0, consumers: null };
      throw error;
    }
  }
}
