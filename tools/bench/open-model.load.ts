// An open model of load, as k6's arrival-rate executors are: requests arrive at a set rate whether
// or not the earlier ones were answered, each on a connection of its own while it waits (a k6 VU
// holds one). A fixed pool of connections (autocannon) slows its arrivals down to what the server
// answers and never sees what a crowd does to it: the sockets pile up, and a server without a
// bound on its work resets them or answers nobody in time. This counts each request's fate.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { Agent, errors } from 'undici';

export interface OpenModelOptions {
  readonly url: string;
  readonly body: unknown;
  /** Arrivals per second, held for `durationSeconds`. */
  readonly ratePerSecond: number;
  readonly durationSeconds: number;
  /** A request not answered by then counts as without an answer (k6's default timeout is 60 s). */
  readonly answerTimeoutMs?: number;
  /** Requests waiting at once at most, as k6's `maxVUs`: an arrival beyond is dropped (k6's dropped_iterations). */
  readonly maxInFlight: number;
  /** Given every answer's status and body, read whole (otherwise the bodies are thrown away unread). */
  readonly onAnswer?: (answer: { readonly status: number; readonly body: string }) => void;
}

/** How one request ended. */
export type Fate =
  | { readonly kind: 'answered'; readonly status: number; readonly retryAfter: boolean; readonly ms: number }
  | { readonly kind: 'reset' | 'refused' | 'no answer' | 'other error'; readonly detail: string };

export interface OpenModelResult {
  readonly offered: number;
  readonly seconds: number;
  /** Answers by status code. */
  readonly statuses: Record<string, number>;
  /** 503s that do not say when to come back. */
  readonly withoutRetryAfter: number;
  /** Connections reset or closed under a request, connections refused, requests never answered. */
  readonly resets: number;
  readonly refused: number;
  readonly withoutAnswer: number;
  readonly otherErrors: Record<string, number>;
  /** Latency of the answers of each status, p50 and p99. */
  readonly latencyMs: Record<string, { readonly p50: number; readonly p99: number }>;
  /** The most requests waiting for an answer at once: the sockets a k6 run would hold. */
  readonly peakInFlight: number;
  /** Arrivals not sent because `maxInFlight` requests were waiting already. */
  readonly dropped: number;
  /**
   * Connections the kernel's listen queues had no room for meanwhile, on the whole machine: each
   * waits for the client to try again (a second, then three, seven...), a request without an answer
   * for that long. A server whose loop takes too few new connections per turn shows here first.
   */
  readonly listenOverflows: number;
  /** Second by second from the first arrival: when the requests piled up and arrivals were dropped. */
  readonly timeline: ReadonlyArray<OpenModelSecond>;
}

export interface OpenModelSecond {
  readonly second: number;
  readonly sent: number;
  readonly dropped: number;
  /** Answered in this second. */
  readonly answered: number;
  /** Waiting for an answer at the end of the second. */
  readonly inFlight: number;
  /** The longest the load generator's own loop ran late in the second: a busy generator counts its own delay as the server's. */
  readonly generatorLateMs: number;
}

/** Arrivals are started in slices this long: fine enough for 3,000/s to arrive as a stream. */
const TICK_MS = 5;

