// One cell of the chaos matrix: one fault on one transport pair, in a system of its own.
//
//   1. The five services run as processes (Billing twice) in a fresh namespace, on the pair's
//      transports, with whatever the fault asks for (a proxy's address), Email sending to an SMTP
//      server in this process that records every mail.
//   2. Purchases and sign-ups flow the whole time (chaos.flow.ts).
//   3. After a fifth of the cell the fault is injected and held for three fifths, then healed
//      (always, even if the injection failed or the bench is interrupted).
//   4. The flow stops; once everything has settled (or the settle window is over), every ledger
//      is reconciled (chaos.ledgers.ts).
import { TestSystem } from '@boxoffice/e2e';
import { TestSmtpServer, waitFor } from '@boxoffice/testing';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import type { ChaosFault, FaultContext, TransportPair } from './chaos.faults.ts';
import { repairDeadLetterSupervisor } from '../infra/rabbitmq-repair.ts';
import { ServiceFleet } from './chaos.fleet.ts';
import { ChaosFlow } from './chaos.flow.ts';
import { reconcile, settle, type Ledgers } from './chaos.ledgers.ts';

export interface CellOptions {
  /** How long the flow runs; the fault is held for the middle three fifths. */
  readonly seconds: number;
  /** How long the system may take to settle after the flow stops. */
  readonly settleSeconds: number;
  readonly ordersPerSecond: number;
  readonly signUpsPerSecond: number;
  readonly capacity: number;
}

export interface CellResult {
  readonly fault: string;
  readonly pair: string;
  /** ok: every ledger 0; fail: some are not; n/a: the fault means nothing on this pair; skipped: cannot run here; error: the cell broke. */
  readonly outcome: 'ok' | 'fail' | 'n/a' | 'skipped' | 'error';
  readonly detail?: string;
  readonly failures: string[];
  readonly ledgers?: Ledgers;
  readonly figures?: Record<string, unknown>;
  readonly notes?: Record<string, unknown>;
  readonly settled?: boolean;
  readonly seconds?: number;
}

