import { GatewayTimeoutException, Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { CHECKOUT_CONFIG, type CheckoutConfig } from '../checkout.config.js';
import type { PlaceOrder } from './order.schemas.js';
import type { Settlement } from './orders.service.js';

/**
 * Billing over HTTP, for the synchronous purchase only. This is the temporal coupling the queue
 * removes: while Billing is slow, every buyer waits; while it is down, every purchase fails.
 */
@Injectable()
export class BillingClient {
  constructor(@Inject(CHECKOUT_CONFIG) private readonly config: CheckoutConfig) {}

  async charge(orderId: string, order: PlaceOrder): Promise<Settlement> {
    let response: Response;
    try {
      response = await fetch(new URL('/charges', this.config.BILLING_URL), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ orderId, ...order }),
        signal: AbortSignal.timeout(this.config.SYNC_TIMEOUT_MS),
      });
    } catch (error) {
      if ((error as Error).name === 'TimeoutError') {
        throw new GatewayTimeoutException(`billing did not answer within ${this.config.SYNC_TIMEOUT_MS} ms`);
      }
      throw new ServiceUnavailableException(`billing is unavailable: ${(error as Error).cause ?? (error as Error).message}`);
    }
    if (!response.ok) throw new ServiceUnavailableException(`billing answered ${response.status}`);
    const { status } = (await response.json()) as { status: 'CAPTURED' | 'DECLINED' | 'SEATS_UNAVAILABLE' };
    if (status === 'CAPTURED') return { status: 'CONFIRMED' };
    return { status: 'REJECTED', reason: status === 'DECLINED' ? 'PAYMENT_DECLINED' : 'SOLD_OUT' };
  }
}
