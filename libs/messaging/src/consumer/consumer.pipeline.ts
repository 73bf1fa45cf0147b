import type { Envelope, MessageDefinition, PayloadOf } from '@boxoffice/contracts';
import { delayWithJitterMs } from '../backoff.js';
import type { EnvelopeOptions } from '../envelope.factory.js';
import { readFailure, recordFailure, withFailure } from '../failure.headers.js';
import { Outcome, type HandlerOutcome } from '../handler-outcome.js';
import { Inbox } from '../inbox/inbox.js';
import { silentLogger, type Logger } from '../logger.js';
import type { MessageSender } from '../outbox/message.sender.js';
import type { OutboxEntry } from '../outbox/outbox.js';
import { defaultRetryPolicy, hasAttemptsLeft, type RetryPolicy } from '../retry-policy.js';
import type { SqlExecutor, TransactionRunner } from '../sql-client.js';
import { systemClock, type Clock } from '../clock.js';
import { decodeInbound } from './inbound-decoder.js';
import {
  handlerKey,
  isBatchHandler,
  type AnyHandler,
  type BatchOutcomes,
  type HandlerContext,
  type HandlerRegistration,
} from './message-handler.js';
import type { BatchObservation, HandlerCallObservation, PipelineObserver } from './pipeline.observer.js';
import type { BatchProcessor, InboundMessage, Settlement, SourceSemantics } from '../transport.port.js';

export interface ConsumerPipelineOptions<Tx extends SqlExecutor> {
  /** The consuming service: the inbox key, and the `x-consumer` of its dead letters. */
  readonly consumer: string;
  readonly handlers: ReadonlyArray<HandlerRegistration<AnyHandler<Tx>>>;
  readonly database: TransactionRunner<Tx>;
  /** How handlers send; required if any handler sends. */
  readonly sender?: MessageSender;
  readonly retryPolicy?: RetryPolicy;
  /** Load levelling: waits until `count` more messages may go to the database. */
  readonly admit?: (count: number) => Promise<void>;
  /** How long a batch's transaction may take (default 60 s): past it, it is rolled back and the batch fails, to be tried again. */
  readonly transactionTimeoutMs?: number;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly logger?: Logger;
  /** What watches the batches and handler calls from beside the pipeline (metrics, tracing): see pipeline.observer.ts. */
  readonly observer?: PipelineObserver;
}

export interface PipelineCounters {
  batches: number;
  processed: number;
  duplicates: number;
  skipped: number;
  retried: number;
  deadLettered: number;
}

interface Work<Tx> {
  readonly index: number;
  readonly message: InboundMessage;
  readonly envelope: Envelope;
  readonly handler: AnyHandler<Tx>;
}

const SAVEPOINT = 'consumer_pipeline_message';

/**
 * Thrown out of a batch's first transaction when a run of it failed: that transaction is rolled
 * back whole, and the batch done again in a new one, each run under a savepoint. Where the message
 * that failed is known (a handler called once per message), so is its outcome: it is not asked again.
 */
class IsolationNeeded<Tx> extends Error {
  constructor(readonly known: ReadonlyMap<Work<Tx>, HandlerOutcome> = new Map()) {
    super('a run of the batch failed: the batch is done again, each run under a savepoint');
  }
}

/**
 * The one place where a consumed message's outcome is decided, for every transport.
 *
 * A batch goes through in one database transaction:
 *   1. decode each message (JSON, envelope, payload): what fails is poison, dead-lettered at once;
 *   2. claim the inbox rows of all of them with one INSERT; a row already there is a duplicate;
 *   3. run the handlers. A failure must undo that message alone: it is retried or dead-lettered
 *      by itself and the rest commit. Most batches fail nowhere, so the first transaction runs
 *      them with no savepoint, two round trips saved per run; if a run fails, that transaction
 *      is rolled back whole and the batch done again in a new one, each run of a handler under a
 *      savepoint. A batch handler that throws is then bisected until the failing message is
 *      found; one that knows which messages it could not do says so in its result, and wrote
 *      nothing for them. On an ordered source, messages after one that waits for a retry are
 *      held, never run ahead of it;
 *   4. write every message the handlers sent with one multi-row outbox INSERT, and let the
 *      transport write what must commit with the batch (`withinTransaction`: a stream's cursor);
 *   5. COMMIT, and only then return the settlements for the transport to carry out.
 * A crash before 5 changes nothing and the broker redelivers; after it, the inbox rows turn the
 * redelivery into duplicates. If the transaction itself fails (the database is away), `process`
 * throws, nothing is settled, and the transport tries the batch again later.
 *
 * An observer (metrics, tracing) is told each batch, each handler call and each settlement, and
 * may run the batch and each call inside a context of its own; nothing wraps a handler.
 */
