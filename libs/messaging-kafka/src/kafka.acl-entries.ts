// A grant as boxoffice writes it (tools/infra/kafka/acls.json holds a list of these) and as
// kafkajs's createAcls and deleteAcls take it. No import but kafkajs's types, and no path alias,
// so that infra:up (plain Node, possibly before npm ci) grants the committed file with this too;
// the caller hands in kafkajs itself.
import type kafkajs from 'kafkajs';
import type { AclEntry } from 'kafkajs';

/** What an ACL may allow, as Kafka names the operations (`kafka-acls --operation`). */
export type KafkaOperation = 'Read' | 'Write' | 'Create' | 'Delete' | 'Describe' | 'DescribeConfigs';

/** One grant: a principal may do these operations on the topics or groups named (exactly, or by prefix). */
export interface KafkaAcl {
  /** `User:<name>`, the SASL user. */
  readonly principal: string;
  readonly resource: 'topic' | 'group';
  readonly pattern: 'literal' | 'prefixed';
  readonly name: string;
  readonly operations: ReadonlyArray<KafkaOperation>;
}

/** The grant as kafkajs's entries, one per operation, with kafkajs's own enums (`kafka`: its default export). */
export function aclEntriesOf(acl: KafkaAcl, kafka: typeof kafkajs): AclEntry[] {
  const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafka;
  const operationTypes: Record<KafkaOperation, number> = {
    Read: AclOperationTypes.READ,
    Write: AclOperationTypes.WRITE,
    Create: AclOperationTypes.CREATE,
    Delete: AclOperationTypes.DELETE,
    Describe: AclOperationTypes.DESCRIBE,
    DescribeConfigs: AclOperationTypes.DESCRIBE_CONFIGS,
  };
  return acl.operations.map((operation) => ({
    resourceType: acl.resource === 'topic' ? AclResourceTypes.TOPIC : AclResourceTypes.GROUP,
    resourceName: acl.name,
    resourcePatternType: acl.pattern === 'literal' ? ResourcePatternTypes.LITERAL : ResourcePatternTypes.PREFIXED,
    principal: acl.principal,
    host: '*',
    operation: operationTypes[operation],
    permissionType: AclPermissionTypes.ALLOW,
  }));
}
