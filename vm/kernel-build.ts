// `mprog kernel build SRC [--patch FILE]... [--config FRAGMENT]... [--arch A]`, and the kernels
// `mprog-X.Y` (the same build of `debian-X.Y` without patches): a kernel source (kernel-source.ts)
// laid out in scratch, the patches applied in order, configured as tinyconfig +
// kernel-configs/mprog.fragment + the user's fragments (everything built in, so the guest needs
// no modules), and built, cross-compiled for arm64. The product is cached by content: the
// source's identity, the fragment, each patch, each user fragment and the arch; the same inputs
// are found again at once, a different patch is a different kernel.
//
// Why the small config: the attach code (mprog.c, tcx.c, netkit.c, syscall.c) is the source's
// own; what tinyconfig leaves out (IPv4, modules, tree RCU's grace-period waits) is per-sequence
// work unrelated to the mprog API, so a guest replays about twice as fast as on a cloud kernel.

import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { Available } from './apt.js';
import { applyPatches } from './kernel-patch.js';
import { type KernelSource, resolveKernelSource, treeVersion } from './kernel-source.js';
import { KernelBuildError, requireTools, runBuildStep } from './kernel-tools.js';
import type { PreparedKernel } from './kernels.js';
import { notice } from './notices.js';
import { cacheRoot, repoRoot, type Arch } from './paths.js';
import { cachedDir } from './verified.js';

export const MPROG_LABEL = /^mprog-(\d+\.\d+)$/;

const BUILD = {
  x86_64: { make: [] as string[], compiler: 'gcc', target: 'bzImage', image: 'arch/x86/boot/bzImage' },
  arm64: { make: ['ARCH=arm64', 'CROSS_COMPILE=aarch64-linux-gnu-'], compiler: 'aarch64-linux-gnu-gcc', target: 'Image', image: 'arch/arm64/boot/Image' },
} as const;

/** The oldest kernel with tcx (and so with the mprog attach API). */
const FIRST_TCX: [number, number] = [6, 6];

function fragmentPath(): string {
  return join(repoRoot(), 'kernel-configs', 'mprog.fragment');
}

export interface KernelBuildRequest {
  /** `debian-X.Y`, a source tarball or a source directory. */
  source: string;
  /** Unified diffs applied in order with -p1. */
  patches: string[];
  /** Config fragments merged after kernel-configs/mprog.fragment. */
  configs: string[];
  arch: Arch;
}

export interface BuiltKernel extends PreparedKernel {
  /** The built kernel's release (`uname -r`); unknown for products cached before it was recorded. */
  release: string | null;
  /** What was built, in words: the source, the patches. */
  description: string;
}

interface BuildManifest {
  package: Available | null;
  description?: string;
  release?: string;
}

