/** A message parked for a human, on whatever transport: what the dlq tool lists and shows. */
export interface DeadLetter {
  readonly transport: string;
  /** The dead letter queue or topic it sits in. */
  readonly store: string;
  /** The message id, or null for one so broken its id could not be read. */
  readonly id: string | null;
  readonly type: string | null;
  readonly attempts: number;
  readonly lastError: string;
  readonly firstFailureAt: string | null;
  readonly lastFailureAt: string | null;
  /** The queue or topic it failed on, where replay sends it back. */
  readonly originalSource: string;
  /** The consumer (service) that gave up on it. */
  readonly consumer: string | null;
  /** The message as it was received, for a human to read. */
  readonly body: string;
  /** Where it sits, in the transport's own terms (a partition and offset, say); for a human. */
  readonly position?: string;
}

/** `show` or `replay` of an id that no dead letter store holds. */
export class DeadLetterNotFound extends Error {
  constructor(readonly id: string) {
    super(`no dead letter with id ${id} (npm run dlq -- list shows them all)`);
  }
}

/**
 * A transport's dead letters for one copy of the system, with one meaning on every transport:
 * `list` changes nothing; `replay` sends a message back to where it failed with its failure
 * record dropped (a full set of attempts again) and only then removes it, so a crash loses
 * nothing and at worst replays twice, which the inbox absorbs; a missing id is DeadLetterNotFound;
 * `purge` removes everything and says how many.
 */
export interface DeadLetterStore {
  list(): Promise<DeadLetter[]>;
  /** Throws DeadLetterNotFound. */
  replay(id: string): Promise<void>;
  /** Replays everything there now (not what fails again meanwhile); returns how many. */
  replayAll(): Promise<number>;
  purge(): Promise<number>;
  /**
   * How many wait, per store, without reading them: for metrics, asked on every scrape. Optional;
   * where a transport cannot count cheaply, the metrics fall back to `list` less often.
   */
  counts?(): Promise<DeadLetterCount[]>;
}

/** How many dead letters wait in one dead letter queue or topic, and how close the oldest is to expiry. */
export interface DeadLetterCount {
  readonly store: string;
  readonly messages: number;
  /**
   * When the oldest letter waiting was parked, in epoch milliseconds, by the broker's own stamp
   * where it keeps one (a log's record timestamp, which its retention counts from); null when
   * none waits. Left out where the broker cannot say without taking a letter off the store
   * (RabbitMQ, SQS): the metrics then show no age for it.
   */
  readonly oldestAt?: number | null;
  /**
   * How long the store keeps a letter before the broker drops it, read or not (a dead-letter
   * log's retention); left out where letters wait until someone replays or purges them.
   */
  readonly retentionMs?: number | null;
}

/** Looks one up across stores; throws DeadLetterNotFound. */
export async function findDeadLetter(
  stores: ReadonlyArray<DeadLetterStore>,
  id: string,
): Promise<{ letter: DeadLetter; store: DeadLetterStore }> {
  for (const store of stores) {
    const letter = (await store.list()).find((l) => l.id === id);
    if (letter) return { letter, store };
  }
  throw new DeadLetterNotFound(id);
}
