// Where a kernel build's source comes from, `mprog kernel build SRC`: Debian's linux-source-X.Y
// (`debian-X.Y`, through the private apt), a kernel.org release (`kernel.org:6.6`, `:6.6.87`,
// `:mainline`: kernel-org.ts downloads and checks its tarball), a source tarball, or a directory
// (a git tree, clean or dirty, or any other tree). Each has an identity that changes exactly when its content does, so
// the build cache can key on it without copying the tree first; and each is laid out into a
// private scratch directory for the build, since patches must never touch the user's own tree.

import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { PrivateApt, type Available } from '../debian/private-apt.js';
import { extractMembers } from '../debian/deb-unpack.js';
import { KernelBuildError, runBuildStep } from './build-steps.js';
import { MprogError } from '../../contract/errors.js';
import { notice } from '../runtime/notices.js';
import { letEventsIn } from '../runtime/lifetime.js';
import { InputPathError, inputKind, readInputFile } from '../runtime/input-files.js';
import { KERNEL_ORG_SOURCE, kernelOrgTarball, publishedSha256, resolveKernelOrg } from './kernel-org.js';

export const DEBIAN_SOURCE = /^debian-(\d+\.\d+)$/;

export interface KernelSource {
  /** As the user gave it. */
  given: string;
  /** A short name for cache directories and messages: `mprog-6.12_6.12.117-1`, `kernel.org-6.6.87`, `tree-linux`, `tarball-linux-6.6.9`. */
  name: string;
  /** Changes exactly when the source's content does (for Debian: the package version, which apt pins by SHA-256). */
  identity: string;
  /** Said to the user: what is being built. */
  description: string;
  /** The Debian source package, for `debian-X.Y`. */
  package: Available | null;
  /** Lays the tree out in `dir` (which does not exist yet); returns the tree's top directory. */
  layOut(dir: string): Promise<string>;
}

/** The newest linux-source-<series> on the mirror, if any. */
export async function kernelSource(series: string, apt: PrivateApt): Promise<Available | undefined> {
  // linux-source is Architecture: all; madison lists it under every arch's Packages.
  const [pkg] = await apt.available([`linux-source-${series}`], 'amd64');
  return pkg;
}

const SOURCES_HELP = 'give debian-X.Y, kernel.org:X.Y[.Z] or kernel.org:mainline, a kernel source tarball or a source directory';

/** SRC as `mprog kernel build` takes it: `debian-X.Y`, `kernel.org:SPEC`, a tarball or a directory. */
export async function resolveKernelSource(given: string): Promise<KernelSource> {
  const debian = DEBIAN_SOURCE.exec(given);
  if (debian) return debianSource(given, debian[1]!);
  const kernelOrg = KERNEL_ORG_SOURCE.exec(given);
  if (kernelOrg) return kernelOrgSource(given, kernelOrg[1]!);
  const path = resolve(given);
  if (!existsSync(path)) throw new KernelBuildError(`${given}: no such file or directory (${SOURCES_HELP})`, { file: path });
  let kind: 'file' | 'dir';
  try {
    kind = inputKind(path); // never a FIFO (open would block) or a device (a read without end)
  } catch (err) {
    if (!(err instanceof InputPathError)) throw err;
    throw new KernelBuildError(`${given}: ${err.reason} (${SOURCES_HELP})`, { file: path, cause: err });
  }
  if (kind === 'dir') {
    // Before anything reads the rest: a directory that is no kernel tree (say /tmp) is refused at once.
    if (!treeVersion(path))
      throw new KernelBuildError(`${given}: not a kernel source tree: no Makefile with VERSION and PATCHLEVEL at its top (${SOURCES_HELP})`, {
        file: path,
      });
    return (await isGitTree(path)) ? gitSource(given, path) : plainTreeSource(given, path);
  }
  return tarballSource(given, path);
}

async function debianSource(given: string, series: string): Promise<KernelSource> {
  const apt = new PrivateApt();
  const pkg = await kernelSource(series, apt).catch((err: unknown) => {
    if (!(err instanceof MprogError)) throw err; // a bug, not the mirror's doing
    throw new KernelBuildError(`${given}: cannot read the Debian package lists: ${err.message}`, { cause: err });
  });
  if (!pkg)
    throw new KernelBuildError(`${given}: the Debian mirror has no linux-source-${series} to build from (mprog kernels lists the series it has)`);
  return {
    given,
    name: `mprog-${series}_${pkg.version}`,
    identity: pkg.version,
    description: `${pkg.name} ${pkg.version}`,
    package: pkg,
    layOut: async (dir) => {
      const deb = await apt.download({ ...pkg, debArch: 'all' }).catch((err: unknown) => {
        if (!(err instanceof MprogError)) throw err;
        throw new KernelBuildError(`${given}: cannot download ${pkg.name} ${pkg.version}: ${err.message}`, { cause: err });
      });
      const tarball = `./usr/src/${pkg.name}.tar.xz`;
      await extractMembers(deb, dir, [tarball]);
      await runBuildStep(given, 'tar', ['-xf', join(dir, tarball), '-C', dir]);
      rmSync(join(dir, 'usr'), { recursive: true, force: true });
      return join(dir, pkg.name);
    },
  };
}

