// Each service's account on RabbitMQ, with the permissions the catalog gives it
// (libs/messaging-rabbitmq's rabbitmq.permissions.ts), as RabbitMQ definitions files:
//   tools/infra/rabbitmq/definitions.json  this machine's RabbitMQ: infra:up imports it
//                                          (rabbitmqctl import_definitions) on every run
//   docker/rabbitmq/definitions.json       compose's RabbitMQ, loaded at boot
// each service's ACLs on Kafka (libs/messaging-kafka's kafka.acls.ts), with its accounts:
//   tools/infra/kafka/acls.json            this machine's Kafka: infra:up grants them on every run
//                                          (kafka.ts formats its storage with the accounts)
//   docker/kafka/accounts                  compose's Kafka: the SCRAM accounts its storage is
//                                          formatted with (docker/kafka/start.sh)
//   docker/kafka/grant-acls.sh             compose's kafka-acls job: kafka-acls.sh, once per grant
// each service's role on Artemis (libs/messaging-activemq's activemq.security.ts), with its accounts:
//   tools/infra/artemis/broker.properties  this machine's Artemis: infra:up copies it into the
//                                          broker instance's etc/ on every run (Artemis reloads it)
//   tools/infra/artemis/users.properties,  the services' development accounts and their roles:
//     roles.properties                     infra:up adds them to the instance's own files
//   docker/artemis/etc-override/           compose's Artemis: the same broker.properties, and every
//                                          account (the operator's, the development ones, compose's)
// and the IAM policy each service needs on real SQS and Kinesis, in those libs' READMEs (between
// the `iam-policies` markers). All are written by `npm run brokers:accounts` and never by hand;
// accounts.unit.spec.ts fails when a committed one is not what the catalog says.
import { accountHolders, brokerDefaults, developmentAccountOf } from '@boxoffice/config';
import type { ServiceName } from '@boxoffice/contracts';
import { artemisBrokerProperties, artemisRoleHolders, OPERATOR_ROLE } from '@boxoffice/messaging-activemq';
import { kafkaAcls, kafkaPrincipalOf } from '@boxoffice/messaging-kafka';
import { kinesisPolicies } from '@boxoffice/messaging-kinesis';
import { rabbitMqPermissions } from '@boxoffice/messaging-rabbitmq';
import { sqsPolicies } from '@boxoffice/messaging-sqs';
import { createHash } from 'node:crypto';
import { clientProperties } from '../infra/kafka.ts';

/** The vhost boxoffice's queues and exchange live in (the path of every RABBITMQ_URL). */
export const vhost = 'boxoffice';

/** An account a definitions file creates: its password in clear (imported here) or hashed (loaded at boot by compose's broker). */
interface User {
  readonly name: string;
  readonly password?: string;
  readonly password_hash?: string;
  readonly hashing_algorithm?: string;
  readonly tags: string[];
}

/**
 * compose's containers run with NODE_ENV=production, which refuses the development accounts: each
 * has an account named after its service, with compose's password. The development accounts are
 * there too, for services run natively against compose's broker (npm start). A deployment writes
 * its own passwords (rabbitmqctl hash_password).
 */
export const composeAccountOf = (service: ServiceName) => ({ user: service, password: `compose-${service}-rabbitmq-password` });

/** guest, compose's administrator for the management UI; the hash of "guest". */
const composeGuest: User = {
  name: 'guest',
  password_hash: 'kI3GCrswBLNZQzHJJ95QLoyfAVooYhnvf7jbqiW9BjOYUloe',
  hashing_algorithm: 'rabbit_password_hashing_sha256',
  tags: ['administrator'],
};

/** The definitions for this machine's RabbitMQ (`native`) or compose's. */
export function rabbitMqDefinitions(target: 'native' | 'compose'): object {
  const permissions = rabbitMqPermissions();
  const accounts = accountHolders.flatMap((service) => [
    developmentAccountOf(service),
    ...(target === 'compose' ? [composeAccountOf(service)] : []),
  ]);
  // Each account of a service gets that service's permissions; a service with none (it sends and
  // reads no command) has an account that RabbitMQ lets into no vhost.
  const granted = accountHolders.flatMap((service) => {
    const own = permissions.get(service);
    if (!own) return [];
    const users = [developmentAccountOf(service).user, ...(target === 'compose' ? [composeAccountOf(service).user] : [])];
    return users.map((user) => ({ user, vhost, ...own }));
  });
  const users: User[] =
    target === 'native'
      ? accounts.map(({ user, password }) => ({ name: user, password, tags: [] }))
      : [composeGuest, ...accounts.map(({ user, password }) => ({ name: user, ...hashed(user, password), tags: [] }))];
  // The operator (guest, the broker's administrator) may do anything in the vhost: the tools, the specs, the management UI.
  const operator = { user: 'guest', vhost, configure: '.*', write: '.*', read: '.*' };
  return {
    vhosts: target === 'native' ? [{ name: vhost }] : [{ name: '/' }, { name: vhost }],
    users,
    permissions: [...(target === 'compose' ? [{ ...operator, vhost: '/' }] : []), operator, ...granted],
  };
}

