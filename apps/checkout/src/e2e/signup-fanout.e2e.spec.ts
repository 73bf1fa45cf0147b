import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { developmentSecrets } from '@boxoffice/config';
import { TestSystem, type ServiceProcess } from '@boxoffice/e2e';
import { TestSmtpServer, waitFor } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';

// Publish/subscribe: Checkout publishes one UserRegistered; Email, Analytics and Audit each
// consume it in their own consumer group, at their own pace, and one being down holds up no other.
describe('a sign-up, fanned out to Email, Analytics and Audit', () => {
  const system = new TestSystem();
  const inbox = new TestSmtpServer();
  let emailEnv: Record<string, string>;
  let checkout: ServiceProcess;
  let email: ServiceProcess;
  let analytics: ServiceProcess;
  let audit: ServiceProcess;

  beforeAll(async () => {
    emailEnv = { SMTP_URL: await inbox.start() };
    [checkout, email, analytics, audit] = await Promise.all([
      system.start('checkout'),
      system.start('email', emailEnv),
      system.start('analytics'),
      system.start('audit'),
    ]);
  });
  afterAll(async () => {
    await system.teardown();
    await inbox.stop();
  });

  const signUp = async (address = `${randomUUID()}@example.com`) => {
    const response = await post(checkout, '/users', { email: address, name: 'Ada' });
    expect(response.status).toBe(202);
    return { email: address, ...((await response.json()) as { userId: string; status: string }) };
  };
  const signups = async () => ((await get(analytics, '/stats')) as { signups: { total: number } }).signups.total;
  const auditOf = async (userId: string) =>
    ((await get(audit, `/audit?actor=${userId}`)) as { entries: Array<Record<string, unknown>> }).entries;
  const mailsTo = (address: string) =>
    waitFor(
      () => inbox.to(address),
      (mails) => mails.length > 0,
      { description: `a mail to ${address}` },
    );

  it('gives one welcome mail, one more sign-up in the stats and one audit entry', async () => {
    const before = await signups();
    const user = await signUp();
    expect(user).toEqual({ email: user.email, userId: expect.any(String), status: 'REGISTERED' });

    await waitFor(signups, (total) => total === before + 1, { description: 'Analytics to count the sign-up' });
    const [entry] = await waitFor(
      () => auditOf(user.userId),
      (entries) => entries.length > 0,
      { description: 'the audit entry' },
    );
    expect(entry).toMatchObject({
      type: 'UserRegistered',
      actor: user.userId,
      ip: '127.0.0.1',
      topic: expect.stringMatching(/\.boxoffice\.users$/),
    });
    expect(await mailsTo(user.email)).toEqual([expect.objectContaining({ subject: 'Welcome to boxoffice, Ada' })]);
    const { emails } = (await get(email, `/emails?to=${user.email}`)) as { emails: Array<{ kind: string; status: string }> };
    expect(emails).toEqual([expect.objectContaining({ kind: 'welcome', status: 'SENT' })]);
  });

  it('refuses a second sign-up with the same address (409) and bad input with the fields at fault (400)', async () => {
    const { email: address } = await signUp();
    expect((await post(checkout, '/users', { email: address.toUpperCase(), name: 'Again' })).status).toBe(409);
    const bad = await post(checkout, '/users', { email: 'not-an-address', name: '' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: Array<{ field: string }> }).errors.map((e) => e.field).sort()).toEqual(['email', 'name']);
  });

  describe('when Email is stopped for a while', () => {
    it('Analytics and Audit carry on, and Email catches up when it is back', async () => {
      const earlier = await signUp();
      await mailsTo(earlier.email);
      // Exit code 1 would be the shutdown deadline: something (an SMTP connection, the resend sweep) held it open.
      expect(await email.stop()).not.toBe(1);

      const before = await signups();
      const users = [await signUp(), await signUp(), await signUp()];
      await waitFor(signups, (total) => total === before + 3, { description: 'Analytics to count the sign-ups while Email is down' });
      for (const user of users)
        await waitFor(
          () => auditOf(user.userId),
          (entries) => entries.length === 1,
          { description: 'the audit entries' },
        );
      expect(users.flatMap((user) => inbox.to(user.email))).toEqual([]);

      email = await system.start('email', emailEnv);
      for (const user of users) expect(await mailsTo(user.email)).toHaveLength(1);
      expect(inbox.to(earlier.email)).toHaveLength(1);
    });
  });

  describe('when two Analytics instances share the consumer group', () => {
    it('they split the partitions between them and count each event once', async () => {
      const instance = async (process: ServiceProcess) =>
        (await get(process, '/stats/instance')) as { processed: number; duplicates: number };
      const firstBefore = await instance(analytics);
      const second = await system.start('analytics');

      const before = await signups();
      for (let i = 0; i < 30; i += 1) await signUp();
      await waitFor(signups, (total) => total === before + 30, { description: 'the 30 sign-ups to be counted' });

      const first = await instance(analytics);
      const other = await instance(second);
      // 30 users keyed by random ids land on all three partitions; each instance owns some of them.
      expect(first.processed - firstBefore.processed).toBeGreaterThan(0);
      expect(other.processed).toBeGreaterThan(0);
      expect(first.processed - firstBefore.processed + other.processed).toBe(30);
      expect(first.duplicates + other.duplicates).toBe(firstBefore.duplicates);
    });
  });
});

function post(service: ServiceProcess, path: string, body: unknown) {
  return fetch(`${service.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** With the development admin key: the audit log and the mails are personal data, for the operator only. */
async function get(service: ServiceProcess, path: string): Promise<unknown> {
  const response = await fetch(`${service.url}${path}`, { headers: { 'x-admin-key': developmentSecrets.ADMIN_API_KEY } });
  if (!response.ok) throw new Error(`GET ${path} answered ${response.status}: ${await response.text()}`);
  return response.json();
}
