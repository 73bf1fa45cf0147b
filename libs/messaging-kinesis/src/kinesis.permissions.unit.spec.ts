import { describe, expect, it } from '@jest/globals';
import { iamAllows, type IamPolicy } from '@boxoffice/messaging';
import { kinesisPolicies } from './kinesis.permissions.js';

/** Whether a policy allows `action` on the stream so named, in some region and account. */
const allows = (policy: IamPolicy, action: string, name: string) =>
  iamAllows(policy, action, `arn:aws:kinesis:eu-west-1:123456789012:stream/${name}`);

describe('the Kinesis policies, read from the catalog', () => {
  const policies = kinesisPolicies();

  it('let only Billing write the payments stream', () => {
    const writers = [...policies]
      .filter(([, policy]) => allows(policy, 'kinesis:PutRecords', 'ns.boxoffice.payments'))
      .map(([service]) => service);
    expect(writers).toEqual(['billing']);
  });

  it('let only Checkout write the orders, users and concerts streams', () => {
    for (const stream of ['boxoffice.orders', 'boxoffice.users', 'boxoffice.concerts']) {
      const writers = [...policies].filter(([, policy]) => allows(policy, 'kinesis:PutRecords', stream)).map(([service]) => service);
      expect({ stream, writers }).toEqual({ stream, writers: ['checkout'] });
    }
  });

  it('let each service read what it subscribes to and its own dead letters, and no one else’s', () => {
    const email = policies.get('email')!;
    expect(allows(email, 'kinesis:GetRecords', 'ns.boxoffice.orders')).toBe(true);
    expect(allows(email, 'kinesis:GetRecords', 'ns.boxoffice.payments')).toBe(false);
    expect(allows(email, 'kinesis:PutRecords', 'ns.boxoffice.orders.ns.email.dlt')).toBe(true);
    expect(allows(email, 'kinesis:GetRecords', 'ns.boxoffice.orders.ns.audit.dlt')).toBe(false);
  });
});
