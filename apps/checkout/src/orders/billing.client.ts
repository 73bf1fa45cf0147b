import { traceHeaders } from '@boxoffice/telemetry';
import { GatewayTimeoutException, Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { CHECKOUT_CONFIG, type CheckoutConfig } from '../checkout.config.js';
import type { Settlement } from './order.settlement.js';
import type { ChargeRequest } from './orders.service.js';
import { SyncOrderPolicies } from './sync-order.policies.js';

type ChargeStatus = 'CAPTURED' | 'DECLINED' | 'SEATS_UNAVAILABLE' | 'TIMED_OUT' | 'REFUNDED';

/** Billing's answer, as the order's final state. REFUNDED: captured too late for a timed-out order, and given back. */
const settlements: Record<ChargeStatus, Settlement> = {
  CAPTURED: { status: 'CONFIRMED' },
  DECLINED: { status: 'REJECTED', reason: 'PAYMENT_DECLINED' },
  SEATS_UNAVAILABLE: { status: 'REJECTED', reason: 'SOLD_OUT' },
  TIMED_OUT: { status: 'REJECTED', reason: 'TIMED_OUT' },
  REFUNDED: { status: 'REJECTED', reason: 'TIMED_OUT' },
};

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

  async charge(request: ChargeRequest, deadline: AbortSignal): Promise<Settlement> {
    // Its buyer has been answered 504 already (the deadline passed in the queue or the database):
    // a charge now would take money for a purchase the buyer was told did not complete in time.
    if (deadline.aborted) throw this.noAnswer();
    const status = await this.policies.callBilling(() => this.post(request, deadline), deadline);
    const settlement = settlements[status] as Settlement | undefined;
    if (!settlement) throw new ServiceUnavailableException(`billing answered an unknown status ${String(status)}`);
    return settlement;
  }

  private async post(request: ChargeRequest, deadline: AbortSignal): Promise<ChargeStatus> {
    try {
      const response = await fetch(new URL('/charges', this.config.BILLING_URL), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${this.config.BILLING_API_TOKEN}`,
          // Billing's span of the call continues the purchase's trace.
          ...traceHeaders(),
        },
        body: JSON.stringify(request),
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
