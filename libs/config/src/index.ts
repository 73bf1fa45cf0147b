export { ConfigError, loadConfig, refusedInProduction } from './load-config.js';
export { developmentSecrets, env, serviceEnv, type SecretSetting } from './env.js';
export { brokerAddress, brokerDefaults, commandTransports, eventTransports, transportNames } from './brokers.js';