/**
 * A kernel.org release: resolved to the exact release today (a series to its newest), keyed by
 * that release and its published SHA-256 (the tarball is fetched only when the tree is laid out,
 * so a kernel already built needs nothing but the sums; a release candidate, which has no
 * published sums, is downloaded first and keyed by its bytes).
 */
async function kernelOrgSource(given: string, spec: string): Promise<KernelSource> {
  const r = await resolveKernelOrg(spec);
  if (spec === 'mainline' || /^\d+\.\d+$/.test(spec))
    notice(`${given}: kernel.org's ${spec === 'mainline' ? 'mainline' : `newest ${spec}`} is ${r.release}${r.moniker ? ` (${r.moniker})` : ''}`);
  let { sha256, checked } = await publishedSha256(r);
  if (sha256 === null) ({ sha256, checked } = await kernelOrgTarball(r));
  return {
    given,
    name: `kernel.org-${r.release}`,
    identity: `kernel.org:${r.release}:${sha256}`,
    description: `kernel.org ${r.file} (${checked})`,
    package: null,
    layOut: async (dir) => {
      const tarball = await kernelOrgTarball(r);
      return unpackTarball(given, tarball.path, dir);
    },
  };
}

/** A kernel source tarball: Debian's linux-source-6.12 is ~150 MiB. */
const MAX_TARBALL_BYTES = 2 * 1024 * 1024 * 1024;

function tarballSource(given: string, path: string): KernelSource {
  let bytes: Buffer;
  try {
    bytes = readInputFile(path, MAX_TARBALL_BYTES, 'a kernel source tarball');
  } catch (err) {
    if (!(err instanceof InputPathError)) throw err;
    throw new KernelBuildError(`${given}: cannot read it (${err.reason})`, { file: path, cause: err });
  }
  const hash = createHash('sha256').update(bytes).digest('hex');
  return {
    given,
    name: `tarball-${basename(path).replace(/\.tar(\.\w+)?$|\.t[gx]z$/, '')}`,
    identity: `tarball:${hash}`,
    description: `tarball ${given}`,
    package: null,
    layOut: (dir) => unpackTarball(given, path, dir),
  };
}

/** The tarball unpacked in `dir` (which does not exist yet); returns the tree's top directory. */
async function unpackTarball(given: string, path: string, dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  await runBuildStep(given, 'tar', ['-xf', path, '-C', dir]); // GNU tar recognises the compression itself
  return treeTop(given, dir);
}

/** The tree in an unpacked tarball: the directory itself, or its one subdirectory. */
function treeTop(given: string, dir: string): string {
  if (existsSync(join(dir, 'Makefile'))) return dir;
  const entries = readdirSync(dir, { withFileTypes: true });
  const only = entries.length === 1 && entries[0]!.isDirectory() ? join(dir, entries[0]!.name) : null;
  if (only && existsSync(join(only, 'Makefile'))) return only;
  throw new KernelBuildError(`${given}: not a kernel source tarball (no Makefile at its top or in its one top directory)`, { file: given });
}

async function isGitTree(path: string): Promise<boolean> {
  const r = await execa('git', ['-C', path, 'rev-parse', '--show-toplevel'], { reject: false });
  return r.exitCode === 0 && resolve(r.stdout.trim()) === path;
}

async function git(path: string, args: string[]): Promise<string> {
  const r = await execa('git', ['-C', path, ...args], { reject: false, stripFinalNewline: false, maxBuffer: 1 << 30 });
  if (r.exitCode !== 0) throw new KernelBuildError(`${path}: git ${args[0]} failed: ${r.stderr.trim()}`, { file: path });
  return r.stdout;
}

/**
 * A git tree: HEAD, the diff of the working tree against it and the untracked files (not the
 * ignored ones: build products) make its identity; exactly those files are laid out.
 */
