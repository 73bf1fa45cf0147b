export { RabbitMqConnection, type ConnectionSetup, type RabbitMqConnectionOptions } from './rabbitmq.connection.js';
export { RabbitMqPublisher, type RabbitMqPublisherOptions } from './rabbitmq.publisher.js';
export { RabbitMqConsumer, type DeliveryInfo, type RabbitMqConsumerOptions } from './rabbitmq.consumer.js';
export {
  RabbitMqDeadLetters,
  type DeadLetter,
  type DeadLetterQueueDepth,
  type RabbitMqDeadLettersOptions,
} from './rabbitmq.dead-letters.js';
export {
  deadLetterQueueName,
  declareCommandExchange,
  declareSourceTopology,
  retryLevels,
  retryQueueName,
  topologyQueueNames,
  type RetryLevel,
} from './rabbitmq.topology.js';
