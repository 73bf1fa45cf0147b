// The faults of the chaos matrix, one each, as operators meet them. A cell starts the services
// (with the environment a fault's `prepare` asks for), lets the flow run, calls `inject` (which
// holds the fault for its window), then always `heal`, and reconciles the ledgers.
import { ChargeOrder } from '@boxoffice/contracts';
import type { TestSystem } from '@boxoffice/e2e';
import { EnvelopeFactory, type TransportName } from '@boxoffice/messaging';
import { TcpFaultProxy, type TestSmtpServer } from '@boxoffice/testing';
import { brokerAddress, serviceBrokerUrl } from '@boxoffice/config';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import type pg from 'pg';
import { infraAddresses } from '../infra/addresses.ts';
import { serverOfTransport } from '../infra/infra.ts';
import type { ServiceName } from '../infra/state.ts';
import type { ChaosFlow } from './chaos.flow.ts';
import { instances, serviceOf, type FleetEnv, type Instance, type ServiceFleet } from './chaos.fleet.ts';
import { KafkaAdvertisingRelay } from './chaos.kafka-relay.ts';
import { restartServer, whyNotRestartable } from './chaos.servers.ts';

const exec = promisify(execFile);

/** A command transport and an event transport that a deployment runs on together. */
export interface TransportPair {
  readonly name: string;
  readonly command: TransportName;
  readonly event: TransportName;
}

export const transportPairs: ReadonlyArray<TransportPair> = [
  { name: 'rabbitmq+kafka', command: 'rabbitmq', event: 'kafka' },
  { name: 'activemq+kafka', command: 'activemq', event: 'kafka' },
  { name: 'sqs+kinesis', command: 'sqs', event: 'kinesis' },
  { name: 'nats+nats', command: 'nats', event: 'nats' },
];

/** The servers a pair's messages travel through. */
export const brokersOf = (pair: TransportPair): ServiceName[] => [...new Set([pair.command, pair.event].map((t) => serverOfTransport[t]))];

/** What a fault works with; `fleet` and `flow` exist from `inject` on, not in `prepare`. */
export interface FaultContext {
  readonly pair: TransportPair;
  readonly system: TestSystem;
  readonly fleet: ServiceFleet;
  readonly flow: ChaosFlow;
  readonly smtp: TestSmtpServer;
  readonly smtpUrl: string;
  /** A pool on the database of a service. */
  readonly db: (service: string) => pg.Pool;
  /** How long the fault is held. */
  readonly windowMs: number;
  readonly log: (line: string) => void;
  /** Outbox rows the fault wrote that must end parked. */
  readonly poisonIds: string[];
  /** What the fault did, for the report (restart times, servers restarted or left alone). */
  readonly notes: Record<string, unknown>;
  /** Run once the cell is torn down. */
  readonly cleanups: Array<() => Promise<void>>;
}

/**
 * `inject` starts the fault, and plays it out where it has a course of its own (the kills one
 * after the other, the proxy's phases); the cell holds it for the rest of its window, then calls
 * `heal`, which puts back whatever is still faulty (and does nothing when nothing is).
 */
export interface ChaosFault {
  readonly name: string;
  /** Whether the fault means anything on this pair (a RabbitMQ alarm on a pair without RabbitMQ does not). */
  appliesTo(pair: TransportPair): boolean;
  /** Why it cannot run on this machine now (a server infra:up did not start), or undefined. */
  unavailable?(pair: TransportPair): string | undefined;
  /** Before the services start: the environment they need for this fault (a proxy's address). */
  prepare?(ctx: Omit<FaultContext, 'fleet' | 'flow'>): Promise<FleetEnv>;
  inject(ctx: FaultContext): Promise<void>;
  /** Always called after `inject`, even when it failed: puts everything back. */
  heal(ctx: FaultContext): Promise<void>;
}

