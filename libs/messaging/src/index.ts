export { systemClock, uuidV7, type Clock, type IdGenerator } from './clock.js';
export { Backoff, delayWithJitterMs, nominalDelayMs, reconnectBackoff, type BackoffSettings } from './backoff.js';
export {
  defaultTransports,
  describeDestination,
  Routing,
  type ConsumerSource,
  type Destination,
  type RoutingOptions,
  type TransportChoice,
  type TransportName,
} from './destination.js';
export { EnvelopeFactory, type EnvelopeOptions } from './envelope.factory.js';
export { EnvelopeHeaders, envelopeHeaders, missingIdHeader } from './envelope.headers.js';
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
export { ConsumerPipeline, type ConsumerPipelineOptions, type PipelineCounters } from './consumer/consumer.pipeline.js';
export {
  observeAll,
  type BatchEnd,
  type BatchObservation,
  type HandlerCall,
  type HandlerCallEnd,
  type HandlerCallObservation,
  type PipelineObserver,
} from './consumer/pipeline.observer.js';
export { decodeInbound, type Decoded } from './consumer/inbound-decoder.js';
export type {
  BatchProcessor,
  BatchSettings,
  ChannelDepth,
  ConsumerSpec,
  ConsumerState,
  DeadLetterScope,
  InboundMessage,
  OutgoingMessage,
  PartitionDepth,
  PublishOptions,
  Settlement,
  SourceSemantics,
  Transport,
  TransportConsumer,
} from './transport.port.js';
export { MessageRefused, PublishIncomplete, type PublishFailure } from './transport.port.js';
export { defaultRetryPolicy, hasAttemptsLeft, type RetryPolicy } from './retry-policy.js';
export {
  FailureHeaders,
  readFailure,
  readOrigin,
  recordFailure,
  withDeliveryAttempts,
  withFailure,
  withoutFailure,
  type FailureOrigin,
  type FailureRecord,
  type Headers,
} from './failure.headers.js';
export {
  DeadLetterNotFound,
  findDeadLetter,
  type DeadLetter,
  type DeadLetterCount,
  type DeadLetterStore,
} from './dead-letters/dead-letter.js';
export { DeadLetterShelf, deadLetterOf, type ParkedMessage } from './dead-letters/dead-letter.shelf.js';
export { BrowsableShelf } from './dead-letters/dead-letter.browsable-shelf.js';
export { DeadLetterMarks, type DeadLetterMark, type LogPosition, type MarkedLog } from './dead-letters/dead-letter.marks.js';
export { deadLetterLogOf, deadLetterLogsAmong, isDeadLetterLog, logDeadLetterOf } from './dead-letters/dead-letter.logs.js';
export { describeError, pause, untilStopped, type UntilStoppedOptions } from './runtime/stoppable.js';
export {
  HealingConnection,
  type ConnectionDriver,
  type ConnectionSetup,
  type HealingConnectionOptions,
} from './runtime/healing.connection.js';
export { DeliveryBuffer } from './runtime/delivery.buffer.js';
export { processUntilCommitted, type BatchAttemptOptions } from './runtime/batch.attempts.js';
export { renewEvery } from './runtime/batch.keep-alive.js';
export { LaneRunner, type Lane, type LaneRunnerOptions } from './runtime/lane.runner.js';
export { LaneConsumer, type LaneConsumerOptions } from './runtime/lane.consumer.js';
export { LogConsumer } from './runtime/log.consumer.js';
export { SubscriptionConsumer, type Subscription, type SubscriptionConsumerOptions } from './runtime/subscription.consumer.js';
export { settleInOrder, settledPrefix, type OrderedLog } from './runtime/ordered-log.js';
export { pullPending, type PendingSource } from './runtime/pending.pull.js';
export { readWholeLog, type LogReader, type LogReadOptions } from './runtime/log.reader.js';
export { retryTransient, type TransientRetryOptions } from './runtime/transient.retry.js';
export { allConfirmed, sendEach, throwUnlessAllTaken, unlessAborted, type ConfirmationOptions } from './runtime/publish.confirmations.js';
export { chunksWithin, type RequestLimits } from './runtime/request.chunks.js';
export { BrokerTransport, type TransportOptions } from './runtime/broker.transport.js';
export { ConnectionTransport, type ConnectionPublisher } from './runtime/connection.transport.js';
export type { Logger } from './logger.js';
export { silentLogger } from './logger.js';
export type { SqlExecutor, TransactionRunner } from './sql-client.js';
export { Outbox, type OutboxEntry, type OutboxRow } from './outbox/outbox.js';
export { MessageSender } from './outbox/message.sender.js';
export { OutboxRelay, type OutboxRelayOptions, type Publisher } from './outbox/outbox.relay.js';
export { inPgTransaction, TransactionTimedOut } from './pg-transaction.js';
export { withinTimeLimit } from './time-limit.js';
export { PgTransactionRunner } from './pg-transaction-runner.js';
export { outboxStore, type ClaimedBatch, type OutboxStats, type ParkedRow, type PendingMessage } from './outbox/outbox.store.js';
export { Inbox } from './inbox/inbox.js';
export { InboxPruner, type InboxPrunerOptions } from './inbox/inbox.pruner.js';
export { DEFAULT_INBOX_RETENTION_DAYS, INBOX_PRUNE_EVERY_MS } from './inbox/inbox.retention.js';
export { RateLimiter } from './rate-limiter.js';
export { shareRate, type RateShareOptions } from './rate-share.js';
export { iamAllows, type IamPolicy, type IamStatement } from './iam-policy.js';
