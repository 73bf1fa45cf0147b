import type { Mail } from './mail.js';

/** What goes over the wire: the Message-ID is the caller's, so that every copy of a mail carries the same. */
export type OutgoingMail = Pick<Mail, 'to' | 'subject' | 'body'> & { readonly messageId: string };

/** Hands one mail to a mail server. Resolves once the server has accepted it. */
export interface Mailer {
  send(mail: OutgoingMail): Promise<void>;
}

/** The server refused this mail for good (an SMTP 5xx reply): sending it again would be refused too. */
export class PermanentMailError extends Error {}

export const MAILER = Symbol('MAILER');
