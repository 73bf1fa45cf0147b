// Generates each service's Prisma client (apps/<service>/src/generated/prisma) from its schema.
// Usage: node tools/db/generate.ts [service...]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { services } from './services.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const prismaCli = fileURLToPath(new URL('../../node_modules/prisma/build/index.js', import.meta.url));
const requested = process.argv.slice(2);
const targets = requested.length > 0 ? requested : services;

for (const service of targets) {
  const result = spawnSync(process.execPath, [prismaCli, 'generate', '--config', `apps/${service}/prisma.config.ts`], {
    cwd: root,
    encoding: 'utf8',
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY:
        process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? fileURLToPath(new URL('./schema-engine-unavailable.sh', import.meta.url)),
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
    },
  });
  if (result.status !== 0) {
    process.stderr.write(result.stdout + result.stderr);
    console.error(`prisma generate failed for ${service}`);
    process.exit(1);
  }
  console.log(`generated the Prisma client of ${service}`);
}
