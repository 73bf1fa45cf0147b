import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { defineMessage, type Envelope } from '@boxoffice/contracts';
import { createTestDatabase, waitFor, type TestDatabase } from '@boxoffice/testing';
import { PgTransactionRunner } from '../pg-transaction-runner.js';
import { z } from 'zod';
import { EnvelopeFactory } from '../envelope.factory.js';
import type { Destination } from '../destination.js';
import { PublishIncomplete, type OutgoingMessage, type PublishFailure, type PublishOptions } from '../transport.port.js';
import { outboxStore } from './outbox.store.js';
import type { Publisher } from './outbox.relay.js';
import { Outbox } from './outbox.js';
import { OutboxRelay } from './outbox.relay.js';

// These specs are about the database side of the outbox: what is committed, claimed and marked.
// The publisher here records what it is given; publishing to the real brokers is proven in the
// RabbitMQ and Kafka libs' specs.
class RecordingPublisher implements Publisher {
  constructor(readonly name = 'kafka') {}
  readonly published: OutgoingMessage[] = [];
  failuresLeft = 0;
  onPublish: (batch: ReadonlyArray<OutgoingMessage>, options?: PublishOptions) => Promise<void> = async () => {};

  async publish(batch: ReadonlyArray<OutgoingMessage>, options?: PublishOptions): Promise<void> {
    if (this.failuresLeft > 0) {
      this.failuresLeft -= 1;
      throw new Error('broker unavailable');
    }
    await this.onPublish(batch, options);
    this.published.push(...batch);
  }
}

const Ticked = defineMessage({ type: 'Ticked', version: 1, kind: 'event', description: 'test', schema: z.object({ n: z.number() }) });
const envelopes = new EnvelopeFactory('outbox-spec');
const toKey = (key: string, transport = 'kafka'): Destination => ({ transport, channel: 'ticks', key });
const sql = ['outbox-inbox', 'outbox-parking', 'outbox-notify-transport'].map((name) => new URL(`../../sql/${name}.sql`, import.meta.url));

