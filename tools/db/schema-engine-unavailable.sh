#!/bin/sh
# Prisma's CLI downloads its native schema engine unless PRISMA_SCHEMA_ENGINE_BINARY names one.
# `prisma generate` never runs it, so tools/db/generate.ts points here to skip the download on
# machines that cannot reach Prisma's servers. Migrations are applied by `npm run db:migrate`.
echo "Prisma's schema engine is not installed here; apply migrations with: npm run db:migrate" >&2
exit 1
