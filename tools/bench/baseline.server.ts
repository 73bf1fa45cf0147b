// The floor the ticket-sale bench compares Checkout against: the least code that does what
// POST /orders must do before it may answer 202. One transaction per request writes the same
// order row and the same outbox row (a ChargeOrder envelope) through a plain pg pool, behind
// node:http, so the comparison is HTTP to HTTP. No framework, no validation library, no ORM, no
// idempotency lookup (the unique key column still refuses a repeated key), no relay.
//
//   node tools/bench/baseline.server.ts <database-url> <pool-size>
// It prints `listening <port>` once it accepts connections. Plain Node (type stripping), no libs.
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import pg from 'pg';

const [databaseUrl, poolSize = '20'] = process.argv.slice(2);
if (!databaseUrl) throw new Error('usage: node tools/bench/baseline.server.ts <database-url> <pool-size>');

const pool = new pg.Pool({ connectionString: databaseUrl, max: Number(poolSize) });
const prices = new Map<string, number>();

const ORDER = `INSERT INTO "order" (id, concert_id, quantity, customer_email, amount_cents, idempotency_key, request_hash)
               VALUES ($1, $2, $3, $4, $5, $6, $7)`;
const OUTBOX = `INSERT INTO outbox_message (id, type, destination, partition_key, envelope)
                VALUES ($1, 'ChargeOrder', $2::jsonb, $3, $4::jsonb)`;
const DESTINATION = JSON.stringify({ transport: 'rabbitmq', exchange: 'boxoffice.commands', routingKey: 'billing.charge-order' });

async function place(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { concertId: string; quantity: number; customerEmail: string };
  const key = request.headers['idempotency-key'];
  if (typeof key !== 'string') return answer(response, 400, { message: 'the Idempotency-Key header is required' });
  const price = prices.get(body.concertId) ?? (await priceOf(body.concertId));
  const orderId = randomUUID();
  const hash = createHash('sha256')
    .update(JSON.stringify([body.concertId, body.quantity, body.customerEmail]))
    .digest('hex');
  const commandId = randomUUID();
  const envelope = {
    id: commandId,
    type: 'ChargeOrder',
    version: 1,
    occurredAt: new Date().toISOString(),
    source: 'checkout',
    correlationId: commandId,
    causationId: null,
    payload: { orderId, ...body },
  };
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(ORDER, [orderId, body.concertId, body.quantity, body.customerEmail, price * body.quantity, key, hash]);
    // A command's partition key is its own id, as Outbox.add writes it: commands have no order to keep.
    await client.query(OUTBOX, [commandId, DESTINATION, commandId, JSON.stringify(envelope)]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
  answer(response, 202, { orderId, status: 'PENDING', statusUrl: `/orders/${orderId}` });
}

async function priceOf(concertId: string): Promise<number> {
  const { rows } = await pool.query<{ price_cents: number }>('SELECT price_cents FROM concert WHERE id = $1', [concertId]);
  if (!rows[0]) throw new Error(`concert ${concertId} does not exist`);
  prices.set(concertId, rows[0].price_cents);
  return rows[0].price_cents;
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  response.end(json);
}

const server = createServer((request, response) => {
  if (request.method !== 'POST' || request.url !== '/orders') return answer(response, 404, { message: 'not found' });
  place(request, response).catch((error: Error) => answer(response, 500, { message: error.message }));
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as { port: number }).port}`));
process.on('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