describe('the transactional outbox', () => {
  let db: TestDatabase;
  let runner: PgTransactionRunner;
  const outbox = new Outbox();
  const relays: OutboxRelay[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('outbox', sql);
    runner = new PgTransactionRunner(db.pool);
  });
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((relay) => relay.stop()));
    await db.pool.query('TRUNCATE outbox_message');
  });
  afterAll(() => db.drop());

  function startRelay(publisher: Publisher | Publisher[], options = {}) {
    const relay = new OutboxRelay(db.pool, [publisher].flat(), { pollIntervalMs: 60_000, retryInitialDelayMs: 20, ...options });
    relays.push(relay);
    return relay.start().then(() => relay);
  }

  async function addInTransaction(messages: Array<[Envelope, string]>, thenFail = false, transport = 'kafka') {
    await runner.$transaction(async (tx) => {
      await tx.$executeRawUnsafe('CREATE TEMP TABLE IF NOT EXISTS business (n int) ON COMMIT DROP');
      for (const [envelope, key] of messages) await outbox.add(tx, envelope, toKey(key, transport));
      if (thenFail) throw new Error('business rule broken');
    });
  }

  describe('when the business transaction rolls back', () => {
    it('publishes nothing', async () => {
      const publisher = new RecordingPublisher();
      const relay = await startRelay(publisher);
      await expect(addInTransaction([[envelopes.create(Ticked, { n: 1 }), 'a']], true)).rejects.toThrow('business rule broken');
      await relay.drain();
      expect(publisher.published).toEqual([]);
      await expect(relay.stats()).resolves.toEqual({ pending: 0, oldestPendingAgeMs: 0, parked: 0, oldestParkedAgeMs: 0 });
    });
  });

  describe('when the transaction commits', () => {
    it('is woken by the commit and publishes without waiting for its poll', async () => {
      const publisher = new RecordingPublisher();
      await startRelay(publisher); // polls only once a minute
      const envelope = envelopes.create(Ticked, { n: 1 });
      await addInTransaction([[envelope, 'a']]);
      const status = async () => (await db.pool.query('SELECT status FROM outbox_message')).rows[0]?.status;
      await waitFor(status, (s) => s === 'published', { timeoutMs: 2_000, description: 'the NOTIFY to wake the relay' });
      expect(publisher.published.map((m) => m.envelope)).toEqual([envelope]);
    });

    it("wakes a loop of every transport, whichever transport's messages the commit wrote", async () => {
      const [rabbitmq, kafka] = [new RecordingPublisher('rabbitmq'), new RecordingPublisher('kafka')];
      await startRelay([rabbitmq, kafka]); // polls only once a minute
      for (let n = 1; n <= 3; n += 1) {
        await addInTransaction([[envelopes.create(Ticked, { n }), 'r']], false, 'rabbitmq');
        await waitFor(
          () => rabbitmq.published.length,
          (published) => published === n,
          { timeoutMs: 2_000, description: `rabbitmq message ${n} published, woken by its commit` },
        );
        await addInTransaction([[envelopes.create(Ticked, { n }), 'k']], false, 'kafka');
        await waitFor(
          () => kafka.published.length,
          (published) => published === n,
          { timeoutMs: 2_000, description: `kafka message ${n} published, woken by its commit` },
        );
      }
    });

    it('wakes one loop of a transport per commit, not every loop to claim nothing', async () => {
      // The relay on a pool of its own, to count its rounds: each claims in a transaction on a
      // connection taken from the pool (and the first prune takes one too).
      const pool = new pg.Pool({ connectionString: db.url, max: 4 });
      let taken = 0;
      pool.on('acquire', () => (taken += 1));
      const publisher = new RecordingPublisher();
      const relay = new OutboxRelay(pool, [publisher], { pollIntervalMs: 60_000, concurrency: 4 });
      try {
        await relay.start();
        for (let n = 1; n <= 10; n += 1) {
          await addInTransaction([[envelopes.create(Ticked, { n }), `key-${n}`]]);
          await waitFor(
            () => publisher.published.length,
            (published) => published === n,
            { timeoutMs: 2_000, description: `message ${n} published` },
          );
        }
      } finally {
        await relay.stop();
        await pool.end();
      }
      // Four loops' first claims and a prune, then a claim or two per commit. Every loop woken by
      // each commit, and each going round again after publishing, took 4 + 1 + 10 * (4 + 1).
      expect(taken).toBeLessThanOrEqual(4 + 1 + 10 * 2);
    });

    it("wakes only the loops of the transports a commit wrote for, not another transport's to claim nothing", async () => {
      const pool = new pg.Pool({ connectionString: db.url, max: 4 });
      let taken = 0;
      pool.on('acquire', () => (taken += 1));
      const [rabbitmq, kafka] = [new RecordingPublisher('rabbitmq'), new RecordingPublisher('kafka')];
      const relay = new OutboxRelay(pool, [rabbitmq, kafka], { pollIntervalMs: 60_000, concurrency: 1 });
      try {
        await relay.start();
        for (let n = 1; n <= 10; n += 1) {
          await addInTransaction([[envelopes.create(Ticked, { n }), `key-${n}`]], false, 'kafka');
          await waitFor(
            () => kafka.published.length,
            (published) => published === n,
            { timeoutMs: 2_000, description: `kafka message ${n} published` },
          );
        }
      } finally {
        await relay.stop();
        await pool.end();
      }
      // Two loops' first claims and a prune, then one claim per commit, by the Kafka loop. Both
      // loops woken by each commit took 2 + 1 + 10 * 2.
      expect(taken).toBeLessThanOrEqual(2 + 1 + 10 + 2);
      expect(rabbitmq.published).toEqual([]);
    });
  });

  describe('when publishing fails', () => {
    it('keeps the messages, records why, and publishes them after backing off', async () => {
      const publisher = new RecordingPublisher();
      publisher.failuresLeft = 2;
      const relay = await startRelay(publisher);
      await addInTransaction([[envelopes.create(Ticked, { n: 1 }), 'a']]);
      const row = async () => (await db.pool.query('SELECT status, attempts, last_error FROM outbox_message')).rows[0];
      // A publish that failed as a whole says nothing against the message: no attempt is counted.
      await expect(waitFor(row, (r) => r?.status === 'published', { description: 'publish after two failures' })).resolves.toEqual({
        status: 'published',
        attempts: 0,
        last_error: 'broker unavailable',
      });
      expect(relay.counters.failedPublishes).toBe(2);
      expect(publisher.published).toHaveLength(1);
    });
  });

  describe('when the broker takes a publish and never confirms it', () => {
    it('fails the publish at its deadline without counting an attempt, stops at once, and publishes the rows once the broker answers', async () => {
      // A broker under a memory alarm: it takes the messages and says nothing until the alarm clears.
      let answering = false;
      const signals: AbortSignal[] = [];
      const silent = new RecordingPublisher();
      silent.onPublish = (_, options) => {
        signals.push(options!.signal!);
        return answering ? Promise.resolve() : new Promise<void>(() => {});
      };
      const relay = await startRelay(silent, { publishTimeoutMs: 300 });
      const envelope = envelopes.create(Ticked, { n: 1 });
      await addInTransaction([[envelope, 'a']]);
      await waitFor(
        () => relay.counters.failedPublishes,
        (n) => n >= 2,
        { timeoutMs: 5_000, description: 'the publish to fail by its deadline, twice' },
      );
      const { rows } = await db.pool.query('SELECT status, attempts, last_error FROM outbox_message');
      expect(rows).toEqual([{ status: 'pending', attempts: 0, last_error: 'no confirmation from kafka within 300 ms' }]);
      expect(signals[0].aborted).toBe(true); // the publisher was told to let go

      const stopping = Date.now();
      await relay.stop(); // a publish is in flight again by now: stop waits for it no longer than its deadline
      expect(Date.now() - stopping).toBeLessThan(2_000);

      answering = true;
      await startRelay(silent);
      await waitFor(
        () => silent.published.map((m) => m.envelope.id),
        (ids) => ids.includes(envelope.id),
        { description: 'the message published once the broker answers' },
      );
      expect(silent.published).toHaveLength(1);
    });
  });

  describe('when the relay starts one transport at a time', () => {
    it("publishes a started transport's messages while another's wait for its start", async () => {
      const [rabbitmq, kafka] = [new RecordingPublisher('rabbitmq'), new RecordingPublisher('kafka')];
      const relay = new OutboxRelay(db.pool, [rabbitmq, kafka], { pollIntervalMs: 60_000 });
      relays.push(relay);
      await addInTransaction([[envelopes.create(Ticked, { n: 1 }), 'k']], false, 'kafka');
      await addInTransaction([[envelopes.create(Ticked, { n: 2 }), 'r']], false, 'rabbitmq');
      await relay.start(['rabbitmq']);
      await waitFor(
        () => rabbitmq.published.length,
        (n) => n === 1,
        { description: 'the rabbitmq message published' },
      );
      expect(kafka.published).toEqual([]);
      expect(relay.publishing).toEqual(['rabbitmq']);

      await relay.start(['kafka']);
      await waitFor(
        () => kafka.published.length,
        (n) => n === 1,
        { description: 'the kafka message published once kafka is started' },
      );
      expect(relay.publishing).toEqual(['rabbitmq', 'kafka']);
      await expect(relay.start(['nats'])).rejects.toThrow('outbox relay: no publisher for nats');
    });
  });

  describe('when the broker refuses one message of a batch', () => {
    // The broker takes every message but those `refuses` names, and says which (PublishIncomplete).
    class RefusingPublisher extends RecordingPublisher {
      refuses = (_message: OutgoingMessage) => false;
      readonly tries = new Map<number, number>();

      override async publish(batch: ReadonlyArray<OutgoingMessage>): Promise<void> {
        const failed = new Map<number, PublishFailure>();
        batch.forEach((message, index) => {
          const n = (message.envelope.payload as { n: number }).n;
          this.tries.set(n, (this.tries.get(n) ?? 0) + 1);
          if (this.refuses(message)) failed.set(index, { reason: `no queue for ${n}`, refused: true });
          else this.published.push(message);
        });
        if (failed.size > 0) throw new PublishIncomplete('test publish', failed, batch.length);
      }
    }
    const poison = (message: OutgoingMessage) => (message.envelope.payload as { n: number }).n === 0;

    it('publishes each of its neighbours once, tries it alone with backoff, and parks it after maxAttempts', async () => {
      const publisher = new RefusingPublisher();
      publisher.refuses = poison;
      const relay = await startRelay(publisher, { maxAttempts: 3, retryInitialDelayMs: 10, retryMaxDelayMs: 40 });
      await addInTransaction(Array.from({ length: 20 }, (_, n) => [envelopes.create(Ticked, { n }), `k${n}`]));
      const parkedRow = async () =>
        (await db.pool.query(`SELECT status, attempts, last_error FROM outbox_message WHERE status <> 'published'`)).rows;
      await expect(
        waitFor(parkedRow, (rows) => rows[0]?.status === 'parked', { description: 'the refused message to be parked' }),
      ).resolves.toEqual([{ status: 'parked', attempts: 3, last_error: 'no queue for 0' }]);
      expect([...publisher.tries].filter(([n]) => n !== 0).every(([, tries]) => tries === 1)).toBe(true);
      expect(publisher.tries.get(0)).toBe(3);
      expect(publisher.published).toHaveLength(19);
      // The relay counts a round once its transaction has committed: the row can read parked a moment before.
      await waitFor(
        () => Promise.resolve({ ...relay.counters }),
        (counters) => counters.parked === 1,
        { description: 'the relay to count the parking' },
      );
      expect(relay.counters).toMatchObject({ published: 19, refused: 3, parked: 1, failedPublishes: 0 });
      await expect(relay.stats()).resolves.toMatchObject({ pending: 0, parked: 1 });
    });

    it('holds the later messages of its key until it is parked, so that a key keeps its order while it is tried', async () => {
      const publisher = new RefusingPublisher();
      publisher.refuses = poison;
      const relay = await startRelay(publisher, { maxAttempts: 2, retryInitialDelayMs: 50, retryMaxDelayMs: 50 });
      await addInTransaction([0, 1, 2].map((n) => [envelopes.create(Ticked, { n }), 'same key']));
      await waitFor(
        () => relay.stats(),
        (stats) => stats.parked === 1 && stats.pending === 0,
        { description: 'the key to move on' },
      );
      expect(publisher.published.map((m) => (m.envelope.payload as { n: number }).n)).toEqual([1, 2]);
      expect(publisher.tries.get(1)).toBe(1);
    });

    it('publishes a parked message again once it is retried, and discards one for good', async () => {
      const publisher = new RefusingPublisher();
      publisher.refuses = poison;
      const relay = await startRelay(publisher, { maxAttempts: 1 });
      const [first, second] = [envelopes.create(Ticked, { n: 0 }), envelopes.create(Ticked, { n: 0 })];
      await addInTransaction([
        [first, 'a'],
        [second, 'b'],
      ]);
      const client = await db.pool.connect();
      try {
        await waitFor(
          () => outboxStore.parked(client),
          (rows) => rows.length === 2,
          { description: 'both to be parked' },
        );
        expect((await outboxStore.parked(client)).map((row) => ({ id: row.id, attempts: row.attempts }))).toEqual([
          { id: first.id, attempts: 1 },
          { id: second.id, attempts: 1 },
        ]);
        publisher.refuses = () => false; // the queue exists now
        await expect(outboxStore.retryParked(client, [first.id])).resolves.toBe(1);
        await waitFor(
          () => Promise.resolve(publisher.published.map((m) => m.envelope.id)),
          (ids) => ids.includes(first.id),
          {
            description: 'the retried message to be published',
          },
        );
        await expect(outboxStore.discardParked(client, null)).resolves.toBe(1);
        await expect(relay.stats()).resolves.toMatchObject({ pending: 0, parked: 0 });
        expect(publisher.published.map((m) => m.envelope.id)).toEqual([first.id]);
      } finally {
        client.release();
      }
    });
  });

  describe('when several relays run at once', () => {
    it('publishes every message once and keeps the order of each key', async () => {
      const publishers = [new RecordingPublisher(), new RecordingPublisher(), new RecordingPublisher()];
      // Publishing yields to the event loop while the claim is held, as a real broker call does,
      // so that the other relays claim meanwhile; and no publish completes before every relay has
      // started, or the first one could drain all 100 while the others are still connecting.
      const publishOrder: OutgoingMessage[] = [];
      let allStarted!: () => void;
      const started = new Promise<void>((resolve) => (allStarted = resolve));
      for (const p of publishers) {
        p.onPublish = async (batch) => {
          await started;
          await new Promise((resolve) => setImmediate(resolve));
          publishOrder.push(...batch);
        };
      }
      // More keys than a batch holds, so each relay finds keys the others do not hold.
      const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
      for (let round = 0; round < 5; round++) {
        await addInTransaction(keys.map((key, i) => [envelopes.create(Ticked, { n: round * keys.length + i }), key]));
      }
      await Promise.all(publishers.map((p) => startRelay(p, { batchSize: 5 })));
      allStarted();
      const all = () => publishers.flatMap((p) => p.published);
      await waitFor(
        () => all().length,
        (n) => n >= 100,
        { description: '100 messages published' },
      );

      expect(new Set(all().map((m) => m.envelope.id)).size).toBe(100);
      expect(publishers.filter((p) => p.published.length > 0).length).toBeGreaterThan(1);
      // All relays run in this process, so publishOrder is the true order across them.
      for (const key of keys) {
        const sequence = publishOrder.filter((m) => m.destination.key === key).map((m) => (m.envelope.payload as { n: number }).n);
        expect(sequence).toEqual([...sequence].sort((a, b) => a - b));
      }
    });
  });

  describe('when one relay keeps several batches in flight', () => {
    it('drains every message once and keeps the order of each key', async () => {
      const publisher = new RecordingPublisher();
      publisher.onPublish = () => new Promise((resolve) => setImmediate(resolve));
      const keys = Array.from({ length: 7 }, (_, i) => `k${i}`);
      for (let round = 0; round < 10; round++) {
        await addInTransaction(keys.map((key, i) => [envelopes.create(Ticked, { n: round * keys.length + i }), key]));
      }
      const relay = new OutboxRelay(db.pool, [publisher], { batchSize: 4, concurrency: 4 });

      await expect(relay.drain()).resolves.toBeGreaterThanOrEqual(70);
      expect(new Set(publisher.published.map((m) => m.envelope.id)).size).toBe(70);
      expect(publisher.published).toHaveLength(70);
      for (const key of keys) {
        const sequence = publisher.published.filter((m) => m.destination.key === key).map((m) => (m.envelope.payload as { n: number }).n);
        expect(sequence).toEqual([...sequence].sort((a, b) => a - b));
      }
      await expect(relay.stats()).resolves.toEqual({ pending: 0, oldestPendingAgeMs: 0, parked: 0, oldestParkedAgeMs: 0 });
    });
  });

  describe('when a transaction adds several messages at once', () => {
    it('writes them with one statement, in order, and a rollback leaves none', async () => {
      const batch = [1, 2, 3].map((n) => ({
        envelope: envelopes.create(Ticked, { n }),
        destination: toKey('a'),
        headers: { n: String(n) },
      }));
      await expect(
        runner.$transaction(async (tx) => {
          await outbox.addMany(tx, batch);
          throw new Error('business rule broken');
        }),
      ).rejects.toThrow('business rule broken');
      await expect(db.pool.query('SELECT count(*)::int AS n FROM outbox_message')).resolves.toMatchObject({ rows: [{ n: 0 }] });

      await runner.$transaction((tx) => outbox.addMany(tx, batch));
      const { rows } = await db.pool.query('SELECT id, partition_key, headers, status FROM outbox_message ORDER BY position');
      expect(rows).toEqual(
        batch.map(({ envelope, headers }) => ({ id: envelope.id, partition_key: 'ticks:a', headers, status: 'pending' })),
      );
    });
  });

  describe('when one transport keeps failing', () => {
    it("publishes the other transport's messages all the same, however many of the failing one wait", async () => {
      const down = new RecordingPublisher('rabbitmq');
      down.failuresLeft = Number.MAX_SAFE_INTEGER;
      const up = new RecordingPublisher('kafka');
      // More waiting for the broken transport than one claim takes, and older than the rest.
      await addInTransaction(
        Array.from({ length: 30 }, (_, n): [Envelope, string] => [envelopes.create(Ticked, { n }), `r${n}`]),
        false,
        'rabbitmq',
      );
      await addInTransaction([[envelopes.create(Ticked, { n: 100 }), 'k']]);
      await startRelay([down, up], { batchSize: 10 });
      // Published, then marked so once its claim commits: the rabbitmq rows alone stay pending.
      await waitFor(
        async () => ({
          published: up.published.length,
          pending: (await db.pool.query(`SELECT count(*)::int AS n FROM outbox_message WHERE status = 'pending'`)).rows[0].n as number,
        }),
        ({ published, pending }) => published === 1 && pending === 30,
        { description: 'the kafka message published past the failing rabbitmq ones' },
      );
    });
  });

  it('reports how many messages are pending and the age of the oldest', async () => {
    const relay = new OutboxRelay(db.pool, [new RecordingPublisher()]);
    await addInTransaction([
      [envelopes.create(Ticked, { n: 1 }), 'a'],
      [envelopes.create(Ticked, { n: 2 }), 'b'],
    ]);
    await db.pool.query("UPDATE outbox_message SET created_at = now() - interval '5 seconds'");
    const stats = await relay.stats();
    expect(stats.pending).toBe(2);
    expect(stats.oldestPendingAgeMs).toBeGreaterThanOrEqual(5_000);
  });

  it('prunes published messages older than the retention window, and only those', async () => {
    const publisher = new RecordingPublisher();
    const relay = new OutboxRelay(db.pool, [publisher], { retentionMs: 60_000, pruneIntervalMs: 0 });
    await addInTransaction([
      [envelopes.create(Ticked, { n: 1 }), 'a'],
      [envelopes.create(Ticked, { n: 2 }), 'b'],
    ]);
    await relay.drain();
    await db.pool.query(
      "UPDATE outbox_message SET published_at = now() - interval '2 minutes' WHERE position = (SELECT min(position) FROM outbox_message)",
    );
    await addInTransaction([[envelopes.create(Ticked, { n: 3 }), 'c']]);
    relays.push(relay);
    await relay.start();
    await waitFor(
      async () => (await db.pool.query('SELECT count(*)::int AS n FROM outbox_message')).rows[0].n,
      (n) => n === 2,
      {
        description: 'the old published row to be pruned',
      },
    );
    const { rows } = await db.pool.query('SELECT status FROM outbox_message ORDER BY position');
    expect(rows).toEqual([{ status: 'published' }, { status: 'published' }]);
  });
});
