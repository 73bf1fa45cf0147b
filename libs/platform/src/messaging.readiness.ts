import type { MessagingRuntime } from './messaging.runtime.js';
import type { ReadinessCheck } from './readiness-check.js';

/**
 * The `consuming` part of readiness (readiness-check.ts), one check per part of the runtime:
 * each transport up and its broker answering, the relay, each consumer. The names are what
 * `GET /health/consuming` reports ("rabbitmq", "outbox relay", "kafka consumer", ...).
 */
export function messagingReadiness(runtime: MessagingRuntime): ReadinessCheck[] {
  const checks: ReadinessCheck[] = [...runtime.transports.values()].map((transport) => ({
    name: transport.name,
    part: 'consuming',
    check: async () => {
      if (!runtime.isUp(transport.name)) throw new Error(`${transport.name} is not connected and provisioned yet`);
      await transport.health();
    },
  }));
  checks.push({
    name: 'outbox relay',
    part: 'consuming',
    check: async () => {
      if (!runtime.relayRunning) throw new Error('the outbox relay is not running (its transports are not all up yet)');
    },
  });
  for (const consumer of runtime.consumers) {
    // The broker answering is not enough: the consumer may be joining, or between joins after a restart.
    checks.push({
      name: `${consumer.transport} consumer`,
      part: 'consuming',
      check: async () => {
        if (consumer.state !== 'running') throw new Error(`${consumer.name} is ${consumer.state}`);
      },
    });
  }
  return checks;
}
