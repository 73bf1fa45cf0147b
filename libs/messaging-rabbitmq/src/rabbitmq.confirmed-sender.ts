import type { ConfirmChannel, Message, Options } from 'amqplib';
import { MessageRefused, type Logger } from '@boxoffice/messaging';

/**
 * Publishing that counts only what the broker took responsibility for. Each `send` resolves on
 * the broker's confirm and rejects on a nack (MessageRefused), on the channel closing first, or when the message
 * comes back unroutable: it is published `mandatory`, so a message to an exchange with no queue
 * bound (or to a queue that does not exist) is a failure the caller sees and retries, rather than
 * a message RabbitMQ drops without a word. RabbitMQ sends the return before the confirm, so by
 * the time a message is confirmed we know whether it was returned.
 * See https://www.rabbitmq.com/docs/confirms#publisher-confirms
 */
export class ConfirmedSender {
  /** Sends waiting to learn whether they were returned, by message id. */
  private readonly awaitingReturn = new Map<string, Array<(error: Error) => void>>();
  private open = true;

  constructor(
    private readonly channel: ConfirmChannel,
    logger: Logger,
  ) {
    channel.on('return', (message: Message) => this.returned(message));
    channel.on('close', () => (this.open = false));
    // A channel error closes the channel; its unconfirmed sends reject with 'channel closed'.
    channel.on('error', (error: Error) => logger.warn(`rabbitmq: confirm channel closed by the broker (${error.message})`));
  }

  get isOpen(): boolean {
    return this.open;
  }

  send(exchange: string, routingKey: string, content: Buffer, options: Options.Publish): Promise<void> {
    return new Promise((resolve, reject) => {
      const id = String(options.messageId ?? '');
      const waiters = this.awaitingReturn.get(id) ?? [];
      waiters.push(reject);
      this.awaitingReturn.set(id, waiters);
      const confirmed = (error: unknown) => {
        this.forget(id, reject);
        // A nack is RabbitMQ's no to this message; any other error (the channel closed) says nothing of it.
        if (error instanceof Error && error.message === 'message nacked') reject(new MessageRefused(`message ${id} nacked by RabbitMQ`));
        else if (error) reject(error instanceof Error ? error : new Error(String(error)));
        else resolve(); // a no-op if the message was returned: the promise is already rejected
      };
      try {
        this.channel.publish(exchange, routingKey, content, { ...options, mandatory: true }, confirmed);
      } catch (error) {
        // amqplib throws at once when the channel is already closed.
        confirmed(error);
      }
    });
  }

  /**
   * Gives up on this channel: every send still waiting for its confirm rejects now with `reason`,
   * and the channel is closed without waiting for the broker's answer. For a publish past its
   * deadline: RabbitMQ under a memory or disk alarm stops reading a publishing connection, so
   * confirms (and the channel's close) come only once the alarm clears. A confirm that comes
   * after this finds nothing waiting, and the next publish opens a channel of its own rather
   * than writing more behind the silent one. amqplib has no confirm timeout of its own.
   */
  abandon(reason: Error): void {
    const waiting = [...this.awaitingReturn.values()].flat();
    this.awaitingReturn.clear();
    for (const reject of waiting) reject(reason);
    if (!this.open) return;
    this.open = false;
    this.channel.close().catch(() => {});
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    await this.channel.close().catch(() => {});
  }

  private returned(message: Message): void {
    const id = String(message.properties.messageId ?? '');
    const reject = this.awaitingReturn.get(id)?.[0];
    if (!reject) return;
    this.forget(id, reject);
    const { exchange, routingKey } = message.fields;
    const { replyText } = message.fields as unknown as { replyText?: string };
    reject(
      new MessageRefused(`message ${id} unroutable: exchange '${exchange}', routing key '${routingKey}' (${replyText ?? 'returned'})`),
    );
  }

  private forget(id: string, reject: (error: Error) => void): void {
    const waiters = this.awaitingReturn.get(id);
    const index = waiters ? waiters.indexOf(reject) : -1;
    if (!waiters || index < 0) return;
    if (waiters.length === 1) this.awaitingReturn.delete(id);
    else waiters.splice(index, 1);
  }
}
