import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { brokerAddress, kafkaAccountOf } from '@boxoffice/config';
import { defaultRetryPolicy, EnvelopeHeaders, FailureHeaders as DeadLetterHeaders, silentLogger } from '@boxoffice/messaging';
import { declareQueueTopology, deadLetterQueueName, RabbitMqConnection, topologyQueueNames } from '@boxoffice/messaging-rabbitmq';
import { createKafkaClient, deadLetterTopicOf, KafkaDeadLetterHeaders, KafkaTopics } from '@boxoffice/messaging-kafka';
import { createMigratedTestDatabase, uniqueName, type TestDatabase } from '@boxoffice/testing';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);
const services = ['checkout', 'billing', 'email', 'analytics', 'audit'];
const namespace = uniqueName('dlq');
const queue = `${namespace}.billing.charge-order`;
const exchange = `${namespace}.boxoffice.commands`;

/** Runs `npm run dlq -- <args>` the way a person would, against one namespace's queues and topics. */
const dlqIn =
  (ns: string) =>
  async (...args: string[]): Promise<string> => {
    const { stdout } = await run(process.execPath, ['--import', '@swc-node/register/esm-register', 'tools/dlq/dlq.ts', ...args], {
      env: { ...process.env, BOXOFFICE_NAMESPACE: ns },
    });
    return stdout;
  };
const dlq = dlqIn(namespace);

describe('npm run dlq', () => {
  const connection = new RabbitMqConnection({
    url: brokerAddress('RABBITMQ_URL'),
    name: 'dlq-spec',
    logger: silentLogger,
  });
  const id = randomUUID();

  beforeAll(async () => {
    await connection.connect();
    const channel = await connection.createChannel();
    await declareQueueTopology(channel, queue, exchange, defaultRetryPolicy);
    channel.sendToQueue(deadLetterQueueName(queue), Buffer.from(JSON.stringify({ id, type: 'ChargeOrder' })), {
      messageId: id,
      type: 'ChargeOrder',
      persistent: true,
      headers: {
        [DeadLetterHeaders.attempts]: 5,
        [DeadLetterHeaders.lastError]: 'payment gateway timed out',
        [DeadLetterHeaders.originalSource]: queue,
      },
    });
    await channel.close();
  });
  afterAll(async () => {
    const channel = await connection.createChannel();
    for (const name of topologyQueueNames(queue, defaultRetryPolicy)) await channel.deleteQueue(name);
    await channel.deleteExchange(exchange);
    await channel.close();
    await connection.close();
  });

  it('lists a dead letter with its attempts and reason', async () => {
    const output = await dlq('list');
    expect(output).toMatch(
      new RegExp(
        `rabbitmq\\s+${deadLetterQueueName(queue).replace(/\./g, '\\.')}\\s+${id}\\s+ChargeOrder\\s+5\\s+.*payment gateway timed out`,
      ),
    );
  });

  it('shows one in full', async () => {
    const output = await dlq('show', id);
    expect(output).toMatch(/lastError\s+payment gateway timed out/);
    expect(output).toMatch(new RegExp(`originalSource\\s+${queue.replace(/\./g, '\\.')}`));
  });

  it('replays it to the queue it failed on, and it is no longer listed', async () => {
    await expect(dlq('replay', id)).resolves.toContain(`replayed 1 message(s) with id ${id} to ${queue}`);
    const channel = await connection.createChannel();
    const message = await channel.get(queue, { noAck: true });
    await channel.close();
    expect(message && message.properties.messageId).toBe(id);
    expect(message && message.properties.headers?.[DeadLetterHeaders.attempts]).toBeUndefined();
    await expect(dlq('list')).resolves.toContain('No dead letters');
  });

  it('refuses to replay an id it does not hold, and says so', async () => {
    await expect(dlq('replay', randomUUID())).rejects.toMatchObject({ stderr: expect.stringContaining('no dead letter with id') });
  });

  it('purges what is there and says how many', async () => {
    const channel = await connection.createChannel();
    channel.sendToQueue(deadLetterQueueName(queue), Buffer.from('{}'), { messageId: randomUUID(), persistent: true });
    await channel.close();
    await expect(dlq('purge')).resolves.toContain('purged 1 dead letter(s)');
    await expect(dlq('list')).resolves.toContain('No dead letters');
  });

  it('says how to use it when the command is unknown', async () => {
    await expect(dlq('frobnicate')).rejects.toMatchObject({
      stderr: expect.stringContaining('usage: npm run dlq -- list | show <id> | replay <id|--all> | purge | outbox ...'),
    });
  });
});

