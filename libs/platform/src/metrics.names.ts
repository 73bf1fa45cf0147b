/**
 * Every metric a boxoffice service exports on `/metrics`, by name: the one list the Grafana
 * dashboard's spec checks its PromQL against, so a renamed metric fails a test rather than a
 * panel. Where the OpenTelemetry semantic conventions name a metric, the name is theirs in
 * Prometheus form (dots to underscores, the unit and `_total` appended); the rest are `boxoffice_`.
 * https://opentelemetry.io/docs/specs/semconv/messaging/messaging-metrics/
 *
 * What each one means, its labels, and the PromQL of each panel: docs/observability.md#metrics.
 */
export const metricNames = {
  /** Counter: messages a consumer settled, by `outcome` (done, duplicate, skipped, retry, dead_letter, held, error). */
  consumedMessages: 'messaging_client_consumed_messages_total',
  /** Histogram: one handler call (a message, or a run of a batch handler), in seconds. */
  processDuration: 'messaging_process_duration_seconds',
  /** Counter: messages the outbox relay published, confirmed by the broker. */
  sentMessages: 'messaging_client_sent_messages_total',
  /** Histogram: one publish of the relay (`messaging_operation_name="send"`), confirmation included. */
  operationDuration: 'messaging_client_operation_duration_seconds',
  /** Histogram: one batch through the pipeline: admission, transaction, commit. */
  batchDuration: 'boxoffice_consumer_batch_duration_seconds',
  /** Histogram: messages per batch. */
  batchMessages: 'boxoffice_consumer_batch_messages',
  /** Counter: redeliveries the inbox recognised and dropped. */
  inboxDuplicates: 'boxoffice_inbox_duplicates_dropped_total',
  /** Gauge: messages waiting on a channel for a consumer: ready messages of a queue, or a group's lag on a topic. */
  channelDepth: 'boxoffice_channel_depth_messages',
  /** Gauge: consumers attached to a queue, where the transport can tell. */
  channelConsumers: 'boxoffice_channel_consumers',
  /** Gauge: a consumer group's lag on one partition. */
  consumerLag: 'boxoffice_consumer_lag_messages',
  /** Gauge: a consumer group's lag in time on one partition or shard: how old the oldest record it has not read is. */
  consumerLagAge: 'boxoffice_consumer_lag_seconds',
  /** Gauge: how long a log channel keeps a record, read or not (Kafka's retention.ms, a Kinesis stream's retention). */
  channelRetention: 'boxoffice_channel_retention_seconds',
  /** Gauge: outbox rows not yet published. */
  outboxPending: 'boxoffice_outbox_pending_messages',
  /** Gauge: how long the oldest unpublished outbox row has waited. */
  outboxOldestAge: 'boxoffice_outbox_oldest_pending_age_seconds',
  /** Gauge: outbox rows parked after the broker refused them `maxAttempts` times. */
  outboxParked: 'boxoffice_outbox_parked_messages',
  /** Gauge: how long the oldest parked outbox row has waited. */
  outboxOldestParkedAge: 'boxoffice_outbox_oldest_parked_age_seconds',
  /** Gauge: dead letters waiting, per dead letter queue or topic. */
  deadLetters: 'boxoffice_dead_letters_messages',
  /** Gauge: how long the oldest dead letter of a store has waited, where the broker says without taking it. */
  deadLetterOldestAge: 'boxoffice_dead_letter_oldest_age_seconds',
  /** Gauge: how long a dead-letter store keeps a letter before the broker drops it, where it drops any. */
  deadLetterRetention: 'boxoffice_dead_letter_retention_seconds',
  /** Gauge: the command rate configured for the whole service (`BILLING_MAX_RATE`). */
  commandRateConfigured: 'boxoffice_command_rate_configured_per_second',
  /** Gauge: this instance's share of it now. */
  commandRateInstance: 'boxoffice_command_rate_instance_per_second',
  /** Counter: seconds work waited for the rate limiter's permits, summed over the waiters. */
  rateLimiterWait: 'boxoffice_rate_limiter_wait_seconds_total',
  /** Counter: permits the rate limiter handed out (one per message). */
  rateLimiterPermits: 'boxoffice_rate_limiter_permits_total',
  /** Gauge: 1 if the last reading of a source collected on scrape (`depth`, `outbox`, `dead_letters`) succeeded. */
  sourceUp: 'boxoffice_metrics_source_up',
  /** Counter (Checkout): orders accepted, by `path` (async: 202, sync: POST /orders/sync). */
  ordersAccepted: 'boxoffice_orders_accepted_total',
  /** Counter (Checkout): orders settled, by `status` (confirmed, rejected) and `reason`. */
  ordersSettled: 'boxoffice_orders_settled_total',
  /** Gauge (Checkout): POST /orders and POST /users in flight, against ACCEPT_MAX_IN_FLIGHT. */
  acceptInFlight: 'boxoffice_accept_in_flight_requests',
  /** Counter (Checkout): requests the front door answered 503 because ACCEPT_MAX_IN_FLIGHT were in flight. */
  acceptTurnedAway: 'boxoffice_accept_turned_away_total',
} as const;

export type MetricName = (typeof metricNames)[keyof typeof metricNames];

/** The label names, as the semantic conventions' attributes in Prometheus form. */
export const metricLabels = {
  system: 'messaging_system',
  destination: 'messaging_destination_name',
  group: 'messaging_consumer_group_name',
  partition: 'messaging_destination_partition_id',
  operation: 'messaging_operation_name',
  errorType: 'error_type',
} as const;
