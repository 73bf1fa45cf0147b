import { PRISMA } from '@boxoffice/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { PrismaClient } from '../database.js';
import { conversionOf, type Stats } from './stats.js';

/**
 * Reads the projections. They are small (a row per day and per concert), so all of it, every time,
 * in one snapshot: a batch that commits between the reads would otherwise show the day's totals
 * with it and the concerts' without.
 */
@Injectable()
export class StatsService {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  async stats(): Promise<Stats> {
    const [signupDays, salesDays, concerts] = await this.prisma.$transaction(
      [
        this.prisma.dailySignups.findMany({ orderBy: { day: 'asc' } }),
        this.prisma.dailySales.findMany({ orderBy: { day: 'asc' } }),
        this.prisma.concertSales.findMany({ orderBy: [{ revenueCents: 'desc' }, { concertName: 'asc' }] }),
      ],
      { isolationLevel: 'RepeatableRead' },
    );
    const byDay = salesDays.map((row) => ({
      day: isoDay(row.day),
      tickets: row.tickets,
      revenueCents: Number(row.revenueCents),
      confirmed: row.confirmed,
      rejected: row.rejected,
      declined: row.declined,
      conversion: conversionOf(row.confirmed, row.rejected),
    }));
    const sum = (field: 'tickets' | 'revenueCents' | 'confirmed' | 'rejected' | 'declined') =>
      byDay.reduce((total, day) => total + day[field], 0);
    return {
      signups: {
        total: signupDays.reduce((total, row) => total + row.signups, 0),
        byDay: signupDays.map((row) => ({ day: isoDay(row.day), signups: row.signups })),
      },
      sales: {
        tickets: sum('tickets'),
        revenueCents: sum('revenueCents'),
        confirmed: sum('confirmed'),
        rejected: sum('rejected'),
        declined: sum('declined'),
        conversion: conversionOf(sum('confirmed'), sum('rejected')),
        byDay,
      },
      concerts: concerts.map((row) => ({
        concertId: row.concertId,
        concertName: row.concertName,
        tickets: row.tickets,
        revenueCents: Number(row.revenueCents),
        confirmed: row.confirmed,
        rejected: row.rejected,
        conversion: conversionOf(row.confirmed, row.rejected),
      })),
    };
  }
}

const isoDay = (date: Date) => date.toISOString().slice(0, 10);