/** Both Billing instances, Checkout and Email SIGKILLed in turn, each started again at once. */
const kill: ChaosFault = {
  name: 'kill',
  appliesTo: () => true,
  async inject(ctx) {
    const victims: Instance[] = ['billing1', 'billing2', 'checkout', 'email'];
    const restartsMs: Record<string, { accepting: number; ready: number }> = {};
    for (const [i, name] of victims.entries()) {
      if (i > 0) await delay(ctx.windowMs / victims.length);
      ctx.log(`SIGKILL ${name}`);
      // Requests that fail while Checkout is down are the crash's, not a missing answer of a running
      // service; if it does not come back, the fault fails and the rest of the flow stays "down".
      if (name === 'checkout') ctx.flow.checkoutDown = true;
      await ctx.fleet.kill(name);
      const again = await ctx.fleet.startAgain(name);
      ctx.flow.checkoutDown = false;
      restartsMs[name] = { accepting: again.acceptingMs, ready: await again.ready() };
      ctx.log(`${name} accepting again after ${restartsMs[name].accepting} ms, ready (consuming) after ${restartsMs[name].ready} ms`);
    }
    ctx.notes.restartsMs = restartsMs;
  },
  async heal() {},
};

/**
 * One pending row in Checkout's outbox for a command channel that does not exist, among the
 * purchases' ChargeOrders: it must not hold them up nor make them published twice, and it must
 * end parked (counted apart from the empty-outbox ledger).
 */
const poisonOutboxRow: ChaosFault = {
  name: 'poison-outbox-row',
  // Artemis, as infra:up and compose configure it, creates a queue for any address a message is
  // sent to (auto-create-queues): it refuses no destination, so the row is published, into a
  // queue nobody reads. There is nothing for the relay to isolate there.
  appliesTo: (pair) => pair.command !== 'activemq',
  async inject(ctx) {
    const poison = new EnvelopeFactory('checkout').create(ChargeOrder, {
      orderId: randomUUID(),
      concertId: randomUUID(),
      quantity: 1,
      customerEmail: 'nobody@example.com',
    });
    const destination = { transport: ctx.pair.command, channel: `${ctx.system.namespace}.billing.nobody`, key: 'poison' };
    await ctx
      .db('checkout')
      .query(`INSERT INTO outbox_message (id, type, destination, partition_key, envelope) VALUES ($1, 'ChargeOrder', $2, 'poison', $3)`, [
        poison.id,
        destination,
        poison,
      ]);
    ctx.poisonIds.push(poison.id);
    ctx.log(`wrote an outbox row for ${destination.transport} ${destination.channel}, which does not exist`);
  },
  async heal() {},
};

/** The SMTP server takes 70 s over each mail (longer than a claim's lease and Email's SMTP timeout). */
const smtpSlow: ChaosFault = {
  name: 'smtp-slow',
  appliesTo: () => true,
  async inject(ctx) {
    ctx.smtp.sendDelayMs = 70_000;
    ctx.log('the SMTP server now takes 70 s per mail');
  },
  async heal(ctx) {
    ctx.smtp.sendDelayMs = 0;
    ctx.log('the SMTP server answers at once again');
  },
};

/** No SMTP server for a while: Email's connections are cut and new ones refused, then it is back. */
function smtpAbsent(): ChaosFault {
  let door: TcpFaultProxy | undefined;
  return {
    name: 'smtp-absent',
    appliesTo: () => true,
    async prepare(ctx) {
      const smtp = new URL(ctx.smtpUrl);
      door = new TcpFaultProxy({ host: smtp.hostname, port: Number(smtp.port) });
      const proxy = door;
      const port = await proxy.start();
      ctx.cleanups.push(() => proxy.stop());
      return { email: { SMTP_URL: `smtp://127.0.0.1:${port}` } };
    },
    async inject(ctx) {
      door!.set('reset', { cut: true });
      ctx.log('the SMTP server is gone: connections cut, new ones reset');
    },
    async heal(ctx) {
      door?.set('pass');
      ctx.log('the SMTP server is back');
    },
  };
}

