export interface GroupCommitOptions {
  /** Items in one write at most: the rest wait for the next. */
  readonly maxBatch: number;
  /** Writes running at once; while they run, new items gather into the next batch. */
  readonly maxInFlight: number;
}

interface Waiting<Item, Result> {
  readonly item: Item;
  readonly resolve: (result: Result) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit. Each caller hands in one item and waits for its result; the items that arrive
 * while earlier writes run go together into the next write, which commits them all at once (one
 * transaction, one commit). Batches grow with the load by themselves: a caller alone is written
 * at once, a crowd is written a few hundred items per commit, and no caller waits for a timer.
 *
 * `write` gets the batch and returns one result per item, in the same order. It is all or
 * nothing: if it throws, every caller of that batch gets the error, and may try again.
 */
export class GroupCommit<Item, Result> {
  private readonly waiting: Array<Waiting<Item, Result>> = [];
  private inFlight = 0;

  constructor(
    private readonly write: (batch: ReadonlyArray<Item>) => Promise<ReadonlyArray<Result>>,
    private readonly options: GroupCommitOptions,
  ) {}

  /** Resolves with the item's result once its batch is written. */
  submit(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.writeWhilePossible();
    });
  }

  private writeWhilePossible(): void {
    while (this.inFlight < this.options.maxInFlight && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.options.maxBatch);
      this.inFlight += 1;
      void this.writeBatch(batch).finally(() => {
        this.inFlight -= 1;
        this.writeWhilePossible();
      });
    }
  }

  private async writeBatch(batch: ReadonlyArray<Waiting<Item, Result>>): Promise<void> {
    try {
      const results = await this.write(batch.map(({ item }) => item));
      if (results.length !== batch.length)
        throw new Error(`a group commit's write returned ${results.length} results for ${batch.length} items`);
      batch.forEach(({ resolve }, i) => resolve(results[i]));
    } catch (error) {
      for (const { reject } of batch) reject(error);
    }
  }
}
