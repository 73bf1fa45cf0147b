import { pageSecurityPolicy, ZodValidationPipe } from '@boxoffice/platform';
import { Controller, Get, Header, Query } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { dashboardPage } from './dashboard.page.js';
import { DashboardStats } from './dashboard.stats.js';

const concertIdPipe = new ZodValidationPipe(z.uuid().optional(), 'concertId');

/** Watch a ticket sale live: the buffer (the charge queue) filling during a spike and draining after it. */
@ApiTags('dashboard')
@Controller('dashboard')
export class DashboardController {
  constructor(private readonly stats: DashboardStats) {}

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-store')
  // Its one inline script may run, and nothing else (helmet's policy allows no inline script).
  @Header('content-security-policy', pageSecurityPolicy(dashboardPage))
  @ApiOperation({ summary: 'A live page: accepted/s, processed/s, the charge queue and orders by status, every second' })
  page() {
    return dashboardPage;
  }

  @Get('stats')
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: "The dashboard's figures as JSON; with concertId, also that concert's orders by status" })
  @ApiQuery({ name: 'concertId', required: false })
  read(@Query('concertId', concertIdPipe) concertId?: string) {
    return this.stats.read(concertId);
  }
}
