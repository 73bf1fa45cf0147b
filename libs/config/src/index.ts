export { ConfigError, loadConfig } from './load-config.js';
export { env, serviceEnv } from './env.js';
export { brokerAddress, brokerDefaults, commandTransports, eventTransports, transportNames } from './brokers.js';
