// `npm run bench:relay`: how fast the outbox relay publishes, against publishing the same
// messages with the raw client in the same run.
//   RabbitMQ: relay (claim batch, publish with confirms, mark, commit) vs amqplib on a confirm channel
//   Kafka:    relay vs kafkajs with the same producer settings (idempotent, acks=all), its records
//             bare (key and value: the ratio); then kafkajs with the relay's records, identity
//             headers and all, once, to show what the headers cost
// Both raw baselines publish in batches of the relay's batch size and wait for every ack.
// BENCH_MESSAGES (default 20000) messages per measurement, BENCH_ROUNDS (default 3) measurements
// of each side, alternating, and the median reported; the last line is JSON.
import { brokerAddress, kafkaAccountOf } from '@boxoffice/config';
import { ChargeOrder, UserRegistered, type Envelope } from '@boxoffice/contracts';
import {
  defaultRetryPolicy,
  EnvelopeFactory,
  envelopeHeaders,
  Outbox,
  OutboxRelay,
  silentLogger,
  type Destination,
  type Publisher,
} from '@boxoffice/messaging';
import { KafkaTopics, KafkaTransport } from '@boxoffice/messaging-kafka';
import { RabbitMqTransport } from '@boxoffice/messaging-rabbitmq';
import { createTestDatabase, uniqueName } from '@boxoffice/testing';
import amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import { ensureBenchServers } from './bench.servers.ts';

const count = Number(process.env.BENCH_MESSAGES ?? 20_000);
const batchSize = 500;
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
/** The relay's default; BENCH_RELAY_CONCURRENCY=1 shows what claiming while publishing buys. */
const relayConcurrency = Number(process.env.BENCH_RELAY_CONCURRENCY ?? 2);
const rabbitUrl = brokerAddress('RABBITMQ_URL');
const brokers = brokerAddress('KAFKA_BROKERS').split(',');
const envelopes = new EnvelopeFactory('bench');

const queue = uniqueName('bench.relay');
const exchange = uniqueName('bench.relay.commands');
const topic = uniqueName('bench.relay');
await ensureBenchServers('bench:relay', ['rabbitmq', 'kafka']);
const db = await createTestDatabase('bench_relay', [
  new URL('../../libs/messaging/sql/outbox-inbox.sql', import.meta.url),
  new URL('../../libs/messaging/sql/outbox-parking.sql', import.meta.url),
  new URL('../../libs/messaging/sql/outbox-notify-transport.sql', import.meta.url),
  new URL('../../libs/messaging/sql/outbox-upkeep.sql', import.meta.url),
]);
const rabbitTransport = new RabbitMqTransport({
  url: rabbitUrl,
  name: 'bench-relay',
  exchange,
  retryPolicy: defaultRetryPolicy,
  logger: silentLogger,
});
await rabbitTransport.connect();
const setup = await rabbitTransport.connection.createChannel();
await setup.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'classic' } });
await setup.assertExchange(exchange, 'direct', { durable: true });
await setup.bindQueue(queue, exchange, queue);
const kafkaTransport = new KafkaTransport({
  brokers,
  clientId: 'bench-relay',
  account: kafkaAccountOf('bench-relay'),
  logger: silentLogger,
});
const kafka = kafkaTransport.kafka;
await new KafkaTopics(kafka).ensure([{ topic, partitions: 3 }]);

const commands = () =>
  Array.from({ length: count }, () =>
    envelopes.create(ChargeOrder, { orderId: randomUUID(), concertId: randomUUID(), quantity: 2, customerEmail: 'ada@example.com' }),
  );
const events = () =>
  Array.from({ length: count }, () => {
    const userId = randomUUID();
    return envelopes.create(UserRegistered, { userId, email: `${userId}@example.com`, name: 'Ada', ip: '127.0.0.1', userAgent: 'bench' });
  });

