type Commit = (topic: string, partition: number, offset: string) => Promise<void>;

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** The offset to commit next, once the commit in flight returns. */
  next: bigint | null;
  inFlight: Promise<void> | null;
}

/**
 * Commits each partition's settled offsets without making the next record wait for the commit.
 *
 * An offset commit is a write the group coordinator batches (`group.coordinator.append.linger.ms`,
 * 5 ms by default on Kafka 4), so awaiting it after every record would cap a partition at about
 * 150 records a second. Instead at most one commit per partition is in flight, and the offsets
 * settled meanwhile are folded into the next one: committed offsets only grow, and offset N means
 * "everything before N is settled". An offset is still only ever committed after its record was
 * settled; what a crash can lose is the last few commits, whose records are then redelivered - the
 * at-least-once the inbox is there for.
 */
export class OffsetCommits {
  private readonly partitions = new Map<string, PartitionState>();

  constructor(
    private readonly commit: Commit,
    private readonly onError: (error: unknown, topic: string, partition: number) => void,
  ) {}

  /** The record at `offset` is settled: commit `offset + 1`, the next one to read. */
  settled(topic: string, partition: number, offset: string): void {
    const key = `${topic}:${partition}`;
    let state = this.partitions.get(key);
    if (!state) this.partitions.set(key, (state = { topic, partition, next: null, inFlight: null }));
    state.next = BigInt(offset) + 1n;
    state.inFlight ??= this.drain(state);
  }

  /** Resolves once every settled offset has been committed (or its commit has failed). */
  async flush(): Promise<void> {
    await Promise.all([...this.partitions.values()].map((state) => state.inFlight));
  }

  private async drain(state: PartitionState): Promise<void> {
    while (state.next !== null) {
      const offset = state.next;
      state.next = null;
      try {
        await this.commit(state.topic, state.partition, offset.toString());
      } catch (error) {
        // Not retried here: the next record settled on this partition commits past it, and if
        // none comes (the partition moved in a rebalance), its new owner reads it again.
        this.onError(error, state.topic, state.partition);
      }
    }
    state.inFlight = null;
  }
}
