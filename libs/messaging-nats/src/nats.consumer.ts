import { AckPolicy, DeliverPolicy, type Consumer, type JsMsg } from '@nats-io/jetstream';
import type { MessageKind } from '@boxoffice/contracts';
import { LaneConsumer, LaneRunner, pullPending } from '@boxoffice/messaging';
import type { ConsumerSpec, Headers, Lane, Logger, Settlement } from '@boxoffice/messaging';
import { deliveryHeadersOf, toNatsHeaders } from './nats.message.js';
import { deadLetterSubjectOf, natsNameOf, streamOf, type JetStreamSession } from './nats.streams.js';

/** A delivery with the headers the pipeline reads: JetStream's, or those of a retry in place. */
type Delivery = { readonly message: JsMsg; readonly headers: Headers };

export interface NatsConsumerOptions {
  /** Makes sure of a channel's streams: a consumer may start before anyone provisioned them. */
  readonly provision: (channel: string) => Promise<void>;
  readonly kindOf: (channel: string) => MessageKind;
  /** A batch in the pipeline is kept ours by telling JetStream it is being worked on, twice per ack wait. */
  readonly ackWaitMs: number;
  readonly maxDeliver: number;
  readonly logger: Logger;
}

/**
 * A service's consumer of JetStream streams: the runtime's lanes on durable pull consumers, read from the start. A
 * command channel has `concurrency` lanes on the durable its instances share (competing consumers, in no order); an
 * event channel one lane per instance on its group's durable, read as a log: a retry waits in place, nothing after it
 * goes first. Settlements: ack; retry → nak with the delay (the same message again, one delivery more); dead-letter →
 * a copy with its failure record to `<channel>.dlq`, then term; held → nak.
 */
export class NatsConsumer extends LaneConsumer<Delivery> {
  constructor(
    private readonly session: () => JetStreamSession,
    private readonly spec: ConsumerSpec,
    private readonly options: NatsConsumerOptions,
  ) {
    // A command is this service's alone (a type it has no handler for is poison); an event lane says otherwise.
    super(
      new LaneRunner({
        pipeline: spec.pipeline,
        semantics: { ordered: false, exclusive: true },
        label: `nats consumer ${spec.consumer}`,
        logger: options.logger,
      }),
    );
  }

  protected async lanes(): Promise<Array<Lane<Delivery>>> {
    const { js, jsm } = this.session();
    const config = {
      durable_name: natsNameOf(this.spec.consumer),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: this.options.ackWaitMs * 1e6,
      max_deliver: this.options.maxDeliver,
    };
    const lanes: Array<Lane<Delivery>> = [];
    for (const channel of this.spec.channels) {
      await this.options.provision(channel);
      const info = await jsm.consumers.add(streamOf(channel), config);
      const kind = this.options.kindOf(channel);
      for (let i = 0; i < (kind === 'command' ? this.spec.concurrency : 1); i++)
        lanes.push(this.lane(channel, js.consumers.getConsumerFromInfo(info), kind));
    }
    return lanes;
  }

  private lane(channel: string, durable: Consumer, kind: MessageKind): Lane<Delivery> {
    return {
      source: channel,
      receive: (signal) => this.receive(durable, signal),
      inbound: ({ message, headers }) => ({ body: message.string(), headers }),
      settle: (batch, settlements) => this.settle(channel, batch, settlements),
      release: async (batch) => batch.forEach(({ message }) => message.nak()),
      keepAlive: (batch) => {
        const timer = setInterval(() => batch.forEach(({ message }) => message.working()), this.options.ackWaitMs / 2);
        return () => clearInterval(timer);
      },
      // An event channel carries other services' types too, and is read in order, retrying in place.
      ...(kind === 'event' && {
        semantics: { ordered: true, exclusive: false },
        retried: (delivery: Delivery, headers: Headers) => ({ ...delivery, headers }),
      }),
    };
  }

  /** A first message within a second (the client's shortest pull), then exactly as many more as JetStream says wait. */
  private async receive(durable: Consumer, signal: AbortSignal): Promise<Delivery[]> {
    const pulled = await pullPending(
      {
        first: () => durable.next({ expires: 1_000 }),
        more: (count) => durable.fetch({ max_messages: count, expires: 1_000 }),
        pendingAfter: (message) => message.info.pending,
      },
      this.spec.batch,
      signal,
    );
    return pulled.map((message) => ({ message, headers: deliveryHeadersOf(message) }));
  }

  private async settle(channel: string, batch: ReadonlyArray<Delivery>, settlements: ReadonlyArray<Settlement>): Promise<void> {
    const parked = batch.map(({ message }, i) => {
      const settlement = settlements[i];
      if (settlement.kind === 'ack') message.ack();
      else if (settlement.kind === 'retry') message.nak(settlement.delayMs);
      else if (settlement.kind === 'held') message.nak();
      else return this.park(channel, message, settlement.headers);
    });
    await Promise.all(parked);
  }

  /**
   * The copy's msgID is this group's delivery of that stream message: a consumer that dies between copy and term parks it
   * once (within the duplicate window). A copy not stored leaves the message to come back after the ack wait.
   */
  private async park(channel: string, message: JsMsg, headers: Headers): Promise<void> {
    try {
      await this.session().js.publish(deadLetterSubjectOf(channel), message.data, {
        msgID: `${message.info.stream}:${message.seq}:${message.info.consumer}`,
        headers: toNatsHeaders(headers),
      });
      message.term();
    } catch (error) {
      this.options.logger.error(
        `nats consumer ${this.spec.consumer} ${channel}: a dead letter could not be parked; it comes back and fails again`,
        error,
      );
    }
  }
}
