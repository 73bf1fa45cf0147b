// The three pieces of infrastructure boxoffice needs, in the order infra:up brings them up,
// with how to tell each one answers and how to start it natively.

import type { HostPort } from './addresses.ts';
import { probeActiveMq, startNativeArtemis } from './artemis.ts';
import { elasticmq, probeSqs, startNativeElasticMq, stopCommand as elasticMqStopCommand } from './elasticmq.ts';
import { startNativeKafka } from './kafka.ts';
import { probeKinesis, startNativeKinesis, stopKinesisCommand } from './kinesis.ts';
import { startNativePostgres, startNativeRabbitmq } from './native.ts';
import { natsHome, probeNats, startNativeNats } from './nats.ts';
import { defaultKafkaHome, shown } from './paths.ts';
import { type Probe, probeKafka, probePostgres, probeRabbitmq } from './probe.ts';
import type { ServiceName } from './state.ts';

export type NativeStarted = {
  logs: string;
  stop?: string[];
  pid?: number;
  // Why the server stopped while we were waiting for it, if it did.
  exited?: () => string | undefined;
};

export type InfraService = {
  name: ServiceName;
  title: string;
  // The environment variable that sets its address, for messages.
  setting: string;
  probe: Probe;
  // How long a freshly started server may take before we call it failed.
  startTimeoutMs: number;
  startNative: (address: HostPort, log: (line: string) => void) => NativeStarted;
};

export const INFRA_SERVICES: InfraService[] = [
  {
    name: 'postgres',
    title: 'PostgreSQL',
    setting: 'PGHOST/PGPORT',
    probe: probePostgres,
    startTimeoutMs: 30_000,
    startNative: startNativePostgres,
  },
  {
    name: 'rabbitmq',
    title: 'RabbitMQ',
    setting: 'RABBITMQ_URL',
    probe: probeRabbitmq,
    // The Erlang VM plus plugins usually boots in 5-15 s on two cores.
    startTimeoutMs: 60_000,
    startNative: startNativeRabbitmq,
  },
  {
    name: 'kafka',
    title: 'Kafka',
    setting: 'KAFKA_BROKERS',
    probe: probeKafka,
    // A cold JVM plus KRaft metadata load; about 10 s on two cores, more on a busy machine.
    startTimeoutMs: 60_000,
    startNative: (address, log) => {
      const broker = startNativeKafka(address, log);
      return { logs: shown(defaultKafkaHome.log), pid: broker.pid, exited: broker.exited };
    },
  },
  {
    name: 'activemq',
    title: 'ActiveMQ Artemis',
    setting: 'ACTIVEMQ_URL',
    probe: probeActiveMq,
    // A JVM: 11.5 s from spawn to a login measured warm on a loaded two-core machine; the first
    // start adds the fetch, unzip and `artemis create` before it.
    startTimeoutMs: 60_000,
    startNative: (address, log) => {
      const broker = startNativeArtemis(address, log);
      return { logs: '.cache/artemis/broker.log', pid: broker.pid, exited: broker.exited, stop: broker.stop };
    },
  },
  {
    name: 'kinesis',
    title: 'Kinesis (kinesis-local)',
    setting: 'KINESIS_ENDPOINT',
    probe: probeKinesis,
    // A Scala.js bundle of 9 MB: about 2 s warm on two cores, more when the machine is busy.
    startTimeoutMs: 30_000,
    startNative: (address, log) => {
      const server = startNativeKinesis(address, log);
      return { logs: '.cache/kinesis/server.log', pid: server.pid, exited: server.exited, stop: stopKinesisCommand };
    },
  },
  {
    name: 'sqs',
    title: 'ElasticMQ (SQS)',
    setting: 'SQS_ENDPOINT',
    probe: probeSqs,
    // A JVM and Pekko HTTP: about 5-7 s on two cores, more on a busy machine or the first start.
    startTimeoutMs: 60_000,
    startNative: (address, log) => {
      const server = startNativeElasticMq(address, log);
      return { logs: shown(elasticmq.log), pid: server.pid, exited: server.exited, stop: elasticMqStopCommand() };
    },
  },
  {
    name: 'nats',
    title: 'NATS JetStream',
    setting: 'NATS_URL',
    probe: probeNats,
    // A single Go binary: well under a second, more while JetStream recovers a large store.
    startTimeoutMs: 30_000,
    startNative: (address) => {
      const server = startNativeNats(address);
      return { logs: shown(natsHome.log), pid: server.pid, exited: server.exited, stop: server.stop };
    },
  },
];
