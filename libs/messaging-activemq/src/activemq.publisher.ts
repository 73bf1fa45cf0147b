import { once } from 'node:events';
import { allConfirmed, describeDestination, type OutgoingMessage, type PublishOptions } from '@boxoffice/messaging';
import { type AwaitableSender, type Message, SenderEvents, SendOperationFailedError } from 'rhea-promise';
import { describeError, type ActiveMqConnection } from './activemq.connection.js';
import { messageFor } from './activemq.message.js';

const SEND_TIMEOUT_SECONDS = 30;

/**
 * Sends to Artemis queues and waits for the broker to accept each message: the port's `publish`
 * for the outbox relay, and the dead-letter and replay copies. One sender link per queue
 * (`capabilities: queue`, so a queue nobody provisioned yet is created ANYCAST rather than
 * dropped), opened on first use and again after a reconnect. A batch is written out as far as
 * the broker's link credit allows, then its outcomes are awaited together: one round trip per
 * credit window, not per message. Artemis grants 1,000 credits and tops them up at 300
 * (`amqpCredits`, `amqpLowCredits` on the acceptor).
 */
export class ActiveMqPublisher {
  private readonly senders = new Map<string, Promise<AwaitableSender>>();

  constructor(private readonly connection: ActiveMqConnection) {
    connection.onLost(() => this.senders.clear());
  }

  /**
   * The port's publish: resolves once the broker accepted every message. Rejects with
   * PublishIncomplete naming the messages it did not accept, a rejected one as refused. Once the
   * caller's signal is aborted (the relay's deadline), the sends still waiting for an outcome or
   * for credit are dropped by rhea (`abortSignal`): a late outcome finds nothing, and the link
   * they were on is not used again.
   */
  async publish(messages: ReadonlyArray<OutgoingMessage>, { signal }: PublishOptions = {}): Promise<void> {
    const wrong = messages.find(({ destination }) => destination.transport !== 'activemq');
    if (wrong) throw new Error(`ActiveMqPublisher cannot publish to ${describeDestination(wrong.destination)}`);
    const byQueue = new Map<string, Array<{ index: number; message: Message }>>();
    messages.forEach(({ envelope, headers, destination }, index) => {
      byQueue.set(destination.channel, [...(byQueue.get(destination.channel) ?? []), { index, message: messageFor(envelope, headers) }]);
    });
    const outcomes: Array<Promise<unknown>> = Array.from({ length: messages.length });
    await Promise.all(
      [...byQueue].map(async ([queue, batch]) => {
        const sent = await this.sent(
          queue,
          batch.map(({ message }) => message),
          signal,
        );
        batch.forEach(({ index }, i) => (outcomes[index] = sent[i]));
      }),
    );
    await allConfirmed(outcomes, 'activemq publish', { describe, refused: isRejected });
  }

  /** Sends AMQP messages to one queue; resolves once all were accepted (in any order). */
  async send(queue: string, messages: ReadonlyArray<Message>): Promise<void> {
    await allConfirmed(await this.sent(queue, messages), `activemq send to ${queue}`, { describe, refused: isRejected });
  }

  /** Writes the messages out as credit allows; one outcome each, in their order. */
  private async sent(queue: string, messages: ReadonlyArray<Message>, signal?: AbortSignal): Promise<Array<Promise<unknown>>> {
    if (messages.length === 0) return [];
    const sender = await this.sender(queue);
    const outcomes: Array<Promise<unknown>> = [];
    try {
      for (const message of messages) {
        signal?.throwIfAborted();
        // No credit: wait for the broker to grant more (or the link to go).
        while (!sender.sendable()) await waitForCredit(sender, signal);
        outcomes.push(sender.send(message, { timeoutInSeconds: SEND_TIMEOUT_SECONDS, abortSignal: signal }));
      }
    } catch (error) {
      // The rest was never sent.
      while (outcomes.length < messages.length) outcomes.push(Promise.reject(error));
    }
    // A failed send may leave the link broken: the next publish opens a new one.
    void Promise.all(outcomes).catch(() => this.forget(queue, sender));
    return outcomes;
  }

  async close(): Promise<void> {
    const senders = [...this.senders.values()];
    this.senders.clear();
    for (const opening of senders) await (await opening.catch(() => null))?.close().catch(() => {});
  }

  private sender(queue: string): Promise<AwaitableSender> {
    let sender = this.senders.get(queue);
    if (!sender) {
      sender = this.connection
        .current()
        .createAwaitableSender({ target: { address: queue, capabilities: ['queue'] } })
        .then(
          (opened) => {
            opened.on(SenderEvents.senderClose, () => this.forget(queue, opened));
            opened.on(SenderEvents.senderError, () => this.forget(queue, opened));
            return opened;
          },
          (error: unknown) => {
            // Refused (the account may not send there), or the connection went: said as an Error.
            throw new Error(`activemq: could not send to ${queue}: ${describeError(error)}`, { cause: error });
          },
        );
      sender.catch(() => this.senders.delete(queue));
      this.senders.set(queue, sender);
    }
    return sender;
  }

  private forget(queue: string, sender: AwaitableSender): void {
    void this.senders.get(queue)?.then(
      (current) => current === sender && this.senders.delete(queue),
      () => {},
    );
  }
}

async function waitForCredit(sender: AwaitableSender, signal?: AbortSignal): Promise<void> {
  if (!sender.isOpen()) throw new Error(`the sender to ${sender.address} is closed`);
  const timeout = AbortSignal.timeout(SEND_TIMEOUT_SECONDS * 1000);
  await once(sender, SenderEvents.sendable, { signal: signal ? AbortSignal.any([timeout, signal]) : timeout }).catch(() => {
    signal?.throwIfAborted();
    throw new Error(`no credit from the broker for ${sender.address} within ${SEND_TIMEOUT_SECONDS} s`);
  });
}

/** Artemis' no to this message ("rejected" delivery state), as opposed to a lost link or a timeout. */
function isRejected(error: unknown): boolean {
  return error instanceof SendOperationFailedError && error.code === 'rejected';
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'object' && error ? JSON.stringify(error) : String(error);
}