/** Builds (or finds in the cache) the kernel `mprog-<series>` for `arch`. */
export async function mprogKernel(label: string, series: string, arch: Arch): Promise<PreparedKernel> {
  return buildKernel({ source: `debian-${series}`, patches: [], configs: [], arch }, label);
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Reads each named file, or says which one cannot be read. */
function readInputs(flag: string, files: readonly string[]): Buffer[] {
  return files.map((f) => {
    try {
      return readFileSync(f);
    } catch (err) {
      throw new KernelBuildError(`${flag} ${f}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  });
}

/** Builds the kernel `req` asks for, or finds it in the cache; `label` names it in messages. */
export async function buildKernel(req: KernelBuildRequest, label = req.source): Promise<BuiltKernel> {
  const patches = readInputs('--patch', req.patches);
  const configs = readInputs('--config', req.configs);
  const source = await resolveKernelSource(req.source);
  const fragment = readFileSync(fragmentPath());
  // Same inputs, same key; without patches and fragments it is the key mprog-X.Y always had.
  const key = createHash('sha256').update(source.identity).update(fragment).update(req.arch);
  for (const p of patches) key.update(`\0patch\0${sha256(p)}`);
  for (const c of configs) key.update(`\0config\0${sha256(c)}`);
  const dir = join(cacheRoot(), 'kernels', `${source.name}_${req.arch}_${key.digest('hex').slice(0, 12)}`);
  const described = [source.description, ...req.patches.map((p) => `+ ${basename(p)}`), ...req.configs.map((c) => `+ config ${basename(c)}`)].join(' ');
  const what = `kernel ${label} (${req.arch})`;
  const saved = await cachedDir<BuildManifest>(dir, 'kernel.json', async (tmp) => {
    const release = await build(what, { source, patches: req.patches, configs: req.configs, arch: req.arch, out: tmp, dir });
    return { manifest: { package: source.package, description: described, release }, files: ['image', 'config'] };
  });
  return {
    label,
    arch: req.arch,
    image: join(dir, 'image'),
    config: join(dir, 'config'),
    modules: [],
    package: saved.package,
    release: saved.release ?? null,
    description: saved.description ?? described,
  };
}

interface BuildJob {
  source: KernelSource;
  patches: readonly string[];
  configs: readonly string[];
  arch: Arch;
  /** Scratch: the tree, the objects, then the product's files. */
  out: string;
  /** Where the product will be, for the messages. */
  dir: string;
}

/** Lays the tree out, patches, configures and compiles it; leaves image and config in job.out; returns the release. */
async function build(what: string, job: BuildJob): Promise<string> {
  const { make: cross, compiler, target, image } = BUILD[job.arch];
  requireTools(what, ['make', compiler, 'flex', 'bison', 'bc', 'tar', 'xz', ...(job.patches.length ? ['git'] : [])]);
  notice(`${what}: building from ${job.source.description}; a few minutes, once (cached in ${job.dir})`);
  const tree = await job.source.layOut(join(job.out, 'src'));
  checkVersion(what, tree);
  if (job.patches.length) {
    notice(`${what}: applying ${job.patches.length} patch${job.patches.length > 1 ? 'es' : ''}`);
    await applyPatches(what, tree, job.patches);
  }
  if (!existsSync(join(tree, 'kernel', 'bpf', 'tcx.c'))) throw new KernelBuildError(`${what}: the tree has no tcx (no kernel/bpf/tcx.c; tcx came in Linux 6.6)`);
  const obj = join(job.out, 'build');
  const make = (step: string, args: string[], onLine?: (line: string) => void) =>
    runBuildStep(what, 'make', ['-C', tree, `O=${obj}`, ...cross, ...args], { step, ...(onLine && { onLine }) });
  notice(`${what}: configuring (tinyconfig + mprog.fragment${job.configs.map((c) => ` + ${basename(c)}`).join('')})`);
  await make('make tinyconfig', ['tinyconfig']);
  const fragments = [fragmentPath(), ...job.configs.map((c) => resolve(c))];
  await runBuildStep(what, join(tree, 'scripts/kconfig/merge_config.sh'), ['-m', '-O', obj, join(obj, '.config'), ...fragments], { step: 'merging the config fragments' });
  await make('make olddefconfig', ['olddefconfig']);
  const config = readFileSync(join(obj, '.config'), 'utf8');
  checkConfig(what, tree, config, fragments, job.arch);
  const jobs = cpus().length;
  notice(`${what}: compiling (make -j${jobs} ${target})`);
  await make(`make ${target}`, [`-j${jobs}`, target], compileProgress(what));
  copyFileSync(join(obj, image), join(job.out, 'image'));
  writeFileSync(join(job.out, 'config'), config);
  return readFileSync(join(obj, 'include', 'config', 'kernel.release'), 'utf8').trim();
}

/** A kernel tree, and one with tcx. */
function checkVersion(what: string, tree: string): void {
  const version = treeVersion(tree);
  if (!version) throw new KernelBuildError(`${what}: not a kernel source tree (its Makefile has no VERSION and PATCHLEVEL)`);
  const [major, minor] = version;
  if (major < FIRST_TCX[0] || (major === FIRST_TCX[0] && minor < FIRST_TCX[1])) {
    throw new KernelBuildError(`${what}: Linux ${major}.${minor} has no tcx (it came in ${FIRST_TCX.join('.')}); mprog needs ${FIRST_TCX.join('.')} or later`);
  }
}

/** Says every so often how far the compile is: minutes of silence otherwise. */
function compileProgress(what: string): (line: string) => void {
  const EVERY_MS = 30_000;
  let objects = 0;
  let last = Date.now();
  return (line) => {
    if (/^\s+(CC|AS|LD|AR)\s/.test(line)) objects++;
    if (Date.now() - last < EVERY_MS) return;
    last = Date.now();
    notice(`${what}: compiling, ${objects} files so far`);
  };
}

/** Options the fragment sets that the final config lacks; x86 has no PL011 console or generic PCI host. */
export function droppedOptions(fragment: string, config: string, arch: Arch): string[] {
  const otherArchOnly = arch === 'x86_64' ? /^CONFIG_SERIAL_AMBA_PL011|^CONFIG_PCI_HOST_GENERIC/ : /^$/;
  const have = new Set(config.split('\n'));
  // `CONFIG_X=n` in a fragment is `# CONFIG_X is not set` (or no line at all) in a config.
  const holds = (line: string) => (line.endsWith('=n') ? !config.includes(`\n${line.slice(0, -1)}`) : have.has(line));
  return fragment
    .split('\n')
    .filter((l) => l.startsWith('CONFIG_') && !otherArchOnly.test(l) && !holds(l))
    .map((l) => l.split('=')[0]!);
}

/** Every `config NAME` some Kconfig file of the tree declares. */
function declaredOptions(tree: string): Set<string> {
  const names = new Set<string>();
  const visit = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) visit(p);
      else if (e.name.startsWith('Kconfig')) for (const m of readFileSync(p, 'utf8').matchAll(/^\s*(?:menu)?config\s+(\w+)\s*$/gm)) names.add(`CONFIG_${m[1]}`);
    }
  };
  visit(tree);
  return names;
}

/** Every fragment's options are in the final config, or the build stops saying which and why. */
function checkConfig(what: string, tree: string, config: string, fragments: readonly string[], arch: Arch): void {
  const problems: string[] = [];
  let declared: Set<string> | null = null;
  for (const fragment of fragments) {
    for (const option of droppedOptions(readFileSync(fragment, 'utf8'), config, arch)) {
      declared ??= declaredOptions(tree);
      const why = declared.has(option) ? 'olddefconfig turned it off (a dependency it needs is off)' : 'the tree has no such option';
      problems.push(`${option} (${basename(fragment)}): ${why}`);
    }
  }
  if (problems.some((p) => p.startsWith('CONFIG_NET_XGRESS ') && p.endsWith('no such option'))) {
    throw new KernelBuildError(`${what}: the tree has no tcx (no CONFIG_NET_XGRESS)`);
  }
  if (problems.length) throw new KernelBuildError(`${what}: the config lacks what the fragments need:\n  ${problems.join('\n  ')}`);
}
