import { RateLimiter, systemClock } from '@boxoffice/messaging';
import { brokerSettings, createServiceDatabase, HealthController, provideMessaging, providePrisma } from '@boxoffice/platform';
import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { BILLING_CLOCK, BILLING_CONFIG, type BillingConfig } from './billing.config.js';
import { billingHandlers } from './billing.handlers.js';
import { ChargeJobsController } from './charges/charge-jobs.controller.js';
import { ChargeJobsCounter } from './charges/charge-jobs.counter.js';
import { ChargeOrderHandler } from './charges/charge-order.handler.js';
import { ChargeService } from './charges/charge.service.js';
import { ChargeSweeper } from './charges/charge.sweeper.js';
import { ChargesController } from './charges/charges.controller.js';
import { PAYMENT_GATEWAY } from './charges/payment-gateway.port.js';
import { PaymentHoldLedger } from './charges/payment-hold.ledger.js';
import { RefundPaymentHandler } from './charges/refund-payment.handler.js';
import { SimulatedPaymentGateway } from './charges/simulated-payment-gateway.js';
import { SyncChargeAdmission } from './charges/sync-charge.admission.js';
import { SyncChargeBatches } from './charges/sync-charge.batches.js';
import { WaitingChargeStore } from './charges/waiting-charge.store.js';
import { PrismaClient } from './generated/prisma/client.js';
import { ConcertScheduledHandler } from './inventory/concert-scheduled.handler.js';
import { SeatInventory } from './inventory/seat-inventory.js';

@Module({})
export class BillingModule {
  static register(config: BillingConfig): DynamicModule {
    const limiter = new RateLimiter(config.BILLING_MAX_RATE);
    return {
      module: BillingModule,
      imports: [TerminusModule],
      controllers: [HealthController, ChargesController, ChargeJobsController],
      providers: [
        { provide: BILLING_CONFIG, useValue: config },
        { provide: BILLING_CLOCK, useValue: systemClock },
        ...providePrisma(() =>
          createServiceDatabase(PrismaClient, config.DATABASE_URL, config.DATABASE_POOL_SIZE ?? config.BILLING_CONCURRENCY + 5),
        ),
        // Each door to a charge has its own admission: the work queue this limiter, POST /charges its own.
        { provide: RateLimiter, useValue: limiter },
        {
          provide: SyncChargeAdmission,
          useValue: new SyncChargeAdmission(new RateLimiter(config.BILLING_SYNC_MAX_RATE), config.BILLING_SYNC_MAX_WAITING),
        },
        ...provideMessaging({
          service: 'billing',
          databaseUrl: config.DATABASE_URL,
          brokers: brokerSettings(config),
          handlers: billingHandlers,
          concurrency: { [config.COMMAND_TRANSPORT]: config.BILLING_CONCURRENCY },
          commandRate: limiter,
        }),
        { provide: PAYMENT_GATEWAY, useValue: new SimulatedPaymentGateway(config.PAYMENT_LATENCY_MS, config.PAYMENT_DECLINE_RATE) },
        { provide: ChargeJobsCounter, useValue: new ChargeJobsCounter() },
        SeatInventory,
        PaymentHoldLedger,
        WaitingChargeStore,
        ChargeService,
        SyncChargeBatches,
        ChargeSweeper,
        ChargeOrderHandler,
        RefundPaymentHandler,
        ConcertScheduledHandler,
      ],
    };
  }
}
