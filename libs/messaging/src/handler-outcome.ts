/**
 * What a handler decided. Handlers return their outcome and never touch a channel or a consumer:
 * the consumer pipeline turns it into a commit, a delayed retry or a dead letter.
 */
export type HandlerOutcome =
  | { readonly kind: 'done' }
  | { readonly kind: 'retry'; readonly reason: string }
  | { readonly kind: 'dead-letter'; readonly reason: string };

export const Outcome = {
  done: (): HandlerOutcome => ({ kind: 'done' }),
  /** A transient failure: try again later, with backoff, until the attempts run out. */
  retry: (reason: string): HandlerOutcome => ({ kind: 'retry', reason }),
  /** A permanent failure: retrying cannot help, park the message for a human. */
  deadLetter: (reason: string): HandlerOutcome => ({ kind: 'dead-letter', reason }),
} as const;
