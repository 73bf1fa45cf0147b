import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EnvelopeFactory, Outcome, PgTransactionRunner, type MessageHandler, type OutgoingMessage } from '@boxoffice/messaging';
import type { SqlExecutor } from '@boxoffice/messaging';
import { numberedMessage, numberedPipeline, type Numbered } from '@boxoffice/messaging-contract';
import { createTestDatabase, uniqueName, waitFor, type TestDatabase } from '@boxoffice/testing';
import type { KinesisConsumer } from './kinesis.consumer.js';
import { LeaseCoordinator, LeaseLost } from './kinesis.leases.js';
import { KinesisTransport } from './kinesis.transport.js';
import { deleteStreamAndItsOwn, endpoint, fastConsumer } from './testing/kinesis.fixtures.js';

const Counted = numberedMessage('KinesisLeaseCounted', 'event');

describe('two instances of one consumer on a stream of three shards', () => {
  const stream = uniqueName('lease_stream');
  const group = uniqueName('lease_group');
  const envelopes = new EnvelopeFactory('lease-spec');
  let db: TestDatabase;
  let first: KinesisTransport;
  let second: KinesisTransport;

  const recorder: MessageHandler<Numbered, SqlExecutor> = {
    async handle(message, { tx }) {
      await tx.$executeRawUnsafe('INSERT INTO effect (message_id, seq) VALUES ($1::uuid, $2)', message.id, message.payload.seq);
      return Outcome.done();
    },
  };
  const instance = (transport: KinesisTransport) =>
    transport.consumer({
      consumer: group,
      channels: [stream],
      pipeline: numberedPipeline(db, Counted, recorder, { consumer: group }),
      batch: { maxMessages: 20, maxWaitMs: 10 },
      concurrency: 3,
    }) as KinesisConsumer;
  const publish = (from: number, count: number) =>
    first.publish(
      Array.from({ length: count }, (_, i): OutgoingMessage => {
        const key = `k${(from + i) % 7}`;
        return { envelope: envelopes.create(Counted, { key, seq: from + i }), destination: { transport: 'kinesis', channel: stream, key } };
      }),
    );
  const effects = async () =>
    (
      await db.pool.query<{ n: number; distinct: number }>(
        'SELECT count(*)::int AS n, count(DISTINCT message_id)::int AS distinct FROM effect',
      )
    ).rows[0];

  beforeAll(async () => {
    db = await createTestDatabase('kinesis_leases', [
      new URL('../../messaging/sql/outbox-inbox.sql', import.meta.url),
      new URL('../../messaging/sql/outbox-parking.sql', import.meta.url),
      new URL('../../messaging/sql/stream-checkpoints.sql', import.meta.url),
    ]);
    await db.pool.query('CREATE TABLE effect (message_id uuid NOT NULL, seq int NOT NULL)');
    const options = { endpoint, database: new PgTransactionRunner(db.pool), shards: 3, consumer: fastConsumer };
    first = new KinesisTransport(options);
    second = new KinesisTransport(options);
    await first.provision([stream]);
  });
  afterAll(async () => {
    await Promise.all([first.close(), second.close()]);
    await deleteStreamAndItsOwn(first.client, stream).catch(() => undefined);
    await db.drop();
  });

  it('share the shards, take over those of one that stops, and handle every event once', async () => {
    await publish(0, 150);
    const a = instance(first);
    await a.start();
    expect(a.shards).toHaveLength(3);

    const b = instance(second);
    await b.start();
    // The newcomer takes one shard from the busy instance: an even share of three is two and one.
    await waitFor(
      () => [a.shards.length, b.shards.length],
      ([x, y]) => x === 2 && y === 1,
      { description: 'the shards to be shared', timeoutMs: 10_000 },
    );
    await publish(150, 150);
    await waitFor(effects, ({ distinct }) => distinct === 300, { description: 'the first 300 events', timeoutMs: 20_000 });

    await b.stop();
    await waitFor(
      () => a.shards.length,
      (n) => n === 3,
      { description: 'the stopped instance’s shard to move', timeoutMs: 10_000 },
    );
    await publish(300, 150);
    await waitFor(effects, ({ distinct }) => distinct === 450, { description: 'all 450 events', timeoutMs: 20_000 });
    expect(await effects()).toEqual({ n: 450, distinct: 450 });
    await a.stop();
  });

  it('keeps no lease of an instance that stopped', async () => {
    const { rows } = await db.pool.query<{ owner: string | null }>('SELECT owner FROM stream_lease WHERE consumer = $1', [group]);
    expect(rows).toHaveLength(3);
    expect(rows.every((row) => row.owner === null)).toBe(true);
  });

  describe('when an instance crashes and stops renewing', () => {
    const shards = ['shardId-000000000000', 'shardId-000000000001'].map((shardId) => ({ stream: `${stream}_crash`, shardId }));
    const coordinator = (owner: string) =>
      new LeaseCoordinator(
        new PgTransactionRunner(db.pool),
        group,
        owner,
        { acquired: () => undefined, lost: () => undefined },
        { renewIntervalMs: 100, ttlMs: 1_000 },
      );

    it('its shards move once the leases expire, and its late batch cannot write', async () => {
      const crashed = coordinator('crashed');
      await crashed.start(shards);
      expect(crashed.shards).toHaveLength(2);
      await crashed.stopRenewing(); // the crash: nothing renews, nothing is given back

      const survivor = coordinator('survivor');
      await survivor.start(shards);
      const startedAt = Date.now();
      await waitFor(
        () => survivor.shards.length,
        (n) => n === 2,
        { description: 'the expired leases to move', timeoutMs: 5_000 },
      );
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(500);

      // A batch the crashed instance still had in flight: its fence refuses, the batch rolls back.
      const late = new PgTransactionRunner(db.pool).$transaction((tx) => crashed.fence(tx, { consumer: group, ...shards[0] }));
      await expect(late).rejects.toBeInstanceOf(LeaseLost);
      await survivor.release();
    });
  });
});