export async function runCell(
  fault: ChaosFault,
  pair: TransportPair,
  options: CellOptions,
  log: (line: string) => void,
): Promise<CellResult> {
  const cell = { fault: fault.name, pair: pair.name, failures: [] };
  if (!fault.appliesTo(pair)) return { ...cell, outcome: 'n/a' };
  const unavailable = fault.unavailable?.(pair);
  if (unavailable) return { ...cell, outcome: 'skipped', detail: unavailable };

  const began = performance.now();
  const system = new TestSystem({ COMMAND_TRANSPORT: pair.command, EVENT_TRANSPORT: pair.event });
  const smtp = new TestSmtpServer();
  const pools = new Map<string, pg.Pool>();
  const db = (service: string) => {
    if (!pools.has(service)) {
      const pool = new pg.Pool({ connectionString: system.databaseUrl(service), max: 2 });
      pool.on('error', () => {}); // PostgreSQL restarted under us: the next query reconnects
      pools.set(service, pool);
    }
    return pools.get(service)!;
  };
  const setup = {
    pair,
    system,
    smtp,
    smtpUrl: await smtp.start(),
    db,
    windowMs: options.seconds * 600,
    log,
    poisonIds: [] as string[],
    notes: {} as Record<string, unknown>,
    cleanups: [] as Array<() => Promise<void>>,
  };
  let flow: ChaosFlow | undefined;
  try {
    const faultEnv = (await fault.prepare?.(setup)) ?? {};
    const fleet = new ServiceFleet(system, {
      ...faultEnv,
      billing1: { PAYMENT_LATENCY_MS: '5', ...faultEnv.billing1 },
      billing2: { PAYMENT_LATENCY_MS: '5', ...faultEnv.billing2 },
      email: { SMTP_URL: setup.smtpUrl, ...faultEnv.email },
    });
    await fleet.startAll();
    flow = new ChaosFlow(() => fleet.url('checkout'), {
      ordersPerSecond: options.ordersPerSecond,
      signUpsPerSecond: options.signUpsPerSecond,
      answerTimeoutMs: 30_000,
    });
    const ctx: FaultContext = { ...setup, fleet, flow };
    log(`started the services in namespace ${system.namespace}`);

    const concert = await flow.ask({
      path: '/concerts',
      body: { name: 'Chaos', startsAt: '2027-06-01T20:00:00Z', capacity: options.capacity, priceCents: 1_000 },
      ok: 201,
      headers: { 'x-admin-key': 'local-admin-key' },
    });
    await waitFor(
      () => db('billing').query('SELECT 1 FROM seat_inventory WHERE concert_id = $1', [concert!.id]),
      (r) => r.rowCount === 1,
      { timeoutMs: 60_000, description: 'Billing to hear of the concert' },
    );

    // The bench's own event loop, watched: a late one (two busy cores) delays answers it then counts as missing.
    const benchLoop = monitorEventLoopDelay({ resolution: 20 });
    benchLoop.enable();
    flow.start(concert!.id);
    log('the flow started');
    await delay(options.seconds * 200);
    const failed = await injectAndHeal(fault, ctx, log);
    await delay(options.seconds * 200);
    const tally = await flow.stop(60_000);
    benchLoop.disable();
    setup.notes.benchEventLoopDelayMs = { p99: Math.round(benchLoop.percentile(99) / 1e6), max: Math.round(benchLoop.max / 1e6) };
    log(`the flow stopped: ${tally.accepted.length} purchases and ${tally.signedUp.length} sign-ups accepted; settling`);

    const settled = await settle(db, options.settleSeconds * 1_000);
    const { ledgers, failures, figures } = await reconcile(db, tally, smtp.received, setup.poisonIds);
    if (failed) failures.unshift(`fault: ${failed}`);
    if (failures.length > 0) keepOutputs(`${fault.name}-${pair.name}`, fleet.outputs(), log);
    return {
      ...cell,
      outcome: failures.length === 0 ? 'ok' : 'fail',
      failures,
      ledgers,
      figures,
      notes: setup.notes,
      settled,
      seconds: Math.round((performance.now() - began) / 1000),
    };
  } catch (error) {
    log(`the cell broke: ${(error as Error).message}`);
    return { ...cell, outcome: 'error', detail: (error as Error).message.split('\n')[0], failures: ['error'] };
  } finally {
    await flow?.stop(0).catch(() => undefined);
    await Promise.all([...pools.values()].map((pool) => pool.end().catch(() => undefined)));
    await system.teardown().catch(() => undefined);
    await smtp.stop().catch(() => undefined);
    for (const cleanup of setup.cleanups) await cleanup().catch(() => undefined);
    // A namespace's quorum queues deleted soon after a RabbitMQ restart can stop its dead-letter
    // supervisor (rabbitmq-server#16652); the next cell would then fail for RabbitMQ's sake.
    if (pair.command === 'rabbitmq') repairDeadLetterSupervisor((line) => log(line.trim()));
  }
}

/**
 * Injects the fault and always heals it, also when the bench is interrupted meanwhile (a memory
 * alarm left raised would block every RabbitMQ user on the machine). Returns why injecting or
 * healing failed, if it did.
 */
async function injectAndHeal(fault: ChaosFault, ctx: FaultContext, log: (line: string) => void): Promise<string | undefined> {
  const interrupted = (signal: NodeJS.Signals) => {
    log(`${signal}: healing ${fault.name} before exiting`);
    void fault.heal(ctx).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  let failed: string | undefined;
  const injected = performance.now();
  try {
    await fault.inject(ctx);
    // Held for its whole window, whatever the fault does itself: the flow meets it that long.
    await delay(Math.max(0, ctx.windowMs - (performance.now() - injected)));
  } catch (error) {
    failed = `inject: ${(error as Error).message.split('\n')[0]}`;
    log(`the fault ${fault.name} failed: ${(error as Error).message}`);
  } finally {
    await fault.heal(ctx).catch((error: unknown) => {
      failed ??= `heal: ${(error as Error).message.split('\n')[0]}`;
      log(`healing ${fault.name} failed: ${(error as Error).message}`);
    });
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
  return failed;
}

/** The services' output of a cell that did not reconcile, in tmp/chaos-logs/<cell>/<instance>.log, to find out why. */
function keepOutputs(cell: string, outputs: Array<[string, string]>, log: (line: string) => void): void {
  const dir = path.join('tmp', 'chaos-logs', cell);
  mkdirSync(dir, { recursive: true });
  for (const [instance, output] of outputs) writeFileSync(path.join(dir, `${instance}.log`), output);
  log(`the services' output: ${dir}`);
}
