import type { ConsumerState, TransportConsumer } from '../transport.port.js';

/**
 * The lifecycle of a consumer group on a log (a Kafka group, a Kinesis group), whose start is
 * more than opening lanes: each `start` and `stop` runs once, however often it is called, and
 * every caller waits for the same one. A start that fails (the broker away, say) is forgotten,
 * so it may be tried again; a failure before the consumer moved past 'starting' leaves it 'new'.
 * `shutdown` is called once, and waits for a start under way with `startedWell()`.
 */
export abstract class LogConsumer implements TransportConsumer {
  protected phase: ConsumerState = 'new';
  private started: Promise<void> | null = null;
  private stopped: Promise<void> | null = null;

  /** Opens what the group reads and starts consuming; sets `phase` from 'starting' on. */
  protected abstract run(): Promise<void>;

  /** Stops gracefully: the batches in hand finish and commit, then the group is left. */
  protected abstract shutdown(): Promise<void>;

  get state(): ConsumerState {
    return this.phase;
  }

  start(): Promise<void> {
    this.started ??= this.run().catch((error: unknown) => {
      this.started = null;
      if (this.phase === 'starting') this.phase = 'new';
      throw error;
    });
    return this.started;
  }

  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  /** Whether the last `start` succeeded, once it is over; false if there was none. */
  protected startedWell(): Promise<boolean> {
    return this.started
      ? this.started.then(
          () => true,
          () => false,
        )
      : Promise.resolve(false);
  }

  /** Stops with `leave` instead of `shutdown` (the way a crash goes), unless a stop is done or under way. */
  protected stopWith(leave: () => Promise<void>): Promise<void> {
    if (this.phase === 'stopped' || this.stopped) return Promise.resolve();
    this.stopped = leave();
    return this.stopped;
  }
}