/**
 * RabbitMQ's SHA-256 password hash: base64(salt + sha256(salt + password)). The salt is taken
 * from the user's name, so that the file is the same every time it is written.
 */
function hashed(user: string, password: string): Pick<User, 'password_hash' | 'hashing_algorithm'> {
  const salt = createHash('sha256').update(`boxoffice:${user}`).digest().subarray(0, 4);
  const digest = createHash('sha256')
    .update(Buffer.concat([salt, Buffer.from(password, 'utf8')]))
    .digest();
  return { password_hash: Buffer.concat([salt, digest]).toString('base64'), hashing_algorithm: 'rabbit_password_hashing_sha256' };
}

/** Where each definitions file is committed. */
export const definitionsFiles = {
  native: new URL('../infra/rabbitmq/definitions.json', import.meta.url),
  compose: new URL('../../docker/rabbitmq/definitions.json', import.meta.url),
} as const;

/** The text of a definitions file, as committed. */
export function definitionsText(target: 'native' | 'compose'): string {
  return `${JSON.stringify(rabbitMqDefinitions(target), null, 2)}\n`;
}

/** Where the Kafka ACLs are committed: the un-namespaced system's, for each service's development account. */
export const kafkaAclsFile = new URL('../infra/kafka/acls.json', import.meta.url);

/** The text of the Kafka ACLs file, as committed. */
export function kafkaAclsText(): string {
  return `${JSON.stringify(kafkaAcls(), null, 2)}\n`;
}

/**
 * Compose's own Kafka account of a service (its containers run with NODE_ENV=production, which
 * refuses the development ones), and of compose's operator (the Kafka UI, the ACL job).
 */
export const composeKafkaAccountOf = (name: ServiceName | 'operator') => ({ user: name, password: `compose-${name}-kafka-password` });

/** Every SCRAM account of compose's Kafka, one `--add-scram` argument a line (docker-compose.yml's JAAS settings name the broker's). */
export function composeKafkaAccountsText(): string {
  const accounts = [
    { user: 'boxoffice-broker', password: 'compose-broker-kafka-password' },
    { user: brokerDefaults.KAFKA_USERNAME, password: brokerDefaults.KAFKA_PASSWORD },
    composeKafkaAccountOf('operator'),
    ...accountHolders.flatMap((service) => [developmentAccountOf(service), composeKafkaAccountOf(service)]),
  ];
  return accounts.map(({ user, password }) => `SCRAM-SHA-256=[name=${user},password=${password}]\n`).join('');
}

/**
 * The kafka-acls.sh commands that grant compose's ACLs: each service's grants, to its development
 * account and its compose account alike. One command per grant and both principals, so that the
 * job starts as few JVMs as it can.
 */
export function composeGrantAclsText(): string {
  const acls = kafkaAcls({ principalsOf: (service) => [kafkaPrincipalOf(service), `User:${composeKafkaAccountOf(service).user}`] });
  // The principals of each resource with the same operations, then the resources of each such set.
  const byResource = groupBy(acls, (acl) => [acl.resource, acl.pattern, acl.name, acl.operations]);
  const commands = [
    ...groupBy(
      [...byResource.values()].map((same) => ({ ...same[0], principals: same.map((acl) => acl.principal) })),
      (grant) => [grant.resource, grant.pattern, grant.principals, grant.operations],
    ).values(),
  ].map((same) =>
    [
      'kafka-acls --add',
      ...same[0].principals.map((principal) => `--allow-principal ${principal}`),
      ...same[0].operations.map((operation) => `--operation ${operation}`),
      `--resource-pattern-type ${same[0].pattern}`,
      ...same.map((grant) => `--${grant.resource} ${grant.name}`),
    ].join(' '),
  );
  return [
    '#!/usr/bin/env bash',
    "# Written from the catalog by `npm run brokers:accounts`; do not edit. Run by compose's kafka-acls job.",
    'set -euo pipefail',
    'kafka-acls() { /opt/kafka/bin/kafka-acls.sh --bootstrap-server kafka:29092 --command-config /boxoffice/operator.properties "$@" > /dev/null; }',
    ...commands,
    `echo "granted the catalog's ${acls.length} ACLs in ${commands.length} commands"`,
    '',
  ].join('\n');
}

/** The items under each key, in the order the keys first appear. */
function groupBy<T>(items: ReadonlyArray<T>, keyOf: (item: T) => unknown): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = JSON.stringify(keyOf(item));
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return groups;
}

/** How compose's operator signs in, for Kafka's own command-line tools (the ACL job). */
export function composeOperatorPropertiesText(): string {
  const header =
    "# Written by `npm run brokers:accounts`; do not edit. Compose's operator account on its Kafka, for its command-line tools.";
  return `${header}\n${clientProperties(composeKafkaAccountOf('operator'))}`;
}

