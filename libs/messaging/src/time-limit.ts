/**
 * `work`'s result, or a rejection with `expired()` once `ms` have passed without one. The timer is
 * cleared with the result, so none is left to fire for work that ended in time. The work itself
 * is not stopped: its caller decides what to do with work that is late (close its connection, give
 * its hold back).
 */
export function withinTimeLimit<R>(work: Promise<R>, ms: number, expired: () => Error): Promise<R> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(expired()), ms);
  });
  // The race listens to the work's promise, so its failure after the time limit is not unhandled.
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
