// What kernels the mirror offers today, per arch, without downloading any: each Debian cloud
// series with the exact package it resolves to (as prepareKernel would pick it) or why none
// resolves, and each `mprog-X.Y` that can be built (a linux-source-X.Y exists).

import { PrivateApt, type Available } from './private-apt.js';
import { compareDebVersions } from './deb-version.js';
import { kernelSource } from '../kernel-build/source.js';
import { MAX_CANDIDATES, debianSeries, kernelPackages, seriesCandidates } from '../guest/boot-kernel.js';
import type { Arch } from '../runtime/paths.js';
import { MprogError } from '../../contract/errors.js';

export interface MirrorKernel {
  /** `debian-X.Y` or `mprog-X.Y`, as conform's --kernel takes it. */
  label: string;
  series: string;
  arch: Arch;
  /** The image package it resolves to (debian-X.Y), or the source it is built from (mprog-X.Y); null: none resolves. */
  package: Available | null;
  /** Why no package resolves, when none does. */
  problem: string | null;
}

/** The newest of a series' packages whose parts are all on the mirror (a 7.x image may lack its modules package). */
async function resolveSeries(series: string, arch: Arch, apt: PrivateApt): Promise<MirrorKernel> {
  const problems: string[] = [];
  for (const pkg of (await seriesCandidates(series, arch, apt)).slice(0, MAX_CANDIDATES)) {
    try {
      await kernelPackages(pkg, apt);
      return { label: `debian-${series}`, series, arch, package: pkg, problem: null };
    } catch (err) {
      if (!(err instanceof MprogError)) throw err; // a bug, not an incomplete version
      problems.push(err.message);
    }
  }
  const older = problems.length > 1 ? `; the ${problems.length - 1} older versions tried are incomplete too` : '';
  return { label: `debian-${series}`, series, arch, package: null, problem: `${problems[0]}${older}` };
}

/** Every Debian cloud series the mirror has for `arch`, oldest first. */
export async function debianKernels(arch: Arch, apt = new PrivateApt()): Promise<MirrorKernel[]> {
  const all: MirrorKernel[] = [];
  for (const series of await debianSeries(null, arch, apt)) all.push(await resolveSeries(series, arch, apt));
  return all;
}

/** Every `mprog-X.Y`, oldest first, with the linux-source-X.Y it would be built from (the same for every arch). */
export async function buildableKernels(arch: Arch, apt = new PrivateApt()): Promise<MirrorKernel[]> {
  const series = (await apt.search('^linux-source-[0-9]+\\.[0-9]+$')).map((n) => n.replace(/^linux-source-/, '')).sort(compareDebVersions);
  const all: MirrorKernel[] = [];
  for (const s of series) {
    const pkg = await kernelSource(s, apt);
    if (pkg) all.push({ label: `mprog-${s}`, series: s, arch, package: pkg, problem: null });
  }
  return all;
}
