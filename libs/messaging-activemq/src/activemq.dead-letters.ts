import { once } from 'node:events';
import { DeadLetterShelf, deadLetterOf, withoutFailure, type DeadLetter, type DeadLetterCount, type Logger } from '@boxoffice/messaging';
import { type Delivery, type Message, type Receiver, ReceiverEvents } from 'rhea-promise';
import type { ActiveMqConnection } from './activemq.connection.js';
import { ManagementError, type ActiveMqManagement } from './activemq.management.js';
import { bodyOf, copyOf, messageIdOf, originalQueueOf, propertiesOf } from './activemq.message.js';
import type { ActiveMqPublisher } from './activemq.publisher.js';
import { deadLetterQueueName } from './activemq.topology.js';

const DRAIN_TIMEOUT_MS = 10_000;

/**
 * The `<queue>.dlq` of each work queue, as libs/messaging's DeadLetterShelf.
 * - list: a browsing receiver (distribution mode `copy`), which takes nothing from the queue;
 * - replay: a consuming receiver with credit for what is there now; the message asked for goes
 *   back to its queue as it first arrived there (same id and body, failure headers dropped, so a
 *   full set of attempts) and is accepted from the dlq only once the broker accepted the copy; the
 *   others are released, uncounted, in place;
 * - purge: the queue's `removeAllMessages` over management.
 * A message Artemis dead-lettered itself (its consumers kept dying while holding it) has no
 * failure record; its original queue is in the broker's `x-opt-ORIG-QUEUE` annotation.
 */
export class ActiveMqDeadLetters extends DeadLetterShelf {
  constructor(
    private readonly connection: ActiveMqConnection,
    private readonly management: ActiveMqManagement,
    private readonly publisher: ActiveMqPublisher,
    /** The work queues whose dead letter queues this store covers. */
    private readonly queues: ReadonlyArray<string>,
    private readonly logger: Logger,
  ) {
    super();
  }

  /** Each dead letter queue's count, and when its first letter was parked (the queue's `getFirstMessageTimestamp`): nothing is taken. */
  async counts(): Promise<DeadLetterCount[]> {
    const counts: DeadLetterCount[] = [];
    for (const [store, messages] of await this.existing()) {
      const oldestAt = messages === 0 ? null : await this.management.call<number | null>(`queue.${store}`, 'getFirstMessageTimestamp');
      counts.push({ store, messages, oldestAt: oldestAt ?? null });
    }
    return counts;
  }

  protected async stores(): Promise<string[]> {
    return (await this.existing()).map(([dlq]) => dlq);
  }

  protected async listIn(dlq: string): Promise<DeadLetter[]> {
    return this.take(dlq, await this.count(dlq), true, async (received) => received.map(({ message }) => letterOf(message, dlq)));
  }

  protected async replayIn(dlq: string, which: string | 'all'): Promise<number> {
    // Only what is there now: a replayed message that fails again comes back, and must not be replayed again in this run.
    return this.take(dlq, await this.count(dlq), false, async (received) => {
      const replayed = received
        .filter(({ message }) => which === 'all' || messageIdOf(message) === which)
        .slice(0, which === 'all' ? undefined : 1);
      for (const { message, delivery } of replayed) {
        const queue = letterOf(message, dlq).originalSource;
        await this.publisher.send(queue, [copyOf(message, withoutFailure(propertiesOf(message)))]);
        delivery.accept();
        this.logger.log(`activemq dead letters: replayed ${messageIdOf(message)} from ${dlq} to ${queue}`);
      }
      // The others are left unsettled: closing the receiver's session hands them back in place,
      // uncounted. (Releasing them in the same turn as an accept is what rhea mangles, see
      // activemq.settlement.ts.)
      return replayed.length;
    });
  }

  protected purgeIn(dlq: string): Promise<number> {
    return this.management.call<number>(`queue.${dlq}`, 'removeAllMessages');
  }

  /** The dead letter queues that exist (a queue never provisioned has none), with how many they hold now. */
  private async existing(): Promise<Array<[string, number]>> {
    const found: Array<[string, number]> = [];
    for (const dlq of this.queues.map(deadLetterQueueName)) {
      try {
        found.push([dlq, await this.count(dlq)]);
      } catch (error) {
        if (!(error instanceof ManagementError)) throw error; // AMQ229067: no such queue
      }
    }
    return found;
  }

  private count(dlq: string): Promise<number> {
    return this.management.call<number>(`queue.${dlq}`, 'getMessageCount');
  }

  /**
   * Takes up to `count` messages from `dlq` on a receiver of its own (browsing, or consuming),
   * hands them to `work`, then closes it. Drain mode makes the broker say when it has sent all
   * it has, so a queue that shrank meanwhile does not leave us waiting.
   */
  private async take<T>(dlq: string, count: number, browse: boolean, work: (received: Received[]) => Promise<T>): Promise<T> {
    const session = await this.connection.current().createSession();
    try {
      const receiver: Receiver = await session.createReceiver({
        source: { address: dlq, capabilities: ['queue'], ...(browse ? { distribution_mode: 'copy' } : {}) },
        autoaccept: false,
        credit_window: 0,
      });
      const received: Received[] = [];
      if (count > 0) {
        const all = new Promise<void>((resolve) => {
          receiver.on(ReceiverEvents.message, (context) => {
            if (context.message && context.delivery) received.push({ message: context.message, delivery: context.delivery });
            if (received.length >= count) resolve();
          });
          void once(receiver, ReceiverEvents.receiverDrained, { signal: AbortSignal.timeout(DRAIN_TIMEOUT_MS) }).then(
            () => resolve(),
            () => resolve(),
          );
        });
        receiver.drain = true;
        receiver.addCredit(count);
        await all;
      }
      return await work(received);
    } finally {
      // Whatever was taken and not settled goes back in place, uncounted.
      await session.close().catch(() => {});
    }
  }
}

interface Received {
  readonly message: Message;
  readonly delivery: Delivery;
}

function letterOf(message: Message, dlq: string): DeadLetter {
  const body = bodyOf(message);
  return deadLetterOf({
    transport: 'activemq',
    store: dlq,
    headers: propertiesOf(message),
    body: typeof body === 'string' ? body : body.toString(),
    id: messageIdOf(message),
    type: message.subject ? String(message.subject) : null,
    defaultSource: originalQueueOf(message) ?? dlq.replace(/\.dlq$/, ''),
  });
}
