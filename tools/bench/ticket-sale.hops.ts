// Where an order's time from 202 to CONFIRMED goes, hop by hop, read after the fact from the
// timestamps both databases keep. Every mark is PostgreSQL's (one server, one clock):
//
//   accepted            order.created_at: the accepting transaction (Checkout's group commit)
//   command published   Checkout's outbox row for its ChargeOrder, published_at: RabbitMQ confirmed it
//   charging            Billing's inbox row for that ChargeOrder, received_at: its batch's transaction began
//   event published     Billing's outbox row for the PaymentCaptured, published_at: Kafka acknowledged it
//   settling            Checkout's inbox row for that PaymentCaptured, received_at: its batch's transaction began
//   confirmed           order.settled_at, inside that transaction
//
// So each hop is a relay (pick-up, publish, confirm), a broker and a consumer (delivery, the
// batch filling, Billing's rate limiter, its payment holds), or a transaction's work.
import type pg from 'pg';

export interface Hop {
  readonly name: string;
  readonly what: string;
  readonly p50: number;
  readonly p99: number;
}

interface Marks {
  accepted: number;
  commandPublished: number;
  charging: number;
  eventPublished: number;
  settling: number;
  confirmed: number;
}

const ms = (value: Date | null | undefined) => (value ? value.getTime() : Number.NaN);

/** The hops of every order of `concertId` confirmed, p50 and p99 of each, in order; orders with a mark missing (pruned, not yet) are left out. */
export async function hopsOf(concertId: string, checkout: pg.Pool, billing: pg.Pool): Promise<{ hops: Hop[]; orders: number }> {
  const orders = (
    await checkout.query<{ order_id: string; created_at: Date; settled_at: Date; command_id: string; command_published: Date | null }>(
      `SELECT o.id::text AS order_id, o.created_at, o.settled_at, m.id::text AS command_id, m.published_at AS command_published
         FROM "order" o JOIN outbox_message m ON m.type = 'ChargeOrder' AND m.envelope->'payload'->>'orderId' = o.id::text
        WHERE o.concert_id = $1 AND o.status = 'CONFIRMED'`,
      [concertId],
    )
  ).rows;
  const charging = new Map(
    (
      await billing.query<{ command_id: string; received_at: Date }>(
        `SELECT message_id::text AS command_id, received_at FROM inbox_message WHERE type = 'ChargeOrder' AND message_id = ANY($1::uuid[])`,
        [orders.map((order) => order.command_id)],
      )
    ).rows.map((row) => [row.command_id, ms(row.received_at)]),
  );
  // A batch's events are sent set-based, with no causation id: matched by the order they are about.
  const captured = new Map(
    (
      await billing.query<{ order_id: string; event_id: string; published_at: Date | null }>(
        `SELECT envelope->'payload'->>'orderId' AS order_id, id::text AS event_id, published_at FROM outbox_message
          WHERE type = 'PaymentCaptured' AND envelope->'payload'->>'orderId' = ANY($1::text[])`,
        [orders.map((order) => order.order_id)],
      )
    ).rows.map((row) => [row.order_id, row]),
  );
  const settling = new Map(
    (
      await checkout.query<{ event_id: string; received_at: Date }>(
        `SELECT message_id::text AS event_id, received_at FROM inbox_message WHERE type = 'PaymentCaptured' AND message_id = ANY($1::uuid[])`,
        [[...captured.values()].map((row) => row.event_id)],
      )
    ).rows.map((row) => [row.event_id, ms(row.received_at)]),
  );
  const marks: Marks[] = orders.flatMap((order) => {
    const event = captured.get(order.order_id);
    const mark = {
      accepted: ms(order.created_at),
      commandPublished: ms(order.command_published),
      charging: charging.get(order.command_id) ?? Number.NaN,
      eventPublished: ms(event?.published_at),
      settling: event ? (settling.get(event.event_id) ?? Number.NaN) : Number.NaN,
      confirmed: ms(order.settled_at),
    };
    return Object.values(mark).every(Number.isFinite) ? [mark] : [];
  });
  const hop = (name: string, what: string, from: keyof Marks, to: keyof Marks): Hop => {
    const spans = marks.map((m) => m[to] - m[from]).sort((a, b) => a - b);
    return { name, what, p50: percentile(spans, 0.5), p99: percentile(spans, 0.99) };
  };
  return {
    orders: marks.length,
    hops: [
      hop('accepted → command published', "Checkout's relay: pick-up, RabbitMQ's confirm", 'accepted', 'commandPublished'),
      hop(
        '→ Billing charging',
        "RabbitMQ's delivery, the batch filling, the rate limiter, the payment holds",
        'commandPublished',
        'charging',
      ),
      hop('→ event published', "Billing's transaction, then its relay: pick-up, Kafka's ack", 'charging', 'eventPublished'),
      hop('→ Checkout settling', "Kafka's delivery, the batch filling", 'eventPublished', 'settling'),
      hop('→ confirmed', "Checkout's transaction, to the order's update", 'settling', 'confirmed'),
      hop('202 → CONFIRMED', 'the whole way', 'accepted', 'confirmed'),
    ],
  };
}

function percentile(sorted: ReadonlyArray<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}
