import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { OutboxRelay, silentLogger } from '@boxoffice/messaging';
import { OutboxPipeline } from '../test/outbox-pipeline.js';
import { chargeOrder, connect, deleteTopology, testSource, waitFor } from '../test/test-broker.js';

// Raises a memory alarm on the RabbitMQ node itself, so every publisher of the node is blocked for
// a few seconds: `npm test` runs this file alone, after everything else (its name ends in
// .disruptive.int.spec.ts). The alarm is cleared in `finally`, and again after all, whatever happens.
const run = promisify(execFile);
const rabbitmqctl = (...args: string[]) => run('rabbitmqctl', args, { timeout: 60_000 });

/** The node's watermark as `rabbitmqctl set_vm_memory_high_watermark` takes it back: `0.4`, or `absolute 1073741824`. */
async function currentWatermark(): Promise<string[]> {
  const { stdout } = await rabbitmqctl('eval', 'vm_memory_monitor:get_vm_memory_high_watermark().');
  const value = stdout.trim();
  const absolute = /^\{absolute,(\d+)\}$/.exec(value);
  if (absolute) return ['absolute', absolute[1]];
  if (!/^\d+(\.\d+)?$/.test(value)) throw new Error(`cannot read the memory watermark from '${value}'`);
  return [value];
}

describe('when RabbitMQ takes the relay’s messages and does not confirm them (a memory alarm)', () => {
  const source = testSource('memory-alarm');
  let pipeline: OutboxPipeline;
  let watermark: string[];
  let alarmRaised = false;
  const relays: OutboxRelay[] = [];
  const relay = (publishTimeoutMs: number) => {
    const started = new OutboxRelay(pipeline.db.pool, [pipeline.transport], {
      publishTimeoutMs,
      retryInitialDelayMs: 50,
      pollIntervalMs: 200,
      logger: silentLogger,
    });
    relays.push(started);
    return started;
  };
  const clearAlarm = async () => {
    if (!alarmRaised) return;
    await rabbitmqctl('set_vm_memory_high_watermark', ...watermark);
    alarmRaised = false;
  };

  beforeAll(async () => {
    watermark = await currentWatermark();
    pipeline = await OutboxPipeline.create('memory_alarm');
  });
  afterAll(async () => {
    await clearAlarm();
    for (const started of relays) await started.stop();
    await pipeline.stop();
    const connection = await connect('memory-alarm-cleanup');
    await deleteTopology(connection, source);
    await connection.close();
  });

  it('fails the publish by its deadline, stops promptly, keeps the rows pending, and delivers them once the alarm clears', async () => {
    // Consuming, and the confirm channel open, before the alarm: what fails then is the confirms.
    await pipeline.start(source);
    await pipeline.add([chargeOrder()], source);
    await waitFor(
      () => pipeline.deliveries,
      (n) => n === 1,
      { description: 'a first command delivered' },
    );
    await pipeline.relay.stop();
    const messages = Array.from({ length: 10 }, () => chargeOrder());
    await pipeline.add(messages, source);

    alarmRaised = true;
    await rabbitmqctl('set_vm_memory_high_watermark', '0');
    try {
      const silenced = relay(1_000);
      await silenced.start();
      await waitFor(
        () => silenced.counters.failedPublishes,
        (n) => n >= 1,
        { timeoutMs: 5_000, description: 'the publish to fail by its deadline' },
      );
      const { rows } = await pipeline.db.pool.query(
        `SELECT DISTINCT status, attempts, last_error FROM outbox_message WHERE envelope->>'id' = ANY($1::text[])`,
        [messages.map((m) => m.id)],
      );
      // Pending, and no refusal counted. A batch that timed out says so; a second batch in flight on
      // the same confirm channel, given up with it, says its confirms were abandoned at that deadline.
      expect(rows.map((row) => ({ ...row, last_error: String(row.last_error) }))).toEqual(
        rows.map(() => ({
          status: 'pending',
          attempts: 0,
          last_error: expect.stringMatching(
            /^(no confirmation from rabbitmq within 1000 ms|no confirm from RabbitMQ before the publish deadline)$/,
          ),
        })),
      );
      expect(rows.length).toBeGreaterThan(0);
      const stopping = Date.now();
      await silenced.stop();
      expect(Date.now() - stopping).toBeLessThan(2_500);
    } finally {
      await clearAlarm();
    }

    await relay(10_000).start();
    const effects = await waitFor(
      () => pipeline.effects(),
      (seen) => messages.every((m) => seen.has(m.id)),
      { timeoutMs: 30_000, description: 'every command to take effect once the alarm cleared' },
    );
    expect(effects.size).toBe(11);
    expect([...effects.values()].every((n) => n === 1)).toBe(true);
  });
});
