import type { ConsumerState, TransportConsumer } from '../transport.port.js';
import type { Lane, LaneRunner } from './lane.runner.js';

/**
 * A queue consumer as the port sees it, for an adapter whose consumer is nothing but its lanes on
 * a LaneRunner: `start` opens them (`lanes()`: making sure of what they read; a failure leaves it
 * stopped, and is thrown), `stop` lets the batches in flight finish and settle, `abandon` leaves
 * as a crash would.
 */
export abstract class LaneConsumer<D> implements TransportConsumer {
  private phase: ConsumerState = 'new';

  constructor(private readonly runner: LaneRunner<D>) {}

  /** The lanes to run, opened: run once per `start`. */
  protected abstract lanes(): Promise<ReadonlyArray<Lane<D>>>;

  get state(): ConsumerState {
    return this.phase;
  }

  async start(): Promise<void> {
    if (this.phase === 'starting' || this.phase === 'running') throw new Error('the consumer is already started');
    this.phase = 'starting';
    try {
      this.runner.start(await this.lanes());
      this.phase = 'running';
    } catch (error) {
      this.phase = 'stopped';
      throw error;
    }
  }

  async stop(): Promise<void> {
    if (this.phase !== 'running') return;
    this.phase = 'stopping';
    await this.runner.stop();
    this.phase = 'stopped';
  }

  /** Settles nothing more: the broker delivers again what was in flight. */
  abandon(): void {
    this.runner.abandon();
    this.phase = 'stopped';
  }
}
