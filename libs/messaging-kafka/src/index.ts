export { createKafkaClient, type KafkaClientOptions } from './kafka.client.js';
export type { KafkaLogLevel } from './kafka.logger.js';
export { deadLetterTopicOf, isDeadLetterTopic, KafkaTopics, type TopicSpec } from './kafka.topics.js';
export { EnvelopeHeaders, KafkaDeadLetterHeaders } from './kafka.headers.js';
export { KafkaPublisher } from './kafka.publisher.js';
export { KafkaConsumer, type KafkaConsumerCounters, type KafkaConsumerOptions, type KafkaConsumerState } from './kafka.consumer.js';
export { readGroupLag, type GroupLag, type PartitionLag } from './kafka.lag.js';
export { KafkaReplay } from './kafka.replay.js';
export { KafkaDeadLetters, type DeadLetter, type DeadLetterTopicSummary } from './kafka.dead-letters.js';