/**
 * RabbitMQ's memory alarm: with the high watermark at 0 the broker blocks every publishing
 * connection (publisher confirms never come) until it is set back. It holds for 10 s at most,
 * since it blocks every RabbitMQ user on the machine, and the original watermark is always put back.
 */
function rabbitmqMemoryAlarm(): ChaosFault {
  let original: string[] | undefined;
  return {
    name: 'rabbitmq-memory-alarm',
    appliesTo: (pair) => pair.command === 'rabbitmq' || pair.event === 'rabbitmq',
    async inject(ctx) {
      // 0.4 (a fraction of the machine's memory) or {absolute,N} (bytes).
      const { stdout } = await exec('rabbitmqctl', ['eval', 'vm_memory_monitor:get_vm_memory_high_watermark().']);
      const absolute = /\{absolute,\s*"?(\d+)"?\}/.exec(stdout);
      const read = absolute ? ['absolute', absolute[1]] : [String(Number(stdout.trim()))];
      if (!absolute && !(Number(read[0]) > 0)) throw new Error(`could not read RabbitMQ's memory watermark from ${JSON.stringify(stdout)}`);
      original = read;
      ctx.notes.watermark = original.join(' ');
      await exec('rabbitmqctl', ['set_vm_memory_high_watermark', '0']);
      ctx.log(`RabbitMQ memory alarm raised (watermark 0, was ${original.join(' ')})`);
      await delay(Math.min(ctx.windowMs, 10_000));
      await this.heal(ctx);
    },
    async heal(ctx) {
      if (!original) return;
      await exec('rabbitmqctl', ['set_vm_memory_high_watermark', ...original]);
      ctx.log(`RabbitMQ memory watermark back to ${original.join(' ')}`);
      original = undefined;
    },
  };
}

/**
 * A TcpFaultProxy between the services and each broker of the pair: 200 ms each way, then every
 * connection reset and new ones refused, a clean path for a while, then a blackhole (open
 * connections stall, new ones hang) for a few seconds, then a clean path again.
 */
function brokerProxy(): ChaosFault {
  const proxies: TcpFaultProxy[] = [];
  let faulty = false;
  return {
    name: 'proxy',
    appliesTo: () => true,
    async prepare(ctx) {
      proxies.length = 0;
      const addresses = infraAddresses();
      const env: Record<string, string> = {};
      /** Per instance, a broker URL that carries the service's own account. */
      const own: FleetEnv = {};
      for (const broker of brokersOf(ctx.pair)) {
        const target = addresses[broker as keyof typeof addresses];
        if (broker === 'kafka') {
          const relay = new KafkaAdvertisingRelay(target);
          const proxy = new TcpFaultProxy({ host: '127.0.0.1', port: await relay.start() });
          ctx.cleanups.push(() => relay.stop());
          relay.advertisedPort = await proxy.start();
          proxies.push(proxy);
          env.KAFKA_BROKERS = `127.0.0.1:${relay.advertisedPort}`;
        } else {
          const proxy = new TcpFaultProxy(target);
          const port = await proxy.start();
          proxies.push(proxy);
          Object.assign(env, urlThrough(broker, port));
          for (const instance of instances) own[instance] = { ...own[instance], ...urlThrough(broker, port, serviceOf(instance)) };
        }
      }
      for (const proxy of proxies) ctx.cleanups.push(() => proxy.stop());
      ctx.log(
        `services reach ${brokersOf(ctx.pair).join(' and ')} through fault proxies: ${JSON.stringify(env)}, each with its own account`,
      );
      return { all: env, ...own };
    },
    async inject(ctx) {
      const phase = async (what: string, ms: number, apply: (proxy: TcpFaultProxy) => void) => {
        ctx.log(`proxy: ${what} for ${(ms / 1000).toFixed(1)} s`);
        faulty = true;
        proxies.forEach(apply);
        await delay(ms);
      };
      await phase('200 ms latency each way', ctx.windowMs * 0.3, (proxy) => (proxy.latencyMs = 200));
      await phase('connections reset', ctx.windowMs * 0.2, (proxy) => {
        proxy.latencyMs = 0;
        proxy.set('reset', { cut: true });
      });
      // Long enough for the services to connect again, so that the blackhole stalls open connections too.
      await phase('a clean path', ctx.windowMs * 0.25, (proxy) => proxy.set('pass'));
      await phase('blackhole', Math.min(5_000, ctx.windowMs * 0.25), (proxy) => proxy.set('blackhole'));
      await this.heal(ctx);
    },
    async heal(ctx) {
      if (!faulty) return;
      for (const proxy of proxies) {
        proxy.latencyMs = 0;
        proxy.set('pass');
      }
      faulty = false;
      ctx.log('proxy: pass');
    },
  };
}

