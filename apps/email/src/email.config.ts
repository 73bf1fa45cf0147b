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
   * The lease of a claim: a mail claimed for a send belongs to its claimant this long, renewed
   * while the send is in progress, so a slow send is never taken over by another sender. A claim
   * not renewed (its process died or stalled) passes to the resend sweep after this. A recorded
   * mail also waits this long for the sender of its own instance before the sweep takes it.
   */
  EMAIL_RESEND_AFTER_MS: env.positiveInt(60_000),
  /** How often each instance sweeps for mails due again (and prunes old sent ones). */
  EMAIL_RESEND_INTERVAL_MS: env.positiveInt(15_000),
  /**
   * Attempts at a mail before it is parked for a person (POST /emails/:id/retry). With the delays
   * below, 8 attempts span about an hour: longer than a mail server's usual restart or outage.
   */
  EMAIL_MAX_ATTEMPTS: env.positiveInt(8),
  /** The wait after a failed attempt, doubled per attempt up to the maximum (with jitter). */
  EMAIL_RETRY_INITIAL_DELAY_MS: env.positiveInt(30_000),
  EMAIL_RETRY_MAX_DELAY_MS: env.positiveInt(30 * 60_000),
  /**
   * Mails claimed and in flight at once. Above SMTP_MAX_CONNECTIONS, the rest wait in the SMTP
   * pool's queue, so a claim covers many mails at a time; their claims are renewed while they wait.
   */
  EMAIL_SEND_CONCURRENCY: env.positiveInt(100),
  /** Recorded mails waiting for a free slot; beyond it, they are left for the resend sweep. */
  EMAIL_SEND_QUEUE_LIMIT: env.positiveInt(10_000),
  /** At shutdown, how long the sends in flight may take to finish; what is unsent is sent again after its lease. */
  EMAIL_SHUTDOWN_GRACE_MS: env.positiveInt(3_000),
  /** Sent mails are kept this long (to look them up with GET /emails), then pruned by the sweep. */
  EMAIL_SENT_RETENTION_DAYS: env.positiveInt(30),
});

export type EmailConfig = z.infer<typeof emailConfigSchema>;
export const EMAIL_CONFIG = Symbol('EMAIL_CONFIG');
