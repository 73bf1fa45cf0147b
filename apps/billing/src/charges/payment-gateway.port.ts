/**
 * A card payment in steps: authorize (hold the money), then capture the hold or void it; a
 * captured payment may be refunded. Billing names each payment itself (`paymentId`, passed to
 * every call): a real provider's adapter sends it as the idempotency key (or merchant reference)
 * of its calls, so a call asked again, after a crash or by another instance, does it once. Every
 * call is idempotent: capturing a captured payment, voiding a voided one or refunding a refunded
 * one succeeds and changes nothing.
 */
export interface PaymentGateway {
  authorize(request: { paymentId: string; orderId: string; amountCents: number }): Promise<Authorization>;
  capture(paymentId: string): Promise<void>;
  /** Gives the hold back. A payment the provider never held (declined, or never asked) is nothing to void. */
  void(paymentId: string): Promise<void>;
  refund(paymentId: string): Promise<void>;
}

export type Authorization = { readonly approved: true } | { readonly approved: false; readonly reason: string };

export const PAYMENT_GATEWAY = Symbol('PAYMENT_GATEWAY');
