import { setTimeout as delay } from 'node:timers/promises';
import { Backoff, reconnectBackoff, type BackoffSettings } from '../backoff.js';

/** Waits `ms`, unless `signal` aborts first; resolves false if it did. */
export function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return delay(Math.max(0, ms), true, { signal }).catch(() => false);
}

export interface UntilStoppedOptions {
  /** Stopping: no further try, and the wait between tries ends at once. */
  readonly signal: AbortSignal;
  /** Said once per failed try, with how long the next one waits. */
  readonly onFailure: (error: unknown, waitMs: number) => void;
  /** An error no later try can mend (a lost lease, a channel that is gone): give up at once. */
  readonly giveUp?: (error: unknown) => boolean;
  readonly backoff?: BackoffSettings;
  /**
   * The step follows a failure (a link the broker just closed): wait a backoff before the first
   * try too, so what the broker closes again at once is not reopened in a tight loop.
   */
  readonly waitFirst?: boolean;
}

/**
 * The one "try a step again until it works or we stop" of every transport: a batch while the
 * database is away, a receive while the broker is, a checkpoint read, a rejoin. Resolves with the
 * step's result, or undefined when stopped or given up.
 */
export async function untilStopped<T>(step: () => Promise<T>, options: UntilStoppedOptions): Promise<T | undefined> {
  const backoff = new Backoff(options.backoff ?? reconnectBackoff);
  if (options.waitFirst && !(await pause(backoff.next(), options.signal))) return undefined;
  for (;;) {
    if (options.signal.aborted) return undefined;
    try {
      return await step();
    } catch (error) {
      if (options.signal.aborted || options.giveUp?.(error)) return undefined;
      const wait = backoff.next();
      options.onFailure(error, wait);
      if (!(await pause(wait, options.signal))) return undefined;
    }
  }
}

/** An error's message, for a log line. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
