// Every file infra:up reads or writes, in one place. All of it sits under .cache/ at the
// repository root, which git ignores: deleting .cache/ resets local infrastructure completely.

import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '../..');
export const cacheDir = path.join(repoRoot, '.cache');
export const startedFile = path.join(cacheDir, 'infra-started.json');
export const composeFile = path.join(repoRoot, 'docker-compose.yml');

export const kafkaSourceDir = path.join(import.meta.dirname, 'kafka');
export const kafkaDir = path.join(cacheDir, 'kafka');
/** What every native broker shares: how its jars are resolved, the jars, its config templates. */
export const kafka = {
  pom: path.join(kafkaSourceDir, 'pom.xml'),
  template: path.join(kafkaSourceDir, 'server.properties.template'),
  log4jConfig: path.join(kafkaSourceDir, 'log4j2.properties'),
  libs: path.join(kafkaDir, 'libs'),
  // A hash of the pom the jars in libs/ were resolved from; a different pom means resolve again.
  libsStamp: path.join(kafkaDir, 'libs', '.resolved-from-pom.sha256'),
  mavenLog: path.join(kafkaDir, 'maven.log'),
};

/** The files of one broker. infra:up's broker lives in .cache/kafka; a test may run another elsewhere. */
export type KafkaHome = ReturnType<typeof kafkaHome>;
export function kafkaHome(dir: string) {
  return {
    dir,
    data: path.join(dir, 'data'),
    clusterId: path.join(dir, 'cluster-id'),
    accounts: path.join(dir, 'accounts'),
    serverProperties: path.join(dir, 'server.properties'),
    log: path.join(dir, 'server.log'),
    pid: path.join(dir, 'kafka.pid'),
  };
}
/** infra:up's broker. */
export const defaultKafkaHome = kafkaHome(kafkaDir);

// Paths in messages are shown relative to the repository, the way a developer would type them.
export function shown(file: string): string {
  return path.relative(process.cwd(), file) || '.';
}
