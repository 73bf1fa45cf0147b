import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { createHash } from 'node:crypto';

/** FIFO queues keep per-key order (MessageGroupId = the destination's key); standard ones do not. */
export type QueueType = 'fifo' | 'standard';

/** SQS's limit on a queue name, `.fifo` included. */
const MAX_NAME = 80;
const FIFO_SUFFIX = '.fifo';
const DEAD_LETTER_SUFFIX = '-dlq';
/** Room for the longest suffix, `-dlq.fifo`, so a queue and its dead letter queue both fit. */
const MAX_BASE = MAX_NAME - DEAD_LETTER_SUFFIX.length - FIFO_SUFFIX.length;

/**
 * The SQS queue of a boxoffice channel. SQS allows `[A-Za-z0-9_-]` and 80 characters, so every
 * other character (the dots of `billing.charge-order`) becomes `_`, a name too long keeps its
 * first characters and ends in 8 hex digits of its SHA-256, and a FIFO queue ends in `.fifo`:
 * `billing.charge-order` → `billing_charge-order.fifo`. Deterministic, so every service and tool
 * finds the same queue; two channels differing only in `.` against `_` would share one (the
 * catalog has none such).
 */
export function queueNameOf(channel: string, type: QueueType): string {
  return `${baseNameOf(channel)}${type === 'fifo' ? FIFO_SUFFIX : ''}`;
}

/** Where a channel's dead letters wait: `<base>-dlq`, a FIFO queue too for a FIFO channel (SQS requires it of a redrive target). */
export function deadLetterQueueNameOf(channel: string, type: QueueType): string {
  return `${baseNameOf(channel)}${DEAD_LETTER_SUFFIX}${type === 'fifo' ? FIFO_SUFFIX : ''}`;
}

/** SQS's "no such queue", as the SDK names it (ElasticMQ's query-protocol code as well). */
export function isMissingQueue(error: unknown): boolean {
  const { name, Code } = (error ?? {}) as { name?: string; Code?: string };
  return (
    name === 'QueueDoesNotExist' || Code === 'AWS.SimpleQueueService.NonExistentQueue' || name === 'AWS.SimpleQueueService.NonExistentQueue'
  );
}

function baseNameOf(channel: string): string {
  const safe = channel.replace(/[^A-Za-z0-9_-]/g, '_');
  if (safe.length <= MAX_BASE) return safe;
  const hash = createHash('sha256').update(channel).digest('hex').slice(0, 8);
  return `${safe.slice(0, MAX_BASE - hash.length - 1)}-${hash}`;
}

export interface QueueSettings {
  readonly type: QueueType;
  /** How long a received message stays invisible before SQS hands it out again (the consumer extends it while a batch runs). */
  readonly visibilityTimeoutSeconds: number;
  /** Receives after which SQS itself moves a message to the dead letter queue: the backstop for what no consumer settled. */
  readonly maxReceiveCount: number;
}

/** A channel's two queues, by URL. */
export interface ChannelQueues {
  readonly queueUrl: string;
  readonly deadLetterUrl: string;
}

/**
 * Creates and finds the queues of channels: each channel's queue with a redrive policy to its
 * dead letter queue. Queue URLs are looked up once and kept.
 */
export class SqsQueues {
  private readonly urls = new Map<string, Promise<string>>();

  constructor(
    private readonly client: SQSClient,
    readonly settings: QueueSettings,
  ) {}

  get fifo(): boolean {
    return this.settings.type === 'fifo';
  }

  queueNameOf(channel: string): string {
    return queueNameOf(channel, this.settings.type);
  }

  deadLetterQueueNameOf(channel: string): string {
    return deadLetterQueueNameOf(channel, this.settings.type);
  }

  /**
   * Creates the dead letter queue, then the channel's queue with its redrive policy; idempotent.
   * A queue that exists with other settings (a changed visibility timeout) gets the new ones,
   * except its type, which SQS never changes.
   */
  async provision(channel: string): Promise<ChannelQueues> {
    const fifo: Record<string, string> = this.fifo ? { FifoQueue: 'true' } : {};
    const deadLetterUrl = await this.create(this.deadLetterQueueNameOf(channel), {
      ...fifo,
      MessageRetentionPeriod: String(14 * 24 * 3600),
    });
    const { Attributes } = await this.client.send(new GetQueueAttributesCommand({ QueueUrl: deadLetterUrl, AttributeNames: ['QueueArn'] }));
    const queueUrl = await this.create(this.queueNameOf(channel), {
      ...fifo,
      VisibilityTimeout: String(this.settings.visibilityTimeoutSeconds),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount: this.settings.maxReceiveCount }),
    });
    return { queueUrl, deadLetterUrl };
  }

  /** The URL of a channel's queue; throws QueueDoesNotExist when nobody provisioned it. */
  urlOf(channel: string): Promise<string> {
    return this.urlOfQueue(this.queueNameOf(channel));
  }

  deadLetterUrlOf(channel: string): Promise<string> {
    return this.urlOfQueue(this.deadLetterQueueNameOf(channel));
  }

  /** The URL, or null for a queue that does not exist. */
  async find(name: string): Promise<string | null> {
    try {
      return await this.urlOfQueue(name);
    } catch (error) {
      if (isMissingQueue(error)) return null;
      throw error;
    }
  }

  /**
   * Deletes a channel's queue and dead letter queue, of both types: a system that once ran with
   * the other `queueType` left its queues under the other names.
   */
  async remove(channel: string): Promise<void> {
    const types: QueueType[] = ['fifo', 'standard'];
    for (const name of types.flatMap((type) => [queueNameOf(channel, type), deadLetterQueueNameOf(channel, type)])) {
      const url = await this.find(name);
      this.urls.delete(name);
      if (url) await this.client.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => {});
    }
  }

  private urlOfQueue(name: string): Promise<string> {
    const known = this.urls.get(name);
    if (known) return known;
    const lookup = this.client.send(new GetQueueUrlCommand({ QueueName: name })).then(({ QueueUrl }) => QueueUrl!);
    this.urls.set(name, lookup);
    lookup.catch(() => this.urls.delete(name)); // not cached: it may be created later
    return lookup;
  }

  private async create(name: string, attributes: Record<string, string>): Promise<string> {
    let url: string;
    try {
      url = (await this.client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl!;
    } catch (error) {
      if ((error as { name?: string }).name !== 'QueueNameExists' && (error as { name?: string }).name !== 'QueueAlreadyExists')
        throw error;
      url = (await this.client.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl!;
      const { FifoQueue: _type, ...changeable } = attributes;
      await this.client.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: changeable }));
    }
    this.urls.set(name, Promise.resolve(url));
    return url;
  }
}
