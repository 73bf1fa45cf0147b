/**
 * Exponential backoff with jitter, the one formula every wait in the messaging libs uses: a
 * message's next attempt, the relay after a failed publish, a consumer rejoining its group, a
 * connection coming back. Jitter spreads a burst of failures so it does not return as a
 * synchronised burst of retries. See https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export interface BackoffSettings {
  readonly initialDelayMs: number;
  readonly multiplier: number;
  readonly maxDelayMs: number;
  /** 0..1: each delay is drawn from [delay * (1 - jitter), delay]. */
  readonly jitter: number;
}

/** The nominal delay after `attempt` failures (1-based). */
export function nominalDelayMs(settings: BackoffSettings, attempt: number): number {
  return Math.min(settings.maxDelayMs, settings.initialDelayMs * settings.multiplier ** (attempt - 1));
}

export function delayWithJitterMs(settings: BackoffSettings, attempt: number, random: () => number = Math.random): number {
  return Math.round(nominalDelayMs(settings, attempt) * (1 - settings.jitter * random()));
}

/** A run of waits: `next()` after each failure, `reset()` after a success. */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly settings: BackoffSettings,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    this.failures += 1;
    return delayWithJitterMs(this.settings, this.failures, this.random);
  }

  reset(): void {
    this.failures = 0;
  }
}

/** For reconnects and rejoins: 0.5 s doubling to 30 s. */
export const reconnectBackoff: BackoffSettings = { initialDelayMs: 500, multiplier: 2, maxDelayMs: 30_000, jitter: 0.2 };
