import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  ListShardsCommand,
  ListStreamsCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { deadLetterLogOf, deadLetterLogsAmong, isDeadLetterLog, retryTransient } from '@boxoffice/messaging';

/** Kinesis stream names: 1-128 of [a-zA-Z0-9_.-]. boxoffice's channel names (`boxoffice.orders`) fit as they are. */
const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;

/** One stream per channel, named as the channel; refused rather than renamed, so two channels never share one. */
export function streamOf(channel: string): string {
  if (!STREAM_NAME.test(channel)) throw new Error(`${channel} cannot be a Kinesis stream name (1-128 of a-z A-Z 0-9 _ . -)`);
  return channel;
}

/** Dead letters are per consumer group, as on Kafka: `<stream>.<group>.dlt`. */
export function deadLetterStreamOf(stream: string, group: string): string {
  return streamOf(deadLetterLogOf(stream, group));
}

export const isDeadLetterStream = isDeadLetterLog;

export interface StreamSpec {
  readonly stream: string;
  readonly shards: number;
}

/** Creating, waiting for and deleting streams; listing their shards. */
export class KinesisStreams {
  constructor(
    private readonly client: KinesisClient,
    private readonly activeTimeoutMs = 30_000,
  ) {}

  /** Creates what is missing and waits until every stream is ACTIVE. An existing stream keeps its shards. */
  async ensure(specs: ReadonlyArray<StreamSpec>): Promise<void> {
    await Promise.all(
      specs.map(async ({ stream, shards }) => {
        try {
          await this.client.send(new CreateStreamCommand({ StreamName: streamOf(stream), ShardCount: shards }));
        } catch (error) {
          if (!(error instanceof ResourceInUseException)) throw error; // there already, or being created
        }
        await this.whenActive(stream);
      }),
    );
  }

  async delete(streams: ReadonlyArray<string>): Promise<void> {
    await Promise.all(
      streams.map(async (stream) => {
        try {
          await this.client.send(new DeleteStreamCommand({ StreamName: stream, EnforceConsumerDeletion: true }));
        } catch (error) {
          if (!(error instanceof ResourceNotFoundException)) throw error;
        }
      }),
    );
  }

  /** The stream's shard ids, oldest first. Closed shards (after a reshard) are listed too. */
  async shards(stream: string): Promise<string[]> {
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListShardsCommand(token ? { NextToken: token } : { StreamName: stream }));
      ids.push(...(page.Shards ?? []).map((shard) => shard.ShardId!));
      token = page.NextToken;
    } while (token);
    return ids;
  }

  /** Every stream there is, page by page. */
  async list(): Promise<string[]> {
    const names: string[] = [];
    let last: string | undefined;
    do {
      const page = await this.client.send(new ListStreamsCommand({ ...(last ? { ExclusiveStartStreamName: last } : {}), Limit: 100 }));
      names.push(...(page.StreamNames ?? []));
      last = page.HasMoreStreams ? page.StreamNames?.at(-1) : undefined;
    } while (last);
    return names;
  }

  /** Deletes streams and their groups' dead-letter streams (`<stream>.<group>.dlt`). */
  async deprovision(streams: ReadonlyArray<string>): Promise<void> {
    const existing = await this.list();
    const deadLetters = deadLetterLogsAmong(streams, existing);
    await this.delete(existing.filter((name) => streams.includes(name) || deadLetters.has(name)));
  }

  private async whenActive(stream: string): Promise<void> {
    await retryTransient(
      async () => {
        const { StreamDescriptionSummary: summary } = await this.client.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
        if (summary?.StreamStatus !== 'ACTIVE' && summary?.StreamStatus !== 'UPDATING')
          throw new NotActive(`stream ${stream} is still ${summary?.StreamStatus} after ${this.activeTimeoutMs} ms`);
      },
      {
        transient: (error) => error instanceof NotActive,
        timeoutMs: this.activeTimeoutMs,
        backoff: { initialDelayMs: 50, multiplier: 1, maxDelayMs: 50, jitter: 0 },
      },
    );
  }
}

class NotActive extends Error {}
