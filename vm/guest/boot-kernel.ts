// Kernels a VM can boot: Debian cloud kernels by series (`debian-6.12`), resolved to the newest
// package the mirror has and cached by exact package version; `mprog-6.12`, built here from
// Debian's source of that series (kernel-build.ts); `kernel.org-6.6` (`-6.6.87`, `-mainline`),
// built the same way from a kernel.org release (kernel-org.ts); or a kernel the user built.
// For each: an image QEMU's -kernel accepts, its config (when known), and the modules the guest
// needs where the kernel has them as modules (veth, virtio console), decompressed for busybox
// insmod, in load order.

import { notice } from '../runtime/notices.js';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PrivateApt, dependsOf, type Available } from '../debian/private-apt.js';
import { compareDebVersions } from '../debian/deb-version.js';
import { extractMembers, listDeb, moduleBytes } from '../debian/deb-unpack.js';
import { MPROG_LABEL, buildKernel, mprogKernel } from '../kernel-build/build.js';
import { cacheRoot, debArch, type Arch } from '../runtime/paths.js';
import { runTool } from '../runtime/run-tool.js';
import { cachedDir } from '../runtime/cache-products.js';
import { BadInput, Unusable } from '../../contract/errors.js';

export interface PreparedKernel {
  /** What the user asked for: `debian-6.12` or the image path. */
  label: string;
  arch: Arch;
  /** A file QEMU -kernel boots (bzImage on x86_64, an uncompressed Image on arm64). */
  image: string;
  /** The kernel's .config, when known. */
  config: string | null;
  /** Plain .ko files to insmod in this order (dependencies first); empty when all is built in. */
  modules: string[];
  /** The Debian package the kernel came from. */
  package: Available | null;
  /** Its `uname -r` where known without booting it (a Debian package's name, a build's record): a
   * resumed guest that reports another is a damaged saved guest. */
  release?: string | null;
}

/** The `uname -r` of the kernel in a Debian image package: `linux-image-6.12.117+deb13-cloud-amd64-unsigned` → `6.12.117+deb13-cloud-amd64`. */
export function debianRelease(pkg: Available): string | null {
  const m = /^linux-image-(.+?)(-unsigned)?$/.exec(pkg.name);
  return m ? m[1]! : null;
}

const DEBIAN_LABEL = /^debian-(\d+)\.(\d+|x)$/;

/** Image packages of one arch: linux-image-<ver>-cloud-<arch>[-unsigned], with the series of <ver>. */
function cloudImage(name: string, arch: Arch): { series: string } | null {
  const m = /^linux-image-(\d+\.\d+)(?:[.+~-][^ ]*)?-cloud-(amd64|arm64)(-unsigned)?$/.exec(name);
  return m && m[2] === debArch(arch) ? { series: m[1]! } : null;
}

/** The cloud image packages of one major version (null: every version) for the arch. */
async function cloudImages(apt: PrivateApt, major: string | null, arch: Arch): Promise<Available[]> {
  const names = (await apt.search(`^linux-image-${major ?? '[0-9]+'}\\.[0-9]+.*-cloud-${debArch(arch)}`)).filter((n) => cloudImage(n, arch));
  return apt.available(names, debArch(arch));
}

/** Every series of a major version (null: of every version) the mirror has for the arch, e.g. debianSeries('7') → ['7.0', '7.1', ...]. */
export async function debianSeries(major: string | null, arch: Arch, apt = new PrivateApt()): Promise<string[]> {
  const series = new Set((await cloudImages(apt, major, arch)).map((p) => cloudImage(p.name, arch)!.series));
  return [...series].sort(compareDebVersions);
}

/**
 * The packages of a series, newest first; at equal versions the -unsigned one first (the same
 * kernel without the EFI signature).
 */
