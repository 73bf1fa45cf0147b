import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import nodemailer from 'nodemailer';
import { TestSmtpServer } from './smtp.test-server.js';
import { waitFor } from './wait-for.js';

const mail = { from: 'boxoffice@example.com', to: 'ada@example.com', subject: 'Slow', text: 'Hello', messageId: '<slow@example.com>' };

describe('TestSmtpServer, when it is slow', () => {
  let server: TestSmtpServer;
  let url: string;
  beforeEach(async () => {
    server = new TestSmtpServer();
    url = await server.start();
  });
  afterEach(() => server.stop());

  it('answers each mail only after sendDelayMs', async () => {
    server.sendDelayMs = 400;
    const started = performance.now();
    await nodemailer.createTransport({ url }).sendMail(mail);
    expect(performance.now() - started).toBeGreaterThanOrEqual(400);
    expect(server.received.map((received) => received.messageId)).toEqual(['<slow@example.com>']);
  });

  it('does not deliver a mail whose client hung up before the answer', async () => {
    server.sendDelayMs = 1_000;
    let decided = 0;
    server.decide = () => (decided++, { accept: true });
    const impatient = nodemailer.createTransport({ url, socketTimeout: 300 });
    await expect(impatient.sendMail(mail)).rejects.toThrow();
    await waitFor(
      () => decided,
      (n) => n === 1,
      { description: 'the server to be done with the mail' },
    );
    expect(server.received).toEqual([]);
  });
});
