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
import { Logger, type Provider, type Type } from '@nestjs/common';
import { MessagingRuntime, type MessagingRuntimeOptions } from './messaging.runtime.js';
import { databaseReadiness, PRISMA } from './prisma.provider.js';
import { READINESS_CHECKS } from './readiness-check.js';

export interface MessagingProviderOptions
  extends Omit<MessagingRuntimeOptions, 'handlers' | 'database' | 'sender' | 'routing' | 'logger'> {
  /** The service's `<service>.handlers.ts`: message type -> handler class (a provider of the module). */
  readonly handlers: ReadonlyArray<HandlerRegistration<Type<AnyHandler<never>>>>;
}

/**
 * What every service gets for messaging: a MessageSender to send with, the MessagingRuntime that
 * runs relay and consumers with the service's handlers, and readiness checks for its database
 * and brokers.
 */
export function provideMessaging(options: MessagingProviderOptions): Provider[] {
  const { handlers, ...runtime } = options;
  const routing = new Routing(options.brokers.transports);
  const sender = new MessageSender(new EnvelopeFactory(options.service as ServiceName), routing);
  const classes = [...new Set(handlers.map(({ handler }) => handler))];
  return [
    { provide: MessageSender, useValue: sender },
    {
      provide: MessagingRuntime,
      useFactory: (database: TransactionRunner<SqlExecutor>, ...instances: AnyHandler<SqlExecutor>[]) =>
        new MessagingRuntime({
          ...runtime,
          routing,
          sender,
          database,
          handlers: handlers.map(({ message, handler }) => ({ message, handler: instances[classes.indexOf(handler)] })),
          logger: new Logger('messaging'),
        }),
      inject: [PRISMA, ...classes],
    },
    {
      provide: READINESS_CHECKS,
      useFactory: (prisma: Parameters<typeof databaseReadiness>[0], messaging: MessagingRuntime) => [databaseReadiness(prisma), ...messaging.readiness()],
      inject: [PRISMA, MessagingRuntime],
    },
  ];
}
