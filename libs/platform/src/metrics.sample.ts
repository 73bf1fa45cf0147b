export interface SampleOptions {
  /** A reading younger than this is served again without asking. */
  readonly freshMs: number;
  /** How long a scrape waits for a new reading before it serves the last one. */
  readonly timeoutMs: number;
  /** The oldest reading still served while a new one is slow; past it the series go missing. */
  readonly staleMs: number;
  readonly now?: () => number;
}

/**
 * A reading that costs I/O (a queue's depth, the outbox's backlog), taken on scrape and shared:
 * scrapes within `freshMs` reuse it, scrapes while one is under way wait for that one, and a
 * reading that takes longer than `timeoutMs` does not hold the scrape up: it gets the last value
 * (if younger than `staleMs`), and the reading goes on in the background for the next scrape.
 * A failed reading clears the value: a gauge of a broker that does not answer is absent, not stale.
 * So a scrape under load stays cheap and bounded, whatever the broker is doing.
 */
export class CachedSample<T> {
  private last: { readonly at: number; readonly value: T } | null = null;
  private reading: Promise<void> | null = null;
  private failed = false;
  private readonly now: () => number;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly options: SampleOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
  }

  /** Whether the last reading that finished succeeded. */
  get ok(): boolean {
    return !this.failed;
  }

  async get(): Promise<T | null> {
    if (this.last && this.now() - this.last.at < this.options.freshMs) return this.last.value;
    this.reading ??= this.read()
      .then(
        (value) => {
          this.last = { at: this.now(), value };
          this.failed = false;
        },
        () => {
          this.last = null;
          this.failed = true;
        },
      )
      .finally(() => (this.reading = null));
    await within(this.reading, this.options.timeoutMs);
    return this.last && this.now() - this.last.at < this.options.staleMs ? this.last.value : null;
  }
}

async function within(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  try {
    await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
