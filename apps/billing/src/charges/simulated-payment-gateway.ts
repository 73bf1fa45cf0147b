import { setTimeout as delay } from 'node:timers/promises';
import type { Authorization, PaymentGateway } from './payment-gateway.port.js';

type PaymentState = 'held' | 'declined' | 'captured' | 'voided' | 'refunded';

/**
 * A stand-in payment provider, named as such: no money moves. It takes `latencyMs` per call and
 * declines a `declineRate` share of authorizations, so load tests see realistic timing and both
 * outcomes. Replace it with a real provider's adapter behind the same port.
 *
 * It keeps each payment's state, as a provider would, so that tests can count the holds left
 * open (`openHolds`) and the money taken or given back. Each process has its own: a payment
 * another instance authorized is unknown here, and taken to be held.
 */
export class SimulatedPaymentGateway implements PaymentGateway {
  private readonly payments = new Map<string, PaymentState>();
  /** Every call that moved money or a hold, for tests: `captures`, `voids` and `refunds` by payment id. */
  readonly calls = { authorizations: 0, captures: [] as string[], voids: [] as string[], refunds: [] as string[] };

  constructor(
    private readonly latencyMs: number,
    private readonly declineRate: number,
    private readonly random: () => number = Math.random,
  ) {}

  async authorize({ paymentId }: { paymentId: string }): Promise<Authorization> {
    await delay(this.latencyMs);
    const known = this.payments.get(paymentId);
    if (known === undefined) {
      this.calls.authorizations += 1;
      this.payments.set(paymentId, this.random() < this.declineRate ? 'declined' : 'held');
    }
    return this.payments.get(paymentId) === 'declined'
      ? { approved: false, reason: 'card declined by the simulated provider' }
      : { approved: true };
  }

  async capture(paymentId: string): Promise<void> {
    await delay(this.latencyMs);
    this.move(paymentId, 'captured', ['held', 'captured'], this.calls.captures);
  }

  async void(paymentId: string): Promise<void> {
    await delay(this.latencyMs);
    if (this.payments.get(paymentId) === 'declined') return;
    this.move(paymentId, 'voided', ['held', 'voided'], this.calls.voids);
  }

  async refund(paymentId: string): Promise<void> {
    await delay(this.latencyMs);
    this.move(paymentId, 'refunded', ['captured', 'refunded'], this.calls.refunds);
  }

  /** Authorized and neither captured nor voided: money held on a card. */
  get openHolds(): number {
    return [...this.payments.values()].filter((state) => state === 'held').length;
  }

  /** The state of one payment, as the provider sees it. */
  stateOf(paymentId: string): PaymentState | undefined {
    return this.payments.get(paymentId);
  }

  private move(paymentId: string, to: PaymentState, from: ReadonlyArray<PaymentState>, log: string[]): void {
    const state = this.payments.get(paymentId);
    if (state !== undefined && !from.includes(state)) throw new Error(`the simulated provider cannot move a ${state} payment to ${to}`);
    if (state === to) return;
    this.payments.set(paymentId, to);
    log.push(paymentId);
  }
}
