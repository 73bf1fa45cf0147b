import { systemClock } from '@boxoffice/messaging';
import { brokerSettings, createServiceDatabase, HealthController, provideMessaging, providePrisma } from '@boxoffice/platform';
import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { CHECKOUT_CLOCK, CHECKOUT_CONFIG, type CheckoutConfig } from './checkout.config.js';
import { checkoutHandlers } from './checkout.handlers.js';
import { ConcertsController } from './concerts/concerts.controller.js';
import { ConcertsService } from './concerts/concerts.service.js';
import { ChargeQueueDepth } from './dashboard/charge-queue.depth.js';
import { DashboardController } from './dashboard/dashboard.controller.js';
import { DashboardStats } from './dashboard/dashboard.stats.js';
import { FrontDoor } from './front-door/front-door.js';
import { PrismaClient } from './generated/prisma/client.js';
import { BillingClient } from './orders/billing.client.js';
import { OrderIdempotency } from './orders/order-idempotency.js';
import { OrderMetrics } from './orders/order.metrics.js';
import { OrderPlacementGroupCommit } from './orders/order-placement.group-commit.js';
import { OrdersController } from './orders/orders.controller.js';
import { OrdersService } from './orders/orders.service.js';
import { PaymentResultHandler } from './orders/payment-result.handler.js';
import { PendingOrderSweeper } from './orders/pending-order.sweeper.js';
import { SyncOrderPolicies } from './orders/sync-order.policies.js';
import { UsersController } from './users/users.controller.js';
import { UsersService } from './users/users.service.js';
import { OrderUpdates } from './waiting-room/order-updates.js';
import { WaitingLine } from './waiting-room/waiting-line.js';
import { WaitingRoomController } from './waiting-room/waiting-room.controller.js';

@Module({})
export class CheckoutModule {
  static register(config: CheckoutConfig): DynamicModule {
    return {
      module: CheckoutModule,
      imports: [TerminusModule],
      controllers: [HealthController, ConcertsController, OrdersController, WaitingRoomController, DashboardController, UsersController],
      providers: [
        { provide: CHECKOUT_CONFIG, useValue: config },
        { provide: CHECKOUT_CLOCK, useValue: systemClock },
        ...providePrisma(() => createServiceDatabase(PrismaClient, config.DATABASE_URL, config.DATABASE_POOL_SIZE ?? 20)),
        ...provideMessaging({
          service: 'checkout',
          databaseUrl: config.DATABASE_URL,
          brokers: brokerSettings(config),
          concurrency: { [config.EVENT_TRANSPORT]: config.KAFKA_CONCURRENCY },
          handlers: checkoutHandlers,
        }),
        ConcertsService,
        OrdersService,
        OrderPlacementGroupCommit,
        OrderIdempotency,
        OrderMetrics,
        BillingClient,
        SyncOrderPolicies,
        PaymentResultHandler,
        PendingOrderSweeper,
        ChargeQueueDepth,
        DashboardStats,
        FrontDoor,
        UsersService,
        WaitingLine,
        OrderUpdates,
      ],
    };
  }
}
