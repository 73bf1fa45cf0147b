import type { Envelope, MessageDefinition, PayloadOf } from '@boxoffice/contracts';
import { systemClock, uuidV7, type Clock, type IdGenerator } from './clock.js';

export interface EnvelopeOptions {
  /** The message this one is a consequence of: its id becomes causationId, its correlationId is kept. */
  causedBy?: Pick<Envelope, 'id' | 'correlationId' | 'traceparent'>;
  correlationId?: string;
  traceparent?: string;
}

/** Builds envelopes for one service, validating the payload against its definition first. */
export class EnvelopeFactory {
  constructor(
    private readonly source: string,
    private readonly clock: Clock = systemClock,
    private readonly newId: IdGenerator = uuidV7,
  ) {}

  create<Definition extends MessageDefinition>(
    definition: Definition,
    payload: PayloadOf<Definition>,
    options: EnvelopeOptions = {},
  ): Envelope<PayloadOf<Definition>> {
    const id = this.newId();
    const traceparent = options.traceparent ?? options.causedBy?.traceparent;
    return {
      id,
      type: definition.type,
      version: definition.version,
      occurredAt: this.clock.now().toISOString(),
      source: this.source,
      correlationId: options.causedBy?.correlationId ?? options.correlationId ?? id,
      causationId: options.causedBy?.id ?? null,
      ...(traceparent ? { traceparent } : {}),
      payload: definition.schema.parse(payload) as PayloadOf<Definition>,
    };
  }
}
