import { describe, expect, it } from '@jest/globals';
import { catalog, PaymentCaptured, type CatalogEntry } from '@boxoffice/contracts';
import { kafkaAcls, kafkaAclsOwnedBy, type KafkaAcl } from './kafka.acls.js';

/** The topics (by name) a principal may do `operation` on. */
function topicsWhere(acls: ReadonlyArray<KafkaAcl>, principal: string, operation: KafkaAcl['operations'][number]): string[] {
  return acls
    .filter((acl) => acl.principal === principal && acl.resource === 'topic' && acl.operations.includes(operation))
    .map((acl) => acl.name)
    .sort();
}

describe('the Kafka ACLs, read from the catalog', () => {
  const acls = kafkaAcls();

  it('let only Billing write payments, and only Checkout orders, users and concerts', () => {
    expect(topicsWhere(acls, 'User:boxoffice-billing', 'Write').filter((topic) => !topic.endsWith('.dlt'))).toEqual(['boxoffice.payments']);
    expect(topicsWhere(acls, 'User:boxoffice-checkout', 'Write').filter((topic) => !topic.endsWith('.dlt'))).toEqual([
      'boxoffice.concerts',
      'boxoffice.orders',
      'boxoffice.users',
    ]);
    for (const service of ['email', 'analytics', 'audit'])
      expect(topicsWhere(acls, `User:boxoffice-${service}`, 'Write').every((topic) => topic.endsWith(`.${service}.dlt`))).toBe(true);
  });

  it('let each service read the topics the catalog routes to it, as its own group, and write only its own dead letters', () => {
    expect(topicsWhere(acls, 'User:boxoffice-email', 'Read')).toEqual([
      'boxoffice.orders',
      'boxoffice.orders.email.dlt',
      'boxoffice.users',
      'boxoffice.users.email.dlt',
    ]);
    const groups = acls.filter((acl) => acl.resource === 'group' && acl.pattern === 'literal');
    expect(groups.map((acl) => [acl.principal, acl.name]).sort()).toEqual(
      ['analytics', 'audit', 'billing', 'checkout', 'email'].map((service) => [`User:boxoffice-${service}`, service]),
    );
  });

  it('name the topics and groups of a namespace, since Kafka has no wildcard inside a name', () => {
    const namespaced = kafkaAcls({ namespace: 'e2e-1' });
    expect(namespaced).toHaveLength(acls.length);
    expect(topicsWhere(namespaced, 'User:boxoffice-billing', 'Write')).toContain('e2e-1.boxoffice.payments');
    expect(namespaced.filter((acl) => acl.resource === 'group' && acl.pattern === 'literal').map((acl) => acl.name)).toContain(
      'e2e-1.email',
    );
  });

  it('revoke, with a namespace, only what names its topics and groups: the reader groups’ prefix is every system’s', () => {
    const owned = kafkaAclsOwnedBy('e2e-1');
    expect(owned.length).toBeGreaterThan(0);
    expect(owned.every((acl) => acl.name.startsWith('e2e-1.'))).toBe(true);
    const all = kafkaAcls({ namespace: 'e2e-1' });
    expect(all.filter((acl) => acl.name === 'boxoffice-reader-')).toHaveLength(5);
    expect(owned).toHaveLength(all.length - 5);
  });

  it('follow a new catalog line: a new consumer of payments may read it, and still not write it', () => {
    const before = kafkaAcls();
    const entries: CatalogEntry[] = catalog.map((entry) =>
      entry.message === PaymentCaptured ? { ...entry, consumers: [...entry.consumers, 'email'] } : entry,
    );
    const after = kafkaAcls({ entries });
    expect(topicsWhere(before, 'User:boxoffice-email', 'Read')).not.toContain('boxoffice.payments');
    expect(topicsWhere(after, 'User:boxoffice-email', 'Read')).toContain('boxoffice.payments');
    expect(topicsWhere(after, 'User:boxoffice-email', 'Write')).not.toContain('boxoffice.payments');
  });

  it('give a service’s grants to every principal named for it (compose’s accounts beside the development ones)', () => {
    const both = kafkaAcls({ principalsOf: (service) => [`User:boxoffice-${service}`, `User:${service}`] });
    expect(both).toHaveLength(acls.length * 2);
    expect(topicsWhere(both, 'User:billing', 'Write')).toEqual(topicsWhere(acls, 'User:boxoffice-billing', 'Write'));
  });
});
