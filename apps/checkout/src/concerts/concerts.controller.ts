import { ZodValidationPipe } from '@boxoffice/platform';
import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { scheduleConcertSchema, type ScheduleConcert } from './concert.schemas.js';
import { ConcertsService } from './concerts.service.js';

@ApiTags('concerts')
@Controller('concerts')
export class ConcertsController {
  constructor(private readonly concerts: ConcertsService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Schedule a concert (admin); emits ConcertScheduled' })
  @ApiHeader({ name: 'x-admin-key', required: true })
  @ApiBody({ schema: z.toJSONSchema(scheduleConcertSchema) as object })
  async schedule(@Body(new ZodValidationPipe(scheduleConcertSchema)) body: ScheduleConcert) {
    // The admin key was checked before the body was read (an admin route of main.ts's httpSecurity).
    const concert = await this.concerts.schedule(body);
    return { ...concert, startsAt: concert.startsAt.toISOString() };
  }
}
