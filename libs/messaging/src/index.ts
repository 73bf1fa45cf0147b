export { systemClock, uuidV7, type Clock, type IdGenerator } from './clock.js';
export { Backoff, delayWithJitterMs, nominalDelayMs, reconnectBackoff, type BackoffSettings } from './backoff.js';
export {
  defaultTransports,
  describeDestination,
  Routing,
  type ConsumerSource,
  type Destination,
  type TransportChoice,
  type TransportName,
} from './destination.js';
export { EnvelopeFactory, type EnvelopeOptions } from './envelope.factory.js';
export { Outcome, type HandlerOutcome } from './handler-outcome.js';
export {
  handlerKey,
  isBatchHandler,
  type AnyHandler,
  type BatchHandler,
  type BatchOutcomes,
  type HandlerContext,
  type HandlerRegistration,
  type MessageContext,
  type MessageHandler,
} from './consumer/message-handler.js';
export {
  ConsumerPipeline,
  type BatchProcessor,
  type ConsumerPipelineOptions,
  type InboundMessage,
  type PipelineCounters,
  type Settlement,
  type SourceSemantics,
} from './consumer/consumer.pipeline.js';
export { decodeInbound, type Decoded } from './consumer/inbound-decoder.js';
export type {
  BatchSettings,
  ChannelDepth,
  ConsumerSpec,
  ConsumerState,
  DeadLetterScope,
  OutgoingMessage,
  Transport,
  TransportConsumer,
} from './transport.port.js';
export { defaultRetryPolicy, hasAttemptsLeft, type RetryPolicy } from './retry-policy.js';
export {
  FailureHeaders,
  readFailure,
  readOrigin,
  recordFailure,
  withFailure,
  withoutFailure,
  type FailureOrigin,
  type FailureRecord,
  type Headers,
} from './failure.headers.js';
export { DeadLetterNotFound, findDeadLetter, type DeadLetter, type DeadLetterCount, type DeadLetterStore } from './dead-letters/dead-letter.js';
export type { Logger } from './logger.js';
export { silentLogger } from './logger.js';
export type { SqlExecutor, TransactionRunner } from './sql-client.js';
export { Outbox, type OutboxEntry, type OutboxRow } from './outbox/outbox.js';
export { MessageSender } from './outbox/message.sender.js';
export { OutboxRelay, type OutboxRelayOptions, type Publisher } from './outbox/outbox.relay.js';
export { inPgTransaction } from './pg-transaction.js';
export { PgTransactionRunner } from './pg-transaction-runner.js';
export type { ClaimedBatch, OutboxStats, PendingMessage } from './outbox/outbox.store.js';
export { Inbox } from './inbox/inbox.js';
export { RateLimiter } from './rate-limiter.js';
