import type { TransportName } from '../destination.js';
import { silentLogger, type Logger } from '../logger.js';
import type { TransportConsumer } from '../transport.port.js';

/** What every transport's options have, whatever its broker. */
export interface TransportOptions {
  /** Where the transport and what it makes (consumers, publisher, dead-letter store) log; nowhere unless given. */
  readonly logger?: Logger;
}

/**
 * What every transport keeps besides its broker's terms: its logger, and the consumers it made,
 * for its `close` to leave those still running as a crash would (the broker hands out again what
 * they held) or to stop them. An adapter extends it and implements the `Transport` port.
 */
export abstract class BrokerTransport<C extends TransportConsumer = TransportConsumer> {
  protected readonly logger: Logger;
  private readonly consumers = new Set<C>();

  /** `name` is the transport's, as the catalog names it. */
  constructor(
    readonly name: TransportName,
    options: TransportOptions,
  ) {
    this.logger = options.logger ?? silentLogger;
  }

  /** The port's `health`: throws when the broker does not answer. */
  abstract health(): Promise<void>;

  /** The port's `provision`. */
  abstract provision(channels: ReadonlyArray<string>): Promise<void>;

  /** The port's `provisionForSending`: what `provision` creates, unless the broker leaves channels to their readers. */
  provisionForSending(channels: ReadonlyArray<string>): Promise<void> {
    return this.provision(channels);
  }

  /**
   * The port's `connect`, for a broker with no connection to hold open (an HTTP API: SQS,
   * Kinesis): it is asked once, so that a bad address fails at start. A transport that holds a
   * connection opens it instead.
   */
  connect(): Promise<void> {
    return this.health();
  }

  /** A consumer this transport made, for `leaveConsumers`; returned as it is. */
  protected track(consumer: C): C {
    this.consumers.add(consumer);
    return consumer;
  }

  /**
   * For `close`, before the connection goes: `leave` (abandon, or stop) every consumer made, at
   * once, and forget them. Either is a no-op on a consumer stopped already.
   */
  protected async leaveConsumers(leave: (consumer: C) => void | Promise<void>): Promise<void> {
    const consumers = [...this.consumers];
    this.consumers.clear();
    await Promise.all(consumers.map(async (consumer) => leave(consumer)));
  }
}
