import type { OnApplicationShutdown } from '@nestjs/common';
import nodemailer, { type NodemailerError } from 'nodemailer';
import { PermanentMailError, type Mailer, type OutgoingMail } from './mailer.port.js';

export interface SmtpMailerOptions {
  readonly url: string;
  readonly from: string;
  readonly maxConnections: number;
  readonly timeoutMs: number;
}

/** Real mail over SMTP with nodemailer, through a pool of connections kept open between mails. */
export class SmtpMailer implements Mailer, OnApplicationShutdown {
  private readonly transport;

  constructor(options: SmtpMailerOptions) {
    this.transport = nodemailer.createTransport(
      {
        url: options.url,
        pool: true,
        maxConnections: options.maxConnections,
        // nodemailer's default closes a pooled connection after 100 mails; at a batch's rate that
        // is a new TCP and SMTP handshake every few milliseconds.
        maxMessages: Infinity,
        connectionTimeout: options.timeoutMs,
        greetingTimeout: options.timeoutMs,
        socketTimeout: options.timeoutMs,
      },
      { from: options.from },
    );
  }

  async send(mail: OutgoingMail): Promise<void> {
    try {
      await this.transport.sendMail({ to: mail.to, subject: mail.subject, text: mail.body, messageId: mail.messageId });
    } catch (error) {
      if ((error as NodemailerError).permanent) throw new PermanentMailError((error as Error).message);
      throw error;
    }
  }

  onApplicationShutdown(): void {
    this.transport.close();
  }
}
