import type { z } from 'zod';

/** A command asks exactly one service to do something; an event says something happened. */
export type MessageKind = 'command' | 'event';

export interface MessageDefinition<Schema extends z.ZodType = z.ZodType> {
  readonly type: string;
  readonly version: number;
  readonly kind: MessageKind;
  readonly schema: Schema;
  readonly description: string;
}

export type PayloadOf<Definition extends MessageDefinition> = z.infer<Definition['schema']>;

export function defineMessage<Schema extends z.ZodType>(definition: MessageDefinition<Schema>): MessageDefinition<Schema> {
  return Object.freeze(definition);
}
