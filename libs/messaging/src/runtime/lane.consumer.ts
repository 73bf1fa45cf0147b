import { silentLogger, type Logger } from '../logger.js';
import type { ConsumerSpec, ConsumerState, SourceSemantics, TransportConsumer } from '../transport.port.js';
import { LaneRunner, type Lane } from './lane.runner.js';

export interface LaneConsumerOptions {
  /** How the lanes' sources behave, where a lane does not say otherwise. */
  readonly semantics: SourceSemantics;
  /** How long `stop()` waits for the batches in flight; after that the broker delivers them again. */
  readonly stopTimeoutMs?: number;
  readonly logger?: Logger;
}

/**
 * A queue consumer as the port sees it, for an adapter whose consumer is nothing but its lanes on
 * a LaneRunner: `start` opens them (`lanes()`: making sure of what they read; a failure leaves it
 * stopped, and is thrown), `stop` lets the batches in flight finish and settle, `abandon` leaves
 * as a crash would. Where the broker pushes into the lanes (a subscription a connection setup
 * makes), `attach` opens what feeds them once they run and `detach` closes it as they stop.
 */
export abstract class LaneConsumer<D> implements TransportConsumer {
  protected readonly runner: LaneRunner<D>;
  /** Names the consumer in log lines: `nats consumer billing`. */
  protected readonly label: string;
  protected readonly logger: Logger;
  private phase: ConsumerState = 'new';

  /** `broker` names it in log lines; the spec's pipeline processes every lane's batches. */
  constructor(
    broker: string,
    protected readonly spec: ConsumerSpec,
    options: LaneConsumerOptions,
  ) {
    this.label = `${broker} consumer ${spec.consumer}`;
    this.logger = options.logger ?? silentLogger;
    const { semantics, stopTimeoutMs } = options;
    this.runner = new LaneRunner({ pipeline: spec.pipeline, semantics, label: this.label, stopTimeoutMs, logger: this.logger });
  }

  /** The lanes to run, opened: run once per `start`. */
  protected abstract lanes(): Promise<ReadonlyArray<Lane<D>>>;

  /**
   * Opens what feeds the lanes, once they run, so that nothing delivered waits for a lane to take
   * it. A failure stops the lanes again and detaches, and `start` throws it.
   */
  protected attach?(): Promise<void>;

  /**
   * Closes what `attach` opened, from the moment the lanes take no more batches; `settled`
   * resolves once the batches in flight are settled (or `stop` gave up waiting for them).
   */
  protected detach?(settled: Promise<unknown>): Promise<void>;

  get state(): ConsumerState {
    return this.phase;
  }

  async start(): Promise<void> {
    if (this.phase === 'starting' || this.phase === 'running') throw new Error('the consumer is already started');
    this.phase = 'starting';
    try {
      this.runner.start(await this.lanes());
      await this.attach?.();
      this.phase = 'running';
    } catch (error) {
      // Leave nothing half started: no lane runs on, nothing attached stays open.
      await this.halt();
      this.phase = 'stopped';
      throw error;
    }
  }

  async stop(): Promise<void> {
    if (this.phase !== 'running') return;
    this.phase = 'stopping';
    await this.halt();
    this.phase = 'stopped';
  }

  /** Settles nothing more: the broker delivers again what was in flight. */
  abandon(): void {
    this.runner.abandon();
    this.phase = 'stopped';
  }

  private async halt(): Promise<void> {
    const settled = this.runner.stop(); // takes no further batch from here on
    await this.detach?.(settled);
    await settled;
  }
}
