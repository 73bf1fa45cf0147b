import { ZodValidationPipe } from '@boxoffice/platform';
import { Body, Controller, Headers, HttpCode, Inject, Post, UnauthorizedException } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { CHECKOUT_CONFIG, type CheckoutConfig } from '../checkout.config.js';
import { scheduleConcertSchema, type ScheduleConcert } from './concert.schemas.js';
import { ConcertsService } from './concerts.service.js';

@ApiTags('concerts')
@Controller('concerts')
export class ConcertsController {
  constructor(
    private readonly concerts: ConcertsService,
    @Inject(CHECKOUT_CONFIG) private readonly config: CheckoutConfig,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Schedule a concert (admin); emits ConcertScheduled' })
  @ApiHeader({ name: 'x-admin-key', required: true })
  @ApiBody({ schema: z.toJSONSchema(scheduleConcertSchema) as object })
  async schedule(
    @Headers('x-admin-key') key: string | undefined,
    @Body(new ZodValidationPipe(scheduleConcertSchema)) body: ScheduleConcert,
  ) {
    if (!key || !sameSecret(key, this.config.ADMIN_API_KEY)) throw new UnauthorizedException('a valid x-admin-key header is required');
    const concert = await this.concerts.schedule(body);
    return { ...concert, startsAt: concert.startsAt.toISOString() };
  }
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
