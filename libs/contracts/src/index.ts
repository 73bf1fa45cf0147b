export { envelopeSchema, type Envelope } from './envelope.js';
export { defineMessage, type MessageDefinition, type MessageKind, type PayloadOf } from './message-definition.js';
export * from './messages.js';
export { exchanges, queues, topics } from './channels.js';
export {
  catalog,
  channelsOf,
  commandExchange,
  consumedBy,
  entryOf,
  keyOf,
  publishedBy,
  servicesOf,
  type CatalogEntry,
  type ServiceName,
} from './catalog.js';
export { buildAsyncApiDocument } from './asyncapi.js';
