// Kernel `mprog-X.Y`: built here from Debian's linux-source-X.Y with kernel-configs/mprog.fragment
// on top of tinyconfig, everything built in. The attach code (mprog.c, tcx.c, netkit.c,
// syscall.c) is the Debian X.Y source itself; what the small config leaves out (IPv4, modules,
// tree RCU's grace-period waits) is per-sequence work that has nothing to do with the mprog API,
// so a guest on this kernel replays generated sequences about twice as fast as on the cloud
// kernel. Cached by source version, fragment and arch.

import { notice } from './notices.js';
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { PrivateApt, type Available } from './apt.js';
import { extractMembers } from './deb.js';
import { tied } from './lifetime.js';
import type { PreparedKernel } from './kernels.js';
import { cacheRoot, repoRoot, type Arch } from './paths.js';
import { cachedDir } from './verified.js';

export const MPROG_LABEL = /^mprog-(\d+\.\d+)$/;

const BUILD = {
  x86_64: { make: [] as string[], target: 'bzImage', image: 'arch/x86/boot/bzImage' },
  arm64: { make: ['ARCH=arm64', 'CROSS_COMPILE=aarch64-linux-gnu-'], target: 'Image', image: 'arch/arm64/boot/Image' },
} as const;

function fragmentPath(): string {
  return join(repoRoot(), 'kernel-configs', 'mprog.fragment');
}

/** The newest linux-source-<series> on the mirror, if any. */
export async function kernelSource(series: string, apt: PrivateApt): Promise<Available | undefined> {
  // linux-source is Architecture: all; madison lists it under every arch's Packages.
  const [pkg] = await apt.available([`linux-source-${series}`], 'amd64');
  return pkg;
}

/** Builds (or finds in the cache) kernel `mprog-<series>` for `arch`. */
export async function mprogKernel(label: string, series: string, arch: Arch): Promise<PreparedKernel> {
  const apt = new PrivateApt();
  const pkg = await kernelSource(series, apt);
  if (!pkg) throw new Error(`kernel ${label} (${arch}): the Debian mirror has no linux-source-${series} to build it from`);
  const fragment = readFileSync(fragmentPath());
  const key = createHash('sha256').update(pkg.version).update(fragment).update(arch).digest('hex').slice(0, 12);
  const dir = join(cacheRoot(), 'kernels', `mprog-${series}_${pkg.version}_${arch}_${key}`);
  await cachedDir(dir, 'kernel.json', async (tmp) => {
    // Minutes of silence otherwise: say once what is happening.
    notice(`building kernel ${label} (${arch}) from ${pkg.name} ${pkg.version}; a few minutes, once (cached in ${dir})`);
    await build(label, pkg, apt, tmp, arch);
    return { manifest: { package: pkg }, files: ['image', 'config'] };
  });
  return { label, arch, image: join(dir, 'image'), config: join(dir, 'config'), modules: [], package: pkg };
}

async function build(label: string, pkg: Available, apt: PrivateApt, out: string, arch: Arch): Promise<void> {
  const what = `kernel ${label} (${arch})`;
  const deb = await apt.download({ ...pkg, debArch: 'all' });
  const tarball = `./usr/src/${pkg.name}.tar.xz`;
  await extractMembers(deb, out, [tarball]);
  await run(what, 'tar', ['-xf', join(out, tarball), '-C', out]);
  rmSync(join(out, 'usr'), { recursive: true, force: true });
  const src = join(out, pkg.name);
  const obj = join(out, 'build');
  const { make: cross, target, image } = BUILD[arch];
  const make = (...args: string[]) => run(what, 'make', ['-C', src, `O=${obj}`, ...cross, ...args]);
  await make('tinyconfig');
  await run(what, join(src, 'scripts/kconfig/merge_config.sh'), ['-m', '-O', obj, join(obj, '.config'), fragmentPath()]);
  await make('olddefconfig');
  const config = readFileSync(join(obj, '.config'), 'utf8');
  const dropped = droppedOptions(readFileSync(fragmentPath(), 'utf8'), config, arch);
  if (dropped.length) throw new Error(`${what}: olddefconfig dropped ${dropped.join(', ')} (a dependency is missing from mprog.fragment)`);
  await make(`-j${cpus().length}`, target);
  copyFileSync(join(obj, image), join(out, 'image'));
  writeFileSync(join(out, 'config'), config);
  rmSync(src, { recursive: true, force: true });
  rmSync(obj, { recursive: true, force: true });
}

/** Options the fragment sets that the final config lacks; x86 has no PL011 console or generic PCI host. */
export function droppedOptions(fragment: string, config: string, arch: Arch): string[] {
  const otherArchOnly = arch === 'x86_64' ? /^CONFIG_SERIAL_AMBA_PL011|^CONFIG_PCI_HOST_GENERIC/ : /^$/;
  const have = new Set(config.split('\n'));
  return fragment
    .split('\n')
    .filter((l) => l.startsWith('CONFIG_') && !otherArchOnly.test(l) && !have.has(l))
    .map((l) => l.split('=')[0]!);
}

async function run(what: string, cmd: string, args: string[]): Promise<void> {
  const r = await execa(...tied(cmd, args, { tree: true }), { reject: false, all: true, env: { LC_ALL: 'C' } });
  if (r.exitCode !== 0) {
    const tail = (r.all ?? '').trim().split('\n').slice(-15).join('\n');
    const hint = r.exitCode === undefined || /ENOENT|not found|failed to execute/.test(tail) ? ' (scripts/setup.sh installs the build tools)' : '';
    throw new Error(`${what}: ${cmd} ${args.slice(-2).join(' ')} failed${hint}:\n${tail}`);
  }
}
