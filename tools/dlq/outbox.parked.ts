// `npm run dlq -- outbox <command>`: the messages each service's outbox relay parked because a
// broker kept refusing them (a queue or topic that does not exist, a message too large), in
// every service's own database. They wait there, out of the relay's way, until a person decides.
//
//   outbox list                   every parked message, one line each
//   outbox show <id>              one message: where it was going, why it was refused, its envelope
//   outbox retry <id> | --all     back to pending with a fresh set of attempts: the relay publishes it
//   outbox discard <id> | --all   delete it for good
//
// The databases: <SERVICE>_DATABASE_URL (CHECKOUT_DATABASE_URL, ...), each defaulting to the
// database the service itself uses by default.
import { describeDestination, outboxStore, type ParkedRow } from '@boxoffice/messaging';
import pg from 'pg';
import { services } from '../db/services.ts';
import { table, truncate } from './table.ts';

export const outboxUsage = 'usage: npm run dlq -- outbox list | show <id> | retry <id|--all> | discard <id|--all>';

const databaseUrlOf = (service: string) =>
  process.env[`${service.toUpperCase()}_DATABASE_URL`] ?? `postgresql://postgres@127.0.0.1:5432/boxoffice_${service}`;

export async function outboxCommand(command: string | undefined, argument: string | undefined): Promise<void> {
  const pools = services.map((service) => ({ service, pool: new pg.Pool({ connectionString: databaseUrlOf(service), max: 1 }) }));
  const inEach = <T>(work: (client: pg.PoolClient, service: string) => Promise<T>) =>
    Promise.all(
      pools.map(async ({ service, pool }) => {
        const client = await pool.connect().catch((error: Error) => {
          throw new Error(`${service}'s database does not answer at ${databaseUrlOf(service)} (${error.message})`, { cause: error });
        });
        try {
          return await work(client, service);
        } finally {
          client.release();
        }
      }),
    );
  const ids = (which: string | undefined) => {
    if (!which) throw new Error(outboxUsage);
    return which === '--all' ? null : [which];
  };
  try {
    switch (command) {
      case 'list': {
        const parked = (
          await inEach(async (client, service) => (await outboxStore.parked(client, 1_000)).map((row) => ({ service, row })))
        ).flat();
        if (parked.length === 0) return console.log('No parked outbox messages. (Looked in every service’s outbox.)');
        console.log(
          table(
            ['service', 'id', 'type', 'to', 'refusals', 'parked at', 'last error'],
            parked.map(({ service, row }) => [
              service,
              row.id,
              row.type,
              describeDestination(row.destination),
              String(row.attempts),
              row.parkedAt.toISOString(),
              truncate(row.lastError, 60),
            ]),
          ),
        );
        return console.log(
          `\n${parked.length} parked message(s). \`npm run dlq -- outbox show <id>\` for one, \`retry <id>\` to publish it again.`,
        );
      }
      case 'show': {
        if (!argument) throw new Error(outboxUsage);
        const found = (
          await inEach(async (client, service) => (await outboxStore.parked(client, 100_000)).map((row) => ({ service, row })))
        )
          .flat()
          .find(({ row }) => row.id === argument);
        if (!found) throw new Error(`no parked outbox message has id ${argument}`);
        return printParked(found.service, found.row);
      }
      case 'retry': {
        const retried = (await inEach((client) => outboxStore.retryParked(client, ids(argument)))).reduce((a, b) => a + b, 0);
        if (retried === 0 && argument !== '--all') throw new Error(`no parked outbox message has id ${argument}`);
        return console.log(`${retried} parked message(s) back to pending: the relay publishes them now`);
      }
      case 'discard': {
        const discarded = (await inEach((client) => outboxStore.discardParked(client, ids(argument)))).reduce((a, b) => a + b, 0);
        if (discarded === 0 && argument !== '--all') throw new Error(`no parked outbox message has id ${argument}`);
        return console.log(`discarded ${discarded} parked message(s)`);
      }
      default:
        throw new Error(outboxUsage);
    }
  } finally {
    await Promise.all(pools.map(({ pool }) => pool.end()));
  }
}

function printParked(service: string, row: ParkedRow): void {
  const fields: Array<[string, string]> = [
    ['service', service],
    ['id', row.id],
    ['type', row.type],
    ['to', describeDestination(row.destination)],
    ['refusals', String(row.attempts)],
    ['created at', row.createdAt.toISOString()],
    ['parked at', row.parkedAt.toISOString()],
    ['last error', row.lastError ?? ''],
    ['envelope', JSON.stringify(row.envelope)],
  ];
  for (const [key, value] of fields) console.log(`${key.padEnd(16)} ${value}`);
}
