export { envelopeSchema, type Envelope } from './envelope.js';
export { defineMessage, type MessageDefinition, type MessageKind, type PayloadOf } from './message-definition.js';
export * from './messages.js';
export { channelNames, consumerGroup, exchanges, namespace, queues, topics } from './channels.js';
export { catalog, routeOf, type CatalogEntry, type QueueRoute, type ServiceName, type TopicRoute } from './catalog.js';
export { buildAsyncApiDocument } from './asyncapi.js';
