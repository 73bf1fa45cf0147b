export { KafkaTransport, type KafkaTransportOptions } from './kafka.transport.js';
export { createKafkaClient, withAdmin, type KafkaAccount, type KafkaClientOptions } from './kafka.client.js';
export {
  grantKafkaAcls,
  kafkaAcls,
  kafkaAclsOwnedBy,
  kafkaPrincipalOf,
  revokeKafkaAcls,
  type KafkaAcl,
  type KafkaOperation,
} from './kafka.acls.js';
export type { KafkaLogLevel } from './kafka.logger.js';
export { deadLetterTopicOf, isDeadLetterTopic, KafkaTopics, type TopicSpec } from './kafka.topics.js';
export { KafkaDeadLetterHeaders } from './kafka.headers.js';
export type { KafkaConsumerOptions } from './kafka.consumer.js';
export { readGroupLag, type GroupLag, type PartitionLag } from './kafka.lag.js';
export { KafkaReplay } from './kafka.replay.js';
export { readTopicToEnd, type TopicRecord } from './kafka.topic-reader.js';
export { isPassingKafkaError, whileKafkaSettles } from './kafka.propagation.js';
