export { waitFor, type WaitOptions } from './wait-for.js';
export { uniqueName } from './unique-name.js';
export { createMigratedTestDatabase, createTestDatabase, type TestDatabase } from './test-database.js';
export { TestSmtpServer, type ReceivedMail, type Verdict } from './smtp.test-server.js';
export { TcpFaultProxy, type FaultMode } from './tcp-fault.proxy.js';
