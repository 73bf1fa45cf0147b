import type { ServiceName } from '@boxoffice/contracts';
import {
  EnvelopeFactory,
  MessageSender,
  Routing,
  type AnyHandler,
  type HandlerRegistration,
  type SqlExecutor,
  type TransactionRunner,
} from '@boxoffice/messaging';
import { MessagingTracing } from '@boxoffice/telemetry';
import { Logger, type Provider, type Type } from '@nestjs/common';
import { InboxPruning } from './inbox.pruning.js';
import { MessagingLifecycle } from './messaging.lifecycle.js';
import { messagingReadiness } from './messaging.readiness.js';
import { MessagingRuntime, type MessagingRuntimeOptions } from './messaging.runtime.js';
import { MessagingGauges } from './metrics.gauges.js';
import { MessagingInstruments } from './metrics.instruments.js';
import { MetricsRegistry } from './metrics.registry.js';
import { databaseReadiness, PRISMA } from './prisma.provider.js';
import { READINESS_CHECKS } from './readiness-check.js';
import { ShutdownBudget } from './shutdown.budget.js';

export interface MessagingProviderOptions extends Omit<
  MessagingRuntimeOptions,
  'handlers' | 'database' | 'sender' | 'routing' | 'logger' | 'metrics'
> {
  /** The service's `<service>.handlers.ts`: message type -> handler class (a provider of the module). */
  readonly handlers: ReadonlyArray<HandlerRegistration<Type<AnyHandler<never>>>>;
}

/**
 * What every service gets for messaging: a MessageSender to send with, the MessagingRuntime that
 * runs relay and consumers with the service's handlers (started and stopped with the application
 * by MessagingLifecycle), the pruning of its inbox (InboxPruning), readiness checks for its database
 * and brokers, and the service's MetricsRegistry (served on /metrics by startService), with the
 * messaging's instruments and gauges on it.
 */
export function provideMessaging(options: MessagingProviderOptions): Provider[] {
  const { handlers, ...runtime } = options;
  const routing = new Routing({ transports: options.brokers.transports, namespace: options.brokers.namespace });
  // Traced (a create span per message) when tracing is on.
  const sender = MessagingTracing.sender(new EnvelopeFactory(options.service as ServiceName), routing);
  const classes = [...new Set(handlers.map(({ handler }) => handler))];
  const metrics = new MetricsRegistry(options.service);
  // Read before the runtime starts sharing the rate among instances: the configured whole.
  const configuredRate = options.commandRate?.ratePerSecond ?? null;
  return [
    { provide: MessageSender, useValue: sender },
    { provide: MetricsRegistry, useValue: metrics },
    {
      provide: MessagingRuntime,
      useFactory: (database: TransactionRunner<SqlExecutor> & SqlExecutor, ...instances: AnyHandler<SqlExecutor>[]) =>
        new MessagingRuntime({
          ...runtime,
          routing,
          sender,
          database,
          handlers: handlers.map(({ message, handler }) => ({ message, handler: instances[classes.indexOf(handler)] })),
          metrics: new MessagingInstruments(metrics.registry),
          logger: new Logger('messaging'),
        }),
      inject: [PRISMA, ...classes],
    },
    {
      provide: MessagingLifecycle,
      useFactory: (messaging: MessagingRuntime, budget?: ShutdownBudget) => new MessagingLifecycle(messaging, budget),
      inject: [MessagingRuntime, { token: ShutdownBudget, optional: true }],
    },
    {
      provide: InboxPruning,
      useFactory: (database: SqlExecutor) => new InboxPruning(database, options.brokers.inboxRetentionMs),
      inject: [PRISMA],
    },
    {
      provide: MessagingGauges,
      useFactory: (messaging: MessagingRuntime) =>
        new MessagingGauges(metrics.registry, {
          service: options.service,
          routing,
          transports: messaging.transports,
          outbox: messaging.relay,
          limiter: options.commandRate,
          configuredRate,
        }),
      inject: [MessagingRuntime],
    },
    {
      provide: READINESS_CHECKS,
      useFactory: (prisma: Parameters<typeof databaseReadiness>[0], messaging: MessagingRuntime) => [
        databaseReadiness(prisma),
        ...messagingReadiness(messaging),
      ],
      inject: [PRISMA, MessagingRuntime],
    },
  ];
}
