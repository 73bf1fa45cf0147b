import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  EnvelopeFactory,
  Outbox,
  OutboxRelay,
  PgTransactionRunner,
  PublishIncomplete,
  silentLogger,
  type OutgoingMessage,
} from '@boxoffice/messaging';
import { numberedMessage } from '@boxoffice/messaging-contract';
import { createTestDatabase, TcpFaultProxy, uniqueName, waitFor, type TestDatabase } from '@boxoffice/testing';
import { readStreamToEnd } from './kinesis.stream-reader.js';
import { KinesisTransport } from './kinesis.transport.js';
import { deleteStreamAndItsOwn, endpoint } from './testing/kinesis.fixtures.js';

const Published = numberedMessage('KinesisPublished', 'event');

describe('publishing to Kinesis', () => {
  const stream = uniqueName('publisher_stream');
  const envelopes = new EnvelopeFactory('publisher-spec');
  const message = (seq: number, channel = stream): OutgoingMessage => ({
    envelope: envelopes.create(Published, { key: `k${seq}`, seq }),
    destination: { transport: 'kinesis', channel, key: `k${seq}` },
  });
  const seqsOnStream = async () =>
    (await readStreamToEnd(transport.client, stream)).map(
      (record) => (JSON.parse(record.body) as { payload: { seq: number } }).payload.seq,
    );
  let transport: KinesisTransport;

  beforeAll(async () => {
    transport = new KinesisTransport({ endpoint, shards: 1 });
    await transport.provision([stream]);
  });
  afterAll(async () => {
    await deleteStreamAndItsOwn(transport.client, stream).catch(() => undefined);
    await transport.close();
  });

  describe('when a publish goes to a stream that does not exist beside one that does', () => {
    it('names the records for the missing stream as refused, and takes the others', async () => {
      const error = await transport.publish([message(1), message(2, uniqueName('missing_stream')), message(3)]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PublishIncomplete);
      expect([...(error as PublishIncomplete).failed]).toEqual([[1, { reason: expect.stringMatching(/not found/i), refused: true }]]);
      expect(await seqsOnStream()).toEqual(expect.arrayContaining([1, 3]));
      expect(await seqsOnStream()).not.toContain(2);
    });
  });

  describe('when one record is over the 1 MB a record may be', () => {
    it('refuses that record alone, without sending it, and takes its neighbours', async () => {
      const tooLarge = { ...message(5), headers: { padding: 'x'.repeat(1024 * 1024) } };
      const error = await transport.publish([message(4), tooLarge, message(6)]).catch((e: unknown) => e);
      expect([...(error as PublishIncomplete).failed]).toEqual([
        [1, { reason: expect.stringMatching(/over Kinesis' limit/), refused: true }],
      ]);
      expect(await seqsOnStream()).toEqual(expect.arrayContaining([4, 6]));
      expect(await seqsOnStream()).not.toContain(5);
    });
  });

  describe('when Kinesis stops answering', () => {
    const [host, port] = new URL(endpoint).host.split(':');
    const silence = new TcpFaultProxy({ host, port: Number(port) });
    let silent: KinesisTransport;
    let db: TestDatabase;

    beforeAll(async () => {
      // Every connection is accepted and never answered, as a partition or a hung server looks.
      silence.set('blackhole');
      silent = new KinesisTransport({ endpoint: `http://127.0.0.1:${await silence.start()}` });
      db = await createTestDatabase('kinesis_deadline', [
        new URL('../../messaging/sql/outbox-inbox.sql', import.meta.url),
        new URL('../../messaging/sql/outbox-parking.sql', import.meta.url),
      ]);
    });
    afterAll(async () => {
      await silent.close();
      await silence.stop();
      await db.drop();
    });

    it('lets go of its request once the caller stops waiting', async () => {
      const started = Date.now();
      await expect(silent.publish([message(7)], { signal: AbortSignal.timeout(300) })).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(3_000);
    });

    it('fails the relay’s publish by its deadline, keeps the row pending, and publishes it once Kinesis answers', async () => {
      const relay = new OutboxRelay(db.pool, [silent], { publishTimeoutMs: 500, retryInitialDelayMs: 50, logger: silentLogger });
      const row = message(8);
      await new PgTransactionRunner(db.pool).$transaction((tx) => new Outbox().addMany(tx, [row]));
      await relay.start();
      await waitFor(
        () => relay.counters.failedPublishes,
        (n) => n >= 1,
        { timeoutMs: 5_000, description: 'the publish to fail by its deadline' },
      );
      const { rows } = await db.pool.query('SELECT status, attempts, last_error FROM outbox_message');
      expect(rows).toEqual([{ status: 'pending', attempts: 0, last_error: 'no confirmation from kinesis within 500 ms' }]);
      const stopping = Date.now();
      await relay.stop();
      expect(Date.now() - stopping).toBeLessThan(2_000);

      silence.set('pass');
      const answering = new OutboxRelay(db.pool, [silent], { logger: silentLogger });
      await expect(answering.drain()).resolves.toBe(1);
      expect(await seqsOnStream()).toContain(8);
    });
  });
});
