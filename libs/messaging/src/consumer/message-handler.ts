import type { Envelope, MessageDefinition, PayloadOf } from '@boxoffice/contracts';
import type { EnvelopeOptions } from '../envelope.factory.js';
import type { HandlerOutcome } from '../handler-outcome.js';

/** What a handler may use while its batch's transaction is open. */
export interface HandlerContext<Tx> {
  /** The batch's transaction: the handler's writes commit with the inbox rows, or not at all. */
  readonly tx: Tx;
  /** The queue or topic the batch came from. */
  readonly source: string;
  /**
   * Sends a message through the outbox, in the same transaction. For a per-message handler the
   * message being handled is its cause (causation and correlation ids, trace) unless said otherwise.
   */
  send<Definition extends MessageDefinition>(
    definition: Definition,
    payload: PayloadOf<Definition>,
    options?: EnvelopeOptions,
  ): Envelope<PayloadOf<Definition>>;
}

export interface MessageContext<Tx> extends HandlerContext<Tx> {
  /** 1 on the first delivery, counted across retries. */
  readonly attempt: number;
}

/**
 * A plain class that translates one message into a call on the service, and says how it went.
 * The pipeline wraps the batch's transaction around it, with a savepoint per message, so a
 * failure undoes this message's writes only.
 */
export interface MessageHandler<Payload = unknown, Tx = unknown> {
  /**
   * Before the batch's transaction opens: slow calls that need no lock (a payment provider, say),
   * made for the whole batch at once, so the transaction holds its locks only for the writes.
   * What `handle` cannot find prepared, it does itself.
   */
  prepare?(messages: ReadonlyArray<Envelope<Payload>>): Promise<void>;
  handle(message: Envelope<Payload>, context: MessageContext<Tx>): Promise<HandlerOutcome>;
  /** After the batch committed: the messages this handler did (duplicates excluded). For side effects and counters. */
  afterCommit?(messages: ReadonlyArray<Envelope<Payload>>): Promise<void> | void;
}

/**
 * The outcomes of the messages of a run that a batch handler did not do, by message id; it wrote
 * and sent nothing for them. Every message not named is done.
 */
export type BatchOutcomes = ReadonlyMap<string, HandlerOutcome>;

/**
 * Handles a run of messages at once, set-based (one INSERT for all, say): for projections, logs
 * and any work whose statements can cover many messages. It throws to fail the whole run; the
 * pipeline then bisects the run to find the message that fails. Or it returns the outcomes of
 * the messages it could not do (a retry for one whose concert is unknown yet, say).
 */
export interface BatchHandler<Payload = unknown, Tx = unknown> {
  /** As MessageHandler.prepare: before the transaction, for the whole run. */
  prepare?(messages: ReadonlyArray<Envelope<Payload>>): Promise<void>;
  handleBatch(messages: ReadonlyArray<Envelope<Payload>>, context: HandlerContext<Tx>): Promise<void | BatchOutcomes>;
  afterCommit?(messages: ReadonlyArray<Envelope<Payload>>): Promise<void> | void;
}

export type AnyHandler<Tx = unknown> = MessageHandler<never, Tx> | BatchHandler<never, Tx>;

/** One line of a service's `<service>.handlers.ts`: this message type, that handler. */
export interface HandlerRegistration<Handler = unknown> {
  readonly message: MessageDefinition;
  readonly handler: Handler;
}

export function isBatchHandler<Tx>(handler: AnyHandler<Tx>): handler is BatchHandler<never, Tx> {
  return typeof (handler as BatchHandler<never, Tx>).handleBatch === 'function';
}

/** The handler registered for each message type, by `type@version`. */
export function handlerKey(message: Pick<MessageDefinition, 'type' | 'version'>): string {
  return `${message.type}@${message.version}`;
}
