// Starting PostgreSQL and RabbitMQ from the machine's own packages, when they are installed
// but not running. Debian's wrappers (pg_ctlcluster, rabbitmq-server -detached) already know
// where the data, the config and the logs go, so we only ask them to start and remember how
// to ask them to stop.

import { formatAddress, type HostPort } from './addresses.ts';
import { findExecutable, run, tail } from './commands.ts';

export type NativeStart = {
  logs: string;
  // The command infra:down runs to stop exactly this server again.
  stop: string[];
};

export function startNativePostgres(address: HostPort): NativeStart {
  const lsclusters = findExecutable('pg_lsclusters');
  const ctlcluster = findExecutable('pg_ctlcluster');
  if (!lsclusters || !ctlcluster) {
    throw new Error(
      `PostgreSQL is not running at ${formatAddress(address)} and is not installed: apt-get install -y postgresql, or run Docker`,
    );
  }

  // Columns: Ver Cluster Port Status Owner Data-directory Log-file
  const clusters = run(lsclusters, ['--no-header'])
    .output.split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [version, name, port, status, , , logFile] = line.trim().split(/\s+/);
      return { version, name, port: Number(port), status, logFile };
    });
  const cluster = clusters.find((c) => c.port === address.port);
  if (!cluster) {
    const known = clusters.map((c) => `${c.version}/${c.name} on port ${c.port}`).join(', ') || 'none';
    throw new Error(
      `PostgreSQL is installed but no cluster uses port ${address.port} (clusters: ${known}). ` +
        `Set PGPORT to one of them, or create one: pg_createcluster <version> main --port ${address.port} --start`,
    );
  }

  // --skip-systemctl-redirect: start the cluster directly, also where systemd is not running
  // (containers, CI sandboxes); under systemd it is the same pg_ctl underneath.
  const started = run(ctlcluster, ['--skip-systemctl-redirect', cluster.version, cluster.name, 'start']);
  if (!started.ok) {
    throw new Error(`pg_ctlcluster could not start PostgreSQL ${cluster.version}/${cluster.name}:\n${tail(started.output)}`);
  }
  return {
    logs: cluster.logFile ?? `see pg_lsclusters`,
    stop: [ctlcluster, '--skip-systemctl-redirect', cluster.version, cluster.name, 'stop'],
  };
}

export function startNativeRabbitmq(address: HostPort): NativeStart {
  const server = findExecutable('rabbitmq-server');
  if (!server) {
    throw new Error(
      `RabbitMQ is not running at ${formatAddress(address)} and is not installed: apt-get install -y rabbitmq-server, or run Docker`,
    );
  }
  // A node that is up but not answering at this address listens elsewhere (rabbitmq.conf).
  // Starting "it" again would fail, and recording it as ours would let infra:down stop a
  // broker we never started.
  const diagnostics = findExecutable('rabbitmq-diagnostics');
  if (diagnostics && run(diagnostics, [...nodeName(), '-q', 'ping'], { timeoutMs: 30_000 }).ok) {
    throw new Error(
      `a RabbitMQ node is running on this machine but not answering at ${formatAddress(address)}; ` +
        `check RABBITMQ_URL against its listeners (rabbitmq-diagnostics listeners)`,
    );
  }
  // -detached returns at once and the node boots in the background; the caller waits for the
  // AMQP port. The node listens where rabbitmq.conf says (5672 unless changed).
  const started = run(server, ['-detached']);
  if (!started.ok) throw new Error(`rabbitmq-server -detached failed:\n${tail(started.output)}`);
  return {
    logs: `${process.env.RABBITMQ_LOG_BASE || '/var/log/rabbitmq'}/`,
    // Name the node, so infra:down stops this one even if RABBITMQ_NODENAME is unset by then.
    stop: [findExecutable('rabbitmqctl') ?? 'rabbitmqctl', ...nodeName(), 'stop'],
  };
}

function nodeName(): string[] {
  return process.env.RABBITMQ_NODENAME ? ['-n', process.env.RABBITMQ_NODENAME] : [];
}
