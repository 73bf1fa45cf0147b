/**
 * The first reading of a work queue on a new connection, one message at a time.
 *
 * A quorum queue hands the messages it gets back (their consumer died, its connection or channel
 * closed) out again *before* everything else, and counts each return toward the queue's delivery
 * limit. If one of them is what killed the last consumer, every message held beside it when it
 * kills this one is counted too: read in batches with a prefetch window, the poison message's
 * neighbours would reach the delivery limit with it, crash after crash, and be parked with it.
 * So on each (re)connect one lane per queue reads alone with a window of one message, and the
 * queue's other lanes wait: a crash then takes down only the message that caused it. The
 * probation ends at the first message the queue never handed out before (`redelivered` false):
 * the queue delivers returns first, so no return is left ahead of it. Then every lane takes its
 * full window.
 */
export class Probation {
  private leader: object | null = null;
  private ended = false;
  private release!: () => void;
  /** Resolves when the probation ends; the waiting lanes start consuming then. */
  readonly over = new Promise<void>((resolve) => (this.release = resolve));

  get isOver(): boolean {
    return this.ended;
  }

  /** Whether `lane` is the one that reads alone: the first lane to ask is, also when it resubscribes. */
  leads(lane: object): boolean {
    this.leader ??= lane;
    return this.leader === lane;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.release();
  }
}