export class ConsumerPipeline<Tx extends SqlExecutor> implements BatchProcessor {
  readonly counters: PipelineCounters = { batches: 0, processed: 0, duplicates: 0, skipped: 0, retried: 0, deadLettered: 0 };
  private readonly handlers = new Map<string, AnyHandler<Tx>>();
  private readonly accepted: MessageDefinition[] = [];
  private readonly policy: RetryPolicy;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly logger: Logger;

  constructor(private readonly options: ConsumerPipelineOptions<Tx>) {
    for (const { message, handler } of options.handlers) {
      if (this.handlers.has(handlerKey(message)))
        throw new Error(`${message.type} v${message.version} has two handlers in ${options.consumer}`);
      this.handlers.set(handlerKey(message), handler);
      this.accepted.push(message);
    }
    this.policy = options.retryPolicy ?? defaultRetryPolicy;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? silentLogger;
  }

  get consumer(): string {
    return this.options.consumer;
  }

  get retryPolicy(): RetryPolicy {
    return this.policy;
  }

  async process(source: string, messages: ReadonlyArray<InboundMessage>, semantics: SourceSemantics): Promise<Settlement[]> {
    const batch = this.options.observer?.batchBegun(source, messages);
    if (!batch) return this.processBatch(source, messages, semantics);
    const started = performance.now();
    const work = () => this.processBatch(source, messages, semantics, batch);
    let settlements: Settlement[];
    try {
      settlements = await (batch.run ? batch.run(work) : work());
    } catch (error) {
      batch.batchEnded({ error, durationMs: performance.now() - started });
      throw error;
    }
    if (batch.messageSettled) settlements.forEach((settlement, index) => batch.messageSettled!(index, settlement));
    batch.batchEnded({ settlements, durationMs: performance.now() - started });
    return settlements;
  }

  private async processBatch(
    source: string,
    messages: ReadonlyArray<InboundMessage>,
    semantics: SourceSemantics,
    batch?: BatchObservation,
  ): Promise<Settlement[]> {
    const settlements: Settlement[] = new Array<Settlement>(messages.length);
    const work: Work<Tx>[] = [];
    messages.forEach((message, index) => {
      const decoded = decodeInbound(message.body ?? '', this.accepted);
      if (decoded.ok) {
        work.push({ index, message, envelope: decoded.envelope, handler: this.handlers.get(handlerKey(decoded.definition))! });
      } else if (decoded.notSubscribed && !semantics.exclusive) {
        // A topic carries several types and every consumer reads all of them: someone else's event.
        settlements[index] = { kind: 'ack', as: 'skipped' };
      } else {
        // Poison: no retry can make these bytes valid.
        settlements[index] = this.failed(source, message, Outcome.deadLetter(`poison: ${decoded.error}`), decoded.messageId);
      }
    });
    let done: Work<Tx>[] = [];
    if (work.length > 0 || semantics.withinTransaction) {
      if (work.length > 0) {
        await this.options.admit?.(work.length);
        await this.prepare(work);
      }
      const inOneTransaction = (isolated: false | ReadonlyMap<Work<Tx>, HandlerOutcome>) =>
        this.options.database.$transaction(
          async (tx) => {
            const handled = work.length > 0 ? await this.inTransaction(tx, source, work, settlements, semantics, batch, isolated) : [];
            await semantics.withinTransaction?.(tx, settlements);
            return handled;
          },
          { timeout: this.options.transactionTimeoutMs ?? 60_000, maxWait: 30_000 },
        );
      try {
        done = await inOneTransaction(false);
      } catch (error) {
        if (!(error instanceof IsolationNeeded)) throw error;
        done = await inOneTransaction((error as IsolationNeeded<Tx>).known);
      }
    }
    this.count(settlements);
    await this.afterCommit(done);
    return settlements;
  }

