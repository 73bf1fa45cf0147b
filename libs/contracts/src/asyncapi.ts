import { z } from 'zod';
import { catalog, type CatalogEntry } from './catalog.js';
import { envelopeSchema } from './envelope.js';

// AsyncAPI 3 ids must match ^[A-Za-z0-9_-]+$, so queue and topic names are turned into ids.
const idOf = (name: string) => name.replace(/[^A-Za-z0-9_-]/g, '-');
const messageId = (entry: CatalogEntry) => `${entry.message.type}_v${entry.message.version}`;
const address = (entry: CatalogEntry) => (entry.route.transport === 'rabbitmq' ? entry.route.queue : entry.route.topic);

/**
 * The AsyncAPI 3 description of every queue and topic, who sends and who receives, and the
 * schema of each message in its envelope: generated from the catalog and the zod schemas, so it
 * cannot drift from the code. `npm run asyncapi` writes it to docs/asyncapi.json.
 */
export function buildAsyncApiDocument(entries: ReadonlyArray<CatalogEntry> = catalog) {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};

  for (const entry of entries) {
    const channelId = idOf(address(entry));
    const channel = (channels[channelId] ??= {
      address: address(entry),
      servers: [{ $ref: `#/servers/${entry.route.transport}` }],
      messages: {},
      bindings:
        entry.route.transport === 'rabbitmq'
          ? { amqp: { is: 'routingKey', exchange: { name: entry.route.exchange, type: 'direct', durable: true, autoDelete: false, vhost: '/' } } }
          : { kafka: { partitions: 3, replicas: 1 } },
    }) as { messages: Record<string, unknown> };
    channel.messages[messageId(entry)] = { $ref: `#/components/messages/${messageId(entry)}` };

    messages[messageId(entry)] = {
      name: entry.message.type,
      title: `${entry.message.type} v${entry.message.version} (${entry.message.kind})`,
      summary: entry.message.description,
      contentType: 'application/json',
      ...(entry.route.transport === 'kafka' ? { bindings: { kafka: { key: { type: 'string', description: `the ${entry.route.keyedBy}` } } } } : {}),
      payload: { ...jsonSchema(envelopeSchema), properties: { ...jsonSchema(envelopeSchema).properties, payload: jsonSchema(entry.message.schema) } },
    };

    const ref = { $ref: `#/channels/${channelId}/messages/${messageId(entry)}` };
    operations[`${entry.publisher}_sends_${messageId(entry)}`] = {
      action: 'send',
      channel: { $ref: `#/channels/${channelId}` },
      messages: [ref],
    };
    for (const consumer of entry.consumers) {
      operations[`${consumer}_receives_${messageId(entry)}`] = {
        action: 'receive',
        channel: { $ref: `#/channels/${channelId}` },
        messages: [ref],
        summary: entry.route.transport === 'kafka' ? `consumer group ${consumer}` : `competing consumers of ${consumer}`,
      };
    }
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'boxoffice',
      version: '1.0.0',
      description:
        'Commands travel through RabbitMQ queues (exactly one consumer does the job); events travel through Kafka topics (every subscriber gets a copy). Every message is wrapped in the same envelope.',
    },
    defaultContentType: 'application/json',
    servers: {
      rabbitmq: { host: '127.0.0.1:5672', protocol: 'amqp', protocolVersion: '0.9.1' },
      kafka: { host: '127.0.0.1:9092', protocol: 'kafka' },
    },
    channels,
    operations,
    components: { messages },
  };
}

function jsonSchema(schema: z.ZodType): { properties?: Record<string, unknown> } & Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}
