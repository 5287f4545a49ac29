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
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { atExit, pidAlive } from '../runtime/lifetime.js';
import { cpus } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Available } from '../debian/private-apt.js';
import { applyPatches } from './patch.js';
import { type KernelSource, resolveKernelSource, treeVersion } from './source.js';
import { KernelBuildError, requireTools, runBuildStep } from './build-steps.js';
import { InputPathError, readInputFile } from '../runtime/input-files.js';
import type { PreparedKernel } from '../guest/boot-kernel.js';
import { notice } from '../runtime/notices.js';
import { cacheRoot, repoRoot, type Arch } from '../runtime/paths.js';
import { cachedDir, discard, notAFile } from '../runtime/cache-products.js';
import {
  COVERAGE_DIR,
  COVERAGE_SOURCES,
  coverageFragmentPath,
  instrumentTree,
  instrumentedSources,
  keepCoverageNotes,
  patchedLines,
  sourcesBefore,
} from './coverage.js';

export const MPROG_LABEL = /^mprog-(\d+\.\d+)$/;

const BUILD = {
  x86_64: { make: [] as string[], compiler: 'gcc', target: 'bzImage', image: 'arch/x86/boot/bzImage' },
  arm64: {
    make: ['ARCH=arm64', 'CROSS_COMPILE=aarch64-linux-gnu-'],
    compiler: 'aarch64-linux-gnu-gcc',
    target: 'Image',
    image: 'arch/arm64/boot/Image',
  },
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
  /** gcov counters in the attach code (coverage.ts). */
  coverage?: boolean;
}

export interface BuiltKernel extends PreparedKernel {
  /** The built kernel's release (`uname -r`); unknown for products cached before it was recorded. */
  release: string | null;
  /** What was built, in words: the source, the patches. */
  description: string;
  /** A coverage build's .gcno files and sources (coverage.ts), or null. */
  coverage: CoverageNotes | null;
}

/** Where a coverage kernel keeps what its report needs: `dir`/<source> and `dir`/<source>.gcno. */
export interface CoverageNotes {
  dir: string;
  /** The instrumented sources, relative to the tree (`kernel/bpf/mprog.c`). */
  sources: string[];
  /** A patched build's lines the patches added or changed, per instrumented source (in the patched file). */
  patchLines: Record<string, number[]>;
}

interface BuildManifest {
  package: Available | null;
  description?: string;
  release?: string;
  /** The instrumented sources of a coverage build. */
  coverage?: string[];
  /** A patched coverage build's changed lines (CoverageNotes.patchLines). */
  patchLines?: Record<string, number[]>;
}

/** The coverage notes of a built kernel's image (`<cache>/kernels/<key>/image`, as `kernel build` prints it); null for any other image. */
export function coverageNotesOfImage(image: string): CoverageNotes | null {
  const dir = dirname(resolve(image));
  if (basename(image) !== 'image') return null; // not a name mprog gives its builds
  try {
    return coverageNotesOf(dir, JSON.parse(readFileSync(join(dir, 'kernel.json'), 'utf8')) as { coverage?: unknown });
  } catch {
    return null; // no manifest beside it: not a kernel mprog built
  }
}

/** A kernel's coverage notes, from the manifest in the kernel's cache directory; null when it is no coverage build. */
export function coverageNotesOf(kernelDir: string, manifest: { coverage?: unknown; patchLines?: unknown }): CoverageNotes | null {
  const sources = manifest.coverage;
  if (!Array.isArray(sources) || !sources.every((s): s is string => typeof s === 'string')) return null;
  const patchLines = typeof manifest.patchLines === 'object' && manifest.patchLines !== null ? (manifest.patchLines as Record<string, number[]>) : {};
  return { dir: join(kernelDir, COVERAGE_DIR), sources, patchLines };
}

