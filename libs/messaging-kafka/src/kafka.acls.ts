import { catalog, channelsOf, servicesOf, type CatalogEntry, type ServiceName } from '@boxoffice/contracts';
import { deadLetterLogOf, Routing } from '@boxoffice/messaging';
import kafkajs, { type Admin } from 'kafkajs';
import { aclEntriesOf, type KafkaAcl, type KafkaOperation } from './kafka.acl-entries.js';
import { readerGroupPrefix } from './kafka.topic-reader.js';

export type { KafkaAcl, KafkaOperation };

/** The principal of a service's account on Kafka (libs/config's developmentAccountOf names it). */
export function kafkaPrincipalOf(service: ServiceName): string {
  return `User:boxoffice-${service}`;
}

// Creating a topic a service uses is part of starting (provision creates what is missing, and
// the consumer creates its dead-letter topics); reading its retention is part of its depth check.
const SEND: ReadonlyArray<KafkaOperation> = ['Write', 'Describe', 'Create', 'DescribeConfigs'];
const READ: ReadonlyArray<KafkaOperation> = ['Read', 'Describe', 'Create', 'DescribeConfigs'];
const DEAD_LETTERS: ReadonlyArray<KafkaOperation> = ['Write', 'Read', 'Describe', 'Create', 'DescribeConfigs'];

/**
 * What each service's Kafka account may do, read from the catalog and nowhere else: a new
 * message line changes them (npm run brokers:accounts writes them out for the brokers; a spec
 * checks that what is committed is what the catalog says). Kafka carries the events:
 *
 *   a topic the service publishes to   write it (only Billing writes `payments`; only Checkout
 *                                      `orders`, `users` and `concerts`)
 *   a topic the service reads          read it, as its own consumer group, which it alone may
 *                                      join; write and read its group's dead-letter topic of it
 *   both                               create the topic if it is missing, describe it
 *
 * Everything else is refused: Kafka's authorizer allows nothing without an ACL. Kafka has no
 * wildcard in the middle of a name, so a namespace (BOXOFFICE_NAMESPACE) gets ACLs of its own:
 * infra:up grants the un-namespaced system's, an end-to-end system grants its namespace's and
 * revokes them when it is torn down.
 */
export function kafkaAcls({
  namespace = '',
  entries = catalog,
  principalsOf = (service) => [kafkaPrincipalOf(service)],
}: KafkaAclOptions = {}): KafkaAcl[] {
  const routing = new Routing({ namespace, entries });
  const acls: KafkaAcl[] = [];
  for (const service of servicesOf(entries)) {
    const { sends, reads } = channelsOf(service, 'event', entries);
    const topic = (name: string, operations: ReadonlyArray<KafkaOperation>): Omit<KafkaAcl, 'principal'> => ({
      resource: 'topic',
      pattern: 'literal',
      name,
      operations,
    });
    const group = routing.consumerGroupOf(service);
    const grants: Array<Omit<KafkaAcl, 'principal'>> = [];
    for (const channel of sends.filter((name) => !reads.includes(name))) grants.push(topic(routing.nameOf(channel), SEND));
    for (const channel of reads) {
      grants.push(topic(routing.nameOf(channel), sends.includes(channel) ? [...new Set([...SEND, ...READ])] : READ));
      grants.push(topic(deadLetterLogOf(routing.nameOf(channel), group), DEAD_LETTERS));
    }
    if (reads.length > 0) {
      grants.push({ resource: 'group', pattern: 'literal', name: group, operations: ['Read', 'Describe'] });
      // A rebuild reads a topic to its end in a throwaway group of its own (kafka.topic-reader.ts).
      grants.push({ resource: 'group', pattern: 'prefixed', name: readerGroupPrefix, operations: ['Read', 'Describe', 'Delete'] });
    }
    for (const principal of principalsOf(service)) acls.push(...grants.map((grant) => ({ principal, ...grant })));
  }
  return acls;
}

export interface KafkaAclOptions {
  /** BOXOFFICE_NAMESPACE of the system the ACLs are for; empty for the catalog's names as they are. */
  readonly namespace?: string;
  /** The catalog; libs/contracts' whole catalog unless a spec gives its own. */
  readonly entries?: ReadonlyArray<CatalogEntry>;
  /** The principals that get a service's ACLs: its development account's unless said (compose adds its own account's). */
  readonly principalsOf?: (service: ServiceName) => ReadonlyArray<string>;
}

/** Adds the ACLs (with the operator's account, a super user). Kafka keeps one copy of a grant made twice. */
export async function grantKafkaAcls(admin: Admin, acls: ReadonlyArray<KafkaAcl>): Promise<void> {
  if (acls.length > 0) await admin.createAcls({ acl: acls.flatMap((grant) => aclEntriesOf(grant, kafkajs)) });
}

/**
 * The grants that name the namespace's own topics and groups: what tearing the namespace down
 * revokes. The reader groups' prefix is the same for every system, so it stays granted.
 */
export function kafkaAclsOwnedBy(namespace: string): KafkaAcl[] {
  return kafkaAcls({ namespace }).filter((acl) => acl.name.startsWith(`${namespace}.`));
}

/** Removes exactly these ACLs, and no other. */
export async function revokeKafkaAcls(admin: Admin, acls: ReadonlyArray<KafkaAcl>): Promise<void> {
  if (acls.length > 0) await admin.deleteAcls({ filters: acls.flatMap((grant) => aclEntriesOf(grant, kafkajs)) });
}
