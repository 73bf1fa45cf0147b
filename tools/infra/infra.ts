// ensureInfra() and stopInfra(): the logic behind `npm run infra:up` / `infra:down`, exported
// so a test setup can make sure the brokers are there before the first integration spec.
//
// For each service, in order: reuse whatever already answers at the configured address; else
// start its container if a Docker engine answers; else start it from the machine's own
// packages (Kafka from Maven jars). What we started is recorded in .cache/infra-started.json,
// and stopInfra() stops only that.

// eslint-disable-next-line @nx/enforce-module-boundaries -- infra:up runs under plain Node, which knows no path aliases
import { commandTransports, eventTransports } from '../../libs/config/src/brokers.ts';
import { formatAddress, type HostPort, type InfraAddresses, infraAddresses, isThisMachine } from './addresses.ts';
import { run, tail } from './commands.ts';
import { composeDown, composeUp, dockerEngineAnswers } from './docker.ts';
import { runningBrokerPid, stopNativeKafka } from './kafka.ts';
import { waitUntilReady } from './probe.ts';
import { INFRA_SERVICES, type InfraService } from './services.ts';
import { readStarted, type ServiceName, type StartedServices, writeStarted } from './state.ts';
import { importRabbitMqAccounts } from './rabbitmq-accounts.ts';
import { grantKafkaAccounts } from './kafka-accounts.ts';
import { installArtemisAccounts, runningArtemisPid } from './artemis.ts';
import { repairDeadLetterSupervisor } from './rabbitmq-repair.ts';

export type ServiceReport = {
  name: ServiceName;
  address: string;
  outcome: 'reused' | 'started' | 'failed';
  via?: 'docker' | 'native';
  logs?: string;
  detail: string;
  seconds: number;
};

export type InfraSummary = { ok: boolean; services: ServiceReport[] };

export type InfraOptions = {
  log?: (line: string) => void;
  addresses?: InfraAddresses;
  /** Which servers to bring up; by default those the configuration uses (see `serversInUse`). */
  only?: ReadonlyArray<ServiceName>;
};

/** Which broker serves each transport a deployment can choose (COMMAND_TRANSPORT, EVENT_TRANSPORT). */
export const serverOfTransport: Record<string, ServiceName> = {
  rabbitmq: 'rabbitmq',
  activemq: 'activemq',
  sqs: 'sqs',
  kafka: 'kafka',
  kinesis: 'kinesis',
  nats: 'nats',
};

/**
 * The servers a configuration needs: PostgreSQL always, and the broker of each chosen transport
 * (RabbitMQ and Kafka unless COMMAND_TRANSPORT or EVENT_TRANSPORT say otherwise). A transport
 * name nobody knows is refused here, before anything starts, as the services would refuse it.
 */
export function serversInUse(environment: NodeJS.ProcessEnv = process.env): ServiceName[] {
  const chosen = [
    ['COMMAND_TRANSPORT', environment.COMMAND_TRANSPORT || 'rabbitmq', commandTransports],
    ['EVENT_TRANSPORT', environment.EVENT_TRANSPORT || 'kafka', eventTransports],
  ] as const;
  const servers: ServiceName[] = ['postgres'];
  for (const [setting, transport, known] of chosen) {
    if (!(known as ReadonlyArray<string>).includes(transport)) {
      throw new Error(`${setting}=${transport} is not a transport boxoffice has; choose one of ${known.join(', ')}`);
    }
    servers.push(serverOfTransport[transport]);
  }
  return servers;
}

/** Every server boxoffice can use: what the test suite needs, since it proves every transport. */
export const allServers = (): ServiceName[] => INFRA_SERVICES.map((service) => service.name);

