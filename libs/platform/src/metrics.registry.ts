import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * A service's Prometheus registry: every series carries `service`, and the process's own figures
 * (CPU, memory, event loop lag, GC) come with it. One per service, never prom-client's global
 * one, so specs that assemble two services in one process keep their figures apart.
 * Served on `GET /metrics` by startService (metrics.endpoint.ts).
 */
export class MetricsRegistry {
  readonly registry = new Registry();

  constructor(readonly service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text; runs every metric's collect() (those that read a broker or the outbox). */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
