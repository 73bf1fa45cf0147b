export { ConfigError, loadConfig } from './load-config.js';
export { env, serviceEnv } from './env.js';
