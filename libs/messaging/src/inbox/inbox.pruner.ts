import type { Logger } from '../logger.js';
import { describeError, pause } from '../runtime/stoppable.js';
import type { SqlExecutor } from '../sql-client.js';
import { Inbox } from './inbox.js';
import { INBOX_PRUNE_EVERY_MS } from './inbox.retention.js';

export interface InboxPrunerOptions {
  /** The service's database client (not a transaction): each pruning statement commits on its own. */
  readonly database: SqlExecutor;
  /** Rows received longer ago than this are deleted (see inbox.retention.ts for how long is safe). */
  readonly retentionMs: number;
  /** Between runs. Default 15 minutes. */
  readonly everyMs?: number;
  readonly logger: Logger;
}

/**
 * Keeps a service's inbox to its window: at start and then every `everyMs`, deletes the rows older
 * than `retentionMs`, a bounded batch a statement (Inbox.prune). Every instance runs one; they
 * skip each other's rows. A failed run (the database away) waits for the next one: nothing
 * depends on a prune happening on time, only on rows inside the window staying.
 */
export class InboxPruner {
  private readonly stopping = new AbortController();
  private running: Promise<void> | null = null;

  constructor(private readonly options: InboxPrunerOptions) {}

  /** Returns at once; the runs go on in the background until `stop`. */
  start(): void {
    this.running ??= this.loop();
  }

  /** Ends the run under way after its current statement, and no other starts. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }

  /** One run: what it deleted. */
  pruneOnce(): Promise<number> {
    return Inbox.prune(this.options.database, this.options.retentionMs, { signal: this.stopping.signal });
  }

  private async loop(): Promise<void> {
    const { signal } = this.stopping;
    const { logger, everyMs = INBOX_PRUNE_EVERY_MS } = this.options;
    do {
      try {
        const pruned = await this.pruneOnce();
        if (pruned > 0) logger.log(`inbox: pruned ${pruned} rows older than ${formatDays(this.options.retentionMs)}`);
      } catch (error) {
        if (!signal.aborted) logger.warn(`inbox: could not prune (${describeError(error)}); trying again in ${everyMs} ms`);
      }
    } while (await pause(everyMs, signal));
  }
}

const formatDays = (ms: number) => `${+(ms / 86_400_000).toFixed(2)} days`;
