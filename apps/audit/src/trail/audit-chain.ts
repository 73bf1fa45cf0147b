import { createHash } from 'node:crypto';
import type { SqlExecutor } from '@boxoffice/messaging';
import type { AuditEntry } from './audit-entry.js';

/**
 * The audit log's hash chain. Each entry's hash covers the previous entry's hash and the entry:
 * its event, type, topic, time, payload hash, and its personal fields (actor, ip) only as a hash
 * of their own. Change a field, remove an entry, insert one or cut the tail off, and from there
 * on the hashes no longer follow (verifyChain). The personal fields can be erased without
 * breaking it: their hash stays.
 *
 * This makes the log tamper-evident, not tamper-proof: whoever can write the table can rewrite
 * the whole chain after the change. Keep the head (`audit:verify` prints it) somewhere else now
 * and then, and a rewrite shows too.
 */
export interface ChainedFields {
  readonly eventId: string;
  readonly type: string;
  readonly topic: string;
  readonly personalHash: string;
  readonly occurredAt: Date;
  readonly payloadHash: string;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

export function personalHashOf(actor: string | null, ip: string | null): string {
  return sha256(JSON.stringify([actor, ip]));
}

export function entryHashOf(prevHash: string, entry: ChainedFields): string {
  return sha256(
    JSON.stringify([
      prevHash,
      entry.eventId,
      entry.type,
      entry.topic,
      entry.personalHash,
      entry.occurredAt.toISOString(),
      entry.payloadHash,
    ]),
  );
}

/** An entry as it is written, with its place in the chain. */
export interface ChainedEntry extends AuditEntry {
  readonly personalHash: string;
  readonly prevHash: string;
  readonly entryHash: string;
}

/**
 * Extends the chain by `entries` in the caller's transaction: takes the head's lock (the next
 * writer waits for this one's commit), leaves out the events already in the log and chains the
 * rest in order. Returns what to insert; the caller moves the head to the last one's hash. What
 * does not depend on the chain (the personal fields' hash) is worked out before the lock is taken,
 * since every writer waits for it.
 */
export async function extendChain(tx: SqlExecutor, entries: ReadonlyArray<AuditEntry>): Promise<ChainedEntry[]> {
  const personalHashes = entries.map((entry) => personalHashOf(entry.actor, entry.ip));
  const [head] = await tx.$queryRawUnsafe<Array<{ entry_hash: string }>>('SELECT entry_hash FROM audit_chain_head FOR UPDATE');
  const known = await tx.$queryRawUnsafe<Array<{ event_id: string }>>(
    'SELECT event_id::text FROM audit_log WHERE event_id = ANY($1::uuid[])',
    entries.map((entry) => entry.eventId),
  );
  const skip = new Set(known.map((row) => row.event_id));
  const chained: ChainedEntry[] = [];
  let prevHash = head.entry_hash;
  for (const [index, entry] of entries.entries()) {
    if (skip.has(entry.eventId)) continue;
    skip.add(entry.eventId); // the same event twice in one batch is one entry
    const personalHash = personalHashes[index];
    const entryHash = entryHashOf(prevHash, { ...entry, personalHash });
    chained.push({ ...entry, personalHash, prevHash, entryHash });
    prevHash = entryHash;
  }
  return chained;
}

/** What `audit:verify` found. */
export type ChainVerdict =
  | { readonly intact: true; readonly entries: number; readonly unchained: number; readonly head: string }
  | {
      readonly intact: false;
      readonly entries: number;
      readonly position: string | null;
      readonly eventId: string | null;
      readonly why: string;
    };

interface Row {
  position: bigint;
  event_id: string;
  type: string;
  topic: string;
  actor: string | null;
  ip: string | null;
  occurred_at: Date;
  payload_hash: string;
  personal_hash: string | null;
  prev_hash: string | null;
  entry_hash: string | null;
}

const PAGE = 5_000;

/**
 * Walks the whole log in order and recomputes every hash; says where the chain first breaks.
 * Entries written before the chain began (no entry_hash) come first and are counted apart.
 */
export async function verifyChain(db: SqlExecutor): Promise<ChainVerdict> {
  let after = 0n;
  let prevHash = '';
  let entries = 0;
  let unchained = 0;
  for (;;) {
    const rows = await db.$queryRawUnsafe<Row[]>(
      `SELECT position, event_id::text, type, topic, actor, ip, occurred_at, payload_hash, personal_hash, prev_hash, entry_hash
         FROM audit_log WHERE position > $1 ORDER BY position LIMIT ${PAGE}`,
      after,
    );
    for (const row of rows) {
      const broken = (why: string): ChainVerdict => ({
        intact: false,
        entries,
        position: row.position.toString(),
        eventId: row.event_id,
        why,
      });
      if (row.entry_hash === null) {
        if (entries > unchained) return broken('an entry without a hash after the chain began: inserted behind the service');
        unchained += 1;
        entries += 1;
        continue;
      }
      if (row.prev_hash !== prevHash) return broken('it does not follow the entry before it: an entry was removed or inserted before it');
      if (row.personal_hash !== personalHashOf(row.actor, row.ip) && (row.actor !== null || row.ip !== null))
        return broken('its actor or ip was changed');
      const recomputed = entryHashOf(prevHash, {
        eventId: row.event_id,
        type: row.type,
        topic: row.topic,
        personalHash: row.personal_hash ?? '',
        occurredAt: row.occurred_at,
        payloadHash: row.payload_hash,
      });
      if (recomputed !== row.entry_hash) return broken('its fields do not match its hash: it was changed');
      prevHash = row.entry_hash;
      entries += 1;
    }
    if (rows.length < PAGE) break;
    after = rows.at(-1)!.position;
  }
  const [head] = await db.$queryRawUnsafe<Array<{ entry_hash: string }>>('SELECT entry_hash FROM audit_chain_head');
  if (head.entry_hash !== prevHash)
    return {
      intact: false,
      entries,
      position: null,
      eventId: null,
      why: 'the log ends before the chain head: entries were cut off its end',
    };
  return { intact: true, entries, unchained, head: prevHash };
}
