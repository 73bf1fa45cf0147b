import { MetricsRegistry, metricNames } from '@boxoffice/platform';
import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import type { Settlement } from './order.settlement.js';

/**
 * Orders accepted and settled, on Checkout's /metrics: the two ends of the ticket sale the
 * dashboard puts side by side (the accept rate is the spike, the settle rate is Billing's
 * levelled rate). Counted after the commit, so a rolled-back or retried batch counts nothing.
 */
@Injectable()
export class OrderMetrics {
  private readonly accepted: Counter;
  private readonly settled: Counter;

  constructor(metrics: MetricsRegistry) {
    const registers = [metrics.registry];
    this.accepted = new Counter({
      name: metricNames.ordersAccepted,
      help: 'Orders accepted, by path (async: POST /orders, sync: POST /orders/sync)',
      labelNames: ['path'],
      registers,
    });
    this.settled = new Counter({
      name: metricNames.ordersSettled,
      help: 'Orders settled, by status (confirmed, rejected) and the rejection reason',
      labelNames: ['path', 'status', 'reason'],
      registers,
    });
  }

  accept(path: 'async' | 'sync'): void {
    this.accepted.inc({ path });
  }

  settle(path: 'async' | 'sync', settlements: ReadonlyArray<Settlement>): void {
    const counts = new Map<string, { status: string; reason: string; count: number }>();
    for (const settlement of settlements) {
      const status = settlement.status.toLowerCase();
      const reason = settlement.status === 'REJECTED' ? settlement.reason.toLowerCase() : '';
      const key = `${status} ${reason}`;
      counts.set(key, { status, reason, count: (counts.get(key)?.count ?? 0) + 1 });
    }
    for (const { status, reason, count } of counts.values()) this.settled.inc({ path, status, reason }, count);
  }
}