/** Where compose's Kafka files are committed. */
export const composeKafkaFiles = {
  accounts: new URL('../../docker/kafka/accounts', import.meta.url),
  grantAcls: new URL('../../docker/kafka/grant-acls.sh', import.meta.url),
  operator: new URL('../../docker/kafka/operator.properties', import.meta.url),
} as const;

/** The text of each of compose's Kafka files, as committed. */
export const composeKafkaTexts: Record<keyof typeof composeKafkaFiles, () => string> = {
  accounts: composeKafkaAccountsText,
  grantAcls: composeGrantAclsText,
  operator: composeOperatorPropertiesText,
};

/** Compose's own Artemis account of a service (the development ones are refused in production), and its operator's. */
export const composeArtemisAccountOf = (name: ServiceName | 'operator') =>
  name === 'operator'
    ? { user: 'boxoffice', password: 'compose-artemis-password' }
    : { user: name, password: `compose-${name}-activemq-password` };

/** Where the Artemis files are committed. */
export const artemisFiles = {
  nativeProperties: new URL('../infra/artemis/broker.properties', import.meta.url),
  nativeUsers: new URL('../infra/artemis/users.properties', import.meta.url),
  nativeRoles: new URL('../infra/artemis/roles.properties', import.meta.url),
  composeProperties: new URL('../../docker/artemis/etc-override/broker.properties', import.meta.url),
  composeUsers: new URL('../../docker/artemis/etc-override/artemis-users.properties', import.meta.url),
  composeRoles: new URL('../../docker/artemis/etc-override/artemis-roles.properties', import.meta.url),
} as const;

const artemisHeader = (what: string) => `## ${what}\n## Written from the catalog by \`npm run brokers:accounts\`; do not edit.\n`;

/**
 * Each Artemis file's text. Passwords are in clear: Artemis' properties login module takes them
 * so (a deployment writes `ENC(...)` ones with `artemis mask`). Each service's accounts are in its
 * role; a service with no command has accounts and no role, so it may do nothing.
 */
export const artemisTexts: Record<keyof typeof artemisFiles, () => string> = {
  nativeProperties: () =>
    artemisHeader("this machine's Artemis: each service's role (infra:up copies it to the instance's etc/)") + artemisBrokerProperties(),
  composeProperties: () => artemisHeader("compose's Artemis: each service's role") + artemisBrokerProperties(),
  nativeUsers: () =>
    artemisHeader("the services' development accounts (infra:up adds them to the instance's users)") +
    accountHolders.map((service) => propertyLine(developmentAccountOf(service).user, developmentAccountOf(service).password)).join(''),
  nativeRoles: () =>
    artemisHeader("the services' roles (infra:up adds them to the instance's roles)") +
    artemisRoleHolders()
      .map((service) => propertyLine(service, developmentAccountOf(service).user))
      .join(''),
  composeUsers: () =>
    artemisHeader("compose's Artemis: the operator, and each service's development and compose accounts") +
    [
      composeArtemisAccountOf('operator'),
      ...accountHolders.flatMap((service) => [developmentAccountOf(service), composeArtemisAccountOf(service)]),
    ]
      .map(({ user, password }) => propertyLine(user, password))
      .join(''),
  composeRoles: () =>
    artemisHeader("compose's Artemis: the operator's role and each service's") +
    [
      propertyLine(OPERATOR_ROLE, composeArtemisAccountOf('operator').user),
      ...artemisRoleHolders().map((service) =>
        propertyLine(service, [developmentAccountOf(service).user, composeArtemisAccountOf(service).user].join(',')),
      ),
    ].join(''),
};

function propertyLine(key: string, value: string): string {
  return `${key} = ${value}\n`;
}

/** The READMEs that carry the IAM policies, each between its markers. */
export const iamReadmes = {
  sqs: new URL('../../libs/messaging-sqs/README.md', import.meta.url),
  kinesis: new URL('../../libs/messaging-kinesis/README.md', import.meta.url),
} as const;

const BEGIN = '<!-- iam-policies: written from the catalog by `npm run brokers:accounts`; do not edit -->';
const END = '<!-- /iam-policies -->';

/** A README with its IAM policies block as the catalog says (`readme`: its text now). */
export function withIamPolicies(broker: keyof typeof iamReadmes, readme: string): string {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${iamReadmes[broker].pathname} has no iam-policies block`);
  const policies = broker === 'sqs' ? sqsPolicies() : kinesisPolicies();
  const blocks = [...policies].map(([service, policy]) => `**${service}**\n\n\`\`\`json\n${JSON.stringify(policy, null, 2)}\n\`\`\``);
  return `${readme.slice(0, start)}${BEGIN}\n\n${blocks.join('\n\n')}\n\n${readme.slice(end)}`;
}
