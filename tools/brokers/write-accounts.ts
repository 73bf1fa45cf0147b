// `npm run brokers:accounts`: writes the brokers' accounts and permissions from the catalog (accounts.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import {
  artemisFiles,
  artemisTexts,
  composeKafkaFiles,
  composeKafkaTexts,
  definitionsFiles,
  definitionsText,
  iamReadmes,
  kafkaAclsFile,
  kafkaAclsText,
  withIamPolicies,
} from './accounts.ts';

for (const target of ['native', 'compose'] as const) {
  writeFileSync(definitionsFiles[target], definitionsText(target));
  console.log(`wrote ${definitionsFiles[target].pathname}`);
}
writeFileSync(kafkaAclsFile, kafkaAclsText());
console.log(`wrote ${kafkaAclsFile.pathname}`);
for (const file of ['accounts', 'grantAcls', 'operator'] as const) {
  writeFileSync(composeKafkaFiles[file], composeKafkaTexts[file](), { mode: file === 'grantAcls' ? 0o755 : 0o644 });
  console.log(`wrote ${composeKafkaFiles[file].pathname}`);
}
for (const file of Object.keys(artemisFiles) as Array<keyof typeof artemisFiles>) {
  mkdirSync(new URL('.', artemisFiles[file]), { recursive: true });
  writeFileSync(artemisFiles[file], artemisTexts[file]());
  console.log(`wrote ${artemisFiles[file].pathname}`);
}
for (const broker of ['sqs', 'kinesis'] as const) {
  writeFileSync(iamReadmes[broker], withIamPolicies(broker, readFileSync(iamReadmes[broker], 'utf8')));
  console.log(`wrote the IAM policies in ${iamReadmes[broker].pathname}`);
}
