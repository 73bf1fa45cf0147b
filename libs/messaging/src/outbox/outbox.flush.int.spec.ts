import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { defineMessage } from '@boxoffice/contracts';
import { createTestDatabase, waitFor, type TestDatabase } from '@boxoffice/testing';
import { z } from 'zod';
import { EnvelopeFactory } from '../envelope.factory.js';
import { PgTransactionRunner } from '../pg-transaction-runner.js';
import type { OutgoingMessage } from '../transport.port.js';
import { Outbox } from './outbox.js';
import { OutboxRelay, type Publisher } from './outbox.relay.js';

const Ticked = defineMessage({ type: 'Ticked', version: 1, kind: 'event', description: 'test', schema: z.object({ n: z.number() }) });
const envelopes = new EnvelopeFactory('outbox-flush-spec');
const sql = ['outbox-inbox', 'outbox-parking', 'outbox-notify-transport'].map((name) => new URL(`../../sql/${name}.sql`, import.meta.url));

/** A broker whose first publish waits until the spec lets it go: the relay is busy when the service stops. */
class HeldPublisher implements Publisher {
  readonly name = 'kafka';
  readonly published: OutgoingMessage[] = [];
  private release!: () => void;
  private readonly held = new Promise<void>((resolve) => (this.release = resolve));
  holding = false;

  async publish(batch: ReadonlyArray<OutgoingMessage>): Promise<void> {
    if (this.published.length === 0) {
      this.holding = true;
      await this.held;
    }
    this.published.push(...batch);
  }

  letGo(): void {
    this.release();
  }
}

// A stopping service hands on what it committed: the last batches its consumers finished wrote
// their events to the outbox while the relay was busy, and the relay publishes them before it goes.
describe('when the outbox relay stops while messages are pending', () => {
  let db: TestDatabase;
  let runner: PgTransactionRunner;
  const outbox = new Outbox();
  let relay: OutboxRelay;
  let publisher: HeldPublisher;

  beforeAll(async () => {
    db = await createTestDatabase('outbox_flush', sql);
    runner = new PgTransactionRunner(db.pool);
  });
  afterEach(() => db.pool.query('TRUNCATE outbox_message'));
  afterAll(() => db.drop());

  const add = (n: number) =>
    runner.$transaction((tx) => outbox.add(tx, envelopes.create(Ticked, { n }), { transport: 'kafka', channel: 'ticks', key: `k${n}` }));
  const pending = async () => (await db.pool.query(`SELECT count(*)::int AS n FROM outbox_message WHERE status = 'pending'`)).rows[0].n;

  /** One loop, busy with the first message, while two more are committed behind it. */
  const busyRelay = async () => {
    publisher = new HeldPublisher();
    relay = new OutboxRelay(db.pool, [publisher], { concurrency: 1, pollIntervalMs: 60_000 });
    await relay.start();
    await add(1);
    await waitFor(() => publisher.holding, Boolean, { description: 'the relay to be publishing the first message' });
    await add(2);
    await add(3);
  };

  it('publishes them before it goes, given time to flush', async () => {
    await busyRelay();
    const stopped = relay.stop(Date.now() + 5_000);
    publisher.letGo();
    await stopped;
    expect(publisher.published.map((m) => m.envelope.payload)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    await expect(pending()).resolves.toBe(0);
  });

  it('leaves them pending for the next start once its time to flush is over', async () => {
    await busyRelay();
    const stopped = relay.stop(Date.now());
    publisher.letGo();
    await stopped;
    expect(publisher.published.map((m) => m.envelope.payload)).toEqual([{ n: 1 }]);
    await expect(pending()).resolves.toBe(2);
  });
});
