import { AckPolicy, DeliverPolicy, type Consumer, type JsMsg } from '@nats-io/jetstream';
import type { MessageKind } from '@boxoffice/contracts';
import { LaneConsumer, pullPending, renewEvery } from '@boxoffice/messaging';
import type { ConsumerSpec, Headers, Lane, PendingSource, Settlement } from '@boxoffice/messaging';
import type { NatsTransportOptions } from './nats.transport.js';
import { deadLetterSubjectOf, deliveryHeadersOf, natsNameOf, streamOf, toNatsHeaders, type JetStreamSession } from './nats.streams.js';

/** What a consumer takes of its transport's options (NatsTransportOptions says what each is). */
export interface NatsConsumerOptions extends Pick<NatsTransportOptions, 'kindOf' | 'retryPolicy' | 'ackWaitMs' | 'logger'> {
  /** Makes sure of a channel's streams: a consumer may start before anyone provisioned them. */
  readonly provision: (channel: string) => Promise<void>;
}

/**
 * A service's consumer of JetStream streams: the runtime's lanes on durable pull consumers, read from the start. A
 * command channel has `concurrency` lanes on the durable its instances share (competing consumers, in no order); an
 * event channel one lane per instance on its group's durable, read as a log: a retry waits in place, nothing after it
 * goes first. Settlements: ack; retry → nak with the delay (the same message again, one delivery more); dead-letter →
 * a copy with its failure record to `<channel>.dlq`, then term; held → nak.
 */
export class NatsConsumer extends LaneConsumer<JsMsg> {
  private readonly ackWaitMs = this.options.ackWaitMs ?? 30_000;

  constructor(
    private readonly session: () => JetStreamSession,
    spec: ConsumerSpec,
    private readonly options: NatsConsumerOptions,
  ) {
    // A command is this service's alone (a type it has no handler for is poison); an event lane says otherwise.
    super('nats', spec, { semantics: { ordered: false, exclusive: true }, logger: options.logger });
  }

  protected async lanes(): Promise<Array<Lane<JsMsg>>> {
    const { js, jsm } = this.session();
    const config = {
      durable_name: natsNameOf(this.spec.consumer),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: this.ackWaitMs * 1e6,
      max_deliver: 2 * this.options.retryPolicy.maxAttempts,
    };
    const lanes: Array<Lane<JsMsg>> = [];
    for (const channel of this.spec.channels) {
      await this.options.provision(channel);
      const info = await jsm.consumers.add(streamOf(channel), config);
      const kind = this.options.kindOf(channel);
      for (let i = 0; i < (kind === 'command' ? this.spec.concurrency : 1); i++)
        lanes.push(this.lane(channel, js.consumers.getConsumerFromInfo(info), kind));
    }
    return lanes;
  }

  private lane(channel: string, durable: Consumer, kind: MessageKind): Lane<JsMsg> {
    // A first message within a second (the client's shortest pull), then exactly as many more as JetStream says wait.
    const pending: PendingSource<JsMsg> = {
      first: () => durable.next({ expires: 1_000 }),
      more: (count) => durable.fetch({ max_messages: count, expires: 1_000 }),
      pendingAfter: (message) => message.info.pending,
    };
    return {
      source: channel,
      receive: (signal) => pullPending(pending, this.spec.batch, signal),
      inbound: (message) => ({ body: message.string(), headers: deliveryHeadersOf(message) }),
      settle: (batch, settlements) => this.settle(channel, batch, settlements),
      release: async (batch) => batch.forEach((message) => message.nak()),
      keepAlive: (batch) => renewEvery(this.ackWaitMs / 2, () => batch.forEach((message) => message.working())),
      // An event channel carries other services' types too, and is read in order, retrying in place.
      ...(kind === 'event' && { semantics: { ordered: true, exclusive: false }, retriesInPlace: true }),
    };
  }

  private async settle(channel: string, batch: ReadonlyArray<JsMsg>, settlements: ReadonlyArray<Settlement>): Promise<void> {
    const parked = batch.map((message, i) => {
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
      this.logger.error(`${this.label} ${channel}: a dead letter could not be parked; it comes back and fails again`, error);
    }
  }
}
