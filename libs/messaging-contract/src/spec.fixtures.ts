import { defineMessage, type MessageDefinition, type MessageKind } from '@boxoffice/contracts';
import { ConsumerPipeline, PgTransactionRunner, type MessageHandler, type RetryPolicy, type SqlExecutor } from '@boxoffice/messaging';
import { uniqueName, type TestDatabase } from '@boxoffice/testing';
import { z } from 'zod';

const numbered = z.object({ key: z.string(), seq: z.number().int().nonnegative() });

/** The payload of a spec's numbered message: the key it travels on, and its place in what the spec sends. */
export type Numbered = z.infer<typeof numbered>;

/**
 * A numbered message on a key, for a transport's specs: a type of its own per spec, so that no
 * spec takes another's messages for its own.
 */
export function numberedMessage(type: string, kind: MessageKind): MessageDefinition<typeof numbered> {
  return defineMessage({ type, version: 1, kind, description: `A numbered ${kind} on a key, for a transport's specs.`, schema: numbered });
}

export interface NumberedPipelineOptions {
  /** The pipeline's inbox key: fresh unless given, so that a consumer reading a channel again sees its messages again. */
  readonly consumer?: string;
  readonly retryPolicy?: RetryPolicy;
}

/** The pipeline a transport's spec consumes with: `handler` for its numbered messages, in transactions on the spec's own database. */
export function numberedPipeline(
  db: TestDatabase,
  message: MessageDefinition<typeof numbered>,
  handler: MessageHandler<Numbered, SqlExecutor>,
  { consumer = uniqueName('spec'), retryPolicy }: NumberedPipelineOptions = {},
): ConsumerPipeline<SqlExecutor> {
  return new ConsumerPipeline<SqlExecutor>({
    consumer,
    handlers: [{ message, handler }],
    database: new PgTransactionRunner(db.pool),
    retryPolicy,
  });
}
