import { describe, expect, it } from '@jest/globals';
import { iamAllows, type IamPolicy } from './iam-policy.js';

describe('iamAllows, as IAM matches an action and a resource', () => {
  const policy: IamPolicy = {
    Version: '2012-10-17',
    Statement: [{ Sid: 'Send', Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: ['arn:aws:sqs:*:*:*billing_charge-order.fifo'] }],
  };

  it('takes `*` for any run of characters, and a dot as a dot', () => {
    expect(iamAllows(policy, 'sqs:SendMessage', 'arn:aws:sqs:eu-west-1:1:ns_billing_charge-order.fifo')).toBe(true);
    expect(iamAllows(policy, 'sqs:SendMessage', 'arn:aws:sqs:eu-west-1:1:billing_charge-order.fifo')).toBe(true);
    expect(iamAllows(policy, 'sqs:SendMessage', 'arn:aws:sqs:eu-west-1:1:billing_charge-orderxfifo')).toBe(false);
    expect(iamAllows(policy, 'sqs:SendMessage', 'arn:aws:sqs:eu-west-1:1:billing_charge-order.fifo.x')).toBe(false);
  });

  it('allows only the actions a statement names', () => {
    expect(iamAllows(policy, 'sqs:ReceiveMessage', 'arn:aws:sqs:eu-west-1:1:billing_charge-order.fifo')).toBe(false);
  });
});
