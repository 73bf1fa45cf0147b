/** Where a record sits in a log: its partition or shard, and its offset or sequence number there. */
export interface LogPosition {
  readonly lane: string;
  readonly at: bigint;
}

/** What a marker record says: the record at a position was replayed, or a lane's records up to and including one were purged. */
export type DeadLetterMark = { readonly replayed: LogPosition } | { readonly purgedThrough: LogPosition };

/** A dead-letter log's records as the marks read them, in the broker's own encoding. */
export interface MarkedLog<R> {
  positionOf(record: R): LogPosition;
  /** What a marker record says, or null for a dead letter. */
  markOf(record: R): DeadLetterMark | null;
}

/**
 * How a log remembers which of its dead letters were dealt with. A log cannot delete one record
 * from its middle (Kafka can only move a partition's start, Kinesis not even that), so a replay
 * or a purge appends a marker record to the same log instead, and every reading honours the
 * marks: what waits is each record that is not a marker, not marked replayed, and not at or
 * before a purge mark of its lane. The log's retention drops the markers with the rest in time.
 */
export class DeadLetterMarks<R> {
  constructor(private readonly log: MarkedLog<R>) {}

  /** The dead letters still waiting, in log order. */
  waiting(records: ReadonlyArray<R>): R[] {
    const replayed = new Set<string>();
    const purgedThrough = new Map<string, bigint>();
    for (const record of records) {
      const mark = this.log.markOf(record);
      if (mark && 'replayed' in mark) replayed.add(keyOf(mark.replayed));
      else if (mark && mark.purgedThrough.at > (purgedThrough.get(mark.purgedThrough.lane) ?? -1n))
        purgedThrough.set(mark.purgedThrough.lane, mark.purgedThrough.at);
    }
    return records.filter((record) => {
      if (this.log.markOf(record)) return false;
      const position = this.log.positionOf(record);
      return !replayed.has(keyOf(position)) && position.at > (purgedThrough.get(position.lane) ?? -1n);
    });
  }

  /** Where purge marks go to hide all of `waiting`: the last of them in each lane. */
  purgePoints(waiting: ReadonlyArray<R>): LogPosition[] {
    const last = new Map<string, LogPosition>();
    for (const record of waiting) {
      const position = this.log.positionOf(record);
      last.set(position.lane, position);
    }
    return [...last.values()];
  }
}

const keyOf = ({ lane, at }: LogPosition) => `${lane}/${at}`;
