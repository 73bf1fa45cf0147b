import { describe, expect, it } from '@jest/globals';
import { catalog, ChargeOrder, type CatalogEntry } from '@boxoffice/contracts';
import { artemisBrokerProperties, artemisGrants, artemisRoleHolders, OPERATOR_ROLE } from './activemq.security.js';

/** The permissions a role holds on a match, or none. */
const rightsOf = (grants: ReturnType<typeof artemisGrants>, role: string, match: string) =>
  grants.filter((g) => g.role === role && g.match === match).flatMap((g) => g.permissions);

describe('each service’s rights on Artemis, from the catalog', () => {
  const grants = artemisGrants();

  it('lets the sender of a command send to its queue and nothing more, in any namespace', () => {
    for (const match of ['billing.charge-order', '*.billing.charge-order']) {
      expect(rightsOf(grants, 'checkout', match)).toEqual(['send']);
      expect(rightsOf(grants, 'billing', match).sort()).toEqual(['browse', 'consume', 'send']);
      expect(rightsOf(grants, 'email', match)).toEqual([]);
    }
    expect(rightsOf(grants, 'checkout', 'billing.charge-order.dlq')).toEqual([]);
    expect(rightsOf(grants, 'checkout', 'mops.queue.billing.charge-order.dlq.*')).toEqual([]);
    expect(rightsOf(grants, 'billing', 'mops.queue.*.billing.charge-order.dlq.*').sort()).toEqual(['edit', 'view']);
  });

  it('names the operator on every match, since Artemis applies the most specific match alone', () => {
    const matches = new Set(grants.map((g) => g.match));
    for (const match of matches) expect(rightsOf(grants, OPERATOR_ROLE, match)).toContain('edit');
    expect(matches).toContain('#');
  });

  it('gives a service no role when the catalog gives it no command, and one when a line does', () => {
    expect(artemisRoleHolders().sort()).toEqual(['billing', 'checkout']);
    const emailReadsCharges: CatalogEntry[] = catalog.map((entry) =>
      entry.message === ChargeOrder ? { ...entry, consumers: [...entry.consumers, 'email'] } : entry,
    );
    expect(artemisRoleHolders(emailReadsCharges).sort()).toEqual(['billing', 'checkout', 'email']);
    expect(rightsOf(artemisGrants(emailReadsCharges), 'email', 'billing.charge-order').sort()).toEqual(['browse', 'consume', 'send']);
  });

  it('writes them as broker properties with management RBAC on', () => {
    const text = artemisBrokerProperties(grants);
    expect(text.split('\n')[0]).toBe('managementMessageRbac=true');
    expect(text).toContain('securityRoles."*.billing.charge-order".checkout.send=true\n');
    expect(text).not.toMatch(/securityRoles\."[^"]*charge-order"\.checkout\.consume/);
  });
});
