import { z } from 'zod';
import { catalog, commandExchange, type CatalogEntry } from './catalog.js';
import { envelopeSchema } from './envelope.js';

// AsyncAPI 3 ids must match ^[A-Za-z0-9_-]+$, so queue and topic names are turned into ids.
const idOf = (name: string) => name.replace(/[^A-Za-z0-9_-]/g, '-');
const messageId = (entry: CatalogEntry) => `${entry.message.type}_v${entry.message.version}`;
const address = (entry: CatalogEntry) => entry.channel;
/** The default deployment: commands on RabbitMQ, events on Kafka (MessagingRuntime's defaults). */
const serverOf = (entry: CatalogEntry) => (entry.message.kind === 'command' ? 'rabbitmq' : 'kafka');

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
      servers: [{ $ref: `#/servers/${serverOf(entry)}` }],
      messages: {},
      bindings:
        serverOf(entry) === 'rabbitmq'
          ? {
              amqp: { is: 'routingKey', exchange: { name: commandExchange, type: 'direct', durable: true, autoDelete: false, vhost: '/' } },
            }
          : { kafka: { partitions: 3, replicas: 1 } },
    }) as { messages: Record<string, unknown> };
    channel.messages[messageId(entry)] = { $ref: `#/components/messages/${messageId(entry)}` };

    messages[messageId(entry)] = {
      name: entry.message.type,
      title: `${entry.message.type} v${entry.message.version} (${entry.message.kind})`,
      summary: entry.message.description,
      contentType: 'application/json',
      ...(serverOf(entry) === 'kafka' ? { bindings: { kafka: { key: { type: 'string', description: `the ${entry.keyedBy}` } } } } : {}),
      payload: {
        ...jsonSchema(envelopeSchema),
        properties: { ...jsonSchema(envelopeSchema).properties, payload: jsonSchema(entry.message.schema) },
      },
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
        summary: serverOf(entry) === 'kafka' ? `consumer group ${consumer}` : `competing consumers of ${consumer}`,
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