const urlSettings: Partial<Record<ServiceName, 'RABBITMQ_URL' | 'ACTIVEMQ_URL' | 'SQS_ENDPOINT' | 'KINESIS_ENDPOINT' | 'NATS_URL'>> = {
  rabbitmq: 'RABBITMQ_URL',
  activemq: 'ACTIVEMQ_URL',
  sqs: 'SQS_ENDPOINT',
  kinesis: 'KINESIS_ENDPOINT',
  nats: 'NATS_URL',
};

/**
 * The environment setting that points the services at `broker`, rewritten to 127.0.0.1:`port`
 * (credentials kept): the operator's, or with `service`, that service's own account where it has one.
 */
function urlThrough(broker: ServiceName, port: number, service?: string): Record<string, string> {
  const setting = urlSettings[broker];
  if (!setting) throw new Error(`no fault proxy for ${broker}`);
  const url = new URL(
    service && (setting === 'RABBITMQ_URL' || setting === 'ACTIVEMQ_URL') ? serviceBrokerUrl(setting, service) : brokerAddress(setting),
  );
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return { [setting]: url.toString().replace(/\/$/, '') };
}

/** The pair's brokers stopped and started again, those this machine lets the bench restart. */
const brokerRestart: ChaosFault = {
  name: 'broker-restart',
  appliesTo: () => true,
  unavailable(pair) {
    const reasons = brokersOf(pair).map(whyNotRestartable);
    return reasons.every(Boolean) ? reasons.join('; ') : undefined;
  },
  async inject(ctx) {
    const servers: Record<string, string> = {};
    for (const broker of brokersOf(ctx.pair)) {
      const why = whyNotRestartable(broker);
      if (why) {
        ctx.log(`leaving ${broker} alone: ${why}`);
        servers[broker] = `left alone: ${why}`;
        continue;
      }
      ctx.log(`restarting ${broker}`);
      const started = performance.now();
      await restartServer(broker, ctx.log);
      servers[broker] = `restarted, answering after ${Math.round(performance.now() - started)} ms`;
      ctx.log(`${broker} ${servers[broker]}`);
    }
    ctx.notes.servers = servers;
  },
  async heal() {},
};

/** PostgreSQL restarted under every service (BENCH_CHAOS_RESTART_ALL=1 only: it serves the whole machine). */
const postgresRestart: ChaosFault = {
  name: 'postgres-restart',
  appliesTo: () => true,
  unavailable: () => whyNotRestartable('postgres'),
  async inject(ctx) {
    ctx.log('restarting PostgreSQL');
    const started = performance.now();
    await restartServer('postgres', ctx.log);
    ctx.notes.servers = { postgres: `restarted, answering after ${Math.round(performance.now() - started)} ms` };
  },
  async heal() {},
};

export const chaosFaults: ReadonlyArray<ChaosFault> = [
  kill,
  poisonOutboxRow,
  smtpSlow,
  smtpAbsent(),
  rabbitmqMemoryAlarm(),
  brokerProxy(),
  brokerRestart,
  postgresRestart,
];
