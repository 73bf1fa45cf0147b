// `npm run dlq -- <command>`: the dead letters of every RabbitMQ queue and Kafka topic of
// boxoffice, in one place.
//
//   list                 every parked message, one line each
//   show <id>            one message's failure record and body
//   replay <id> | --all  send back to where it failed, attempts reset, same message id
//   purge                throw every parked message away
//
// The brokers come from RABBITMQ_URL and KAFKA_BROKERS, like the services; BOXOFFICE_NAMESPACE
// selects a namespaced copy of the system (the tests run in those).
import { catalog, namespace } from '@boxoffice/contracts';
import { silentLogger } from '@boxoffice/messaging';
import { createKafkaClient, KafkaDeadLetters, type DeadLetter as KafkaDeadLetter } from '@boxoffice/messaging-kafka';
import { deadLetterQueueName, RabbitMqConnection, RabbitMqDeadLetters, type DeadLetter as RabbitMqDeadLetter } from '@boxoffice/messaging-rabbitmq';
import { table, truncate } from './table.ts';

/** A dead letter as either broker's tool describes it, and where it sits. */
type Parked = (RabbitMqDeadLetter | KafkaDeadLetter) & {
  readonly broker: 'rabbitmq' | 'kafka';
  /** The dead letter queue or topic it sits in. */
  readonly store: string;
};

const usage = 'usage: npm run dlq -- list | show <id> | replay <id|--all> | purge';
const [command, argument] = process.argv.slice(2);

const rabbitmq = new RabbitMqConnection({ url: process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672', name: 'dlq-tool', logger: silentLogger });
const kafka = createKafkaClient({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId: 'dlq-tool', logger: silentLogger });
const rabbitDeadLetters = new RabbitMqDeadLetters(rabbitmq);
const kafkaDeadLetters = new KafkaDeadLetters(kafka);

/** The work queues of the system, from the catalog; their dead letter queues sit beside them. */
const workQueues = [...new Set(catalog.flatMap((entry) => (entry.route.transport === 'rabbitmq' ? [entry.route.queue] : [])))];

async function deadLetterQueues(): Promise<string[]> {
  const depths = await rabbitDeadLetters.listQueues(workQueues);
  return depths.filter((depth) => depth.messages !== null).map((depth) => depth.dlq);
}

async function deadLetterTopics(): Promise<string[]> {
  const prefix = namespace ? `${namespace}.` : '';
  return (await kafkaDeadLetters.listTopics())
    .map((summary) => summary.topic)
    .filter((topic) => (prefix ? topic.startsWith(prefix) : !/^e2e_|^bench_/.test(topic)));
}

async function everything(): Promise<Parked[]> {
  const parked: Parked[] = [];
  for (const dlq of await deadLetterQueues()) {
    for (const letter of await rabbitDeadLetters.list(dlq)) parked.push({ broker: 'rabbitmq', store: dlq, ...letter });
  }
  for (const topic of await deadLetterTopics()) {
    for (const letter of await kafkaDeadLetters.list(topic)) parked.push({ broker: 'kafka', store: topic, ...letter });
  }
  return parked;
}

async function list(): Promise<void> {
  const parked = await everything();
  if (parked.length === 0) {
    console.log('No dead letters. (Queues checked: %s; topics: every *.dlt)', workQueues.map(deadLetterQueueName).join(', '));
    return;
  }
  console.log(
    table(
      ['broker', 'dead letters in', 'id', 'type', 'attempts', 'last failure', 'last error'],
      parked.map((p) => [p.broker, p.store, p.id ?? '(unreadable)', p.type ?? '?', String(p.attempts), p.lastFailureAt ?? '', truncate(p.lastError, 60)]),
    ),
  );
  console.log(`\n${parked.length} dead letter(s). \`npm run dlq -- show <id>\` for one, \`replay <id>\` to send it back.`);
}

async function find(id: string): Promise<Parked> {
  const found = (await everything()).filter((p) => p.id === id);
  if (found.length === 0) throw new Error(`no dead letter with id ${id} (npm run dlq -- list shows them all)`);
  return found[0];
}

async function show(id: string): Promise<void> {
  const parked = await find(id);
  for (const [key, value] of Object.entries(parked)) console.log(`${key.padEnd(16)} ${value ?? ''}`);
}

async function replay(which: string): Promise<void> {
  if (which === '--all') {
    let replayed = 0;
    for (const dlq of await deadLetterQueues()) replayed += await rabbitDeadLetters.replay(dlq, 'all');
    for (const topic of await deadLetterTopics()) replayed += await kafkaDeadLetters.replay(topic, 'all');
    console.log(`replayed ${replayed} dead letter(s) to where they failed`);
    return;
  }
  const parked = await find(which);
  const replayed =
    parked.broker === 'rabbitmq' ? await rabbitDeadLetters.replay(parked.store, which) : await kafkaDeadLetters.replay(parked.store, which);
  console.log(`replayed ${replayed} message(s) with id ${which} to ${parked.originalSource}`);
}

async function purge(): Promise<void> {
  let purged = 0;
  for (const dlq of await deadLetterQueues()) purged += await rabbitDeadLetters.purge(dlq);
  for (const topic of await deadLetterTopics()) {
    purged += (await kafkaDeadLetters.list(topic)).length;
    await kafkaDeadLetters.purge(topic);
  }
  console.log(`purged ${purged} dead letter(s)`);
}

async function main(): Promise<void> {
  switch (command) {
    case 'list':
      return list();
    case 'show':
      if (!argument) throw new Error(usage);
      return show(argument);
    case 'replay':
      if (!argument) throw new Error(usage);
      return replay(argument);
    case 'purge':
      return purge();
    default:
      throw new Error(usage);
  }
}

await rabbitmq.connect();
try {
  await main();
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
} finally {
  await rabbitmq.close();
}
