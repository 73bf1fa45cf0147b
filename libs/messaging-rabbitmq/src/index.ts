export { RabbitMqTransport, type RabbitMqTransportOptions } from './rabbitmq.transport.js';
export { RabbitMqConnection, type ConnectionSetup, type RabbitMqConnectionOptions } from './rabbitmq.connection.js';
export {
  deadLetterQueueName,
  declareQueueTopology,
  retryLevels,
  retryQueueName,
  topologyQueueNames,
  type RetryLevel,
} from './rabbitmq.topology.js';
