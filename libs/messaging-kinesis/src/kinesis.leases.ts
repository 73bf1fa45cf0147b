import { silentLogger, type Logger, type SqlExecutor } from '@boxoffice/messaging';
import type { ShardKey } from './kinesis.checkpoints.js';

/** One lease as the balancing sees it. */
export interface LeaseView {
  readonly stream: string;
  readonly shardId: string;
  readonly owner: string | null;
  readonly expired: boolean;
}

export interface LeasePlan {
  /** Unowned or expired leases to take. */
  readonly take: ReadonlyArray<LeaseView>;
  /** A lease to take from the busiest instance, towards an even share. */
  readonly steal: LeaseView | null;
}

/**
 * What an instance should take this round, as the Kinesis Client Library balances: the instances
 * are the owners of live leases, plus me; each aims at an even share (total / instances, rounded
 * up). I take free leases up to my share; if I still hold fewer than the share rounded down, I
 * take one from the busiest owner, one a round, and only if it holds at least two more than me
 * (no lease moves back and forth between two instances a lease apart).
 */
export function planLeases(me: string, leases: ReadonlyArray<LeaseView>): LeasePlan {
  const live = leases.filter((lease) => lease.owner !== null && !lease.expired);
  const counts = new Map<string, number>([[me, 0]]);
  for (const { owner } of live) counts.set(owner!, (counts.get(owner!) ?? 0) + 1);
  const mine = counts.get(me)!;
  const share = Math.ceil(leases.length / counts.size);
  const take = leases.filter((lease) => lease.owner === null || lease.expired).slice(0, Math.max(0, share - mine));
  const after = mine + take.length;
  let steal: LeaseView | null = null;
  if (after < Math.floor(leases.length / counts.size)) {
    const [busiest, held] = [...counts].filter(([owner]) => owner !== me).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0] ?? [
      null,
      0,
    ];
    if (busiest !== null && held >= after + 2) steal = live.find((lease) => lease.owner === busiest) ?? null;
  }
  return { take, steal };
}

/** The batch's checkpoint was refused: another instance holds the shard's lease now. */
export class LeaseLost extends Error {
  constructor(readonly shard: ShardKey) {
    super(`${shard.consumer} no longer holds the lease of ${shard.stream}/${shard.shardId}`);
  }
}

export interface LeaseSettings {
  /** How often an instance renews its leases and looks for more. Default 1 s. */
  readonly renewIntervalMs?: number;
  /** How long a lease lasts unrenewed: a crashed instance's shards move after this. Default 10 s. */
  readonly ttlMs?: number;
}

export interface LeaseEvents {
  acquired(shard: ShardKey): void;
  lost(shard: ShardKey): void;
}

const keyOf = (stream: string, shardId: string) => `${stream}\u0000${shardId}`;

/**
 * The shards of some streams shared among the instances of one consumer through leases in its
 * database (stream_lease), as the Kinesis Client Library does with DynamoDB. Every round (each
 * `renewIntervalMs`) an instance renews what it holds, learns what it lost, and takes free or
 * expired shards and at most one from the busiest instance (planLeases). All times are the
 * database's, so the instances' clocks do not matter. A lease is a promise, not a lock: the
 * fence in every batch's transaction (`fence`) is what keeps a former owner from writing.
 */
