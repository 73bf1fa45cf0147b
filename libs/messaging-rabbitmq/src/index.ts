export { RabbitMqTransport, type RabbitMqTransportOptions } from './rabbitmq.transport.js';
export { RabbitMqConnection, type ConnectionSetup, type RabbitMqConnectionOptions } from './rabbitmq.connection.js';
export {
  deadLetterQueueName,
  declareQueueTopology,
  defaultDeliveryLimit,
  retryLevels,
  retryQueueName,
  topologyQueueNames,
  type QueueTopologyOptions,
  type RetryLevel,
} from './rabbitmq.topology.js';
export { TopologyRefused } from './rabbitmq.topology-refused.js';
export { rabbitMqPermissions, type RabbitMqPermissions } from './rabbitmq.permissions.js';