export async function seriesCandidates(series: string, arch: Arch, apt = new PrivateApt()): Promise<Available[]> {
  const major = series.split('.')[0]!;
  const all = (await cloudImages(apt, major, arch)).filter((p) => cloudImage(p.name, arch)!.series === series);
  const unsignedFirst = (p: Available) => (p.name.endsWith('-unsigned') ? 0 : 1);
  all.sort((a, b) => compareDebVersions(b.version, a.version) || unsignedFirst(a) - unsignedFirst(b));
  if (all.length === 0) {
    const have = await debianSeries(major, arch, apt);
    throw new Unusable(
      `kernel debian-${series} (${arch}): the Debian mirror has no linux-image-${series}.*-cloud-${debArch(arch)}` +
        (have.length ? ` (it has series ${have.join(', ')})` : ''),
    );
  }
  return all;
}

/** How many versions of a series to try, newest first, before giving up. */
export const MAX_CANDIDATES = 3;

/** `kernel.org-SPEC`: the kernel `mprog kernel build kernel.org:SPEC` builds (mainline, X.Y, X.Y.Z, X.Y-rcN). */
export const KERNEL_ORG_LABEL = /^kernel\.org-(mainline|\d+\.\d+(?:\.\d+)?(?:-rc\d+)?)$/;

/** Prepares `label` (`debian-X.Y`, `mprog-X.Y`, `kernel.org-SPEC` or a path to a bzImage/Image) for `arch`. */
export async function prepareKernel(label: string, arch: Arch, opts: { modulesDir?: string } = {}): Promise<PreparedKernel> {
  const built = MPROG_LABEL.exec(label);
  if (built) return mprogKernel(label, built[1]!, arch);
  // Built (once, then cached by the exact release) from kernel.org's tarball, without patches.
  const kernelOrg = KERNEL_ORG_LABEL.exec(label);
  if (kernelOrg && !existsSync(label)) return buildKernel({ source: `kernel.org:${kernelOrg[1]}`, patches: [], configs: [], arch }, label);
  const m = DEBIAN_LABEL.exec(label);
  if (!m) return userKernel(label, arch, opts.modulesDir);
  const apt = new PrivateApt();
  if (m[2] === 'x') {
    const series = (await debianSeries(m[1]!, arch, apt)).map((s) => `debian-${s}`);
    throw new BadInput(`kernel ${label} (${arch}): name one series; the mirror has ${series.join(', ') || 'none'}`);
  }
  // The newest kernel whose packages are all on the mirror (one may lack its modules package).
  // Only that skips a version, and saying so: any other failure (a download, a damaged package)
  // is this version's, not a reason to run another kernel than the newest.
  const candidates = (await seriesCandidates(`${m[1]}.${m[2]}`, arch, apt)).slice(0, MAX_CANDIDATES);
  const problems: string[] = [];
  for (const pkg of candidates) {
    try {
      const kernel = await debianKernel(label, pkg, arch, apt);
      if (problems.length) notice(`${label} (${arch}): ${problems.join('; ')}; using ${pkg.name} ${pkg.version}`);
      return kernel;
    } catch (err) {
      if (!(err instanceof NotOnMirror)) throw err;
      problems.push(err.message);
    }
  }
  throw new Unusable(`kernel ${label} (${arch}): no usable package among the newest ${candidates.length}:\n  ${problems.join('\n  ')}`);
}

async function debianKernel(label: string, pkg: Available, arch: Arch, apt: PrivateApt): Promise<PreparedKernel> {
  const dir = join(cacheRoot(), 'kernels', `${pkg.name}_${pkg.version}_${pkg.debArch}`);
  let saved = await cachedDir(dir, 'kernel.json', (tmp) => unpackDebianKernel(pkg, tmp, arch, apt));
  const missing = optionalModules(readFileSync(join(dir, 'config'), 'utf8')).filter((m) => !saved.modules.includes(`modules/${m}.ko`));
  if (missing.length) {
    notice(`cache: ${dir}: made before ${missing.join(', ')} was loaded in guests; making it again`);
    rmSync(dir, { recursive: true, force: true });
    saved = await cachedDir(dir, 'kernel.json', (tmp) => unpackDebianKernel(pkg, tmp, arch, apt));
  }
  return {
    label,
    arch,
    image: join(dir, 'image'),
    config: join(dir, 'config'),
    modules: saved.modules.map((f) => join(dir, f)),
    package: pkg,
    release: debianRelease(pkg),
  };
}

