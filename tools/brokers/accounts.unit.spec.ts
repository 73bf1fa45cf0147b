import { describe, expect, it } from '@jest/globals';
import { accountHolders } from '@boxoffice/config';
import { servicesOf } from '@boxoffice/contracts';
import { readFileSync } from 'node:fs';
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

describe('the brokers’ accounts, written from the catalog', () => {
  it.each(['native', 'compose'] as const)(
    'are what is committed for the %s RabbitMQ (run `npm run brokers:accounts` after changing the catalog)',
    (target) => {
      expect(readFileSync(definitionsFiles[target], 'utf8')).toBe(definitionsText(target));
    },
  );

  it('are the Kafka ACLs committed for infra:up to grant (run `npm run brokers:accounts` after changing the catalog)', () => {
    expect(readFileSync(kafkaAclsFile, 'utf8')).toBe(kafkaAclsText());
  });

  it.each(['accounts', 'grantAcls', 'operator'] as const)(
    'are compose’s Kafka %s file as committed (run `npm run brokers:accounts` after changing the catalog)',
    (file) => {
      expect(readFileSync(composeKafkaFiles[file], 'utf8')).toBe(composeKafkaTexts[file]());
    },
  );

  it.each(Object.keys(artemisFiles) as Array<keyof typeof artemisFiles>)(
    'are the Artemis %s file as committed (run `npm run brokers:accounts` after changing the catalog)',
    (file) => {
      expect(readFileSync(artemisFiles[file], 'utf8')).toBe(artemisTexts[file]());
    },
  );

  it.each(['sqs', 'kinesis'] as const)(
    'are the IAM policies the %s README shows (run `npm run brokers:accounts` after changing the catalog)',
    (broker) => {
      const readme = readFileSync(iamReadmes[broker], 'utf8');
      expect(readme).toBe(withIamPolicies(broker, readme));
    },
  );

  it('give an account to every service the catalog names, and to nothing else', () => {
    expect([...accountHolders].sort()).toEqual(servicesOf().sort());
  });
});
