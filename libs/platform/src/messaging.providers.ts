import type { ServiceName } from '@boxoffice/contracts';
import { EnvelopeFactory, Inbox, Outbox, type SqlExecutor, type Subscription, type TransactionRunner } from '@boxoffice/messaging';
import { Logger, type InjectionToken, type Provider } from '@nestjs/common';
import { MessagingRuntime, type MessagingRuntimeOptions } from './messaging.runtime.js';
import { databaseReadiness, PRISMA } from './prisma.provider.js';
import { READINESS_CHECKS } from './readiness-check.js';

export interface MessagingProviderOptions extends Omit<MessagingRuntimeOptions, 'subscriptions' | 'logger'> {
  /** The handler classes the subscriptions need, in the order `subscriptions` takes them. */
  readonly handlers: ReadonlyArray<InjectionToken>;
  readonly subscriptions: (...handlers: never[]) => ReadonlyArray<Subscription>;
}

/**
 * What every service gets for messaging: an Outbox and an EnvelopeFactory to send with, an Inbox
 * for its handlers, the MessagingRuntime that runs relay and consumers, and readiness checks for
 * its database and brokers.
 */
export function provideMessaging(options: MessagingProviderOptions): Provider[] {
  const { handlers, subscriptions, ...runtime } = options;
  return [
    { provide: Outbox, useValue: new Outbox() },
    { provide: EnvelopeFactory, useValue: new EnvelopeFactory(options.service as ServiceName) },
    {
      provide: Inbox,
      useFactory: (prisma: TransactionRunner<SqlExecutor> & SqlExecutor) => new Inbox(prisma, options.service),
      inject: [PRISMA],
    },
    {
      provide: MessagingRuntime,
      useFactory: (...instances: never[]) =>
        new MessagingRuntime({ ...runtime, subscriptions: subscriptions(...instances), logger: new Logger('messaging') }),
      inject: [...handlers],
    },
    {
      provide: READINESS_CHECKS,
      useFactory: (prisma: Parameters<typeof databaseReadiness>[0], messaging: MessagingRuntime) => [
        databaseReadiness(prisma),
        ...messaging.readiness(),
      ],
      inject: [PRISMA, MessagingRuntime],
    },
  ];
}
