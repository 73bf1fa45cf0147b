import {
  SubscriptionConsumer,
  type ConsumerSpec,
  type InboundMessage,
  type Logger,
  type Settlement,
  type Subscription,
} from '@boxoffice/messaging';
import { type Connection, type Delivery, type Message, type Receiver, ReceiverEvents } from 'rhea-promise';
import type { ActiveMqConnection } from './activemq.connection.js';
import { bodyOf, copyOf, headersOf, messageIdOf } from './activemq.message.js';
import type { ActiveMqPublisher } from './activemq.publisher.js';
import { dispositionFor, settleByOutcome, type FinalDisposition } from './activemq.settlement.js';
import { deadLetterQueueName } from './activemq.topology.js';

export interface ActiveMqConsumerOptions {
  /** Sends the dead-letter copies. */
  readonly publisher: ActiveMqPublisher;
  /** Creates each queue with its address settings and dead letter queue before consuming it. */
  readonly provision: (queues: ReadonlyArray<string>) => Promise<void>;
  /** How long `stop()` waits for the batches in flight; after that the broker redelivers them. */
  readonly stopTimeoutMs?: number;
  readonly logger?: Logger;
}

/** A delivery, and the message it carries. */
interface Received {
  readonly message: Message;
  readonly delivery: Delivery;
}

/**
 * Competing consumers on Artemis ANYCAST queues, in batches, as the runtime's
 * SubscriptionConsumer (its lanes, the reconnects, stop). Each lane is a receiver, on a session
 * of its own, whose credit is two batches (rhea's automatic credit window is off: it would top up
 * on receipt, not on settlement, and let unsettled messages pile up): one batch in the pipeline,
 * the next arriving. After the pipeline's commit each delivery is settled as
 * activemq.settlement.ts says, and its credit given back. A delivery left unsettled when the link
 * or connection goes is the broker's to redeliver; after a reconnect the connection's setup
 * provisions the queues and opens the lanes again. On stop no more credit is given, the batches
 * in flight settle, and what was buffered for a next batch is released.
 */
export class ActiveMqConsumer extends SubscriptionConsumer<Connection, Receiver, Received> {
  constructor(
    connection: ActiveMqConnection,
    spec: ConsumerSpec,
    private readonly options: ActiveMqConsumerOptions,
  ) {
    super('activemq', connection, spec, options);
  }

  /** On every (re)connect, the queues exist with their settings before any lane consumes them. */
  protected override prepare(): Promise<void> {
    return this.options.provision(this.spec.channels);
  }

  protected async subscribe(subscription: Subscription<Receiver, Received>, connection: Connection): Promise<void> {
    const session = await connection.createSession();
    try {
      const receiver = await session.createReceiver({
        source: { address: subscription.queue, capabilities: ['queue'] },
        autoaccept: false,
        credit_window: 0,
      });
      receiver.on(ReceiverEvents.message, ({ message, delivery }) => {
        if (message && delivery) subscription.deliver(receiver, { message, delivery });
      });
      receiver.on(ReceiverEvents.receiverClose, () => subscription.closed(receiver));
      subscription.link = receiver;
      // Two batches' worth: one in the pipeline, the next arriving meanwhile.
      receiver.addCredit(this.spec.batch.maxMessages * 2);
    } catch (error) {
      await session.close().catch(() => {});
      throw error;
    }
  }

  protected inbound({ message }: Received): InboundMessage {
    return { body: bodyOf(message), headers: headersOf(message) };
  }

  /** Dead letters copied first, then one outcome per turn, then the credit given back. */
  protected async settle(
    receiver: Receiver,
    queue: string,
    batch: ReadonlyArray<Received>,
    settlements: ReadonlyArray<Settlement>,
  ): Promise<void> {
    const dispositions = await Promise.all(batch.map(({ message }, i) => this.dispositionOf(queue, message, settlements[i])));
    await settleByOutcome(
      batch.map(({ delivery }, i) => ({ delivery, disposition: dispositions[i] })),
      (operation) => this.onLink(operation),
    );
    this.giveBack(receiver, batch.length);
  }

  /**
   * Back to the queue uncounted. Only ever on a link still open: settling on a closed connection
   * would only leave rhea a heartbeat timer running.
   */
  protected release(receiver: Receiver, deliveries: ReadonlyArray<Received>): void {
    for (const { delivery } of deliveries) this.onLink(() => delivery.release());
    this.giveBack(receiver, deliveries.length);
  }

  /** The receiver's session was its alone. */
  protected async closeLink(receiver: Receiver): Promise<void> {
    await receiver.session.close();
  }

  /** The outcome a delivery is settled with; a dead letter is first copied to its queue's `.dlq`. */
  private async dispositionOf(queue: string, message: Message, settlement: Settlement): Promise<FinalDisposition> {
    const disposition = dispositionFor(settlement);
    if (disposition !== 'dead-letter') return disposition;
    const dlq = deadLetterQueueName(queue);
    try {
      await this.options.publisher.send(dlq, [copyOf(message, settlement.kind === 'dead-letter' ? settlement.headers : {})]);
      return 'accept';
    } catch (error) {
      // Not parked: back to the queue uncounted, to be dead-lettered again on its next delivery.
      this.logger.error(`activemq consumer ${queue}: could not move ${messageIdOf(message)} to ${dlq}; released`, error);
      return 'release';
    }
  }

  /** Settled deliveries free their credit: the window stays two batches of messages held or on their way. */
  private giveBack(receiver: Receiver, settled: number): void {
    if (this.feeding(receiver)) this.onLink(() => receiver.addCredit(settled));
  }
}