/** Writes the messages into the outbox, as services would have, before the clock starts. */
async function fillOutbox(messages: Envelope[], destinationOf: (m: Envelope) => Destination): Promise<void> {
  for (let i = 0; i < messages.length; i += 1_000) {
    const rows = messages.slice(i, i + 1_000).map((m) => Outbox.row(m, destinationOf(m)));
    await db.pool.query(Outbox.insertRowsFrom('SELECT jsonb_array_elements($1::jsonb) AS outbox_row'), [JSON.stringify(rows)]);
  }
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return count / ((performance.now() - started) / 1000);
}

async function relayRate(publisher: Publisher, messages: Envelope[], destinationOf: (m: Envelope) => Destination) {
  await db.pool.query('TRUNCATE outbox_message');
  await fillOutbox(messages, destinationOf);
  const relay = new OutboxRelay(db.pool, [publisher], { batchSize, concurrency: relayConcurrency });
  const rate = await timed(() => relay.drain());
  const { pending } = await relay.stats();
  if (pending !== 0) throw new Error(`relay left ${pending} messages pending`);
  return rate;
}

async function rawAmqplibRate(messages: Envelope[]): Promise<number> {
  const connection = await amqp.connect(rabbitUrl);
  const channel = await connection.createConfirmChannel();
  const rate = await timed(async () => {
    for (let i = 0; i < messages.length; i += batchSize) {
      for (const m of messages.slice(i, i + batchSize)) {
        channel.publish(exchange, queue, Buffer.from(JSON.stringify(m)), {
          persistent: true,
          messageId: m.id,
          type: m.type,
          contentType: 'application/json',
        });
      }
      await channel.waitForConfirms();
    }
  });
  await connection.close();
  return rate;
}

/**
 * kafkajs alone. `withHeaders`: each record also carries the envelope's identity headers, as the
 * relay's records do (KafkaPublisher); kafkajs encodes each header in a buffer of its own, which
 * is a good part of what a record costs it.
 */
async function rawKafkajsRate(messages: Envelope[], { withHeaders = false } = {}): Promise<number> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const rate = await timed(async () => {
    for (let i = 0; i < messages.length; i += batchSize) {
      const batch = messages.slice(i, i + batchSize);
      await producer.send({
        topic,
        acks: -1,
        messages: batch.map((m) => ({
          key: (m.payload as { userId: string }).userId,
          value: JSON.stringify(m),
          ...(withHeaders ? { headers: envelopeHeaders(m) } : {}),
        })),
      });
    }
  });
  await producer.disconnect();
  return rate;
}

const toQueue = (m: Envelope): Destination => ({ transport: 'rabbitmq', channel: queue, key: m.id });
const toTopic = (m: Envelope): Destination => ({ transport: 'kafka', channel: topic, key: (m.payload as { userId: string }).userId });
const round = (n: number) => Math.round(n);

