import { Controller, Get, Inject } from '@nestjs/common';
import { BILLING_CONFIG, type BillingConfig } from '../billing.config.js';
import { ChargeJobsCounter } from './charge-jobs.counter.js';

/** This instance's share of the work queue, and the limits it works under. */
@Controller('charges/jobs')
export class ChargeJobsController {
  constructor(
    private readonly jobs: ChargeJobsCounter,
    @Inject(BILLING_CONFIG) private readonly config: BillingConfig,
  ) {}

  @Get()
  stats() {
    return { ...this.jobs.snapshot(), maxRatePerSecond: this.config.BILLING_MAX_RATE, concurrency: this.config.BILLING_CONCURRENCY };
  }
}