export class LeaseCoordinator {
  private readonly held = new Map<string, ShardKey>();
  private readonly renewIntervalMs: number;
  private readonly ttlMs: number;
  private streams: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private round: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: SqlExecutor,
    private readonly consumer: string,
    readonly owner: string,
    private readonly events: LeaseEvents,
    settings: LeaseSettings = {},
    private readonly logger: Logger = silentLogger,
  ) {
    this.renewIntervalMs = settings.renewIntervalMs ?? 1_000;
    this.ttlMs = settings.ttlMs ?? 10_000;
  }

  /** Registers the shards (a lease row each, unowned), takes a first share, and renews from then on. */
  async start(shards: ReadonlyArray<{ stream: string; shardId: string }>): Promise<void> {
    if (shards.length > 0) {
      await this.db.$executeRawUnsafe(
        `INSERT INTO stream_lease (consumer, stream, shard_id)
         SELECT $1, s.stream, s.shard_id FROM json_to_recordset($2::json) AS s(stream text, shard_id text)
         ON CONFLICT DO NOTHING`,
        this.consumer,
        JSON.stringify(shards.map(({ stream, shardId }) => ({ stream, shard_id: shardId }))),
      );
    }
    this.streams = [...new Set(shards.map(({ stream }) => stream))];
    await this.runRound();
    this.timer = setInterval(() => void this.runRound(), this.renewIntervalMs);
  }

  /** Stops renewing and taking; the leases stay held until `release` or their expiry. */
  async stopRenewing(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.round;
  }

  /** Gives every lease back at once, so another instance need not wait for them to expire. */
  async release(): Promise<void> {
    await this.stopRenewing();
    await this.db.$executeRawUnsafe(
      'UPDATE stream_lease SET owner = NULL, expires_at = now() WHERE consumer = $1 AND owner = $2',
      this.consumer,
      this.owner,
    );
    this.held.clear();
  }

  /**
   * In a batch's transaction, before its checkpoint: renews the lease if this instance still
   * holds it, else throws LeaseLost and the batch rolls back. The row lock it takes also makes a
   * takeover wait for this batch's commit, so the next owner reads the checkpoint it wrote.
   */
  async fence(tx: SqlExecutor, shard: ShardKey): Promise<void> {
    const rows = await tx.$queryRawUnsafe<unknown[]>(
      `UPDATE stream_lease SET expires_at = now() + $5 * interval '1 millisecond'
       WHERE consumer = $1 AND stream = $2 AND shard_id = $3 AND owner = $4 RETURNING 1`,
      shard.consumer,
      shard.stream,
      shard.shardId,
      this.owner,
      this.ttlMs,
    );
    if (rows.length === 0) throw new LeaseLost(shard);
  }

  get shards(): ShardKey[] {
    return [...this.held.values()];
  }

  private runRound(): Promise<void> {
    // One round at a time: a slow database delays the next one rather than stacking them.
    this.round = this.round.then(() =>
      this.balance().catch((error: unknown) =>
        this.logger.warn(
          `kinesis leases of ${this.consumer}: a round failed (${String(error)}); trying again in ${this.renewIntervalMs} ms`,
        ),
      ),
    );
    return this.round;
  }

  private async balance(): Promise<void> {
    const renewed = await this.db.$queryRawUnsafe<Array<{ stream: string; shard_id: string }>>(
      `UPDATE stream_lease SET expires_at = now() + $4 * interval '1 millisecond'
       WHERE consumer = $1 AND owner = $2 AND stream = ANY($3::text[]) RETURNING stream, shard_id`,
      this.consumer,
      this.owner,
      this.streams,
      this.ttlMs,
    );
    const still = new Set(renewed.map((row) => keyOf(row.stream, row.shard_id)));
    for (const [key, shard] of this.held) {
      if (still.has(key)) continue;
      this.held.delete(key);
      this.logger.warn(`kinesis leases of ${this.consumer}: lost ${shard.stream}/${shard.shardId} to another instance`);
      this.events.lost(shard);
    }

    const leases = await this.db.$queryRawUnsafe<Array<{ stream: string; shard_id: string; owner: string | null; expired: boolean }>>(
      `SELECT stream, shard_id, owner, expires_at < now() AS expired FROM stream_lease
       WHERE consumer = $1 AND stream = ANY($2::text[]) ORDER BY stream, shard_id`,
      this.consumer,
      this.streams,
    );
    const plan = planLeases(
      this.owner,
      leases.map((row) => ({ stream: row.stream, shardId: row.shard_id, owner: row.owner, expired: row.expired })),
    );
    for (const lease of plan.take) {
      await this.claim(lease, `(owner IS NULL OR expires_at < now())`, []);
    }
    if (plan.steal) await this.claim(plan.steal, 'owner = $6', [plan.steal.owner]);
  }

  /** Takes one lease if it is still as the plan saw it; another instance may have been quicker. */
  private async claim(lease: LeaseView, condition: string, extra: unknown[]): Promise<void> {
    const rows = await this.db.$queryRawUnsafe<unknown[]>(
      `UPDATE stream_lease SET owner = $4, expires_at = now() + $5 * interval '1 millisecond'
       WHERE consumer = $1 AND stream = $2 AND shard_id = $3 AND ${condition} RETURNING 1`,
      this.consumer,
      lease.stream,
      lease.shardId,
      this.owner,
      this.ttlMs,
      ...extra,
    );
    if (rows.length === 0) return;
    const shard: ShardKey = { consumer: this.consumer, stream: lease.stream, shardId: lease.shardId };
    this.held.set(keyOf(lease.stream, lease.shardId), shard);
    if (extra.length > 0)
      this.logger.log(
        `kinesis leases of ${this.consumer}: took ${lease.stream}/${lease.shardId} from ${String(extra[0])} to even the share`,
      );
    this.events.acquired(shard);
  }
}
