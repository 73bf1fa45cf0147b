import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  readonly to: string[];
  readonly subject: string;
  readonly messageId: string;
  readonly text: string;
}

/** What the server answers to a mail: accept it, or refuse it with an SMTP reply code. */
export type Verdict = { readonly accept: true } | { readonly accept: false; readonly code: number; readonly message: string };

/**
 * A real SMTP server inside the test process: the service under test sends over a socket with
 * nodemailer, exactly as to Mailpit or a provider, and the test reads what arrived. `decide` lets
 * a test refuse mail for a while (4xx: try later; 5xx: never); `sendDelayMs` makes it slow.
 */
export class TestSmtpServer {
  readonly received: ReceivedMail[] = [];
  decide: (mail: ReceivedMail) => Verdict = () => ({ accept: true });
  /**
   * How long the server works on each mail before it answers, as a server with a slow content
   * filter before its queue: a client that hangs up meanwhile never got the answer, so the mail is
   * not delivered (Postfix's before-queue filters do the same), and a mail counts once it is answered.
   */
  sendDelayMs = 0;
  private readonly server: SMTPServer;
  private readonly hungUp = new Set<string>();

  constructor() {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      // Its greeting waits for a reverse DNS lookup of the client otherwise: half a second here.
      disableReverseLookup: true,
      // Its own idle timeout (60 s by default) must not end a connection that waits out sendDelayMs.
      socketTimeout: 10 * 60_000,
      onClose: (session, callback) => {
        this.hungUp.add(session.id);
        callback();
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const mail = parse(
            Buffer.concat(chunks).toString('utf8'),
            session.envelope.rcptTo.map((r) => r.address),
          );
          const answer = () => {
            const verdict = this.decide(mail);
            if (this.hungUp.has(session.id)) {
              callback(new Error('the client hung up before the answer'));
            } else if (verdict.accept) {
              this.received.push(mail);
              callback();
            } else {
              callback(Object.assign(new Error(verdict.message), { responseCode: verdict.code }));
            }
          };
          if (this.sendDelayMs > 0) setTimeout(answer, this.sendDelayMs).unref();
          else answer();
        });
      },
    });
  }

  /** Listens on a free port of 127.0.0.1; returns the URL to give the service as SMTP_URL. */
  async start(): Promise<string> {
    // A client that hangs up mid-conversation (a spec killing Email) is expected, not a failure.
    this.server.on('error', () => {});
    const listening = this.server.listen(0, '127.0.0.1');
    await once(listening, 'listening');
    return `smtp://127.0.0.1:${(listening.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  to(address: string): ReceivedMail[] {
    return this.received.filter((mail) => mail.to.includes(address));
  }
}

/** Just enough of RFC 5322 for tests: unfolded headers, then the body as sent (plain ASCII text). */
function parse(raw: string, to: string[]): ReceivedMail {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const header = (name: string) => new RegExp(`^${name}: (.*)$`, 'im').exec(head)?.[1]?.trim() ?? '';
  return {
    to,
    subject: header('Subject'),
    messageId: header('Message-ID'),
    text: raw
      .slice(split + 4)
      .replace(/\r\n/g, '\n')
      .trim(),
  };
}
