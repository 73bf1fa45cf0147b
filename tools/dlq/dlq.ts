// `npm run dlq -- <command>`: the dead letters of every queue and topic of boxoffice, in one
// place, whatever transports carry them.
//
//   list                 every parked message, one line each
//   show <id>            one message's failure record and body
//   replay <id> | --all  send back to where it failed, attempts reset, same message id
//   purge                throw every parked message away
//   outbox ...           the messages an outbox relay parked because a broker refused them
//                        (outbox.parked.ts; no broker needed)
//
// The transports come from COMMAND_TRANSPORT and EVENT_TRANSPORT, the brokers from their addresses
// (RABBITMQ_URL, KAFKA_BROKERS, ACTIVEMQ_URL, SQS_ENDPOINT, KINESIS_ENDPOINT) and the names on them
// from BOXOFFICE_NAMESPACE (a namespaced copy of the system: the tests run in those), as the
// services read them. Everything goes through the transport port's DeadLetterStore, so this file
// knows no broker.
import { ConfigError, loadConfig, serviceEnv } from '@boxoffice/config';
import { findDeadLetter, Routing, silentLogger } from '@boxoffice/messaging';
import { brokerSettings, connectWithin, createTransports, deadLetterStoresOf } from '@boxoffice/platform';
import { z } from 'zod';
import { outboxCommand } from './outbox.parked.ts';
import { table, truncate } from './table.ts';

const usage = 'usage: npm run dlq -- list | show <id> | replay <id|--all> | purge | outbox ...';
const [command, argument] = process.argv.slice(2);

if (command === 'outbox') {
  const [, outboxCommandName, outboxArgument] = process.argv.slice(2);
  try {
    await outboxCommand(outboxCommandName, outboxArgument);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
  process.exit(0);
}

// The same settings the services read, so the tool looks where they park their dead letters.
let brokers;
try {
  brokers = brokerSettings(loadConfig(z.object(serviceEnv('dlq-tool', 1))));
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(2);
}
const routing = new Routing({ transports: brokers.transports, namespace: brokers.namespace });
// Built as the services' MessagingRuntime builds them, so the stores look where the services park.
const transports = [
  ...createTransports(Object.values(routing.transports), { client: 'dlq-tool', brokers, routing, logger: silentLogger }).values(),
];
const stores = deadLetterStoresOf(transports, routing);

async function list(): Promise<void> {
  const parked = (await Promise.all(stores.map((store) => store.list()))).flat();
  if (parked.length === 0) {
    console.log('No dead letters. (Looked at the dead letter queues and topics of every channel in the catalog.)');
    return;
  }
  console.log(
    table(
      ['broker', 'dead letters in', 'id', 'type', 'attempts', 'last failure', 'last error'],
      parked.map((p) => [
        p.transport,
        p.store,
        p.id ?? '(unreadable)',
        p.type ?? '?',
        String(p.attempts),
        p.lastFailureAt ?? '',
        truncate(p.lastError, 60),
      ]),
    ),
  );
  console.log(`\n${parked.length} dead letter(s). \`npm run dlq -- show <id>\` for one, \`replay <id>\` to send it back.`);
}

async function show(id: string): Promise<void> {
  const { letter } = await findDeadLetter(stores, id);
  for (const [key, value] of Object.entries(letter)) console.log(`${key.padEnd(16)} ${value ?? ''}`);
}

async function replay(which: string): Promise<void> {
  if (which === '--all') {
    let replayed = 0;
    for (const store of stores) replayed += await store.replayAll();
    console.log(`replayed ${replayed} dead letter(s) to where they failed`);
    return;
  }
  const { letter, store } = await findDeadLetter(stores, which);
  await store.replay(which);
  console.log(`replayed 1 message(s) with id ${which} to ${letter.originalSource}`);
}

async function purge(): Promise<void> {
  let purged = 0;
  for (const store of stores) purged += await store.purge();
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

try {
  if (!['list', 'show', 'replay', 'purge'].includes(command ?? '')) throw new Error(usage);
  await Promise.all(transports.map((transport) => connectWithin(transport)));
  await main();
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
} finally {
  await Promise.all(transports.map((transport) => transport.close().catch(() => undefined)));
}
