import { afterEach, describe, expect, it } from '@jest/globals';
import type { LoggerService } from '@nestjs/common';
import { MailSender } from './mail.sender.js';
import type { ClaimedMail } from './sent-emails.js';

const quiet: LoggerService = { log() {}, warn() {}, error() {} };

/** A sender whose every send waits until the spec releases it. */
function senderWithHeldSends(concurrency: number) {
  const held: Array<() => void> = [];
  const mailOf = (eventId: string): ClaimedMail => ({
    id: eventId,
    eventId,
    claimToken: `token-${eventId}`,
    to: 'buyer@example.com',
    subject: 'Hi',
    body: 'Hello',
    attempts: 1,
  });
  const sender = new MailSender({
    claim: async (eventIds) => eventIds.map(mailOf),
    attempt: () => new Promise<void>((release) => held.push(release)),
    renew: async () => undefined,
    renewEveryMs: 60_000,
    concurrency,
    queueLimit: 100,
    spill: () => {},
    logger: quiet,
  });
  const inFlight = async (n: number) => {
    for (let turn = 0; turn < 100 && held.length < n; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(held.length).toBe(n);
  };
  return { sender, held, inFlight };
}

/** Whether a promise has settled, after the microtasks and immediates in flight have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('MailSender.whenFree, which the resend sweep waits on while a backlog fills every slot', () => {
  let stop: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await stop?.();
    stop = null;
  });

  it('resolves once as many slots as asked for are free, not at the first', async () => {
    const { sender, held, inFlight } = senderWithHeldSends(4);
    stop = () => sender.stop(0);
    sender.offer(['a', 'b', 'c', 'd']);
    await inFlight(4);
    expect(sender.free).toBe(0);

    const twoFree = sender.whenFree(2, new AbortController().signal);
    held.shift()!();
    await expect(settled(twoFree)).resolves.toBe(false);
    held.shift()!();
    await expect(settled(twoFree)).resolves.toBe(true);
    expect(sender.free).toBe(2);
  });

  it('resolves when the sender stops or the signal aborts, so a sweep never hangs on it', async () => {
    const { sender, inFlight } = senderWithHeldSends(1);
    sender.offer(['a']);
    await inFlight(1);
    const aborted = new AbortController();
    const onAbort = sender.whenFree(1, aborted.signal);
    const onStop = sender.whenFree(1, new AbortController().signal);
    aborted.abort();
    await expect(settled(onAbort)).resolves.toBe(true);
    await expect(settled(onStop)).resolves.toBe(false);
    await sender.stop(0);
    await expect(settled(onStop)).resolves.toBe(true);
  });
});