export async function offer(options: OpenModelOptions): Promise<OpenModelResult> {
  const url = new URL(options.url);
  const timeoutMs = options.answerTimeoutMs ?? 60_000;
  // No limit on connections per origin: a request that finds none free opens one, as a new VU would.
  const agent = new Agent({ connections: null, pipelining: 1, connect: { timeout: timeoutMs }, keepAliveTimeout: 30_000 });
  const body = JSON.stringify(options.body);
  const fates: Fate[] = [];
  const pending = new Set<Promise<void>>();
  let peakInFlight = 0;
  const overflowsFrom = listenOverflows();
  const startedAt = performance.now();
  const timeline: Array<{ -readonly [K in keyof OpenModelSecond]: OpenModelSecond[K] }> = [];
  const secondOf = (at: number) => {
    const second = Math.floor((at - startedAt) / 1_000);
    while (timeline.length <= second)
      timeline.push({ second: timeline.length, sent: 0, dropped: 0, answered: 0, inFlight: 0, generatorLateMs: 0 });
    return timeline[second];
  };

  const send = async (): Promise<void> => {
    const started = performance.now();
    try {
      const response = await agent.request({
        origin: url.origin,
        path: url.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      if (options.onAnswer) options.onAnswer({ status: response.statusCode, body: await response.body.text() });
      else await response.body.dump();
      secondOf(performance.now()).answered += 1;
      fates.push({
        kind: 'answered',
        status: response.statusCode,
        retryAfter: response.headers['retry-after'] !== undefined,
        ms: performance.now() - started,
      });
    } catch (error) {
      fates.push(fateOf(error));
    }
  };

  const total = Math.round(options.ratePerSecond * options.durationSeconds);
  let arrived = 0;
  let dropped = 0;
  while (arrived < total) {
    const due = Math.min(total, Math.floor(((performance.now() - startedAt) / 1_000) * options.ratePerSecond));
    for (; arrived < due; arrived++) {
      if (pending.size >= options.maxInFlight) {
        dropped += 1;
        secondOf(performance.now()).dropped += 1;
        continue;
      }
      secondOf(performance.now()).sent += 1;
      const request = send().finally(() => pending.delete(request));
      pending.add(request);
    }
    peakInFlight = Math.max(peakInFlight, pending.size);
    const second = secondOf(performance.now());
    second.inFlight = pending.size;
    const tickFrom = performance.now();
    await delay(TICK_MS);
    second.generatorLateMs = Math.max(second.generatorLateMs, Math.round(performance.now() - tickFrom - TICK_MS));
  }
  await Promise.all(pending);
  const seconds = (performance.now() - startedAt) / 1_000;
  await agent.close();
  const overflows = listenOverflows() - overflowsFrom;
  return { ...tally(fates, arrived, seconds, peakInFlight), dropped, timeline, listenOverflows: overflows };
}

/** The machine's count of connections its listen queues had no room for (TcpExt ListenOverflows); 0 where there is no /proc. */
function listenOverflows(): number {
  try {
    const [names, values] = readFileSync('/proc/net/netstat', 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('TcpExt:'))
      .map((line) => line.split(/\s+/));
    return Number(values[names.indexOf('ListenOverflows')] ?? 0);
  } catch {
    return 0;
  }
}

function fateOf(error: unknown): Fate {
  const code = (error as { code?: string }).code ?? '';
  const detail = `${code} ${(error as Error).message ?? String(error)}`.trim();
  if (error instanceof errors.HeadersTimeoutError || error instanceof errors.BodyTimeoutError) return { kind: 'no answer', detail };
  if (code === 'ECONNREFUSED') return { kind: 'refused', detail };
  // A reset, a socket closed by the other side, a write into a closed socket: k6's "connection reset by peer".
  if (code === 'ECONNRESET' || code === 'EPIPE' || error instanceof errors.SocketError) return { kind: 'reset', detail };
  return { kind: 'other error', detail };
}

function tally(
  fates: ReadonlyArray<Fate>,
  offered: number,
  seconds: number,
  peakInFlight: number,
): Omit<OpenModelResult, 'dropped' | 'timeline' | 'listenOverflows'> {
  const statuses: Record<string, number> = {};
  const otherErrors: Record<string, number> = {};
  const latencies = new Map<string, number[]>();
  let withoutRetryAfter = 0;
  const count = { reset: 0, refused: 0, 'no answer': 0 };
  for (const fate of fates) {
    if (fate.kind === 'answered') {
      const status = String(fate.status);
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (fate.status === 503 && !fate.retryAfter) withoutRetryAfter += 1;
      if (!latencies.has(status)) latencies.set(status, []);
      latencies.get(status)!.push(fate.ms);
    } else if (fate.kind === 'other error') {
      otherErrors[fate.detail] = (otherErrors[fate.detail] ?? 0) + 1;
    } else {
      count[fate.kind] += 1;
    }
  }
  const latencyMs = Object.fromEntries(
    [...latencies].map(([status, ms]) => {
      const sorted = ms.sort((a, b) => a - b);
      const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
      return [status, { p50: at(0.5), p99: at(0.99) }];
    }),
  );
  return {
    offered,
    seconds,
    statuses,
    withoutRetryAfter,
    resets: count.reset,
    refused: count.refused,
    withoutAnswer: count['no answer'],
    otherErrors,
    latencyMs,
    peakInFlight,
  };
}

/**
 * The timeline as a table, a line a second (those `which` picks) under a header: when requests
 * piled up, and whether the generator itself ran late.
 */
export function timelineTable(result: OpenModelResult, indent: string, which: (second: OpenModelSecond) => boolean = () => true): string[] {
  const widths = [6, 6, 8, 9, 10, 18];
  const row = (cells: ReadonlyArray<string | number>) => indent + cells.map((cell, i) => String(cell).padStart(widths[i])).join(' ');
  return [
    row(['second', 'sent', 'dropped', 'answered', 'in flight', 'generator late ms']),
    ...result.timeline.filter(which).map((s) => row([s.second, s.sent, s.dropped, s.answered, s.inFlight, s.generatorLateMs])),
  ];
}
