// `npm start`'s stand-in for Mailpit: an SMTP server on 127.0.0.1:1025 that accepts every mail
// and prints who it is for and its subject, so the Email service's mails are visible in the
// terminal. When something already listens there (Mailpit, say), it leaves it be.
import { createConnection } from 'node:net';
import { SMTPServer } from 'smtp-server';

const port = Number(process.env.MAIL_SINK_PORT ?? 1025);

const taken = await new Promise<boolean>((resolve) => {
  const probe = createConnection({ host: '127.0.0.1', port }, () => {
    probe.end();
    resolve(true);
  });
  probe.on('error', () => resolve(false));
});
if (taken) {
  console.log(`an SMTP server already listens on 127.0.0.1:${port}; mail goes there`);
} else {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      stream.on('end', () => {
        const subject = /^Subject: (.*)$/m.exec(raw)?.[1] ?? '(no subject)';
        const to = session.envelope.rcptTo.map((r) => r.address).join(', ');
        console.log(`mail to ${to}: ${subject}`);
        callback();
      });
    },
  });
  // A client that hangs up mid-mail (Email stopped by Ctrl-C) is no reason to stop catching mail.
  server.on('error', (error) => console.log(`mail sink: ${error.message}`));
  server.listen(port, '127.0.0.1', () => console.log(`catching mail on smtp://127.0.0.1:${port}`));
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
