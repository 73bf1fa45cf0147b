import { describe, expect, it } from '@jest/globals';
import { iamAllows, type IamPolicy } from '@boxoffice/messaging';
import { sqsPolicies } from './sqs.permissions.js';

/** Whether a policy allows `action` on the queue so named, in some region and account. */
const allows = (policy: IamPolicy, action: string, name: string) => iamAllows(policy, action, `arn:aws:sqs:eu-west-1:123456789012:${name}`);

describe('the SQS policies, read from the catalog', () => {
  const policies = sqsPolicies();

  it('let Checkout send Billing a command, and neither take it nor read its dead letters', () => {
    const checkout = policies.get('checkout')!;
    expect(allows(checkout, 'sqs:SendMessage', 'ns_billing_charge-order.fifo')).toBe(true);
    expect(allows(checkout, 'sqs:ReceiveMessage', 'billing_charge-order.fifo')).toBe(false);
    expect(allows(checkout, 'sqs:ReceiveMessage', 'billing_charge-order-dlq.fifo')).toBe(false);
    expect(allows(checkout, 'sqs:DeleteMessage', 'billing_charge-order')).toBe(false);
  });

  it('let Billing take and settle its commands, dead-letter them and read its dead letters', () => {
    const billing = policies.get('billing')!;
    for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:SendMessage'])
      for (const queue of ['billing_charge-order.fifo', 'ns_billing_charge-order-dlq'])
        expect([action, queue, allows(billing, action, queue)]).toEqual([action, queue, true]);
  });

  it('give the services that send and read no command no policy', () => {
    expect([...policies.keys()]).toEqual(['checkout', 'billing']);
  });
});
