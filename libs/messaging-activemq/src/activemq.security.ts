import { catalog, channelsOf, servicesOf, type CatalogEntry, type ServiceName } from '@boxoffice/contracts';
import { deadLetterQueueName } from './activemq.topology.js';

/** Artemis' permissions on an address match (`view` and `edit` are on management operations, under `mops.`). */
export type ArtemisPermission =
  | 'send'
  | 'consume'
  | 'browse'
  | 'createAddress'
  | 'deleteAddress'
  | 'createDurableQueue'
  | 'deleteDurableQueue'
  | 'createNonDurableQueue'
  | 'deleteNonDurableQueue'
  | 'manage'
  | 'view'
  | 'edit';

/** Every permission there is: the operator's, wherever it is named. */
const everything: ReadonlyArray<ArtemisPermission> = [
  'send',
  'consume',
  'browse',
  'createAddress',
  'deleteAddress',
  'createDurableQueue',
  'deleteDurableQueue',
  'createNonDurableQueue',
  'deleteNonDurableQueue',
  'manage',
  'view',
  'edit',
];

/** One role's permissions on one address match (Artemis' wildcards: `*` one word, `#` any words, at the end only). */
export interface ArtemisGrant {
  readonly match: string;
  readonly role: string;
  readonly permissions: ReadonlyArray<ArtemisPermission>;
}

/** The address of Artemis' management API: a request is a message sent there. */
export const MANAGEMENT_ADDRESS = 'activemq.management';

/**
 * Where a client of the management API takes its answers: a queue of its own under its name
 * (the service's, which is its role's). Artemis sends the answer as the asker, so the asker must
 * be allowed to send there, and a dynamic (temporary) reply queue would have a random name that
 * no grant short of `#` covers.
 */
export function managementRepliesAddress(client: string, id: string): string {
  return `management.replies.${client}.${id}`;
}

/** The role of the broker's own account (`artemis create` gives its user `amq`): every permission on every match. */
export const OPERATOR_ROLE = 'amq';

/**
 * What each service's Artemis role may do, read from the catalog and nowhere else: a new message
 * line changes it (npm run brokers:accounts writes it out as broker properties; a spec checks that
 * what is committed is what the catalog says). Artemis carries commands; for each command queue:
 *
 *   a service that sends to it   send to the queue
 *   the service that reads it    consume, browse and send (it puts jobs back: resumed charges,
 *                                replays) on the queue and on its dead letter queue
 *
 * and through the management API (`management-message-rbac`: each operation is checked as
 * `mops.<resource>.<operation>`, `view` for a reading, `edit` for a change):
 *
 *   both                         read the queues' depths (`view` on mops.queue.<queue>.*); ask
 *                                the broker's version (the health check); create a queue and set
 *                                a queue's address settings (the transport provisions what it
 *                                uses, with its retry policy)
 *   the reader                   purge its dead letter queue (`edit` on mops.queue.<queue>.dlq.*)
 *
 * `createQueue` and `addAddressSettings` are the broker's operations, not a queue's: Artemis
 * checks them by name only, so a role that may create its queues may create any queue and set
 * any address's settings. That is the one right wider than the catalog (docs/security.md).
 *
 * Artemis applies the most specific match alone, so the operator's role is named on every match.
 * A match covers the queue in any namespace (`*.<queue>`: BOXOFFICE_NAMESPACE is one word), so
 * that two copies of the system on one broker (the end-to-end specs) use the same accounts.
 */
export function artemisGrants(entries: ReadonlyArray<CatalogEntry> = catalog): ArtemisGrant[] {
  const grants: ArtemisGrant[] = [];
  // A queue's address, and its management resource, in no namespace or in any.
  const grant = (queue: string, role: string, permissions: ReadonlyArray<ArtemisPermission>) => {
    for (const name of [queue, `*.${queue}`]) grants.push({ match: name, role, permissions });
  };
  const grantManagement = (queue: string, role: string, permissions: ReadonlyArray<ArtemisPermission>) => {
    for (const name of [queue, `*.${queue}`]) grants.push({ match: `mops.queue.${name}.*`, role, permissions });
  };
  for (const service of servicesOf(entries)) {
    const { sends, reads } = channelsOf(service, 'command', entries);
    if (sends.length === 0 && reads.length === 0) continue;
    for (const queue of sends) grant(queue, service, ['send']);
    for (const queue of reads) {
      for (const name of [queue, deadLetterQueueName(queue)]) grant(name, service, ['send', 'consume', 'browse']);
      grantManagement(deadLetterQueueName(queue), service, ['view', 'edit']);
    }
    for (const queue of new Set([...sends, ...reads])) grantManagement(queue, service, ['view']);
    grants.push(
      { match: MANAGEMENT_ADDRESS, role: service, permissions: ['send', 'manage'] },
      { match: 'mops.broker.getVersion', role: service, permissions: ['view'] },
      { match: 'mops.broker.createQueue', role: service, permissions: ['edit'] },
      { match: 'mops.broker.addAddressSettings', role: service, permissions: ['edit'] },
      // Its answers: a queue it creates on attaching, and Artemis deletes when it is gone.
      {
        match: managementRepliesAddress(service, '#'),
        role: service,
        permissions: ['createAddress', 'createDurableQueue', 'consume', 'send'],
      },
    );
  }
  const matches = ['#', ...new Set(grants.map((g) => g.match))];
  return [...matches.map((match) => ({ match, role: OPERATOR_ROLE, permissions: everything })), ...grants];
}

/**
 * The grants as Artemis broker properties (`securityRoles."<match>".<role>.<permission>=true`),
 * with management RBAC on: read from etc/broker.properties at start and again when it changes.
 * https://activemq.apache.org/components/artemis/documentation/latest/configuration-index.html#broker-properties
 */
export function artemisBrokerProperties(grants: ReadonlyArray<ArtemisGrant> = artemisGrants()): string {
  const lines = grants.flatMap(({ match, role, permissions }) =>
    permissions.map((permission) => `securityRoles."${match}".${role}.${permission}=true`),
  );
  return ['managementMessageRbac=true', ...lines].map((line) => `${line}\n`).join('');
}

/** The services that hold an Artemis role (they send or read a command). */
export function artemisRoleHolders(entries: ReadonlyArray<CatalogEntry> = catalog): ServiceName[] {
  return servicesOf(entries).filter((service) => {
    const { sends, reads } = channelsOf(service, 'command', entries);
    return sends.length + reads.length > 0;
  });
}