/** Builds (or finds in the cache) the kernel `mprog-<series>` for `arch`. */
export async function mprogKernel(label: string, series: string, arch: Arch): Promise<PreparedKernel> {
  return buildKernel({ source: `debian-${series}`, patches: [], configs: [], arch }, label);
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A patch or config fragment mprog reads: a big series' patch is a few MiB. */
const MAX_BUILD_INPUT_BYTES = 256 * 1024 * 1024;

/** Reads each named file (a regular file within the bound: never a FIFO or a device), or says which one cannot be read. */
function readInputs(flag: string, files: readonly string[]): Buffer[] {
  return files.map((f) => {
    try {
      return readInputFile(f, MAX_BUILD_INPUT_BYTES, `a ${flag} file`);
    } catch (err) {
      if (!(err instanceof InputPathError)) throw err;
      throw new KernelBuildError(`${flag} ${f}: cannot read it (${err.reason})`, { file: f, cause: err });
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
  for (const c of configs) key.update(`\0config\0${sha256(c)}`);
  // Instrumented objects are other objects: a coverage build has a base of its own.
  if (req.coverage) key.update(`\0coverage\0${sha256(readFileSync(coverageFragmentPath()))}\0${COVERAGE_SOURCES.join(',')}`);
  // The unpatched tree's objects are shared by every patch of it: keyed without the patches.
  const objectsKey = key.copy().digest('hex').slice(0, 12);
  for (const p of patches) key.update(`\0patch\0${sha256(p)}`);
  const dir = join(cacheRoot(), 'kernels', `${source.name}_${req.arch}_${key.digest('hex').slice(0, 12)}`);
  const described = [
    source.description,
    ...req.patches.map((p) => `+ ${basename(p)}`),
    ...req.configs.map((c) => `+ config ${basename(c)}`),
    ...(req.coverage ? ['+ coverage'] : []),
  ].join(' ');
  const what = `kernel ${label} (${req.arch})`;
  const job = { what, source, configs: req.configs, arch: req.arch, coverage: req.coverage ?? false };
  const objects = join(cacheRoot(), 'kernel-objects', `${source.name}_${req.arch}_${objectsKey}`);
  const saved = await cachedDir<BuildManifest>(dir, 'kernel.json', async (tmp) => {
    let built: Built;
    mkdirSync(tmp, { recursive: true });
    if (req.patches.length) {
      built = await patchedBuild(job, objects, req.patches, tmp);
    } else {
      const base = await baseObjects(job, objects);
      built = { release: base.release, coverage: base.coverage, kept: ['image', 'config', ...base.kept] };
      for (const f of built.kept) {
        mkdirSync(dirname(join(tmp, f)), { recursive: true });
        copyFileSync(join(base.dir, f), join(tmp, f));
      }
    }
    const manifest: BuildManifest = {
      package: source.package,
      description: described,
      release: built.release,
      ...(built.coverage && { coverage: built.coverage }),
      ...(built.patchLines && { patchLines: built.patchLines }),
    };
    return { manifest, files: built.kept };
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
    coverage: coverageNotesOf(dir, saved),
  };
}

/** A build's product: its release, the instrumented sources (coverage builds) and the files kept. */
interface Built {
  release: string;
  coverage: string[] | null;
  /** A patched coverage build's changed lines. */
  patchLines?: Record<string, number[]>;
  /** Relative to the product's directory: image, config and a coverage build's notes. */
  kept: string[];
}

/** One source, configured one way, for one arch. */
interface BuildJob {
  what: string;
  source: KernelSource;
  configs: readonly string[];
  arch: Arch;
  coverage: boolean;
}

/**
 * Where make puts the objects: a directory inside the source tree, so that Kbuild names the
 * source `..` in every command and dependency it records, and the objects of one tree stay valid
 * in another copy of it (a patched build recompiles only what its patches touch).
 */
const OBJ = '.mprog-obj';
/** Object trees kept (each ~100 MB for tinyconfig); the least recently used beyond this go. */
const KEEP_OBJECTS = 3;

interface BaseObjects {
  /** image, config, obj/ (the object tree) and a coverage build's notes, of the unpatched build. */
  dir: string;
  release: string;
  coverage: string[] | null;
  /** A coverage build's notes, relative to `dir`. */
  kept: string[];
}

/** The unpatched tree built (or found built): its image, config and object tree. */
async function baseObjects(job: BuildJob, dir: string): Promise<BaseObjects> {
  const { image } = BUILD[job.arch];
  // One build of a base at a time (conform's mprog-X.Y and a patch of it may want it at once).
  const saved = await oneAtATime(`${dir}.lock`, () =>
    cachedDir<{ release: string; coverage?: string[]; kept?: string[] }>(dir, 'objects.json', async (tmp) => {
      const { tree, instrumented } = await layOutTree(job, join(tmp, 'src'), []);
      notice(`${job.what}: building ${job.source.description} unpatched; a few minutes, once (objects kept in ${dir})`);
      const config = await configure(job, tree);
      await compile(job, tree);
      renameSync(join(tree, OBJ), join(tmp, 'obj'));
      const kept = instrumented ? keepCoverageNotes(tree, join(tmp, 'obj'), instrumented, tmp) : [];
      rmSync(tree, { recursive: true, force: true });
      copyFileSync(join(tmp, 'obj', image), join(tmp, 'image'));
      writeFileSync(join(tmp, 'config'), config);
      const manifest = { release: readRelease(join(tmp, 'obj')), ...(instrumented && { coverage: instrumented, kept }) };
      return { manifest, files: ['image', 'config', ...kept] };
    }),
  );
  const now = new Date();
  utimesSync(join(dir, 'objects.json'), now, now); // used: kept over older ones
  pruneObjects(dirname(dir));
  return { dir, release: saved.release, coverage: saved.coverage ?? null, kept: saved.kept ?? [] };
}

/**
 * The tree with `patches` applied (first: a patch that does not apply is said at once), built on
 * a copy of the unpatched objects in `objects`; image and config left in `out`.
 */
async function patchedBuild(job: BuildJob, objects: string, patches: readonly string[], out: string): Promise<Built> {
  const { tree, patched, instrumented, patchLines } = await layOutTree(job, join(out, 'src'), patches);
  const base = await baseObjects(job, objects);
  // A copy, not links: the compiler rewrites objects in place.
  await runBuildStep(job.what, 'cp', ['-a', join(base.dir, 'obj'), join(tree, OBJ)], { step: 'copying the unpatched objects' });
  // Newer than every object: the base may have been built after the patches were applied.
  const now = new Date();
  for (const f of patched) if (existsSync(join(tree, f))) utimesSync(join(tree, f), now, now);
  notice(`${job.what}: compiling what the patches change (on the objects of ${basename(base.dir)})`);
  await compile(job, tree);
  const config = readFileSync(join(tree, OBJ, '.config'), 'utf8');
  checkConfig(job.what, tree, config, fragmentsOf(job), job.arch); // a patch may change Kconfig
  copyFileSync(join(tree, OBJ, BUILD[job.arch].image), join(out, 'image'));
  writeFileSync(join(out, 'config'), config);
  // The patched sources and their notes: a report shows the lines the patch changed.
  const kept = instrumented ? keepCoverageNotes(tree, join(tree, OBJ), instrumented, out) : [];
  return { release: readRelease(join(tree, OBJ)), coverage: instrumented, ...(patchLines && { patchLines }), kept: ['image', 'config', ...kept] };
}

/**
 * The source laid out in `dir`, checked to be a kernel with tcx, `patches` applied, gcov turned on
 * for a coverage build: the tree, the files the patches touched and the instrumented sources.
 */
async function layOutTree(
  job: BuildJob,
  dir: string,
  patches: readonly string[],
): Promise<{ tree: string; patched: string[]; instrumented: string[] | null; patchLines: Record<string, number[]> | null }> {
  requireTools(job.what, ['make', BUILD[job.arch].compiler, 'flex', 'bison', 'bc', 'tar', 'xz', 'cp', ...(patches.length ? ['git'] : [])]);
  notice(`${job.what}: laying out ${job.source.description}`);
  const tree = await job.source.layOut(dir);
  checkVersion(job.what, tree);
  if (patches.length) notice(`${job.what}: applying ${patches.length} patch${patches.length > 1 ? 'es' : ''}`);
  // A coverage report says which of the lines the patches changed ran: their text before is kept to find them.
  const before = job.coverage && patches.length ? sourcesBefore(tree, instrumentedSources(tree)) : null;
  const patched = patches.length ? await applyPatches(job.what, tree, patches) : [];
  if (!existsSync(join(tree, 'kernel', 'bpf', 'tcx.c')))
    throw new KernelBuildError(`${job.what}: the tree has no tcx (no kernel/bpf/tcx.c; tcx came in Linux 6.6)`);
  const patchLines = before && (await patchedLines(job.what, tree, before));
  return { tree, patched, instrumented: job.coverage ? instrumentTree(tree) : null, patchLines };
}

function fragmentsOf(job: BuildJob): string[] {
  return [fragmentPath(), ...(job.coverage ? [coverageFragmentPath()] : []), ...job.configs.map((c) => resolve(c))];
}

function make(job: BuildJob, tree: string, step: string, args: string[], onLine?: (line: string) => void): Promise<string> {
  return runBuildStep(job.what, 'make', ['-C', tree, `O=${OBJ}`, ...BUILD[job.arch].make, ...args], { step, ...(onLine && { onLine }) });
}

/** tinyconfig + the fragments; returns the config, checked to hold every fragment's options. */
async function configure(job: BuildJob, tree: string): Promise<string> {
  notice(
    `${job.what}: configuring (tinyconfig + mprog.fragment${job.coverage ? ' + coverage.fragment' : ''}${job.configs.map((c) => ` + ${basename(c)}`).join('')})`,
  );
  const obj = join(tree, OBJ);
  await make(job, tree, 'make tinyconfig', ['tinyconfig']);
  await runBuildStep(job.what, join(tree, 'scripts/kconfig/merge_config.sh'), ['-m', '-O', obj, join(obj, '.config'), ...fragmentsOf(job)], {
    step: 'merging the config fragments',
  });
  await make(job, tree, 'make olddefconfig', ['olddefconfig']);
  const config = readFileSync(join(obj, '.config'), 'utf8');
  checkConfig(job.what, tree, config, fragmentsOf(job), job.arch);
  return config;
}

async function compile(job: BuildJob, tree: string): Promise<void> {
  const { target } = BUILD[job.arch];
  const jobs = cpus().length;
  notice(`${job.what}: compiling (make -j${jobs} ${target})`);
  await make(job, tree, `make ${target}`, [`-j${jobs}`, target], compileProgress(job.what));
}

function readRelease(obj: string): string {
  return readFileSync(join(obj, 'include', 'config', 'kernel.release'), 'utf8').trim();
}

/**
 * Runs `work` while holding `lock` (a file with this process's id), waiting while a live process
 * holds it; a dead holder's lock is taken over.
 */
async function oneAtATime<T>(lock: string, work: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(lock), { recursive: true });
  for (;;) {
    try {
      writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    // A directory (or anything not a file) where the lock should be would be waited on for ever.
    const wrong = notAFile(lock);
    if (wrong && wrong !== 'is missing') {
      discard(lock, wrong);
      continue;
    }
    let holder: number;
    try {
      holder = Number(readFileSync(lock, 'utf8').trim()); // 0: being written this moment
    } catch {
      continue; // released meanwhile
    }
    if (holder > 0 && !pidAlive(holder)) rmSync(lock, { force: true });
    else await new Promise((r) => setTimeout(r, 2000));
  }
  const release = atExit(() => rmSync(lock, { force: true }));
  try {
    return await work();
  } finally {
    rmSync(lock, { force: true });
    release();
  }
}

/** Removes the object trees beyond the KEEP_OBJECTS most recently used. */
function pruneObjects(root: string): void {
  const kept = readdirSync(root)
    .filter((d) => existsSync(join(root, d, 'objects.json')))
    .map((d) => ({ d, used: statSync(join(root, d, 'objects.json')).mtimeMs }))
    .sort((a, b) => b.used - a.used);
  for (const { d } of kept.slice(KEEP_OBJECTS)) rmSync(join(root, d), { recursive: true, force: true });
}

/** A kernel tree, and one with tcx. */
function checkVersion(what: string, tree: string): void {
  const version = treeVersion(tree);
  if (!version) throw new KernelBuildError(`${what}: not a kernel source tree (its Makefile has no VERSION and PATCHLEVEL)`);
  const [major, minor] = version;
  if (major < FIRST_TCX[0] || (major === FIRST_TCX[0] && minor < FIRST_TCX[1])) {
    throw new KernelBuildError(
      `${what}: Linux ${major}.${minor} has no tcx (it came in ${FIRST_TCX.join('.')}); mprog needs ${FIRST_TCX.join('.')} or later`,
    );
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
      else if (e.name.startsWith('Kconfig'))
        for (const m of readFileSync(p, 'utf8').matchAll(/^\s*(?:menu)?config\s+(\w+)\s*$/gm)) names.add(`CONFIG_${m[1]}`);
    }
  };
  visit(tree);
  return names;
}

/**
 * Options of mprog.fragment that an older tree does not have, and what its guest does without:
 * netkit came in 6.7, and a guest without it says so in its world (netkit sequences: unsupported).
 */
const NOT_BEFORE: Record<string, string> = { CONFIG_NETKIT: 'netkit came in Linux 6.7; this kernel has none, which its guests report' };

/** Every fragment's options are in the final config, or the build stops saying which and why. */
function checkConfig(what: string, tree: string, config: string, fragments: readonly string[], arch: Arch): void {
  const problems: string[] = [];
  let declared: Set<string> | null = null;
  for (const fragment of fragments) {
    for (const option of droppedOptions(readInputFile(fragment, MAX_BUILD_INPUT_BYTES, 'a --config file').toString('utf8'), config, arch)) {
      declared ??= declaredOptions(tree);
      if (declared.has(option)) {
        problems.push(`${option} (${basename(fragment)}): olddefconfig turned it off (a dependency it needs is off)`);
      } else if (option === 'CONFIG_NET_XGRESS') {
        throw new KernelBuildError(`${what}: the tree has no tcx (no CONFIG_NET_XGRESS)`);
      } else if (fragment === fragmentPath() && NOT_BEFORE[option]) {
        notice(`${what}: the tree has no ${option} (${NOT_BEFORE[option]})`);
      } else {
        problems.push(`${option} (${basename(fragment)}): the tree has no such option`);
      }
    }
  }
  if (problems.length) throw new KernelBuildError(`${what}: the config lacks what the fragments need:\n  ${problems.join('\n  ')}`);
}