/**
 * The packages holding one kernel: the image package itself (up to 6.12 it has everything) and,
 * from 7.x on, the linux-binary/-modules/-base packages of the same release it depends on.
 */
export async function kernelPackages(pkg: Available, apt: PrivateApt): Promise<Available[]> {
  const release = pkg.name.replace(/^linux-image-/, '').replace(/-unsigned$/, '');
  const parts = dependsOf(await apt.show(pkg)).filter(
    (d) => d === `linux-binary-${release}` || d === `linux-modules-${release}` || d === `linux-base-${release}`,
  );
  const found = await apt.available(parts, pkg.debArch);
  return [pkg, ...parts.map((name) => found.find((p) => p.name === name && p.version === pkg.version) ?? missing(name, pkg))];
}

/** A version of a kernel the mirror does not have all packages of: the one resolution may skip. */
class NotOnMirror extends Unusable {
  override name = 'NotOnMirror';
}

function missing(name: string, pkg: Available): never {
  throw new NotOnMirror(`kernel ${pkg.name} ${pkg.version}: the mirror has no ${name} ${pkg.version} for ${pkg.debArch}`);
}

/** The files of a kernel wherever the package layout puts them (/boot up to 6.12, /usr/lib/modules/<release>/ later). */
const WANTED: Record<'image' | 'config', RegExp> = {
  image: /(\/boot\/vmlinuz-[^/]+|\/modules\/[^/]+\/vmlinuz)$/,
  config: /(\/boot\/config-[^/]+|\/modules\/[^/]+\/config)$/,
};

/**
 * What the guest needs that a kernel may have as a module: virtio PCI and the virtio console
 * carry the agent's channel (modules in Debian 6.1), veth is needed by most sequences.
 */
const NEEDED: { option: string; module: string; optional?: true }[] = [
  { option: 'VIRTIO_PCI', module: 'virtio_pci' },
  { option: 'VIRTIO_CONSOLE', module: 'virtio_console' },
  { option: 'VETH', module: 'veth' },
  // The clsact and ingress qdiscs (qdisc_add steps); without them those sequences are unsupported.
  { option: 'NET_SCH_INGRESS', module: 'sch_ingress', optional: true },
];

/** The optional NEEDED modules a config has as =m (a kernel cached before they were NEEDED lacks them). */
function optionalModules(config: string): string[] {
  return NEEDED.filter((n) => n.optional && new RegExp(`^CONFIG_${n.option}=m$`, 'm').test(config)).map((n) => n.module);
}

/**
 * The modules to load, dependencies first, for the NEEDED options this config has as =m; without
 * a config (a user kernel built elsewhere), whichever NEEDED modules `locate` finds.
 */
async function neededModules(
  config: string | null,
  locate: (name: string) => Promise<string>,
  what: string,
): Promise<{ name: string; bytes: Buffer }[]> {
  const seen = new Set<string>();
  const all: { name: string; bytes: Buffer }[] = [];
  for (const { option, module, optional } of NEEDED) {
    if (config === null) {
      all.push(...(await moduleChain(module, locate, seen).catch(() => [])));
      continue;
    }
    const value = new RegExp(`^CONFIG_${option}=(.)`, 'm').exec(config)?.[1];
    if (value === 'y' || (optional && value !== 'm')) continue;
    if (value !== 'm') throw new Unusable(`kernel ${what}: CONFIG_${option} is off; mprog guests need it (kernel-configs/mprog.fragment)`);
    all.push(...(await moduleChain(module, locate, seen)));
  }
  return all;
}

interface Member {
  deb: string;
  path: string;
}

