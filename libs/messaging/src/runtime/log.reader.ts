/** A reader of one log that takes nothing from it, opened for one whole read. */
export interface LogReader<R> {
  /** How many records the log held when the reader opened: the read stops there. */
  readonly count: number;
  /** The next records, at most `max`, leaving out any that arrived after the read began; [] when no more come. */
  page(max: number): Promise<R[]>;
  /** Lets the reader go (a cursor the broker keeps for it, say); must not throw. */
  close(): Promise<unknown>;
}

export interface LogReadOptions {
  /** Names the log in the error of a read that did not reach its end in time. */
  readonly label: string;
  readonly timeoutMs: number;
  /** The most records one page asks for; 1,000 unless told. */
  readonly pageSize?: number;
}

/**
 * Reads a whole log, oldest first, up to the last record it held when the read began, moving no
 * cursor: for a rebuild, or the listing of a dead-letter log. `open` makes a reader of its own
 * (null when there is nothing to read), closed again after. A page asks for no more records than
 * are left, so it does not wait out its expiry for more that will not come; a page that brings
 * none ends the read early (the rest was deleted meanwhile). Throws past `timeoutMs`.
 */
export async function readWholeLog<R>(options: LogReadOptions, open: () => Promise<LogReader<R> | null>): Promise<R[]> {
  const deadline = Date.now() + options.timeoutMs;
  const reader = await open();
  const records: R[] = [];
  if (!reader) return records;
  try {
    while (records.length < reader.count) {
      if (Date.now() > deadline) throw new Error(`reading ${options.label} did not reach its end in ${options.timeoutMs} ms`);
      const page = await reader.page(Math.min(options.pageSize ?? 1_000, reader.count - records.length));
      if (page.length === 0) break;
      records.push(...page);
    }
  } finally {
    await reader.close();
  }
  return records;
}
