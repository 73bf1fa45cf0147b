import { queues } from '@boxoffice/contracts';
import { MessagingRuntime } from '@boxoffice/platform';
import { Injectable } from '@nestjs/common';

export interface QueueDepth {
  /** Messages ready in Billing's work queue: orders accepted and not yet taken by a Billing instance. */
  readonly messages: number;
  /** Billing instances consuming it right now; 0 while Billing is down. */
  readonly consumers: number;
}

/**
 * The buffer of load levelling, measured where it is: RabbitMQ's count of ChargeOrder jobs
 * waiting in `billing.charge-order`. Asked over Checkout's own connection (the one its outbox
 * relay publishes on), with a passive declare, which changes nothing on the broker.
 */
@Injectable()
export class ChargeQueueDepth {
  constructor(private readonly messaging: MessagingRuntime) {}

  /** null when it cannot be known: RabbitMQ is unreachable, or Billing never declared its queue. */
  async read(): Promise<QueueDepth | null> {
    const connection = this.messaging.rabbitmq;
    if (!connection?.isConnected) return null;
    try {
      // A channel per reading: a queue that does not exist closes the channel it was asked on.
      const channel = await connection.createChannel();
      channel.on('error', () => {}); // the 404 arrives here as well as in the rejected promise
      try {
        const { messageCount, consumerCount } = await channel.checkQueue(queues.chargeOrder);
        return { messages: messageCount, consumers: consumerCount };
      } finally {
        await channel.close().catch(() => {});
      }
    } catch {
      return null;
    }
  }
}