/** Unpacks what the guest needs of a Debian kernel into `tmp`. */
async function unpackDebianKernel(
  pkg: Available,
  tmp: string,
  arch: Arch,
  apt: PrivateApt,
): Promise<{ manifest: { package: Available; modules: string[] }; files: string[] }> {
  const what = `${pkg.name} ${pkg.version} (${arch})`;
  const members: Member[] = [];
  for (const p of await kernelPackages(pkg, apt)) {
    const deb = await apt.download(p);
    for (const path of await listDeb(deb)) members.push({ deb, path });
  }
  const root = join(tmp, 'pkg');
  const pick = async (want: RegExp): Promise<string | null> => {
    const m = members.find((x) => want.test(x.path));
    if (!m) return null;
    await extractMembers(m.deb, root, [m.path]);
    return join(root, m.path);
  };
  const image = await pick(WANTED.image);
  const config = await pick(WANTED.config);
  if (!image || !config) throw new Unusable(`kernel ${what}: its packages have no vmlinuz or config`);
  const locate = async (name: string): Promise<string> => {
    const m = members.find((x) => moduleFile(name).test(x.path));
    if (!m) throw new Unusable(`kernel ${what}: module ${name} is not in its packages`);
    await extractMembers(m.deb, root, [m.path]);
    return join(root, m.path);
  };
  mkdirSync(join(tmp, 'modules'), { recursive: true });
  const modules: string[] = [];
  for (const mod of await neededModules(readFileSync(config, 'utf8'), locate, what)) {
    const plain = `modules/${mod.name}.ko`;
    writeFileSync(join(tmp, plain), mod.bytes);
    modules.push(plain);
  }
  writeFileSync(join(tmp, 'image'), await bootableImage(readFileSync(image), arch, what));
  writeFileSync(join(tmp, 'config'), readFileSync(config));
  rmSync(root, { recursive: true });
  return { manifest: { package: pkg, modules }, files: ['image', 'config', ...modules] };
}

/** Matches the file of module `name` (depmod treats '-' and '_' in module names alike). */
function moduleFile(name: string): RegExp {
  return new RegExp(`/${name.replace(/[-_]/g, '[-_]')}\\.ko(\\.(xz|zst|gz))?$`);
}

/**
 * A module and what it needs, dependencies first, as plain module bytes. Debian ships no
 * modules.dep (depmod makes it at install time), so the dependencies come from each module's
 * own "depends=" modinfo. `locate` gives the file of a module name.
 */
async function moduleChain(
  name: string,
  locate: (name: string) => Promise<string>,
  seen = new Set<string>(),
): Promise<{ name: string; bytes: Buffer }[]> {
  if (seen.has(name)) return [];
  seen.add(name);
  const bytes = await moduleBytes(await locate(name));
  const info = /\0depends=([^\0]*)\0/.exec(bytes.toString('latin1'));
  const chain: { name: string; bytes: Buffer }[] = [];
  for (const d of (info?.[1] ?? '').split(',').filter(Boolean)) chain.push(...(await moduleChain(d, locate, seen)));
  return [...chain, { name, bytes }];
}

function findFiles(dir: string, want: (path: string) => boolean): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...findFiles(p, want));
    else if (want(p)) out.push(p);
  }
  return out.sort();
}

/**
 * QEMU 7.2 boots an x86 bzImage and an arm64 Image (plain or gzip), but not an arm64 EFI zboot
 * image (a PE file whose payload is the compressed Image): unwrap whatever Debian shipped to a plain Image.
 * `userFile`: the image file the user gave (then one that is not an Image is their bad input).
 */
async function bootableImage(data: Buffer, arch: Arch, what: string, userFile?: string): Promise<Buffer> {
  if (arch === 'x86_64') return data;
  let image = data;
  if (image.subarray(0, 2).toString('latin1') === 'MZ' && image.subarray(4, 8).toString('latin1') === 'zimg') {
    const offset = image.readUInt32LE(8);
    const size = image.readUInt32LE(12);
    const comp = image.subarray(24, 56).toString('latin1').replace(/\0.*$/s, '');
    image = await decompress(image.subarray(offset, offset + size), comp, what);
  } else if (image[0] === 0x1f && image[1] === 0x8b) {
    image = gunzipSync(image);
  }
  // arch/arm64/include/asm/image.h: the magic "ARM\x64" at offset 56.
  if (image.subarray(56, 60).toString('latin1') !== 'ARM\x64') {
    const message = `kernel ${what}: vmlinuz is not an arm64 Image (plain, gzip or EFI zboot)`;
    throw userFile === undefined ? new Unusable(message) : new BadInput(message, { file: userFile });
  }
  return image;
}

