// Each service's ACLs on this machine's Kafka, granted from tools/infra/kafka/acls.json (written
// from the catalog by npm run brokers:accounts) on every infra:up, so a change to the catalog
// reaches the broker. Granting is additive and idempotent: Kafka keeps one copy of a grant made
// twice, and leaves every other ACL as it was. The accounts themselves are made when the storage
// is formatted (kafka.ts); these are the un-namespaced system's ACLs, as `npm start` runs it (an
// end-to-end system grants its namespace's own: libs/e2e's TestSystem).
import { readFileSync } from 'node:fs';
// eslint-disable-next-line @nx/enforce-module-boundaries -- infra:up runs under plain Node, which knows no path aliases
import { brokerAddress, brokerDefaults } from '../../libs/config/src/brokers.ts';
// eslint-disable-next-line @nx/enforce-module-boundaries -- infra:up runs under plain Node, which knows no path aliases
import { applyKafkaJsRequestQueueFix } from '../../libs/messaging-kafka/src/kafkajs.request-queue.fix.ts';

const aclsFile = new URL('kafka/acls.json', import.meta.url);

/** kafkajs's enums, by Kafka's names for them. */
const operations = { Read: 3, Write: 4, Create: 5, Delete: 6, Describe: 8, DescribeConfigs: 10 } as const;
const resources = { topic: 2, group: 3 } as const;
const patterns = { literal: 3, prefixed: 4 } as const;
const ALLOW = 3;

type Acl = {
  principal: string;
  resource: keyof typeof resources;
  pattern: keyof typeof patterns;
  name: string;
  operations: Array<keyof typeof operations>;
};

export type Grants = 'granted' | 'not granted';

export async function grantKafkaAccounts(log: (line: string) => void = console.log): Promise<Grants> {
  const acls = JSON.parse(readFileSync(aclsFile, 'utf8')) as Acl[];
  let kafkajs: typeof import('kafkajs');
  try {
    kafkajs = (await import('kafkajs')).default;
  } catch {
    log(`  kafka: the services' ACLs were not granted (kafkajs is not installed: npm ci, then infra:up again)`);
    return 'not granted';
  }
  applyKafkaJsRequestQueueFix();
  const kafka = new kafkajs.Kafka({
    brokers: brokerAddress('KAFKA_BROKERS').split(','),
    clientId: 'boxoffice-infra',
    logLevel: kafkajs.logLevel.NOTHING,
    sasl: {
      mechanism: 'scram-sha-256',
      username: process.env.KAFKA_USERNAME || brokerDefaults.KAFKA_USERNAME,
      password: process.env.KAFKA_PASSWORD || brokerDefaults.KAFKA_PASSWORD,
    },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.createAcls({
      acl: acls.flatMap((acl) =>
        acl.operations.map((operation) => ({
          resourceType: resources[acl.resource],
          resourceName: acl.name,
          resourcePatternType: patterns[acl.pattern],
          principal: acl.principal,
          host: '*',
          operation: operations[operation],
          permissionType: ALLOW,
        })),
      ),
    });
    return 'granted';
  } catch (error) {
    log(`  kafka: the services' ACLs were not granted (${(error as Error).message}); grant ${aclsFile.pathname} on that broker`);
    return 'not granted';
  } finally {
    await admin.disconnect();
  }
}
