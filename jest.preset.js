// Shared Jest settings. Every project runs as native ESM (NestJS 12 is ESM-only), so Jest needs
// NODE_OPTIONS=--experimental-vm-modules; tools/test/jest.ts sets it.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const swcrc = JSON.parse(readFileSync(join(root, '.swcrc'), 'utf8'));
const { paths } = JSON.parse(readFileSync(join(root, 'tsconfig.base.json'), 'utf8')).compilerOptions;

/** Maps every `@boxoffice/<lib>` alias to its source, as tsconfig.base.json does. */
const aliasMapper = Object.fromEntries(Object.entries(paths).map(([alias, [target]]) => [`^${alias}$`, join(root, target)]));

export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    ...aliasMapper,
    // Sources import siblings as './x.js' (NodeNext); Jest resolves the .ts file.
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['@swc/jest', { ...swcrc, swcrc: false, jsc: { ...swcrc.jsc, baseUrl: root, paths: undefined }, sourceMaps: 'inline' }],
  },
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  // *.disruptive.int.spec.ts restart a broker: `npm test` runs them alone, after the rest.
  testPathIgnorePatterns: ['/node_modules/', '\\.disruptive\\.'],
  testTimeout: 60_000,
};