  private async inTransaction(
    tx: Tx,
    source: string,
    work: ReadonlyArray<Work<Tx>>,
    settlements: Settlement[],
    semantics: SourceSemantics,
    batch: BatchObservation | undefined,
    /** false: the first transaction, no savepoints; else each run under one, with the outcomes known already. */
    isolated: false | ReadonlyMap<Work<Tx>, HandlerOutcome>,
  ): Promise<Work<Tx>[]> {
    const fresh = await Inbox.claim(
      tx,
      this.consumer,
      work.map(({ envelope }) => envelope),
    );
    const entries: OutboxEntry[] = [];
    const done: Work<Tx>[] = [];
    const released: string[] = [];
    // Takes the message's claim: true the first time, so a second copy in the batch is a duplicate.
    const takeClaim = (item: Work<Tx>) => fresh.delete(item.envelope.id.toLowerCase());
    let holding = false;

    for (let i = 0; i < work.length;) {
      const item = work[i];
      if (holding) {
        settlements[item.index] = { kind: 'held' };
        if (takeClaim(item)) released.push(item.envelope.id);
        i += 1;
        continue;
      }
      if (!takeClaim(item)) {
        settlements[item.index] = { kind: 'ack', as: 'duplicate' };
        i += 1;
        continue;
      }
      // A run: this message and those after it for the same handler, duplicates excepted. A message
      // whose outcome is known already goes alone.
      const known = isolated ? isolated.get(item) : undefined;
      const run = [item];
      for (i += 1; !known && i < work.length && work[i].handler === item.handler && fresh.has(work[i].envelope.id.toLowerCase()); i += 1) {
        if (isolated && isolated.has(work[i])) break;
        takeClaim(work[i]);
        run.push(work[i]);
      }
      const results: Array<[Work<Tx>, HandlerOutcome | 'held']> = known
        ? [[item, known]]
        : isolated
          ? await this.runIsolated(tx, source, run, entries, semantics, batch)
          : await this.runOptimistic(tx, source, run, entries, semantics, batch);
      for (const [runItem, outcome] of results) {
        if (outcome === 'held') {
          settlements[runItem.index] = { kind: 'held' };
          released.push(runItem.envelope.id);
        } else if (outcome.kind === 'done') {
          settlements[runItem.index] = { kind: 'ack', as: 'done' };
          done.push(runItem);
        } else {
          settlements[runItem.index] = this.failed(source, runItem.message, outcome, runItem.envelope.id);
          released.push(runItem.envelope.id);
          holding ||= semantics.ordered && settlements[runItem.index].kind === 'retry';
        }
      }
    }
    await this.options.sender?.addMany(tx, entries);
    if (entries.length > 0 && !this.options.sender)
      throw new Error(`${this.consumer}: a handler sent a message, but the pipeline has no sender`);
    await Inbox.release(tx, this.consumer, released);
    return done;
  }

  /**
   * A run with no savepoint: its results if nothing of it failed, else IsolationNeeded. A handler
   * called once per message (or a run of one) names the message that failed and its outcome;
   * a batch handler's run of several is bisected once the batch is done again.
   */
  private async runOptimistic(
    tx: Tx,
    source: string,
    run: ReadonlyArray<Work<Tx>>,
    entries: OutboxEntry[],
    semantics: SourceSemantics,
    batch: BatchObservation | undefined,
  ): Promise<Array<[Work<Tx>, HandlerOutcome]>> {
    const sent: OutboxEntry[] = [];
    const results: Array<[Work<Tx>, HandlerOutcome]> = [];
    const oneByOne = !isBatchHandler(run[0].handler) || run.length === 1;
    for (const part of oneByOne ? run.map((item) => [item]) : [run]) {
      let outcomes: Array<[Work<Tx>, HandlerOutcome]>;
      try {
        outcomes = await this.attempt(tx, source, part, sent, batch);
      } catch (error) {
        throw new IsolationNeeded(oneByOne ? new Map([[part[0], Outcome.retry(describe(error))]]) : undefined);
      }
      if (this.mustSplit(part, outcomes, semantics)) throw new IsolationNeeded(oneByOne ? new Map(outcomes) : undefined);
      results.push(...outcomes);
    }
    entries.push(...sent);
    return results;
  }

