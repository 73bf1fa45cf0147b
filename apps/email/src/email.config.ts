import { env, serviceEnv } from '@boxoffice/config';
import { z } from 'zod';

export const emailConfigSchema = z.object({
  ...serviceEnv('email', 3002),
  /**
   * Kafka partitions this instance handles at once; within a partition, events are handled one
   * after the other, in order. More than the partitions it owns buys nothing.
   */
  KAFKA_CONCURRENCY: env.positiveInt(3),
  /** Where mail is sent. docker-compose.yml points it at Mailpit (UI on http://localhost:8025). */
  SMTP_URL: env.url(['smtp:', 'smtps:'], 'smtp://127.0.0.1:1025'),
  MAIL_FROM: z.string().min(3).default('boxoffice <tickets@boxoffice.example>'),
  /** Pooled SMTP connections: a batch's mails are sent over all of them at once. */
  SMTP_MAX_CONNECTIONS: env.positiveInt(10),
  /** Connecting, the greeting and every silence on the socket each give up after this long. */
  SMTP_TIMEOUT_MS: env.positiveInt(10_000),
  /**
   * A mail still SENDING this long after its last attempt is sent again. It must be longer than
   * any send can take: until then the attempt in progress owns the mail. The resend is also what
   * delivers a mail whose process died between recording it and sending it.
   */
  EMAIL_RESEND_AFTER_MS: env.positiveInt(60_000),
  /** How often each instance looks for such mails. */
  EMAIL_RESEND_INTERVAL_MS: env.positiveInt(15_000),
});

export type EmailConfig = z.infer<typeof emailConfigSchema>;
export const EMAIL_CONFIG = Symbol('EMAIL_CONFIG');