/**
 * The zboot payload as a plain Image. Makefile.zboot appends a 4-byte size to every payload but
 * gzip's (where it is part of the format); the decompressors would take it for trailing garbage.
 */
async function decompress(payload: Buffer, comp: string, what: string): Promise<Buffer> {
  if (comp === 'gzip') return gunzipSync(payload);
  const tool = { zstd: 'zstd', xzkern: 'xz', lzma: 'xz', lzo: 'lzop', bzip2: 'bzip2', lz4: 'lz4' }[comp];
  if (!tool) throw new Unusable(`kernel ${what}: EFI zboot payload compressed with ${comp}, which mprog cannot unpack`);
  return runTool(tool, ['-dc'], { what: `kernel ${what}: ${tool} -dc of the EFI zboot payload`, input: payload.subarray(0, -4), binary: true });
}

/** A user-built kernel: the image as given, its .config if it sits in the build tree, veth from `modulesDir` if given. */
/**
 * Throws what is wrong with a kernel label that can be told without preparing it (a path that is
 * no file), so that a command can refuse it before it prepares another kernel for minutes.
 */
export function checkKernelLabel(label: string): void {
  if (MPROG_LABEL.test(label) || DEBIAN_LABEL.test(label) || (KERNEL_ORG_LABEL.test(label) && !existsSync(label))) return;
  const image = resolve(label);
  const stat = statSync(image, { throwIfNoEntry: false });
  if (stat?.isFile()) return;
  const why = stat?.isDirectory()
    ? 'is a directory: give the image built in it (arch/x86/boot/bzImage or arch/arm64/boot/Image)'
    : 'no such file (give debian-X.Y, mprog-X.Y, kernel.org-X.Y[.Z], kernel.org-mainline or the path of a bzImage/Image)';
  throw new BadInput(`kernel ${label}: ${why}`, { file: image });
}

async function userKernel(path: string, arch: Arch, modulesDir: string | undefined): Promise<PreparedKernel> {
  checkKernelLabel(path);
  const image = resolve(path);
  const data = readFileSync(image);
  const hash = createHash('sha256')
    .update(data)
    .update(modulesDir ?? '')
    .digest('hex')
    .slice(0, 16);
  const dir = join(cacheRoot(), 'kernels', `user-${hash}-${arch}`);
  // arch/<arch>/boot/<image> in a kernel tree: the tree's .config is three levels up; an image
  // `mprog kernel build` made has its `config` beside it.
  const beside = basename(image) === 'image' ? [join(dirname(image), 'config')] : [];
  const config = [join(dirname(image), '.config'), join(dirname(image), '..', '..', '..', '.config'), ...beside].find(existsSync) ?? null;
  if (!modulesDir && config && /^CONFIG_(VETH|VIRTIO_PCI|VIRTIO_CONSOLE)=m$/m.test(readFileSync(config, 'utf8'))) {
    throw new BadInput(`kernel ${path}: ${config} builds veth or virtio console as modules: give the modules directory too`, { file: config });
  }
  const saved = await cachedDir(dir, 'kernel.json', async (tmp) => {
    mkdirSync(join(tmp, 'modules'), { recursive: true });
    writeFileSync(join(tmp, 'image'), await bootableImage(data, arch, path, image));
    const modules: string[] = [];
    if (modulesDir) {
      const files = findFiles(resolve(modulesDir), (p) => /\.ko(\.(xz|zst|gz))?$/.test(p));
      const locate = async (name: string): Promise<string> => {
        const f = files.find((p) => moduleFile(name).test(p));
        if (!f) throw new BadInput(`kernel ${path}: module ${name} is not under ${modulesDir}`, { file: modulesDir });
        return f;
      };
      for (const mod of await neededModules(config ? readFileSync(config, 'utf8') : null, locate, path)) {
        modules.push(`modules/${mod.name}.ko`);
        writeFileSync(join(tmp, modules.at(-1)!), mod.bytes);
      }
    }
    return { manifest: { modules }, files: ['image', ...modules] };
  });
  return { label: path, arch, image: join(dir, 'image'), config, modules: saved.modules.map((m) => join(dir, m)), package: null };
}
