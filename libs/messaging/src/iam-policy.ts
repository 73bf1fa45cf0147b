/**
 * An AWS IAM policy document, as the transports on AWS (SQS, Kinesis) write out the one each
 * service's role needs (sqs.permissions.ts, kinesis.permissions.ts).
 */
export interface IamPolicy {
  readonly Version: '2012-10-17';
  readonly Statement: ReadonlyArray<IamStatement>;
}

export interface IamStatement {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Action: ReadonlyArray<string>;
  readonly Resource: ReadonlyArray<string>;
}

/** Whether the policy allows `action` on the resource `arn`, as IAM matches a resource: `*` is any run of characters, `?` any one. */
export function iamAllows(policy: IamPolicy, action: string, arn: string): boolean {
  const matches = (pattern: string) =>
    new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    ).test(arn);
  return policy.Statement.some((statement) => statement.Action.includes(action) && statement.Resource.some(matches));
}
