import { queues } from '@boxoffice/contracts';
import { MessagingRuntime } from '@boxoffice/platform';
import { Injectable } from '@nestjs/common';

export interface QueueDepth {
  /** Jobs waiting in Billing's work queue: orders accepted and not yet taken by a Billing instance. */
  readonly messages: number;
  /** Billing's consumers on it right now (each instance has a few); 0 while Billing is down. Null where the transport cannot tell. */
  readonly consumers: number | null;
}

/**
 * The buffer of load levelling, measured where it is: the depth of `billing.charge-order` on
 * whichever transport carries commands, asked through the transport port over Checkout's own
 * connection (the one its outbox relay publishes on). Asking changes nothing on the broker.
 */
@Injectable()
export class ChargeQueueDepth {
  constructor(private readonly messaging: MessagingRuntime) {}

  /** null when it cannot be known: the broker is unreachable. */
  async read(): Promise<QueueDepth | null> {
    try {
      const depth = await this.messaging.depthOf(queues.chargeOrder, 'billing');
      return depth ? { messages: depth.waiting, consumers: depth.consumers } : null;
    } catch {
      return null;
    }
  }
}
