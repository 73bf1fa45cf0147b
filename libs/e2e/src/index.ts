export { deleteNamespace } from './namespace-cleanup.js';
export { freePort, startServiceProcess, type ServiceProcess, type StartOptions, type StartWaitsFor } from './service-process.js';
export { TestSystem } from './test-system.js';
export { findPrometheus, PrometheusProcess, type PrometheusSample, type ScrapeTarget } from './prometheus.process.js';
