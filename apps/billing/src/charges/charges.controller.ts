import { ChargeOrder } from '@boxoffice/contracts';
import { PRISMA, ZodValidationPipe } from '@boxoffice/platform';
import { Body, Controller, HttpCode, Inject, Post, ServiceUnavailableException } from '@nestjs/common';
import type { PrismaClient } from '../database.js';
import { ChargeService, UnknownConcertError, type ChargeRequest } from './charge.service.js';

/** The synchronous path's door into Billing: the same charge, asked over HTTP. */
@Controller('charges')
export class ChargesController {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly charges: ChargeService,
  ) {}

  @Post()
  @HttpCode(200)
  async charge(@Body(new ZodValidationPipe(ChargeOrder.schema)) request: ChargeRequest) {
    try {
      const status = await this.prisma.$transaction((tx) => this.charges.charge(tx, request), { timeout: 30_000 });
      return { orderId: request.orderId, status };
    } catch (error) {
      if (error instanceof UnknownConcertError) throw new ServiceUnavailableException(error.message);
      throw error;
    }
  }
}
