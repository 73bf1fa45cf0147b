import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { MetricsRegistry } from './metrics.registry.js';

/**
 * `GET /metrics` in Prometheus' text format, on every service whose module has a MetricsRegistry
 * (provideMessaging gives one). A plain Fastify route rather than a controller, so each of the
 * five root modules gets it from startService without listing it.
 */
export function serveMetrics(app: NestFastifyApplication): void {
  let metrics: MetricsRegistry;
  try {
    metrics = app.get(MetricsRegistry, { strict: false });
  } catch {
    return; // a module without messaging: nothing of ours to export
  }
  app
    .getHttpAdapter()
    .getInstance()
    .get('/metrics', async (_request, reply) => {
      const text = await metrics.text();
      return reply.header('content-type', metrics.contentType).send(text);
    });
}
