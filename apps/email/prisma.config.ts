import { defineConfig } from 'prisma/config';

// Used by the Prisma CLI only (generate; migrate on machines that have its schema engine).
// The service itself applies prisma/migrations with @boxoffice/database at start.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/boxoffice_email' },
});
