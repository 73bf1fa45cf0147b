/**
 * The phases of a service's shutdown, in the order they run, each with the share of the budget
 * (counted from the signal) by which it must be over. A phase that ends early leaves its time to
 * the next; none can take the time of those after it. The consumers get the largest share: a
 * batch in flight is the work dearest to do again (a payment provider's call), while the relay's
 * last rounds take a broker round trip or two and closing connections less.
 */
export const shutdownPhases = {
  /** Consumers take no more messages, finish and settle the batches in flight, and leave their groups. */
  consumers: 0.5,
  /** The outbox relay starts its last rounds until here: it publishes what is committed, the last batches' events too. */
  flush: 0.65,
  /** The relay's round in flight is over and it has stopped. */
  relay: 0.75,
  /** The brokers' connections and the relay's pool are closed. */
  connections: 0.85,
  /**
   * The HTTP server has closed after the requests in flight, then the service's database pool.
   * Work abandoned earlier (a batch past the consumers' phase, a sweep waiting on a slow provider)
   * may still hold a connection: it is not waited for.
   */
  database: 0.95,
  /** Every other hook has run: exit. */
  application: 1,
} as const;

export type ShutdownPhase = keyof typeof shutdownPhases;

/**
 * One budget for a service's whole shutdown, from SIGTERM to exit, split into phases
 * (`shutdownPhases`). Each step waits for what is left of its phase, never for a fresh timeout
 * of its own, so the whole fits the orchestrator's grace before its SIGKILL: `docker stop` waits
 * 10 s, Kubernetes 30 s. The default budget, 8 s (`SHUTDOWN_TIMEOUT_MS`), leaves Docker's default
 * a margin; docker-compose.yml gives the services 15 s all the same.
 *
 * It is also the service's "shutting down" flag: readiness answers 503 from `begin()` on
 * (HealthController). The clock is passed in, so the split is tested without waiting.
 */
export class ShutdownBudget {
  private startedAt: number | null = null;

  constructor(
    readonly totalMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** No deadline at all: a stop by hand (a test, a tool) that waits for everything. */
  static unbounded(): ShutdownBudget {
    return new ShutdownBudget(Infinity);
  }

  /** Starts the clock, at the signal. Only the first call counts. */
  begin(): void {
    this.startedAt ??= this.clock();
  }

  /** From the signal on: the service is shutting down. */
  get begun(): boolean {
    return this.startedAt !== null;
  }

  /** When `phase` must be over, on the budget's clock. A shutdown that no signal began (a close by hand) begins now. */
  deadlineOf(phase: ShutdownPhase): number {
    this.begin();
    return this.startedAt! + shutdownPhases[phase] * this.totalMs;
  }

  /** What is left of `phase`: 0 once it is over, Infinity for an unbounded budget. */
  remainingMs(phase: ShutdownPhase): number {
    return Math.max(0, this.deadlineOf(phase) - this.clock());
  }

  /** Since the signal. */
  elapsedMs(): number {
    return this.startedAt === null ? 0 : this.clock() - this.startedAt;
  }

  /**
   * Waits for `work` until `phase` is over: true if it finished in time, false if not. Work that
   * is late is left to itself (the caller says what it abandoned); a failure in time is thrown.
   */
  async within(phase: ShutdownPhase, work: Promise<unknown>): Promise<boolean> {
    const ms = this.remainingMs(phase);
    if (!Number.isFinite(ms)) {
      await work;
      return true;
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    try {
      return await Promise.race([work.then(() => true), late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
