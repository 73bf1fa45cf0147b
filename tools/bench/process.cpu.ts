// CPU time of the processes a benchmark involves, read from /proc: the services it started, and
// the PostgreSQL and broker processes on this machine (the bench runs alone, so theirs
// is the system's work). Linux only, which is where the benches run.
import { readdirSync, readFileSync } from 'node:fs';

/** utime + stime in clock ticks; Linux's USER_HZ is 100 on every common build. */
const TICK_MS = 10;

export interface CpuSnapshot {
  /** pid -> [what it is, CPU ms so far]. */
  readonly processes: ReadonlyMap<number, readonly [string, number]>;
}

/** Which of the machine's processes count, and as what: the given service pids, and the brokers and database. */
export function cpuSnapshot(services: ReadonlyMap<number, string>): CpuSnapshot {
  const processes = new Map<number, readonly [string, number]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The command may hold spaces and parentheses: the fields start after the last ')'.
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ms = (Number(fields[11]) + Number(fields[12])) * TICK_MS;
      const role = services.get(pid) ?? roleOf(comm, pid);
      if (role) processes.set(pid, [role, ms]);
    } catch {
      // The process ended while we looked.
    }
  }
  return { processes };
}

/** The JVM brokers told apart by their command lines; kinesis-local is a Node script. */
const byCommandLine: ReadonlyArray<readonly [comm: string, marker: string, role: string]> = [
  ['java', 'kafka', 'kafka'],
  ['java', 'artemis', 'activemq'],
  ['java', 'elasticmq', 'sqs'],
  ['node', 'kinesis-local', 'kinesis'],
  // Node names its main thread so: what /proc shows for kinesis-local's process.
  ['MainThread', 'kinesis-local', 'kinesis'],
];

function roleOf(comm: string, pid: number): string | null {
  if (comm === 'postgres') return 'postgresql';
  if (comm === 'beam.smp') return 'rabbitmq';
  if (comm === 'nats-server') return 'nats';
  const candidates = byCommandLine.filter(([name]) => name === comm);
  if (candidates.length === 0) return null;
  const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  return candidates.find(([, marker]) => commandLine.includes(marker))?.[2] ?? null;
}

/**
 * CPU ms spent between two snapshots, by role. A process that started in between counts whole;
 * one that ended in between is lost (PostgreSQL backends of closed connections): a lower bound.
 */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  const byRole: Record<string, number> = {};
  for (const [pid, [role, ms]] of after.processes) {
    const earlier = before.processes.get(pid)?.[1] ?? 0;
    byRole[role] = (byRole[role] ?? 0) + Math.max(0, ms - earlier);
  }
  return byRole;
}

/** `cpuBetween`'s figures as cores used over `seconds`, busiest first, those under 0.005 left out: "postgresql 0.62, checkout 0.36, ...". */
export function coresUsed(cpuMs: Record<string, number>, seconds: number): string {
  return Object.entries(cpuMs)
    .map(([role, ms]) => [role, ms / 1_000 / seconds] as const)
    .filter(([, cores]) => cores >= 0.005)
    .sort(([, a], [, b]) => b - a)
    .map(([role, cores]) => `${role} ${cores.toFixed(2)}`)
    .join(', ');
}
