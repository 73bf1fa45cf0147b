export { readMigrations, type Migration } from './migrations.js';
export { createDatabaseIfMissing, dropDatabase, migrate, type MigrateOptions, type MigrateResult } from './migrator.js';
export { withDatabase } from './database-url.js';
export { GroupCommit, type GroupCommitOptions } from './group-commit.js';
export { StatementNames } from './statement-names.js';