  /**
   * A run under one savepoint. If a message of it fails (its handler throws, or a per-message
   * handler returns retry or dead-letter), the run is undone and split in two, each half tried
   * on its own, down to the single message that fails, which is undone alone. One savepoint per
   * run on the happy path matters: PostgreSQL keeps only 64 subtransactions per transaction in
   * shared memory, and past that every snapshot in every session gets slower.
   * On an ordered source the second half waits (held) when the first leaves a message to retry.
   */
  private async runIsolated(
    tx: Tx,
    source: string,
    run: ReadonlyArray<Work<Tx>>,
    entries: OutboxEntry[],
    semantics: SourceSemantics,
    batch: BatchObservation | undefined,
  ): Promise<Array<[Work<Tx>, HandlerOutcome | 'held']>> {
    const sent: OutboxEntry[] = [];
    await tx.$executeRawUnsafe(`SAVEPOINT ${SAVEPOINT}`);
    let results: Array<[Work<Tx>, HandlerOutcome]>;
    let threw = false;
    try {
      results = await this.attempt(tx, source, run, sent, batch);
    } catch (error) {
      // Whatever it wrote before it threw is undone below (and an SQL error has aborted the
      // transaction, which only a rollback to the savepoint mends).
      threw = true;
      results = run.length === 1 ? [[run[0], Outcome.retry(describe(error))]] : [];
    }
    if (!threw && !this.mustSplit(run, results, semantics)) {
      await tx.$executeRawUnsafe(`RELEASE SAVEPOINT ${SAVEPOINT}`);
      entries.push(...sent);
      return results;
    }
    await this.undo(tx);
    if (run.length === 1) return results;
    const middle = Math.ceil(run.length / 2);
    const first = await this.runIsolated(tx, source, run.slice(0, middle), entries, semantics, batch);
    const mustWait = semantics.ordered && first.some(([item, outcome]) => outcome === 'held' || this.willRetry(item, outcome));
    const second = mustWait
      ? run.slice(middle).map((item): [Work<Tx>, 'held'] => [item, 'held'])
      : await this.runIsolated(tx, source, run.slice(middle), entries, semantics, batch);
    return [...first, ...second];
  }

  /**
   * Runs the handler over the run: a batch handler once, a per-message one message by message,
   * stopping at the first that fails. Each call is told to the batch's observer, if any.
   */
  private async attempt(
    tx: Tx,
    source: string,
    run: ReadonlyArray<Work<Tx>>,
    sent: OutboxEntry[],
    batch: BatchObservation | undefined,
  ): Promise<Array<[Work<Tx>, HandlerOutcome]>> {
    const handler = run[0].handler;
    if (isBatchHandler(handler)) {
      const messages = run.map(({ envelope }) => envelope as Envelope<never>);
      const call = batch?.handlerCalled?.({ source, handler, messages });
      const handleBatch = async () => {
        const returned: void | BatchOutcomes = await handler.handleBatch(messages, this.context(tx, source, sent, undefined, call));
        return run.map(({ envelope }) => (returned ?? undefined)?.get(envelope.id) ?? Outcome.done());
      };
      const outcomes = call ? await this.observed(call, handleBatch, (all) => all) : await handleBatch();
      return run.map((item, i) => [item, outcomes[i]]);
    }
    const results: Array<[Work<Tx>, HandlerOutcome]> = [];
    for (const item of run) {
      const envelope = item.envelope as Envelope<never>;
      const call = batch?.handlerCalled?.({ source, handler, messages: [envelope] });
      const context = { ...this.context(tx, source, sent, envelope, call), attempt: (readFailure(item.message.headers).attempts ?? 0) + 1 };
      const outcome = call
        ? await this.observed(
            call,
            () => handler.handle(envelope, context),
            (one) => [one],
          )
        : await handler.handle(envelope, context);
      results.push([item, outcome]);
      if (outcome.kind !== 'done') break; // the run is undone and split: what follows is tried again there
    }
    return results;
  }

  /** One handler call inside its observer's `run`; the observer then hears the outcomes it returned, or what it threw. */
  private async observed<T>(
    call: HandlerCallObservation,
    invoke: () => Promise<T>,
    outcomesOf: (returned: T) => ReadonlyArray<HandlerOutcome>,
  ): Promise<T> {
    const started = performance.now();
    let returned: T;
    try {
      returned = await (call.run ? call.run(invoke) : invoke());
    } catch (error) {
      call.ended({ error, durationMs: performance.now() - started });
      throw error;
    }
    call.ended({ outcomes: outcomesOf(returned), durationMs: performance.now() - started });
    return returned;
  }

  /**
   * Whether the run's writes must be undone and the run split: a per-message handler's failure
   * (its writes so far are in the run's savepoint), or anything a handler could not finish. A
   * batch handler's own outcomes stand (it wrote nothing for those messages), except a retry on
   * an ordered source, since the handler wrote what follows it.
   */
  private mustSplit(run: ReadonlyArray<Work<Tx>>, results: ReadonlyArray<[Work<Tx>, HandlerOutcome]>, semantics: SourceSemantics): boolean {
    if (results.length < run.length) return true;
    if (!isBatchHandler(run[0].handler)) return results.some(([, outcome]) => outcome.kind !== 'done');
    return semantics.ordered && run.length > 1 && results.some(([item, outcome]) => this.willRetry(item, outcome));
  }

