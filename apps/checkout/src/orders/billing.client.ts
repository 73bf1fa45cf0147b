import { GatewayTimeoutException, Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { CHECKOUT_CONFIG, type CheckoutConfig } from '../checkout.config.js';
import type { PlaceOrder } from './order.schemas.js';
import type { Settlement } from './order.settlement.js';
import { SyncOrderPolicies } from './sync-order.policies.js';

type ChargeStatus = 'CAPTURED' | 'DECLINED' | 'SEATS_UNAVAILABLE';

/**
 * Billing over HTTP, for the synchronous purchase only. This is the temporal coupling the queue
 * removes: while Billing is slow, every buyer waits; while it is down, every purchase fails. The
 * call goes through the circuit breaker of SyncOrderPolicies and ends at the purchase's deadline.
 */
@Injectable()
export class BillingClient {
  constructor(
    @Inject(CHECKOUT_CONFIG) private readonly config: CheckoutConfig,
    private readonly policies: SyncOrderPolicies,
  ) {}

  async charge(orderId: string, order: PlaceOrder, deadline: AbortSignal): Promise<Settlement> {
    // Its buyer has been answered 504 already (the deadline passed in the queue or the database):
    // a charge now would take money for a purchase the buyer was told did not complete in time.
    if (deadline.aborted) throw this.noAnswer();
    const status = await this.policies.callBilling(() => this.post(orderId, order, deadline), deadline);
    if (status === 'CAPTURED') return { status: 'CONFIRMED' };
    return { status: 'REJECTED', reason: status === 'DECLINED' ? 'PAYMENT_DECLINED' : 'SOLD_OUT' };
  }

  private async post(orderId: string, order: PlaceOrder, deadline: AbortSignal): Promise<ChargeStatus> {
    try {
      const response = await fetch(new URL('/charges', this.config.BILLING_URL), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ orderId, ...order }),
        signal: deadline,
      });
      if (!response.ok) {
        await response.body?.cancel(); // frees the connection for the next call
        throw new ServiceUnavailableException(`billing answered ${response.status}`);
      }
      return ((await response.json()) as { status: ChargeStatus }).status;
    } catch (error) {
      if (error instanceof ServiceUnavailableException) throw error;
      if (deadline.aborted) throw this.noAnswer();
      throw new ServiceUnavailableException(`billing is unavailable: ${(error as Error).cause ?? (error as Error).message}`);
    }
  }

  private noAnswer(): GatewayTimeoutException {
    return new GatewayTimeoutException(`billing did not answer within ${this.config.SYNC_TIMEOUT_MS} ms`);
  }
}
