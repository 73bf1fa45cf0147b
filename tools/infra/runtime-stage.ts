// Reads the Dockerfile's runtime stage as a list of steps that a native rehearsal can carry out
// (runtime-image.rehearsal.ts). The Dockerfile stays the one list of what the image holds: the
// rehearsal copies what its COPY lines copy, installs what its RUN installs, sets its ENV and
// runs its CMD. An instruction it cannot translate is an error, not something it skips, so a
// change to the runtime stage either keeps the rehearsal faithful or fails the test until this
// file learns the new form.

// dockerfile-ast is CommonJS: its classes are reached through the default import at run time.
import dockerfileAst, { type Copy, type Env, type From, type Instruction } from 'dockerfile-ast';

/** The stage the images run, and the stage whose WORKDIR holds the built repository. */
const RUNTIME_STAGE = 'runtime';
const BUILD_STAGE = 'build';

export type RuntimeStep =
  /** `from` is relative to the repository root, which is what the build stage's WORKDIR holds once built. */
  | { readonly kind: 'copy'; readonly from: string; readonly to: string; readonly instruction: string }
  /** Production dependencies from the lockfile, as `npm ci --omit=dev` installs them. */
  | { readonly kind: 'install'; readonly instruction: string };

export interface RuntimeStagePlan {
  readonly workdir: string;
  readonly steps: ReadonlyArray<RuntimeStep>;
  readonly env: Readonly<Record<string, string>>;
  /** The image's USER; the rehearsal runs as an unprivileged user in its place. */
  readonly user: string;
  /** argv of the container's main process, as Docker starts it (shell form runs through /bin/sh -c). */
  readonly command: ReadonlyArray<string>;
}

/** RUN lines of the runtime stage and what they amount to natively. */
const KNOWN_RUNS: ReadonlyArray<{ readonly pattern: RegExp; readonly step: 'install' | 'none' }> = [
  // The cache clean only keeps the layer small.
  { pattern: /^npm ci --omit=dev( && npm cache clean --force)?$/, step: 'install' },
  // The guard against a build without SERVICE; the rehearsal always names one.
  { pattern: /^test -n "\$\{SERVICE\}" \|\| \{ .* exit 1; \}$/, step: 'none' },
];

/** Instructions that change nothing the rehearsal could check. */
const IGNORED = new Set(['ARG', 'EXPOSE', 'LABEL', 'STOPSIGNAL']);

