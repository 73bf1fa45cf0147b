/**
 * How an order ends: what Billing's answer (async) or its HTTP reply (sync) makes of it, or its
 * deadline passing first (TIMED_OUT).
 */
export type Settlement = { status: 'CONFIRMED' } | { status: 'REJECTED'; reason: RejectionReason };

export type RejectionReason = 'SOLD_OUT' | 'PAYMENT_DECLINED' | 'TIMED_OUT';
