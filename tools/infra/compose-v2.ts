// Compose v2 and the compose-spec reference validator, for checking docker-compose.yml on a
// machine without a Docker engine. Neither needs a daemon to read a compose file, but Debian 12
// ships only Compose v1. Debian 13 (trixie) packages both as static Go binaries, which run here
// as they are, so this takes the two .deb files from trixie through apt and unpacks them under
// .cache/compose-v2 with `dpkg-deb -x`: nothing is installed system-wide, and the mirror is
// whichever one this machine's apt already uses.
//
//   node tools/infra/compose-v2.ts        fetch once (about 16 MB), then print what is cached
//
// The compose specs call ensureComposeV2() themselves, so `npm test` on a fresh clone needs no
// step of its own.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cacheDir, shown } from './paths.ts';

/** The Debian release whose packages carry Compose v2 (2.26) and compose-spec (compose-go 2.4). */
const SUITE = 'trixie';
const PACKAGES = ['docker-compose', 'compose-spec'] as const;

export const composeV2Dir = path.join(cacheDir, 'compose-v2');

export interface ComposeV2 {
  /** `docker-compose` as Compose v2 ships it: the `docker compose` CLI plugin, runnable on its own. */
  readonly dockerCompose: string;
  /** compose-go's command-line validator: loads, validates and normalises a file as Compose does. */
  readonly composeSpec: string;
  /** Debian version of each package, e.g. { 'docker-compose': '2.26.1-4' }. */
  readonly versions: Record<string, string>;
}

function binaries(root: string): ComposeV2 {
  const versionsFile = path.join(root, 'versions.json');
  return {
    dockerCompose: path.join(root, 'usr/libexec/docker/cli-plugins/docker-compose'),
    composeSpec: path.join(root, 'usr/bin/compose-spec'),
    versions: fs.existsSync(versionsFile) ? (JSON.parse(fs.readFileSync(versionsFile, 'utf8')) as Record<string, string>) : {},
  };
}

function complete(found: ComposeV2): boolean {
  return fs.existsSync(found.dockerCompose) && fs.existsSync(found.composeSpec) && Object.keys(found.versions).length === PACKAGES.length;
}

/** Returns the cached binaries, fetching them first if .cache/compose-v2 lacks them. */
export function ensureComposeV2(log: (line: string) => void = () => {}): ComposeV2 {
  const cached = binaries(composeV2Dir);
  if (complete(cached)) return cached;

  // Built beside the final folder and renamed into place, so that two specs fetching at the
  // same moment cannot see half a folder: the second rename fails and its copy is dropped.
  fs.mkdirSync(cacheDir, { recursive: true });
  const work = fs.mkdtempSync(path.join(cacheDir, 'compose-v2.tmp-'));
  try {
    log(`compose-v2: fetching ${PACKAGES.join(', ')} from Debian ${SUITE} into ${shown(composeV2Dir)} (once)`);
    const versions = fetchDebs(work);
    const root = path.join(work, 'root');
    for (const deb of fs.readdirSync(path.join(work, 'debs'))) {
      run('dpkg-deb', ['-x', path.join(work, 'debs', deb), root]);
    }
    fs.writeFileSync(path.join(root, 'versions.json'), `${JSON.stringify(versions, null, 2)}\n`);
    if (!complete(binaries(root))) throw new Error(`compose-v2: the packages did not contain the expected binaries (${root})`);
    // Only a broken leftover is removed; a complete folder may be another spec's, in use.
    if (fs.existsSync(composeV2Dir) && !complete(binaries(composeV2Dir))) fs.rmSync(composeV2Dir, { recursive: true, force: true });
    try {
      fs.renameSync(root, composeV2Dir);
    } catch (error) {
      if (!complete(binaries(composeV2Dir))) throw error;
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return binaries(composeV2Dir);
}

/** `apt-get download` from trixie with a private sources list, package lists and cache. */
function fetchDebs(work: string): Record<string, string> {
  const apt = path.join(work, 'apt');
  for (const dir of ['lists/partial', 'cache/archives/partial', 'sources.list.d', 'preferences.d']) {
    fs.mkdirSync(path.join(apt, dir), { recursive: true });
  }
  const keyring = '/usr/share/keyrings/debian-archive-keyring.gpg';
  const signedBy = fs.existsSync(keyring) ? ` [signed-by=${keyring}]` : '';
  fs.writeFileSync(path.join(apt, 'sources.list'), `deb${signedBy} ${debianMirror()} ${SUITE} main\n`);
  const options = [
    `Dir::Etc::SourceList=${path.join(apt, 'sources.list')}`,
    `Dir::Etc::SourceParts=${path.join(apt, 'sources.list.d')}`,
    `Dir::Etc::Preferences=${path.join(apt, 'preferences')}`,
    `Dir::Etc::PreferencesParts=${path.join(apt, 'preferences.d')}`,
    `Dir::State::Lists=${path.join(apt, 'lists')}`,
    `Dir::Cache=${path.join(apt, 'cache')}`,
    // What this machine has installed is no concern of a download for another release.
    'Dir::State::status=/dev/null',
    // As root, apt would hand the download to its _apt user, who cannot write here.
    ...(process.getuid?.() === 0 ? ['APT::Sandbox::User=root'] : []),
  ].flatMap((option) => ['-o', option]);

  run('apt-get', [...options, '-qq', 'update']);
  const versions: Record<string, string> = {};
  for (const name of PACKAGES) {
    const policy = run('apt-cache', [...options, 'policy', name]);
    const candidate = /Candidate:\s*(\S+)/.exec(policy)?.[1];
    if (!candidate || candidate === '(none)') throw new Error(`compose-v2: Debian ${SUITE} has no package ${name}:\n${policy}`);
    versions[name] = candidate;
  }
  const debs = path.join(work, 'debs');
  fs.mkdirSync(debs);
  run('apt-get', [...options, '-qq', 'download', ...PACKAGES.map((name) => `${name}=${versions[name]}`)], debs);
  return versions;
}

/** The Debian archive this machine's apt is configured with (the one serving its own release). */
function debianMirror(): string {
  const codename = /^VERSION_CODENAME=(\S+)$/m.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1];
  const targets = run('apt-get', ['indextargets', '--format', '$(REPO_URI)\t$(RELEASE)\t$(IDENTIFIER)'])
    .split('\n')
    .map((line) => line.split('\t'));
  const mirror = targets.find(([, release, identifier]) => release === codename && identifier === 'Packages')?.[0];
  if (!mirror) throw new Error(`compose-v2: no Debian archive for ${codename ?? 'this release'} in apt's sources (apt-get indextargets)`);
  return mirror;
}

function run(command: string, args: string[], cwd?: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 300_000 });
  if (result.error) throw new Error(`compose-v2: ${command} could not run (${result.error.message}); this needs Debian's apt and dpkg`);
  if (result.status !== 0) throw new Error(`compose-v2: ${command} ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

if (import.meta.main) {
  const found = ensureComposeV2(console.log);
  for (const [name, version] of Object.entries(found.versions)) console.log(`${name.padEnd(15)} ${version}`);
  console.log(`docker-compose  ${shown(found.dockerCompose)}\ncompose-spec    ${shown(found.composeSpec)}`);
}