export function runtimeStagePlan(dockerfile: string, service: string): RuntimeStagePlan {
  const parsed = dockerfileAst.DockerfileParser.parse(dockerfile);
  const instructions = parsed.getInstructions();
  const stageStarts = instructions.flatMap((instruction, index) => (instruction.getKeyword() === 'FROM' ? [index] : []));
  const stage = (name: string) => {
    const start = stageStarts.find((index) => (instructions[index] as From).getBuildStage() === name);
    if (start === undefined) throw new Error(`the Dockerfile has no stage named ${name}`);
    const end = stageStarts.find((index) => index > start) ?? instructions.length;
    return { from: instructions[start] as From, body: instructions.slice(start + 1, end) };
  };
  const expand = (text: string) => text.replaceAll('${SERVICE}', service).replaceAll('$SERVICE', service);

  /** A stage's WORKDIR, following FROM <stage> to the stage it extends. */
  const workdirOf = (name: string): string => {
    const { from, body } = stage(name);
    const own = body
      .filter((instruction) => instruction.getKeyword() === 'WORKDIR')
      .at(-1)
      ?.getArgumentsContent();
    if (own) return own;
    const base = from.getImageName();
    if (base && stageStarts.some((index) => (instructions[index] as From).getBuildStage() === base)) return workdirOf(base);
    throw new Error(`stage ${name} sets no WORKDIR`);
  };
  const buildWorkdir = workdirOf(BUILD_STAGE).replace(/\/$/, '');

  let workdir = '/';
  let user = 'root';
  let command: string[] = [];
  const env: Record<string, string> = {};
  const steps: RuntimeStep[] = [];
  const unsupported = (instruction: Instruction, why: string) =>
    new Error(
      `the rehearsal cannot carry out \`${instruction.getKeyword()} ${instruction.getRawArgumentsContent()}\`: ${why} (tools/infra/runtime-stage.ts)`,
    );

  for (const instruction of stage(RUNTIME_STAGE).body) {
    const keyword = instruction.getKeyword();
    const text = `${keyword} ${instruction.getRawArgumentsContent() ?? ''}`;
    switch (keyword) {
      case 'WORKDIR':
        workdir = instruction.getArgumentsContent() ?? '';
        break;
      case 'USER':
        user = instruction.getArgumentsContent() ?? '';
        break;
      case 'ENV':
        for (const property of (instruction as Env).getProperties()) env[property.getName()] = expand(property.getValue() ?? '');
        break;
      case 'RUN': {
        const script = (instruction.getArgumentsContent() ?? '').replace(/\s+/g, ' ').trim();
        const known = KNOWN_RUNS.find(({ pattern }) => pattern.test(script));
        if (!known) throw unsupported(instruction, 'a RUN it does not know');
        if (known.step === 'install') steps.push({ kind: 'install', instruction: text });
        break;
      }
      case 'COPY': {
        const copy = instruction as Copy;
        const flags = copy.getFlags();
        if (flags.some((flag) => flag.getName() !== 'from')) throw unsupported(instruction, 'only --from is understood');
        const stageName = copy.getFromFlag()?.getValue();
        const args = copy.getArguments().map((argument) => expand(argument.getValue()));
        if (args.length < 2) throw unsupported(instruction, 'a COPY needs a source and a destination');
        const destination = args.at(-1)!;
        for (const source of args.slice(0, -1)) {
          let from: string;
          if (stageName === undefined) {
            // From the build context: the repository itself.
            if (source.startsWith('/') || source.includes('..') || /[*?[]/.test(source))
              throw unsupported(instruction, 'a context path must be plain and relative');
            from = source;
          } else if (stageName === BUILD_STAGE && source.startsWith(`${buildWorkdir}/`)) {
            from = source.slice(buildWorkdir.length + 1).replace(/\/$/, '');
          } else {
            throw unsupported(instruction, `only the build context and ${BUILD_STAGE}'s ${buildWorkdir}/ are known`);
          }
          // A destination ending in / receives the source by its own name; otherwise it is the target.
          const base = destination.endsWith('/') ? `${destination}${from.split('/').at(-1)}` : destination;
          steps.push({ kind: 'copy', from, to: relativeTo(workdir, base), instruction: text });
        }
        break;
      }
      case 'CMD': {
        const raw = (instruction.getArgumentsContent() ?? '').trim();
        command = raw.startsWith('[') ? (JSON.parse(raw) as string[]) : ['/bin/sh', '-c', raw];
        break;
      }
      default:
        if (!IGNORED.has(keyword)) throw unsupported(instruction, 'an instruction it does not know');
    }
  }
  if (command.length === 0) throw new Error(`the ${RUNTIME_STAGE} stage has no CMD`);
  return { workdir, steps, env, user, command };
}

/** A destination as a path inside WORKDIR; the rehearsal's folder stands in for WORKDIR. */
function relativeTo(workdir: string, destination: string): string {
  const absolute = destination.startsWith('/') ? destination : `${workdir.replace(/\/$/, '')}/${destination}`;
  const normalised = absolute
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .join('/');
  const root = workdir.split('/').filter(Boolean).join('/');
  if (normalised !== root && !normalised.startsWith(`${root}/`)) throw new Error(`COPY to ${destination} lands outside WORKDIR ${workdir}`);
  return normalised === root ? '.' : normalised.slice(root.length + 1);
}
