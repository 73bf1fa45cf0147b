import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { OutboxPipeline } from '../test/outbox-pipeline.js';
import { chargeOrder, connect, deleteTopology, testSource, toQueue, waitFor, type TestSource } from '../test/test-broker.js';
import type { RabbitMqConnection } from './rabbitmq.connection.js';

describe('a command from the outbox, through RabbitMQ, into a consumer with an inbox', () => {
  let connection: RabbitMqConnection;
  let source: TestSource;
  let pipeline: OutboxPipeline;

  beforeEach(async () => {
    connection = await connect('outbox-to-inbox');
    source = testSource('outbox-to-inbox');
    pipeline = await OutboxPipeline.create('outbox_to_inbox');
  });
  afterEach(async () => {
    await pipeline.stop();
    await deleteTopology(connection, source);
    await connection.close();
  });

  describe('when the relay dies between publishing and marking the message published', () => {
    it('publishes the message again, and the inbox ignores the second copy', async () => {
      let killed = false;
      let terminated: number | null = null;
      await pipeline.start(source, (publisher) => ({
        name: publisher.name,
        publish: async (messages) => {
          await publisher.publish(messages);
          if (killed) return;
          killed = true;
          // The relay's claim transaction sits idle while it publishes: end it the way a crash
          // would. Only that one: the consumer's inbox transaction may be open at the same moment,
          // and so may the relay's other batch, whose claim found nothing (it locked no row, so it
          // has no transaction id).
          ({ rowCount: terminated } = await pipeline.db.pool.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE datname = current_database() AND state = 'idle in transaction'
                AND query LIKE '%FOR UPDATE SKIP LOCKED%' AND backend_xid IS NOT NULL`,
          ));
        },
      }));
      const message = chargeOrder();
      await pipeline.add([message], source);

      await waitFor(
        () => pipeline.deliveries,
        (n) => n >= 2,
        { description: 'the message to be delivered twice' },
      );
      const published = await waitFor(
        async () => (await pipeline.db.pool.query("SELECT count(*)::int AS n FROM outbox_message WHERE status = 'published'")).rows[0].n,
        (n) => n === 1,
        { description: 'the second publish to be marked' },
      );
      expect(published).toBe(1);
      expect(terminated).toBe(1);
      await expect(pipeline.effects()).resolves.toEqual(new Map([[message.id, 1]]));
    });
  });

  describe('when the same message is delivered three times', () => {
    it('has one effect', async () => {
      await pipeline.start(source);
      const message = chargeOrder();
      await pipeline.transport.publish([1, 2, 3].map(() => toQueue(source, message)));

      await waitFor(
        () => pipeline.deliveries,
        (n) => n === 3,
        { description: 'three deliveries' },
      );
      await expect(pipeline.effects()).resolves.toEqual(new Map([[message.id, 1]]));
    });
  });
});
