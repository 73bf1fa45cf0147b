/**
 * How long an inbox row is kept by default (`INBOX_RETENTION_DAYS`), in days: longer than the
 * longest a message can come back after a consumer did it. A row pruned while a copy of its
 * message can still arrive lets that copy do the work again (a second charge, a sale counted
 * twice), so the window is set by the places a message can come back from:
 *
 * | where a copy waits | kept | from |
 * | --- | --- | --- |
 * | Kafka event topic | 7 days, up to 14 | `retention.ms` (kafka.transport.ts); Kafka deletes whole segments, and a quiet topic closes its segment only after `log.roll.hours` (168) |
 * | Kafka dead-letter topic `<topic>.<group>.dlt` | 14 days, up to 21 | kafka.consumer.ts, the same segment rule |
 * | NATS event stream | 7 days | `max_age` (nats.transport.ts), per message |
 * | Kinesis streams, dead letters' too | 24 hours | the stream's retention |
 * | SQS queue, dead letter queue | 4 days, 14 days | SQS's default; sqs.queues.ts |
 * | RabbitMQ, Artemis, NATS dead letters | until a person replays or purges them | no expiry |
 *
 * The longest that expires on its own is Kafka's: a copy of a message (the relay publishes again
 * when a broker's confirm is lost) dead-lettered next to the one that was done, replayed from the
 * dead-letter topic on its last day (21) back onto the topic, and read there again by a group
 * reset on that record's last day (14 more): 35 days. Five more for the time a copy spends being
 * retried before it is dead-lettered and for clocks: 40.
 *
 * A dead letter that waits for a person without expiry and is replayed after the window, whose
 * message another copy already did, is done again: replay or purge dead letters within the window.
 */
export const DEFAULT_INBOX_RETENTION_DAYS = 40;

/** How often a service prunes its inbox. Each run deletes in bounded statements, and most find nothing. */
export const INBOX_PRUNE_EVERY_MS = 15 * 60 * 1_000;
