export { deleteNamespace } from './namespace-cleanup.js';
export { freePort, startServiceProcess, type ServiceProcess } from './service-process.js';
export { TestSystem } from './test-system.js';
