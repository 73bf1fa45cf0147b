import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

// The direction of dependencies is part of the design: contracts depend on nothing, only the
// broker libs know a broker, no lib imports an app. See STYLE.md "Layout".
const dependencyRules = [
  { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'type:config', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'type:database', onlyDependOnLibsWithTags: ['type:config'] },
  { sourceTag: 'type:messaging', onlyDependOnLibsWithTags: ['type:contracts', 'type:config', 'type:database'] },
  // Tracing observes the messaging parts, so it knows them; a broker lib does not know tracing
  // (libs/platform hands it the hooks it offers, such as the RabbitMQ publisher's publishUnder).
  { sourceTag: 'type:telemetry', onlyDependOnLibsWithTags: ['type:messaging', 'type:contracts', 'type:config'] },
  { sourceTag: 'type:broker', onlyDependOnLibsWithTags: ['type:messaging', 'type:contracts', 'type:config'] },
  {
    sourceTag: 'type:platform',
    onlyDependOnLibsWithTags: ['type:config', 'type:database', 'type:messaging', 'type:broker', 'type:contracts', 'type:telemetry'],
  },
  // Test helpers build on each other: the transport contract suite uses the spec helpers.
  {
    sourceTag: 'type:testing',
    onlyDependOnLibsWithTags: ['type:config', 'type:database', 'type:messaging', 'type:broker', 'type:contracts', 'type:testing'],
  },
  // The end-to-end harness runs whole systems, so it knows the brokers and builds transports as the services do (to clean up after one).
  {
    sourceTag: 'type:e2e',
    onlyDependOnLibsWithTags: [
      'type:config',
      'type:database',
      'type:messaging',
      'type:broker',
      'type:platform',
      'type:contracts',
      'type:testing',
      'type:telemetry',
    ],
  },
  {
    sourceTag: 'type:tool',
    onlyDependOnLibsWithTags: [
      'type:config',
      'type:contracts',
      'type:database',
      'type:messaging',
      'type:broker',
      'type:platform',
      'type:testing',
      'type:e2e',
      'type:telemetry',
    ],
  },
  // An app names no broker: its transports are configuration, built by libs/platform.
  {
    sourceTag: 'type:app',
    onlyDependOnLibsWithTags: [
      'type:config',
      'type:contracts',
      'type:database',
      'type:messaging',
      'type:platform',
      'type:testing',
      'type:telemetry',
    ],
  },
];

// Tests may use the testing lib whatever they test, and the end-to-end harness; a broker lib's
// specs may also check what tracing makes of it (relay-trace-context.int.spec.ts).
const testRules = dependencyRules.map((rule) => ({
  ...rule,
  onlyDependOnLibsWithTags: [
    ...rule.onlyDependOnLibsWithTags,
    'type:testing',
    'type:e2e',
    ...(rule.sourceTag === 'type:broker' ? ['type:telemetry'] : []),
  ],
}));

const boundaries = (depConstraints) => ({ enforceBuildableLibDependency: false, allow: [], depConstraints });

export default tseslint.config(
  { ignores: ['**/dist', '**/node_modules', '**/generated', '.cache', 'tmp', 'results'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': ['error', boundaries(dependencyRules)],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'off',
    },
  },
  {
    files: ['**/*.spec.ts', '**/test/**/*.ts', '**/src/testing/**/*.ts', 'tools/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': ['error', boundaries(testRules)] },
  },
  {
    // Only the broker libs may talk to a broker client directly.
    files: ['apps/**/*.ts', 'libs/messaging/**/*.ts', 'libs/contracts/**/*.ts', 'libs/platform/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['amqplib', 'kafkajs', 'rhea', 'rhea-promise', '@aws-sdk/client-sqs', '@aws-sdk/client-kinesis'],
          patterns: [{ group: ['@nats-io/*'], message: 'Only libs/messaging-nats talks to NATS.' }],
        },
      ],
    },
  },
);