/** Median of `rounds` measurements of each, alternating which goes first, so drift hits both alike. */
async function compare(raw: () => Promise<number>, relay: () => Promise<number>) {
  const raws: number[] = [];
  const relays: number[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      raws.push(await raw());
      relays.push(await relay());
    } else {
      relays.push(await relay());
      raws.push(await raw());
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { raw: median(raws), relay: median(relays) };
}

/** Our publisher without the outbox (mandatory flag, envelope headers): the relay's broker side. */
async function publisherOnlyRate(publisher: Publisher, messages: Envelope[], destinationOf: (m: Envelope) => Destination) {
  const outgoing = messages.map((envelope) => ({ envelope, destination: destinationOf(envelope) }));
  return timed(async () => {
    for (let i = 0; i < outgoing.length; i += batchSize) await publisher.publish(outgoing.slice(i, i + batchSize));
  });
}

/** The relay's database work alone (claim, mark, commit), with a publisher that does nothing. */
async function databaseOnlyRate(): Promise<number> {
  const nothing: Publisher = { name: 'rabbitmq', publish: async () => {} };
  return relayRate(nothing, commands(), toQueue);
}

const emptyQueue = async () => void (await setup.purgeQueue(queue));

try {
  console.log(
    `bench:relay - ${count} messages per run, batches of ${batchSize}, ${relayConcurrency} batches in flight, median of ${rounds} rounds\n`,
  );
  const rabbitPublisher = rabbitTransport;
  const kafkaPublisher = kafkaTransport;
  await kafkaPublisher.connect();

  // A short warm-up of every path, so that neither side pays for first connections and JIT.
  await rawAmqplibRate(commands().slice(0, 1_000));
  await relayRate(rabbitPublisher, commands().slice(0, 1_000), toQueue);
  await rawKafkajsRate(events().slice(0, 1_000));
  await emptyQueue();

  // Each RabbitMQ measurement starts from an empty queue: a queue deep in earlier runs' messages
  // accepts new ones more slowly, which would favour whichever side went first.
  const rabbitmq = await compare(
    async () => (await emptyQueue(), rawAmqplibRate(commands())),
    async () => (await emptyQueue(), relayRate(rabbitPublisher, commands(), toQueue)),
  );
  console.log(`RabbitMQ  raw amqplib (confirm channel)  ${round(rabbitmq.raw).toString().padStart(7)} msg/s`);
  console.log(
    `RabbitMQ  outbox relay                   ${round(rabbitmq.relay).toString().padStart(7)} msg/s   ratio ${(rabbitmq.relay / rabbitmq.raw).toFixed(2)}`,
  );

  const kafkaRates = await compare(
    () => rawKafkajsRate(events()),
    () => relayRate(kafkaPublisher, events(), toTopic),
  );
  console.log(`Kafka     raw kafkajs (acks=all)         ${round(kafkaRates.raw).toString().padStart(7)} msg/s`);
  console.log(
    `Kafka     outbox relay                   ${round(kafkaRates.relay).toString().padStart(7)} msg/s   ratio ${(kafkaRates.relay / kafkaRates.raw).toFixed(2)}`,
  );

  // Where the gap comes from: the same records as the relay's, headers and all, from kafkajs
  // alone; and the relay's two halves, each measured alone.
  const rawWithHeaders = await rawKafkajsRate(events(), { withHeaders: true });
  console.log(
    `Kafka     raw kafkajs, the relay's records (with the envelope headers) ${round(rawWithHeaders)} msg/s: relay / that ${(kafkaRates.relay / rawWithHeaders).toFixed(2)}`,
  );
  await emptyQueue();
  const publisherOnly = {
    rabbitmq: await publisherOnlyRate(rabbitPublisher, commands(), toQueue),
    kafka: await publisherOnlyRate(kafkaPublisher, events(), toTopic),
  };
  const databaseOnly = await databaseOnlyRate();
  console.log(
    `\nthe halves alone: RabbitMqPublisher ${round(publisherOnly.rabbitmq)} msg/s, KafkaPublisher ${round(publisherOnly.kafka)} msg/s,`,
  );
  console.log(`the relay's database work with a publisher that does nothing ${round(databaseOnly)} msg/s`);

  await kafkaTransport.close();
  const figures = (rates: { raw: number; relay: number }) => ({
    relay: round(rates.relay),
    raw: round(rates.raw),
    ratio: Number((rates.relay / rates.raw).toFixed(3)),
  });
  console.log(
    JSON.stringify({
      rabbitmq: figures(rabbitmq),
      kafka: { ...figures(kafkaRates), rawWithHeaders: round(rawWithHeaders) },
      publisherOnly: { rabbitmq: round(publisherOnly.rabbitmq), kafka: round(publisherOnly.kafka) },
      databaseOnly: round(databaseOnly),
      messages: count,
      batchSize,
      concurrency: relayConcurrency,
      rounds,
    }),
  );
} finally {
  await setup.deleteQueue(queue).catch(() => {});
  await setup.deleteExchange(exchange).catch(() => {});
  await rabbitTransport.close();
  await new KafkaTopics(kafka).delete([topic]).catch(() => {});
  await db.drop();
}
