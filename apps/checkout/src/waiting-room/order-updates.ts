import { PRISMA } from '@boxoffice/platform';
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { PrismaClient } from '../database.js';
import type { Order } from '../generated/prisma/client.js';
import { WaitingLine, type PlaceInLine } from './waiting-line.js';

/** A buyer following their order (an open GET /orders/:id/events): told of each move, then of the outcome. */
export interface Follower {
  readonly orderId: string;
  /** Its place in line; 0 for an order in no line (a synchronous one): told no place, and looked up at every refresh. */
  readonly lineNumber: number;
  place(place: PlaceInLine): void;
  /** The order is settled: the last thing a follower is told. */
  outcome(order: Order): void;
  /** Something to say when there is nothing new, so that no proxy takes the stream for dead. */
  keepAlive(): void;
  /** Checkout is shutting down: end the stream; the buyer's page reconnects to another instance. */
  close(): void;
}

/** How often a follower hears something when nothing changed: well under the usual proxies' 60 s idle timeout. */
const KEEP_ALIVE_MS = 15_000;

/**
 * Live updates for the buyers following their orders, at the cost of one query per refresh of the
 * line whatever their number: at each WaitingLine refresh, the followers whose number the head
 * has reached (the only ones that can be settled) are looked up together, told the outcome and let
 * go; every other is told their place, from memory.
 */
@Injectable()
export class OrderUpdates implements OnModuleInit, OnModuleDestroy {
  private readonly followers = new Set<Follower>();
  private stopListening: (() => void) | undefined;
  private pushing = false;
  private lastKeepAlive = performance.now();

  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly line: WaitingLine,
  ) {}

  onModuleInit(): void {
    this.stopListening = this.line.onRefresh(() => void this.push());
  }

  onModuleDestroy(): void {
    this.stopListening?.();
    for (const follower of this.followers) follower.close();
    this.followers.clear();
  }

  get following(): number {
    return this.followers.size;
  }

  /** Starts telling `follower` of its order; the returned function stops it (the buyer left). */
  follow(follower: Follower): () => void {
    this.followers.add(follower);
    this.tellPlace(follower);
    return () => this.followers.delete(follower);
  }

  private async push(): Promise<void> {
    // A slow database must not pile up lookups: a refresh that finds one running skips its turn.
    if (this.pushing || this.followers.size === 0) return;
    this.pushing = true;
    try {
      const head = this.line.settledUpTo;
      const due = [...this.followers].filter((follower) => follower.lineNumber <= head);
      const settled = due.length === 0 ? [] : await this.settledAmong(due.map((follower) => follower.orderId));
      const outcomes = new Map(settled.map((order) => [order.id, order]));
      const keepAlive = performance.now() - this.lastKeepAlive >= KEEP_ALIVE_MS;
      if (keepAlive) this.lastKeepAlive = performance.now();
      for (const follower of this.followers) {
        const order = outcomes.get(follower.orderId);
        if (order) {
          this.followers.delete(follower);
          follower.outcome(order);
        } else {
          this.tellPlace(follower);
          if (keepAlive) follower.keepAlive();
        }
      }
    } catch {
      // The database is away: the followers hear nothing new this time, and the next refresh tries again.
    } finally {
      this.pushing = false;
    }
  }

  private tellPlace(follower: Follower): void {
    if (follower.lineNumber > 0) follower.place(this.line.placeOf(follower.lineNumber));
  }

  private settledAmong(ids: string[]): Promise<Order[]> {
    return this.prisma.order.findMany({ where: { id: { in: ids }, status: { not: 'PENDING' } } });
  }
}
