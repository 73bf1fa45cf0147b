import { ConcertScheduled } from '@boxoffice/contracts';
import { MessageSender, uuidV7 } from '@boxoffice/messaging';
import { PRISMA } from '@boxoffice/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { PrismaClient } from '../database.js';
import type { Concert } from '../generated/prisma/client.js';
import type { ScheduleConcert } from './concert.schemas.js';

@Injectable()
export class ConcertsService {
  /** Concerts never change once scheduled, so placing an order need not read them from the database. */
  private readonly known = new Map<string, Concert>();
  /** Lookups under way, by concert: at most one at a time for each. */
  private readonly lookups = new Map<string, Promise<Concert | null>>();

  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly messages: MessageSender,
  ) {}

  /** Schedules a concert and announces it: Billing builds the seat inventory from the event. */
  async schedule(input: ScheduleConcert): Promise<Concert> {
    return this.prisma.$transaction(async (tx) => {
      const concert = await tx.concert.create({ data: { id: uuidV7(), ...input, startsAt: new Date(input.startsAt) } });
      await this.messages.send(tx, ConcertScheduled, { ...input, concertId: concert.id });
      return concert;
    });
  }

  /**
   * The concert, from memory once known. The first purchases of a sale come as a crowd, all
   * before the first lookup returns: they share that one query, rather than each sending its own
   * while the group commit waits behind them for the pool.
   */
  async find(id: string): Promise<Concert | null> {
    const cached = this.known.get(id);
    if (cached) return cached;
    let lookup = this.lookups.get(id);
    if (!lookup) {
      lookup = this.prisma.concert
        .findUnique({ where: { id } })
        .then((concert) => {
          if (concert) this.known.set(id, concert);
          return concert;
        })
        .finally(() => this.lookups.delete(id));
      this.lookups.set(id, lookup);
    }
    return lookup;
  }
}
