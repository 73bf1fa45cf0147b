// What the servers that run on the JVM share (Kafka, ElasticMQ, ActiveMQ Artemis): a Java new
// enough, and their jars resolved from Maven Central once, into .cache, by a pom of ours.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { findExecutable, run, tail } from './commands.ts';
import { shown } from './paths.ts';

/** JAVA_HOME's java, else the one on PATH, if it is at least `minimum`; else one line saying what to install. */
export function requireJava(minimum: number, product: string, installHint: string): string {
  const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : findExecutable('java');
  if (!java || !fs.existsSync(java)) throw new Error(`Java is not installed. ${installHint}`);
  // `java -version` prints e.g. `openjdk version "17.0.15"`, or `"1.8.0_392"` for Java 8.
  const match = /version "(?:1\.)?(\d+)/.exec(run(java, ['-version']).output);
  const major = match ? Number(match[1]) : 0;
  if (major < minimum) {
    throw new Error(
      `${product} needs Java ${minimum} or newer; ${java} is Java ${major || '(unknown)'}. ${installHint} (and point JAVA_HOME at it)`,
    );
  }
  return java;
}

export interface MavenJars {
  /** The infra service, for the progress line: `kafka`, `sqs`. */
  readonly service: string;
  readonly product: string;
  readonly pom: string;
  /** Where the jars go: the server's classpath. */
  readonly lib: string;
  /** Holds the pom's hash once resolved, so a changed pom resolves again and an unchanged one never. */
  readonly stamp: string;
  readonly mavenLog: string;
  readonly installHint: string;
  readonly timeoutMs: number;
}

/** `mvn dependency:copy-dependencies` of the pom into `lib`, once per version of the pom. */
export function resolveMavenJars(jars: MavenJars, log: (line: string) => void): void {
  const pomHash = crypto.createHash('sha256').update(fs.readFileSync(jars.pom)).digest('hex');
  if (readIfExists(jars.stamp)?.trim() === pomHash) return;
  const mvn = findExecutable('mvn');
  if (!mvn) throw new Error(`Maven is not installed, and it is how ${jars.product}'s jars are fetched. ${jars.installHint}`);
  log(`  ${jars.service}: resolving the ${jars.product} jars with Maven into ${shown(jars.lib)} (once; log: ${shown(jars.mavenLog)})`);
  // From an empty folder: jars of an older version left next to new ones would both be on the classpath.
  fs.rmSync(jars.lib, { recursive: true, force: true });
  const maven = run(mvn, ['-B', '-Dstyle.color=never', '-f', jars.pom, 'dependency:copy-dependencies', `-DoutputDirectory=${jars.lib}`], {
    timeoutMs: jars.timeoutMs,
  });
  fs.writeFileSync(jars.mavenLog, `${maven.output}\n`);
  if (!maven.ok) throw new Error(`Maven could not resolve the ${jars.product} jars:\n${tail(maven.output)}`);
  fs.writeFileSync(jars.stamp, `${pomHash}\n`);
}

export function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