describe('npm run dlq, for a Kafka dead letter', () => {
  const kafkaNamespace = uniqueName('dlq-kafka');
  const dlqKafka = dlqIn(kafkaNamespace);
  const kafka = createKafkaClient({
    brokers: brokerAddress('KAFKA_BROKERS').split(','),
    clientId: 'dlq-spec',
    account: kafkaAccountOf('dlq-spec'),
    logger: silentLogger,
  });
  const topic = `${kafkaNamespace}.boxoffice.users`;
  const deadLetterTopic = deadLetterTopicOf(topic, `${kafkaNamespace}.email`);
  const id = randomUUID();
  const body = JSON.stringify({ id, type: 'UserRegistered', payload: { email: 'not-an-email' } });

  beforeAll(async () => {
    await new KafkaTopics(kafka).ensure([
      { topic, partitions: 1 },
      { topic: deadLetterTopic, partitions: 1 },
    ]);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: deadLetterTopic,
      acks: -1,
      messages: [
        {
          key: id,
          value: body,
          headers: {
            [EnvelopeHeaders.messageId]: id,
            [EnvelopeHeaders.type]: 'UserRegistered',
            [KafkaDeadLetterHeaders.attempts]: '1',
            [KafkaDeadLetterHeaders.lastError]: 'payload.email: Invalid email address',
            [KafkaDeadLetterHeaders.originalSource]: topic,
            [KafkaDeadLetterHeaders.consumer]: `${kafkaNamespace}.email`,
            [KafkaDeadLetterHeaders.originalPartition]: '0',
            [KafkaDeadLetterHeaders.originalOffset]: '7',
          },
        },
      ],
    });
    await producer.disconnect();
  });
  afterAll(async () => {
    await new KafkaTopics(kafka).delete([topic, deadLetterTopic]);
  });

  it('lists it with the topic it waits in', async () => {
    const output = await dlqKafka('list');
    expect(output).toMatch(
      new RegExp(`kafka\\s+${deadLetterTopic.replace(/\./g, '\\.')}\\s+${id}\\s+UserRegistered\\s+1\\s+.*Invalid email address`),
    );
  });

  it('shows it in full, the record as it was consumed included', async () => {
    const output = await dlqKafka('show', id);
    expect(output).toMatch(/position\s+partition 0 offset 0, from partition 0 offset 7/);
    expect(output).toContain(`body             ${body}`);
  });
});

describe('npm run dlq -- outbox, for the messages a relay parked', () => {
  const databases = new Map<string, TestDatabase>();
  const id = randomUUID();
  const other = randomUUID();
  /** The tool against this spec's five databases, as <SERVICE>_DATABASE_URL point it. */
  const outbox = async (...args: string[]): Promise<string> => {
    const urls = Object.fromEntries([...databases].map(([service, db]) => [`${service.toUpperCase()}_DATABASE_URL`, db.url]));
    const { stdout } = await run(process.execPath, ['--import', '@swc-node/register/esm-register', 'tools/dlq/dlq.ts', 'outbox', ...args], {
      env: { ...process.env, ...urls },
    });
    return stdout;
  };
  const statusOf = async (messageId: string) =>
    (await databases.get('checkout')!.pool.query('SELECT status, attempts FROM outbox_message WHERE id = $1', [messageId])).rows[0];

  beforeAll(async () => {
    for (const service of services)
      databases.set(service, await createMigratedTestDatabase(`dlq_${service}`, `apps/${service}/prisma/migrations`));
    for (const messageId of [id, other]) {
      await databases.get('checkout')!.pool.query(
        `INSERT INTO outbox_message (id, type, destination, partition_key, envelope, status, attempts, last_error, parked_at)
         VALUES ($1, 'ChargeOrder', $2, 'k', $3, 'parked', 10, 'message unroutable: no queue billing.charge-orderz', now())`,
        [messageId, { transport: 'rabbitmq', channel: 'billing.charge-orderz', key: 'k' }, { id: messageId, type: 'ChargeOrder' }],
      );
    }
  }, 60_000);
  afterAll(async () => {
    await Promise.all([...databases.values()].map((db) => db.drop()));
  });

  it('lists them with the service, where they were going and why', async () => {
    const output = await outbox('list');
    expect(output).toMatch(new RegExp(`checkout\\s+${id}\\s+ChargeOrder\\s+rabbitmq:billing\\.charge-orderz\\[k\\]\\s+10\\s+.*no queue`));
    expect(output).toContain('2 parked message(s)');
  });

  it('shows one with its envelope', async () => {
    await expect(outbox('show', id)).resolves.toContain(`envelope         {"id":"${id}","type":"ChargeOrder"}`);
  });

  it('retries one (pending again, a fresh set of attempts), discards the other, and refuses an id it does not hold', async () => {
    await expect(outbox('retry', id)).resolves.toContain('1 parked message(s) back to pending');
    await expect(statusOf(id)).resolves.toEqual({ status: 'pending', attempts: 0 });
    await expect(outbox('discard', other)).resolves.toContain('discarded 1 parked message(s)');
    await expect(statusOf(other)).resolves.toBeUndefined();
    await expect(outbox('retry', randomUUID())).rejects.toMatchObject({
      stderr: expect.stringContaining('no parked outbox message has id'),
    });
    await expect(outbox('list')).resolves.toContain('No parked outbox messages');
  });
});
