export { waitFor, type WaitOptions } from './wait-for.js';
export { uniqueName } from './unique-name.js';
export { createMigratedTestDatabase, createTestDatabase, type TestDatabase } from './test-database.js';