async function gitSource(given: string, path: string): Promise<KernelSource> {
  const head = (await git(path, ['rev-parse', 'HEAD'])).trim();
  const diff = await git(path, ['diff', 'HEAD', '--binary']);
  const untracked = (await git(path, ['ls-files', '-z', '--others', '--exclude-standard'])).split('\0').filter(Boolean).sort();
  const hash = createHash('sha256').update(diff);
  await hashFiles(hash, path, untracked);
  const dirty = diff.length > 0 || untracked.length > 0;
  return {
    given,
    name: `tree-${basename(path)}`,
    identity: `git:${head}:${hash.digest('hex')}`,
    description: `${given} (git ${head.slice(0, 12)}${dirty ? ' with uncommitted changes' : ''})`,
    package: null,
    layOut: async (dir) => {
      const files = (await git(path, ['ls-files', '-z', '--cached', '--others', '--exclude-standard'])).split('\0').filter(Boolean);
      // A file deleted in the working tree is still in the index: it is not part of the tree.
      linkTree(
        path,
        dir,
        files.filter((f) => lexists(join(path, f))),
      );
      return dir;
    },
  };
}

/** Any other directory: every file's path and content make its identity. */
async function plainTreeSource(given: string, path: string): Promise<KernelSource> {
  const files = await walk(path);
  const hash = createHash('sha256');
  await hashFiles(hash, path, files);
  return {
    given,
    name: `tree-${basename(path)}`,
    identity: `tree:${hash.digest('hex')}`,
    description: `${given} (a directory, not a git tree)`,
    package: null,
    layOut: async (dir) => {
      linkTree(path, dir, files);
      return dir;
    },
  };
}

function lexists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Every file (and symlink) below `root`, relative to it, sorted. Iterative (a tree of a million
 * files overflows no stack), and it lets signals in as it goes (Ctrl-C in a large tree).
 */
async function walk(root: string): Promise<string[]> {
  const out: string[] = [];
  const dirs = [''];
  for (let rel = dirs.pop(); rel !== undefined; rel = dirs.pop()) {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) dirs.push(p);
      else out.push(p);
    }
    await letEventsIn();
  }
  return out.sort();
}

/** Each file's name, kind and content (a symlink's target) into `hash`. */
async function hashFiles(hash: ReturnType<typeof createHash>, root: string, files: readonly string[]): Promise<void> {
  for (const f of files) {
    await letEventsIn();
    const p = join(root, f);
    const st = lstatSync(p);
    // A FIFO, socket or device in the tree is no source: never opened (a FIFO would block), not laid out (linkTree).
    if (!st.isSymbolicLink() && !st.isFile()) continue;
    hash.update(`\0${f}\0${st.isSymbolicLink() ? 'l' : (st.mode & 0o111) !== 0 ? 'x' : 'f'}\0`);
    hash.update(st.isSymbolicLink() ? readlinkSync(p) : readFileSync(p));
  }
}

/**
 * `files` of `from` at the same paths under `to`: hard links where the file system allows (a
 * kernel tree is a gigabyte), copies otherwise. Whoever changes a file there must break its
 * link first (breakLink).
 */
function linkTree(from: string, to: string, files: readonly string[]): void {
  for (const f of files) {
    const src = join(from, f);
    const dst = join(to, f);
    mkdirSync(dirname(dst), { recursive: true });
    const st = lstatSync(src);
    if (st.isSymbolicLink()) symlinkSync(readlinkSync(src), dst);
    else if (st.isFile()) {
      try {
        linkSync(src, dst);
      } catch {
        copyFileSync(src, dst);
      }
    }
  }
}

/** Makes `path` a file of its own (a copy) if it is a hard link to a file elsewhere. */
export function breakLink(path: string): void {
  if (!existsSync(path) || lstatSync(path).nlink < 2) return;
  const copy = `${path}.mprog-copy`;
  copyFileSync(path, copy);
  renameSync(copy, path); // replaces the directory entry, not the shared file
}

/** The tree's `make kernelversion` without make: VERSION.PATCHLEVEL from its Makefile. */
export function treeVersion(tree: string): [number, number] | null {
  const makefile = join(tree, 'Makefile');
  // Only a regular file is read: a FIFO named Makefile would block.
  if (!lstatSync(makefile, { throwIfNoEntry: false })?.isFile()) return null;
  const text = readFileSync(makefile, 'utf8');
  const v = /^VERSION = (\d+)$/m.exec(text)?.[1];
  const p = /^PATCHLEVEL = (\d+)$/m.exec(text)?.[1];
  return v && p ? [Number(v), Number(p)] : null;
}
