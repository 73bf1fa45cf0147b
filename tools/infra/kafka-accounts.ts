// Each service's ACLs on this machine's Kafka, granted from tools/infra/kafka/acls.json (written
// from the catalog by npm run brokers:accounts) on every infra:up, so a grant the catalog adds
// reaches the broker. Granting only adds: Kafka keeps one copy of a grant made twice, and a grant
// the catalog no longer makes stays until it is removed by hand (kafka-acls --remove) or the
// broker starts over (rm -rf .cache/kafka/data). The accounts themselves are made when the storage
// is formatted (kafka.ts); these are the un-namespaced system's ACLs, as `npm start` runs it (an
// end-to-end system grants its namespace's own: libs/e2e's TestSystem).
import { readFileSync } from 'node:fs';
// eslint-disable-next-line @nx/enforce-module-boundaries -- infra:up runs under plain Node, which knows no path aliases
import { brokerAddress, operatorKafkaAccount } from '../../libs/config/src/brokers.ts';
// eslint-disable-next-line @nx/enforce-module-boundaries -- infra:up runs under plain Node, which knows no path aliases
import { applyKafkaJsRequestQueueFix } from '../../libs/messaging-kafka/src/kafkajs.request-queue.fix.ts';
// eslint-disable-next-line @nx/enforce-module-boundaries -- infra:up runs under plain Node, which knows no path aliases
import { aclEntriesOf, type KafkaAcl } from '../../libs/messaging-kafka/src/kafka.acl-entries.ts';

const aclsFile = new URL('kafka/acls.json', import.meta.url);

/**
 * Grants the ACLs, as the operator. Resolves once granted, or with a line to log when it could not
 * try (kafkajs not installed yet); throws what the broker answered when it refused or failed.
 */
export async function grantKafkaAccounts(log: (line: string) => void = console.log): Promise<void> {
  // Loaded here, not above: infra:up runs before npm ci too, and kafkajs may not be installed yet.
  let kafkajs: typeof import('kafkajs');
  try {
    kafkajs = (await import('kafkajs')).default;
  } catch {
    log(`  kafka: the services' ACLs were not granted (kafkajs is not installed: npm ci, then infra:up again)`);
    return;
  }
  const acls = JSON.parse(readFileSync(aclsFile, 'utf8')) as KafkaAcl[];
  applyKafkaJsRequestQueueFix();
  const kafka = new kafkajs.Kafka({
    brokers: brokerAddress('KAFKA_BROKERS').split(','),
    clientId: 'boxoffice-infra',
    logLevel: kafkajs.logLevel.NOTHING,
    sasl: { mechanism: 'scram-sha-256', username: operatorKafkaAccount().user, password: operatorKafkaAccount().password },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.createAcls({ acl: acls.flatMap((acl) => aclEntriesOf(acl, kafkajs)) });
  } catch (error) {
    throw new Error(`the services' ACLs were not granted (${(error as Error).message}); grant ${aclsFile.pathname} on that broker`);
  } finally {
    await admin.disconnect();
  }
}
