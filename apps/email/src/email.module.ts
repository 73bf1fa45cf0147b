import { brokerSettings, createServiceDatabase, HealthController, provideMessaging, providePrisma } from '@boxoffice/platform';
import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { EMAIL_CONFIG, type EmailConfig } from './email.config.js';
import { emailHandlers } from './email.handlers.js';
import { EmailsController } from './emails/emails.controller.js';
import { PrismaClient } from './generated/prisma/client.js';
import { MailOutbox } from './mail/mail.outbox.js';
import { MAILER } from './mail/mailer.port.js';
import { SentEmails } from './mail/sent-emails.js';
import { SmtpMailer } from './mail/smtp.mailer.js';
import { NotificationMailHandler } from './notifications/notification-mail.handler.js';

@Module({})
export class EmailModule {
  static register(config: EmailConfig): DynamicModule {
    return {
      module: EmailModule,
      imports: [TerminusModule],
      controllers: [HealthController, EmailsController],
      providers: [
        { provide: EMAIL_CONFIG, useValue: config },
        ...providePrisma(() =>
          createServiceDatabase(PrismaClient, config.DATABASE_URL, config.DATABASE_POOL_SIZE ?? config.KAFKA_CONCURRENCY + 5),
        ),
        ...provideMessaging({
          service: 'email',
          databaseUrl: config.DATABASE_URL,
          brokers: brokerSettings(config),
          concurrency: { [config.EVENT_TRANSPORT]: config.KAFKA_CONCURRENCY },
          handlers: emailHandlers,
        }),
        {
          provide: MAILER,
          useValue: new SmtpMailer({
            url: config.SMTP_URL,
            from: config.MAIL_FROM,
            maxConnections: config.SMTP_MAX_CONNECTIONS,
            timeoutMs: config.SMTP_TIMEOUT_MS,
          }),
        },
        SentEmails,
        MailOutbox,
        NotificationMailHandler,
      ],
    };
  }
}
