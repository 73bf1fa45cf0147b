import type { Envelope, MessageDefinition } from '@boxoffice/contracts';
import type { EnvelopeOptions } from '../envelope.factory.js';
import type { HandlerOutcome } from '../handler-outcome.js';
import type { InboundMessage, Settlement } from '../transport.port.js';
import type { AnyHandler } from './message-handler.js';

/**
 * What watches the consumer pipeline from beside it: metrics count and time, tracing opens spans.
 * The pipeline tells it what happens (a batch begun, each handler call, each settlement, the
 * batch's end) and lets it run the batch and each handler call inside a context of its own (a
 * span made active), so nothing wraps a handler or a pipeline, and the handler the pipeline
 * groups runs by is always the one the service registered.
 *
 * A pipeline without one pays a check per batch and per handler call, and allocates nothing.
 */
export interface PipelineObserver {
  /** A batch arrived from `source`. What is returned watches it until it ends. */
  batchBegun(source: string, messages: ReadonlyArray<InboundMessage>): BatchObservation;
}

/** One batch, watched from its start to its end. */
export interface BatchObservation {
  /** Runs the whole batch (admission, prepare, the transaction, after-commit work) inside the observer's context. */
  run?<T>(work: () => T): T;
  /** A handler is called (inside the batch's `run`). What is returned watches the call. */
  handlerCalled?(call: HandlerCall): HandlerCallObservation | undefined;
  /** After the commit, each message's settlement in batch order: `index` is the message's in `batchBegun`. */
  messageSettled?(index: number, settlement: Settlement): void;
  /** The batch is over: its settlements, or the error that failed it (nothing was settled, the batch comes again). */
  batchEnded(end: BatchEnd): void;
}

/**
 * One call of a handler: one message for a MessageHandler, the run of messages it was given for a
 * BatchHandler. A run that is bisected after a failure is called again, half by half.
 */
export interface HandlerCall {
  readonly source: string;
  /** The handler instance the service registered. */
  readonly handler: AnyHandler;
  readonly messages: ReadonlyArray<Envelope>;
}

/** One handler call, watched. */
export interface HandlerCallObservation {
  /** Runs the call inside the observer's context: what the handler sends is then created in it. */
  run?<T>(work: () => T): T;
  /**
   * The options of a send made during the call, before its envelope is made: where no one
   * message's context can be the active one (a batch handler), tracing names the message that
   * caused the send here.
   */
  sending?(definition: MessageDefinition, payload: unknown, options: EnvelopeOptions): EnvelopeOptions;
  /** The call returned each message's outcome (in the order of `messages`), or threw. */
  ended(end: HandlerCallEnd): void;
}

export type BatchEnd =
  | { readonly settlements: ReadonlyArray<Settlement>; readonly durationMs: number }
  | { readonly error: unknown; readonly durationMs: number };

export type HandlerCallEnd =
  | { readonly outcomes: ReadonlyArray<HandlerOutcome>; readonly durationMs: number }
  | { readonly error: unknown; readonly durationMs: number };

/**
 * The observers given, as one: each sees every event, in the order given, and the first one's
 * `run` is the outermost. Undefined when none is given, so the pipeline has nothing to call.
 */
export function observeAll(observers: ReadonlyArray<PipelineObserver | null | undefined>): PipelineObserver | undefined {
  const present = observers.filter((observer): observer is PipelineObserver => observer != null);
  if (present.length <= 1) return present[0];
  return {
    batchBegun(source, messages) {
      const batches = present.map((observer) => observer.batchBegun(source, messages));
      const settling = batches.filter((batch) => batch.messageSettled !== undefined);
      const calling = batches.filter((batch) => batch.handlerCalled !== undefined);
      // Only what some observer watches is watched: the pipeline calls nothing per message for the rest.
      return {
        run: batches.some((batch) => batch.run) ? (work) => nested(batches, work) : undefined,
        handlerCalled:
          calling.length > 0
            ? (call) => {
                const calls = calling.flatMap((batch) => batch.handlerCalled!(call) ?? []);
                if (calls.length <= 1) return calls[0];
                return {
                  run: calls.some((watching) => watching.run) ? (work) => nested(calls, work) : undefined,
                  sending: calls.some((watching) => watching.sending)
                    ? (definition, payload, options) =>
                        calls.reduce((chosen, watching) => watching.sending?.(definition, payload, chosen) ?? chosen, options)
                    : undefined,
                  ended: (end) => calls.forEach((watching) => watching.ended(end)),
                };
              }
            : undefined,
        messageSettled:
          settling.length > 0 ? (index, settlement) => settling.forEach((b) => b.messageSettled!(index, settlement)) : undefined,
        batchEnded: (end) => batches.forEach((batch) => batch.batchEnded(end)),
      };
    },
  };
}

/** `work` inside each watcher's `run`, the first outermost. */
function nested<T>(watchers: ReadonlyArray<{ run?<R>(work: () => R): R }>, work: () => T): T {
  return watchers.reduceRight<() => T>((inner, watcher) => (watcher.run ? () => watcher.run!(inner) : inner), work)();
}
