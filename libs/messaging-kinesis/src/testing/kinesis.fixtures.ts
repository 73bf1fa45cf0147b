// Shared by this lib's specs only (not exported from the lib): the endpoint, and the short
// timings that keep lease and retry tests fast.
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { KinesisConsumerOptions } from '../kinesis.consumer.js';
import { KinesisStreams } from '../kinesis.streams.js';

export const endpoint = process.env.KINESIS_ENDPOINT ?? 'http://127.0.0.1:4568';

/** Read often, renew every 200 ms, a lease lasts 2 s: a stopped instance's shards move in seconds. */
export const fastConsumer: Omit<KinesisConsumerOptions, 'logger'> = {
  pollIntervalMs: 50,
  leases: { renewIntervalMs: 200, ttlMs: 2_000 },
};

/** A stream and every stream made for it (its groups' dead-letter streams). */
export async function deleteStreamAndItsOwn(client: KinesisClient, stream: string): Promise<void> {
  const names: string[] = [];
  let last: string | undefined;
  for (;;) {
    const page = await client.send(new ListStreamsCommand({ ...(last ? { ExclusiveStartStreamName: last } : {}), Limit: 100 }));
    names.push(...(page.StreamNames ?? []));
    if (!page.HasMoreStreams || !page.StreamNames?.length) break;
    last = page.StreamNames.at(-1);
  }
  await new KinesisStreams(client).delete(names.filter((name) => name === stream || name.startsWith(`${stream}.`)));
}