export async function ensureInfra(options: InfraOptions = {}): Promise<InfraSummary> {
  const log = options.log ?? console.log;
  const addresses = options.addresses ?? infraAddresses();
  const started = readStarted();
  forgetWhatIsGone(started);
  // Asked at most once, and only when something is missing: `docker info` can take seconds.
  let docker: boolean | undefined;
  const dockerAnswers = () => (docker ??= dockerEngineAnswers());

  const wanted = new Set(options.only ?? serversInUse());
  const services: ServiceReport[] = [];
  for (const service of INFRA_SERVICES.filter(({ name }) => wanted.has(name))) {
    const began = Date.now();
    const report = await ensureService(service, addresses[service.name], started, dockerAnswers, log);
    if (service.name === 'rabbitmq' && report.outcome !== 'failed') {
      repairDeadLetterSupervisor(log);
      importRabbitMqAccounts(log);
    }
    if (service.name === 'activemq' && report.outcome === 'reused' && runningArtemisPid() && installArtemisAccounts())
      log("  activemq: wrote the services' accounts and roles from the catalog; Artemis reads them again within seconds");
    if (service.name === 'kafka' && report.outcome !== 'failed') {
      // A broker the services cannot use is no better than none: say so, and fail.
      const refused = await grantKafkaAccounts(log).then(
        () => undefined,
        (error: Error) => error.message,
      );
      if (refused) Object.assign(report, { outcome: 'failed', detail: refused });
    }
    report.seconds = (Date.now() - began) / 1000;
    // Saved after every service, so a failure further down still leaves a record of what to stop.
    writeStarted(started);
    services.push(report);
    log(formatReport(report));
  }
  return { ok: services.every((s) => s.outcome !== 'failed'), services };
}

async function ensureService(
  service: InfraService,
  address: HostPort,
  started: StartedServices,
  dockerAnswers: () => boolean,
  log: (line: string) => void,
): Promise<ServiceReport> {
  const where = formatAddress(address);
  const report = (outcome: ServiceReport['outcome'], detail: string, extra: Partial<ServiceReport> = {}): ServiceReport => ({
    name: service.name,
    address: where,
    outcome,
    detail,
    seconds: 0,
    ...extra,
  });
  const reused = () =>
    started[service.name]
      ? report('reused', 'already running, started earlier by infra:up; infra:down stops it')
      : report('reused', 'already running, not started by infra:up; infra:down leaves it alone');

  const first = await service.probe(address);
  if (first.state === 'ready') return reused();
  if (first.state === 'refused') return report('failed', first.detail);

  if (first.state === 'unready') {
    // Something holds the port. It may be this very server still starting (a broker an earlier
    // run launched, a container coming up), so give it the usual start-up time before calling
    // it broken rather than starting a second server that could not bind the port anyway.
    log(`  ${service.name}: ${where} accepts connections but is not ready yet (${first.detail}); waiting`);
    const later = await waitUntilReady(service.name, address, service.probe, { timeoutMs: service.startTimeoutMs, log });
    if (later.state === 'ready') return reused();
    if (later.state === 'refused') return report('failed', later.detail);
    return report(
      'failed',
      `something at ${where} accepts connections but does not work as ${service.title}: ${later.detail}. ` +
        `Stop whatever holds the port, or point ${service.setting} elsewhere`,
    );
  }

  if (!isThisMachine(address)) {
    return report(
      'failed',
      `${service.title} does not answer at ${where} (${first.detail}), which is not this machine, so infra:up cannot start it. ` +
        `Start it there, or unset ${service.setting} to use a local one`,
    );
  }

  if (dockerAnswers()) {
    log(`  ${service.name}: starting its container: docker compose up -d --wait ${service.name}`);
    try {
      composeUp(service.name);
    } catch (error) {
      return report('failed', (error as Error).message);
    }
    started[service.name] = { via: 'docker', at: new Date().toISOString() };
    const ready = await waitUntilReady(service.name, address, service.probe, { timeoutMs: 30_000, log });
    const logs = `docker compose logs ${service.name}`;
    if (ready.state !== 'ready') return report('failed', `the container is up but ${where} ${ready.detail}`, { logs });
    return report('started', 'in Docker', { via: 'docker', logs });
  }

  let native;
  try {
    native = service.startNative(address, log);
  } catch (error) {
    return report('failed', (error as Error).message);
  }
  started[service.name] = { via: 'native', at: new Date().toISOString(), stop: native.stop, pid: native.pid };
  const ready = await waitUntilReady(service.name, address, service.probe, {
    timeoutMs: service.startTimeoutMs,
    log,
    stopIf: native.exited,
  });
  if (ready.state !== 'ready') return report('failed', ready.detail, { via: 'native', logs: native.logs });
  return report('started', 'natively', { via: 'native', logs: native.logs });
}

