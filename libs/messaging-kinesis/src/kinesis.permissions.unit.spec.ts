import { describe, expect, it } from '@jest/globals';
import { kinesisPolicies, type KinesisPolicy } from './kinesis.permissions.js';

/** Whether a policy allows `action` on a stream named so: IAM's `*` matches any run of characters. */
function allows(policy: KinesisPolicy, action: string, stream: string): boolean {
  const matches = (pattern: string) =>
    new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(
      `arn:aws:kinesis:eu-west-1:123456789012:stream/${stream}`,
    );
  return policy.Statement.some((s) => s.Action.includes(action) && s.Resource.some(matches));
}

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
