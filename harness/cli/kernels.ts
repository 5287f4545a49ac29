// `mprog kernels [--arch A] [--json]`: the kernels conform and replay can boot here, per arch, as
// the mirror has them today, and whether each can run the corpus (a CI matrix is computed from
// the --json form).

import { profileForRelease } from '../../emulator/profiles.js';
import { type MirrorKernel, buildableKernels, debianKernels } from '../../vm/catalog.js';
import { ARCHES, isArch } from '../../vm/paths.js';
import { Unusable, UsageError } from '../errors.js';
import { parseOptions } from './main.js';

export const KERNELS_HELP = `usage: mprog kernels [--arch A] [--json]

List every kernel the harness can boot here, per arch (default: x86_64 and arm64): each Debian
cloud series (debian-X.Y) with the exact package it resolves to today, and each mprog-X.Y that
can be built from Debian's linux-source-X.Y; each marked usable, or why not (an incomplete
package, or a release without tcx; whether kernel-configs/mprog.fragment builds on a source is
known only after its first build). Nothing is downloaded: the answer comes from the package
lists of the private apt under .cache/apt.

  --arch A   x86_64 or arm64 (repeatable, or a,b)
  --json     one JSON array of {kernel, arch, kind, package, version, suite, usable, why, cgroups}
             (cgroups: whether its cgroup attach points have the mprog API the cgroup corpus needs)

exit status: 0 listed, 2 bad input or the mirror could not be read`;

export interface KernelEntry {
  kernel: string;
  arch: string;
  /** debian: a cloud image package; built: compiled here from the source package. */
  kind: 'debian' | 'built';
  package: string | null;
  version: string | null;
  suite: string | null;
  usable: boolean;
  /** Why not usable; null when usable. */
  why: string | null;
  /** Whether the exact version has the cgroup mprog API (6.17, 6.12.110): else cgroup sequences are unsupported. */
  cgroups: boolean;
}

/** Why a kernel of this series cannot run the corpus against the emulator, or null when it can. */
function seriesProblem(series: string): string | null {
  const profile = profileForRelease(series);
  if (!profile) return 'no emulator profile for this release (profiles cover 6.1 and later)';
  return profile.tcx ? null : 'no tcx (tcx came in 6.6): every sequence is unsupported';
}

function entry(k: MirrorKernel, kind: KernelEntry['kind']): KernelEntry {
  // The package's own problem first: a series without a complete package cannot boot at all.
  const why = k.problem ?? seriesProblem(k.series);
  return {
    kernel: k.label,
    arch: k.arch,
    kind,
    package: k.package?.name ?? null,
    version: k.package?.version ?? null,
    suite: k.package?.suite ?? null,
    usable: why === null,
    why,
    cgroups: profileForRelease(k.package?.version ?? k.series)?.cgroupMprog ?? false,
  };
}

function textLines(entries: KernelEntry[], arches: string[]): string {
  const width = Math.max(...entries.map((e) => e.kernel.length));
  const lines: string[] = [];
  for (const arch of arches) {
    lines.push(`${arch}:`);
    for (const e of entries.filter((x) => x.arch === arch)) {
      const what = e.package === null ? '(no package)' : `${e.kind === 'built' ? 'built from ' : ''}${e.package} ${e.version} (${e.suite})`;
      const cgroups = e.usable && !e.cgroups ? ': cgroup sequences unsupported (no cgroup mprog API before 6.17 and 6.12.110)' : '';
      lines.push(`  ${e.kernel.padEnd(width)}  ${e.usable ? 'usable    ' : 'not usable'}  ${what}${e.why ? `: ${e.why}` : ''}${cgroups}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export async function runKernels(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(args, { arch: { type: 'string', multiple: true }, json: { type: 'boolean', default: false } });
  if (positionals.length > 0) throw new UsageError(`kernels takes no arguments (got ${positionals.join(' ')})`);
  const asked = (values.arch ?? []).flatMap((a) => a.split(','));
  const bad = asked.find((a) => !isArch(a));
  if (bad !== undefined) throw new UsageError(`--arch ${bad}: unknown architecture (known: ${ARCHES.join(', ')})`);
  const arches = asked.length ? [...new Set(asked)].filter(isArch) : [...ARCHES];
  const entries: KernelEntry[] = [];
  try {
    for (const arch of arches) {
      for (const k of await debianKernels(arch)) entries.push(entry(k, 'debian'));
      for (const k of await buildableKernels(arch)) entries.push(entry(k, 'built'));
    }
  } catch (err) {
    // The mirror unreachable or apt missing: the user can act on apt's own words.
    throw new Unusable(`kernels: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  process.stdout.write(values.json ? `${JSON.stringify(entries, null, 2)}\n` : textLines(entries, arches));
  return 0;
}
