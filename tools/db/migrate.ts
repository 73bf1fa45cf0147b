// `npm run db:migrate`: applies each service's committed migrations to its database, the same
// way the services do at start. Needs no Prisma schema engine. Usage: npm run db:migrate [service...]
import { migrate } from '@boxoffice/database';
import { services } from './services.ts';

const requested = process.argv.slice(2);
for (const service of requested.length > 0 ? requested : services) {
  const variable = `${service.toUpperCase()}_DATABASE_URL`;
  const databaseUrl = process.env[variable] ?? `postgresql://postgres@127.0.0.1:5432/boxoffice_${service}`;
  const { applied, alreadyApplied } = await migrate({ databaseUrl, migrationsDir: `apps/${service}/prisma/migrations` });
  console.log(
    `${service}: ${applied.length} applied${applied.length ? ` (${applied.join(', ')})` : ''}, ${alreadyApplied.length} already applied`,
  );
}