  private async undo(tx: Tx): Promise<void> {
    await tx.$executeRawUnsafe(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
    await tx.$executeRawUnsafe(`RELEASE SAVEPOINT ${SAVEPOINT}`);
  }

  private context(tx: Tx, source: string, sent: OutboxEntry[], cause?: Envelope, call?: HandlerCallObservation): HandlerContext<Tx> {
    const sender = this.options.sender;
    return {
      tx,
      source,
      send: <Definition extends MessageDefinition>(
        definition: Definition,
        payload: PayloadOf<Definition>,
        options: EnvelopeOptions = {},
      ) => {
        if (!sender) throw new Error(`${this.consumer}: a handler sent ${definition.type}, but the pipeline has no sender`);
        const chosen = call?.sending ? call.sending(definition, payload, options) : options;
        const entry = sender.entry(definition, payload, { causedBy: cause, ...chosen });
        sent.push(entry);
        return entry.envelope as Envelope<PayloadOf<Definition>>;
      },
    };
  }

  /** A failed attempt: another one after a backoff while attempts are left, else the dead letter store. */
  private failed(source: string, message: InboundMessage, outcome: HandlerOutcome, messageId: string | null): Settlement {
    if (outcome.kind === 'done') throw new Error('a done message has no failure');
    const record = recordFailure(readFailure(message.headers), outcome.reason, this.clock.now());
    const headers = withFailure(message.headers, record, { source, consumer: this.consumer });
    const what = `${source}: ${messageId ?? 'a message with no id'} (attempt ${record.attempts} of ${this.policy.maxAttempts})`;
    if (outcome.kind === 'dead-letter' || !hasAttemptsLeft(this.policy, record.attempts)) {
      this.logger.error(`${this.consumer} consumer ${what} dead-lettered: ${record.lastError}`);
      return { kind: 'dead-letter', attempts: record.attempts, reason: record.lastError, headers, messageId };
    }
    const delayMs = delayWithJitterMs(this.policy, record.attempts, this.random);
    this.logger.warn(`${this.consumer} consumer ${what} failed, retrying in ${delayMs} ms: ${record.lastError}`);
    return { kind: 'retry', delayMs, attempts: record.attempts, reason: record.lastError, headers };
  }

  /** Whether `failed` will make this outcome a retry (and not a dead letter, its attempts spent). */
  private willRetry(item: Work<Tx>, outcome: HandlerOutcome): boolean {
    return outcome.kind === 'retry' && hasAttemptsLeft(this.policy, (readFailure(item.message.headers).attempts ?? 0) + 1);
  }

  private count(settlements: ReadonlyArray<Settlement>): void {
    this.counters.batches += 1;
    for (const settlement of settlements) {
      if (settlement.kind === 'ack') {
        if (settlement.as === 'done') this.counters.processed += 1;
        else if (settlement.as === 'duplicate') this.counters.duplicates += 1;
        else this.counters.skipped += 1;
      } else if (settlement.kind === 'retry') this.counters.retried += 1;
      else if (settlement.kind === 'dead-letter') this.counters.deadLettered += 1;
    }
  }

  /** Each handler's `prepare` for its messages of the batch; a failure only means `handle` does the work itself. */
  private async prepare(work: ReadonlyArray<Work<Tx>>): Promise<void> {
    for (const [handler, envelopes] of byHandler(work, (handler) => handler.prepare !== undefined)) {
      try {
        await handler.prepare!(envelopes as Envelope<never>[]);
      } catch (error) {
        this.logger.warn(`${this.consumer} consumer: preparing a batch failed (${String(error)}); its handler works unprepared`);
      }
    }
  }

  /** Side effects after the commit (a mail, a counter): a failure here is logged, the batch stays done. */
  private async afterCommit(done: ReadonlyArray<Work<Tx>>): Promise<void> {
    for (const [handler, envelopes] of byHandler(done, (handler) => handler.afterCommit !== undefined)) {
      try {
        await handler.afterCommit!(envelopes as Envelope<never>[]);
      } catch (error) {
        this.logger.error(`${this.consumer} consumer: after-commit work failed`, error);
      }
    }
  }
}

/** The messages of a batch grouped by their handler, in batch order, for the handlers `wanted` picks. */
function byHandler<Tx>(work: ReadonlyArray<Work<Tx>>, wanted: (handler: AnyHandler<Tx>) => boolean): Map<AnyHandler<Tx>, Envelope[]> {
  const groups = new Map<AnyHandler<Tx>, Envelope[]>();
  for (const { handler, envelope } of work) {
    if (!wanted(handler)) continue;
    const list = groups.get(handler) ?? [];
    list.push(envelope);
    groups.set(handler, list);
  }
  return groups;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
