// The guest's userland from Debian packages of one suite, for one arch: busybox (static),
// bpftool (>= 7.5, the first with tcx) with the shared libraries and dynamic loader it needs, and
// coreutils' libstdbuf (what `stdbuf -oL` preloads: the agent runs bpftool line-buffered).
// Staged once per exact package set under <cache>/userland.

import { createHash } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { PrivateApt, dependsOf, type Available } from './private-apt.js';
import { extractAll } from './deb-unpack.js';
import { cacheRoot, debArch, type Arch } from '../runtime/paths.js';
import { runTool } from '../runtime/run-tool.js';
import { cachedDir } from '../runtime/cache-products.js';
import { Unusable } from '../../contract/errors.js';

/** Where coreutils keeps the library `stdbuf` preloads (guest path). */
export const LIBSTDBUF = '/usr/libexec/coreutils/libstdbuf.so';

/** bpftool attaches to tcx from v7.5 on; trixie has it, newer suites as fallbacks. */
const BPFTOOL_MIN = [7, 5];
const BPFTOOL_SUITES = ['trixie', 'trixie-backports', 'sid'];

export interface Userland {
  /** Guest path → host file of every file the guest needs (symlinks resolved: copied as files). */
  files: Record<string, string>;
  /** Guest directories holding the shared libraries, for LD_LIBRARY_PATH. */
  libDirs: string[];
  /** The packages everything came from. */
  packages: Available[];
}

function bpftoolRecent(version: string): boolean {
  const [major = 0, minor = 0] = version.split(/[.+~-]/).map(Number);
  return major > BPFTOOL_MIN[0]! || (major === BPFTOOL_MIN[0] && minor >= BPFTOOL_MIN[1]!);
}

