export { ConfigError, loadConfig, refusedInProduction } from './load-config.js';
export { developmentSecrets, env, serviceEnv, type SecretSetting } from './env.js';
export {
  accountHolders,
  brokerAddress,
  brokerDefaults,
  commandTransports,
  developmentAccountOf,
  eventTransports,
  kafkaAccountOf,
  operatorKafkaAccount,
  serviceBrokerUrl,
  transportNames,
} from './brokers.js';
