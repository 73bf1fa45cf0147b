// Shared by this lib's specs only (not exported from the lib): the endpoint, and the short
// timings that keep lease and retry tests fast.
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
export function deleteStreamAndItsOwn(client: KinesisClient, stream: string): Promise<void> {
  return new KinesisStreams(client).deprovision([stream]);
}
