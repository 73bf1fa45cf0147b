/** A mail as the service composes it from an event, before it is recorded and sent. */
export interface Mail {
  readonly kind: 'welcome' | 'receipt' | 'apology';
  readonly to: string;
  readonly subject: string;
  readonly body: string;
}
