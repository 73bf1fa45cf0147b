import { MessagingRuntime } from '@boxoffice/platform';
import { Controller, Get, Header } from '@nestjs/common';
import { renderStatsPage } from './stats.page.js';
import { StatsService } from './stats.service.js';

const startedAt = new Date();

@Controller('stats')
export class StatsController {
  constructor(
    private readonly stats: StatsService,
    private readonly messaging: MessagingRuntime,
  ) {}

  /** Sign-ups per day, tickets and revenue per day and per concert, conversion. */
  @Get()
  read() {
    return this.stats.stats();
  }

  @Get('page')
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
  async page() {
    return renderStatsPage(await this.stats.stats(), new Date());
  }

  /**
   * What this one process has handled since it started. With several instances in the group,
   * each shows its own share; the projections above are the sum.
   */
  @Get('instance')
  instance() {
    const [counters] = this.messaging.counters;
    return {
      pid: process.pid,
      startedAt: startedAt.toISOString(),
      processed: counters?.processed ?? 0,
      duplicates: counters?.duplicates ?? 0,
    };
  }
}
