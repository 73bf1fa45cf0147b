/** A card payment in two steps: authorize (hold the money), then capture it or void the hold. */
export interface PaymentGateway {
  authorize(request: { orderId: string; amountCents: number }): Promise<Authorization>;
  void(authorization: ApprovedAuthorization): Promise<void>;
}

export type ApprovedAuthorization = { readonly approved: true; readonly paymentId: string };
export type Authorization = ApprovedAuthorization | { readonly approved: false; readonly reason: string };

export const PAYMENT_GATEWAY = Symbol('PAYMENT_GATEWAY');