/** bpftool and busybox-static from the first suite whose bpftool is recent enough, plus bpftool's library packages. */
async function choosePackages(apt: PrivateApt, arch: Arch): Promise<Available[]> {
  const da = debArch(arch);
  const bpftools = await apt.available(['bpftool'], da);
  const bpftool = BPFTOOL_SUITES.map((s) => bpftools.find((p) => p.suite === s && bpftoolRecent(p.version))).find(Boolean);
  if (!bpftool) throw new Unusable(`userland (${arch}): no bpftool >= ${BPFTOOL_MIN.join('.')} in ${BPFTOOL_SUITES.join(', ')}`);
  const suite = bpftool.suite;
  const inSuite = async (name: string): Promise<Available | undefined> => (await apt.available([name], da)).find((p) => p.suite === suite);
  const busybox = await inSuite('busybox-static');
  if (!busybox) throw new Unusable(`userland (${arch}): no busybox-static in ${suite}`);
  const coreutils = await inSuite('coreutils'); // for libstdbuf.so alone, which needs only libc
  if (!coreutils) throw new Unusable(`userland (${arch}): no coreutils in ${suite}`);
  // The closure of bpftool's library dependencies (libc6 included), all from the same suite.
  const chosen = new Map<string, Available>([
    ['bpftool', bpftool],
    ['busybox-static', busybox],
    ['coreutils', coreutils],
  ]);
  const todo = dependsOf(await apt.show(bpftool));
  while (todo.length) {
    const name = todo.pop()!;
    if (chosen.has(name)) continue;
    const p = await inSuite(name);
    if (!p) continue; // a virtual package or an arch-all helper: not a library file we need
    chosen.set(name, p);
    todo.push(...dependsOf(await apt.show(p)));
  }
  return [...chosen.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The NEEDED libraries and the interpreter of an ELF file (readelf reads any architecture). */
async function elfDeps(file: string): Promise<{ needed: string[]; interp: string | null }> {
  const stdout = await runTool('readelf', ['-dlW', file], { what: `reading the program headers of ${file}`, env: { LC_ALL: 'C' } });
  const needed = [...stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
  const interp = /Requesting program interpreter: ([^\]]+)\]/.exec(stdout)?.[1] ?? null;
  return { needed, interp };
}

/** A file of the staged root by guest path, following the packages' (relative) symlinks; relative to the root. */
function hostPath(root: string, guest: string): string | null {
  const p = join(root, guest);
  if (!existsSync(p)) return null;
  const base = realpathSync(root) + '/';
  const real = realpathSync(p);
  if (!real.startsWith(base)) throw new Unusable(`userland: ${guest} points outside the staged root`, { file: p });
  return real.slice(base.length);
}

async function stage(root: string, arch: Arch, packages: Available[]): Promise<Userland> {
  const files: Record<string, string> = {};
  const libDirs = new Set<string>();
  // Library directories of the merged-/usr and the older layout, multiarch first.
  const triplet = arch === 'x86_64' ? 'x86_64-linux-gnu' : 'aarch64-linux-gnu';
  const searchDirs = [`/usr/lib/${triplet}`, `/lib/${triplet}`, '/usr/lib', '/lib'];
  /** Adds the first of `candidates` the packages have, as guest path `guest`. */
  const add = (guest: string, candidates = [guest]) => {
    const host = candidates.map((c) => hostPath(root, c)).find((h) => h !== null);
    if (!host) throw new Unusable(`userland (${arch}): ${candidates.join(' or ')} is not in ${packages.map((p) => p.name).join(', ')}`);
    files[guest] = host;
    return join(root, host);
  };
  // Packages of merged-/usr suites ship /usr/bin/busybox; /init expects /bin/busybox.
  add('/bin/busybox', ['/usr/bin/busybox', '/bin/busybox']);
  const todo = [add('/usr/sbin/bpftool', ['/usr/sbin/bpftool', '/sbin/bpftool']), add(LIBSTDBUF)];
  while (todo.length) {
    const { needed, interp } = await elfDeps(todo.pop()!);
    // Merged-/usr packages ship the loader under /usr; the guest needs it at the ELF's path.
    if (interp && !files[interp]) todo.push(add(interp, [interp, `/usr${interp}`]));
    for (const lib of needed) {
      const dir = searchDirs.find((d) => hostPath(root, `${d}/${lib}`));
      if (!dir) throw new Unusable(`userland (${arch}): ${lib} is needed but none of ${packages.map((p) => p.name).join(', ')} has it`);
      libDirs.add(dir);
      if (!files[`${dir}/${lib}`]) todo.push(add(`${dir}/${lib}`));
    }
  }
  return { files, libDirs: [...libDirs].sort(), packages };
}

/** The userland for `arch`, staged from Debian packages (cached by the exact package set). */
export function prepareUserland(arch: Arch): Promise<Userland> {
  // Resolving the package set costs apt-cache calls: once per arch and process.
  let ready = prepared.get(arch);
  if (!ready) {
    ready = resolveUserland(arch, new PrivateApt());
    prepared.set(arch, ready);
    ready.catch(() => prepared.delete(arch)); // a failure is not remembered: the next call tries again
  }
  return ready;
}

const prepared = new Map<Arch, Promise<Userland>>();

async function resolveUserland(arch: Arch, apt: PrivateApt): Promise<Userland> {
  const packages = await choosePackages(apt, arch);
  const key = createHash('sha256').update(JSON.stringify(packages)).digest('hex').slice(0, 16);
  const dir = join(cacheRoot(), 'userland', `${arch}-${key}`);
  const saved = await cachedDir(dir, 'userland.json', async (tmp) => {
    for (const p of packages) await extractAll(await apt.download(p), join(tmp, 'root'));
    const staged = await stage(join(tmp, 'root'), arch, packages);
    return { manifest: staged, files: Object.values(staged.files).map((rel) => join('root', rel)) };
  });
  return absolute(dir, saved);
}

/** The saved userland with its files as host paths. */
function absolute(dir: string, saved: Userland): Userland {
  const files = Object.fromEntries(Object.entries(saved.files).map(([guest, rel]) => [guest, join(dir, 'root', rel)]));
  return { ...saved, files };
}