// A broker we started that has since died (or a machine that rebooted) is no longer ours to
// stop; if a different Kafka now answers on the port, infra:down must leave it alone.
function forgetWhatIsGone(started: StartedServices): void {
  if (started.kafka?.via === 'native' && runningBrokerPid() === undefined) delete started.kafka;
}

export type StopReport = { name: ServiceName; outcome: 'stopped' | 'not running' | 'left alone' | 'failed'; detail: string };

export async function stopInfra(options: { log?: (line: string) => void } = {}): Promise<{ ok: boolean; services: StopReport[] }> {
  const log = options.log ?? console.log;
  const started = readStarted();
  const reports: StopReport[] = [];
  // Reverse order of start-up: the brokers before the database the services write to.
  for (const { name } of [...INFRA_SERVICES].reverse()) {
    const entry = started[name];
    let report: StopReport;
    if (!entry) {
      report = { name, outcome: 'left alone', detail: 'not started by infra:up' };
    } else if (entry.via === 'docker') {
      // Handled below with one `docker compose down` for all containers.
      continue;
    } else if (name === 'kafka') {
      const stopped = await stopNativeKafka();
      report = stopped
        ? { name, outcome: 'stopped', detail: stopped }
        : { name, outcome: 'not running', detail: 'the native broker infra:up started has already exited' };
      delete started[name];
    } else {
      const [command, ...args] = entry.stop ?? [];
      const result = command ? run(command, args) : { ok: false, output: 'no stop command was recorded' };
      report = result.ok
        ? { name, outcome: 'stopped', detail: `ran ${entry.stop?.join(' ')}` }
        : { name, outcome: 'failed', detail: `${entry.stop?.join(' ')} failed:\n${tail(result.output)}` };
      if (result.ok) delete started[name];
    }
    reports.push(report);
    log(formatStop(report));
  }

  const inDocker = INFRA_SERVICES.map((s) => s.name).filter((name) => started[name]?.via === 'docker');
  if (inDocker.length > 0) {
    const result = composeDown();
    for (const name of inDocker) {
      const report: StopReport = result.ok
        ? { name, outcome: 'stopped', detail: 'docker compose down (volumes kept)' }
        : { name, outcome: 'failed', detail: `docker compose down failed:\n${tail(result.output)}` };
      if (result.ok) delete started[name];
      reports.push(report);
      log(formatStop(report));
    }
  }

  writeStarted(started);
  return { ok: reports.every((r) => r.outcome !== 'failed'), services: reports };
}

function formatReport(r: ServiceReport): string {
  const how = r.outcome === 'failed' ? 'FAILED' : r.outcome;
  const took = r.outcome === 'started' ? ` in ${r.seconds.toFixed(1)} s` : '';
  // A multi-line detail (an error with log excerpts) gets the log location on a line of its own.
  const logs = !r.logs ? '' : r.detail.includes('\n') ? `\n    logs: ${r.logs}` : `; logs: ${r.logs}`;
  return `${r.name.padEnd(9)} ${how.padEnd(8)} ${r.address.padEnd(15)} ${r.detail}${took}${logs}`;
}

function formatStop(r: StopReport): string {
  const how = r.outcome === 'failed' ? 'FAILED' : r.outcome;
  return `${r.name.padEnd(9)} ${how.padEnd(11)} ${r.detail}`;
}
