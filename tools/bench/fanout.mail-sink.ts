import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * The far end of the Email service in the benchmark: an SMTP server that accepts every mail and
 * counts it. Email talks real SMTP to it over TCP (EHLO, MAIL, RCPT, DATA, ...), the same
 * conversation as with Mailpit. Written out by hand rather than with `smtp-server` (which the
 * tests use) because that one spends more CPU per mail than the nodemailer client sending it, and
 * on a two-core machine the benchmark's own sink must not be what it measures.
 */
export class FanoutMailSink {
  received = 0;
  private readonly server: Server = createServer((socket) => this.converse(socket));
  private readonly sockets = new Set<Socket>();

  async start(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `smtp://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.server.close();
    await once(this.server, 'close');
  }

  private converse(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setNoDelay(true);
    socket.write('220 fanout sink ready\r\n');
    let buffer = '';
    let inData = false;
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (;;) {
        if (inData) {
          // The mail ends with a line holding a single dot (RFC 5321 4.1.1.4).
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          buffer = buffer.slice(end + 5);
          inData = false;
          this.received += 1;
          socket.write('250 2.0.0 accepted\r\n');
          continue;
        }
        const eol = buffer.indexOf('\r\n');
        if (eol < 0) return;
        const verb = buffer.slice(0, 4).toUpperCase();
        buffer = buffer.slice(eol + 2);
        if (verb === 'DATA') {
          inData = true;
          buffer = `\r\n${buffer}`; // so that an empty mail's terminator is found too
          socket.write('354 end with <CRLF>.<CRLF>\r\n');
        } else if (verb === 'QUIT') {
          socket.end('221 bye\r\n');
          return;
        } else {
          socket.write(verb === 'EHLO' ? '250 fanout-sink\r\n' : '250 ok\r\n');
        }
      }
    });
  }
}
