import { uuidV7 } from '@boxoffice/messaging';
import { setTimeout as delay } from 'node:timers/promises';
import type { Authorization, PaymentGateway } from './payment-gateway.port.js';

/**
 * A stand-in payment provider, named as such: no money moves. It takes `latencyMs` per call and
 * declines a `declineRate` share of authorizations, so load tests see realistic timing and both
 * outcomes. Replace it with a real provider's adapter behind the same port.
 */
export class SimulatedPaymentGateway implements PaymentGateway {
  constructor(
    private readonly latencyMs: number,
    private readonly declineRate: number,
    private readonly random: () => number = Math.random,
  ) {}

  async authorize(): Promise<Authorization> {
    await delay(this.latencyMs);
    return this.random() < this.declineRate
      ? { approved: false, reason: 'card declined by the simulated provider' }
      : { approved: true, paymentId: uuidV7() };
  }

  async void(): Promise<void> {
    await delay(this.latencyMs);
  }
}
