/** How an order ends: what Billing's answer (async) or its HTTP reply (sync) makes of it. */
export type Settlement = { status: 'CONFIRMED' } | { status: 'REJECTED'; reason: 'SOLD_OUT' | 'PAYMENT_DECLINED' };
