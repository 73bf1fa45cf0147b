/**
 * A result worked out once and shared: every caller asking while it is being worked out, and for
 * `freshForMs` after, gets the same promise. So any number of dashboards polling at once cost the
 * database and the broker one computation a period, not one per request. A failure is not kept:
 * the next caller tries again. At most `maxKeys` results are kept (one per concert asked about);
 * the oldest settled one makes room.
 */
export class DashboardCache<T> {
  private readonly entries = new Map<string, { readonly result: Promise<T>; settledAt: number | null }>();

  constructor(
    private readonly freshForMs: number,
    private readonly maxKeys = 100,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string, compute: () => Promise<T>): Promise<T> {
    const cached = this.entries.get(key);
    if (cached && (cached.settledAt === null || this.now() - cached.settledAt < this.freshForMs)) return cached.result;
    const entry: { readonly result: Promise<T>; settledAt: number | null } = { result: compute(), settledAt: null };
    this.entries.delete(key);
    this.entries.set(key, entry);
    entry.result.then(
      () => (entry.settledAt = this.now()),
      () => this.entries.get(key) === entry && this.entries.delete(key),
    );
    this.evict();
    return entry.result;
  }

  /** Oldest first (a Map keeps insertion order); one still being worked out is never dropped. */
  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.maxKeys) return;
      if (entry.settledAt !== null) this.entries.delete(key);
    }
  }
}
