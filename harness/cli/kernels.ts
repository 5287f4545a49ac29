// `mprog kernels [--arch A] [--kernel-org LIST] [--json]`: the kernels conform and replay can
// boot here, per arch, as the mirror (and kernel.org, when asked) has them today, whether each
// can run the corpus, and the emulator profile each gets with whether that profile was checked on
// that release (a CI matrix is computed from the --json form).

import { type Profile, checkStanding, newestCheck, profileForRelease } from '../../emulator/profiles.js';
import { KERNEL_ORG_SPEC, resolveKernelOrg } from '../../vm/kernel-build/kernel-org.js';
import { type MirrorKernel, buildableKernels, debianKernels } from '../../vm/debian/mirror-kernels.js';
import { ARCHES } from '../../vm/runtime/paths.js';
import { MprogError, Unusable, UsageError } from '../../contract/errors.js';
import { archOption, parseOptions } from './options.js';

export const KERNELS_HELP = `usage: mprog kernels [--arch A] [--kernel-org LIST] [--json]

List every kernel the harness can boot here, per arch (default: x86_64 and arm64): each Debian
cloud series (debian-X.Y) with the exact package it resolves to today, and each mprog-X.Y that
can be built from Debian's linux-source-X.Y; each marked usable, or why not (an incomplete
package, or a release without tcx; whether kernel-configs/mprog.fragment builds on a source is
known only after its first build), with the emulator profile its release gets and whether that
profile was checked on that release (or only on older ones: a divergence there may be the
kernel having moved). No kernel is downloaded: the answer comes from the package lists of the
private apt under .cache/apt (fetched first when missing or 12 hours old, with progress on
stderr; about 60 MB) and, with --kernel-org, kernel.org's releases.json.

  --arch A           x86_64 or arm64 (repeatable, or a,b)
  --kernel-org LIST  also the kernel.org releases LIST names (mainline, a series 6.6, a release
                     6.6.87; comma- or space-separated), each as the exact release it resolves
                     to today: kernel.org-6.6.87, for --kernel (MPROG_KERNEL_ORG: kernel.org's URL)
  --json             one JSON array of {kernel, arch, kind, package, version, suite, usable, why,
                     cgroups, profile, profileChecked, profileLastChecked, asked (kernel.org:
                     what --kernel-org named)} (cgroups: whether its
                     cgroup attach points have the mprog API the cgroup corpus needs;
                     profileChecked: checked (on this release), older (checked on a newer one
                     only), newer (this release is newer than the profile's last check), never)

short forms: -j --json, -a --arch

exit status: 0 listed, 2 bad input or the mirror could not be read`;

export interface KernelEntry {
  kernel: string;
  arch: string;
  /** debian: a cloud image package; built: compiled here from the source package; kernel.org: compiled here from kernel.org's tarball. */
  kind: 'debian' | 'built' | 'kernel.org';
  package: string | null;
  version: string | null;
  suite: string | null;
  usable: boolean;
  /** Why not usable; null when usable. */
  why: string | null;
  /** kernel.org: the release asked for (`6.6`, `mainline`) that `kernel` (`kernel.org-6.6.90`) is tonight. */
  asked?: string;
  /** Whether the exact version has the cgroup mprog API (6.17, 6.12.110): else cgroup sequences are unsupported. */
  cgroups: boolean;
  /** The emulator profile its release gets, and how the release stands to that profile's checks. */
  profile: string | null;
  profileChecked: ReturnType<typeof checkStanding> | null;
  /** The profile's newest check: release and where. */
  profileLastChecked: string | null;
}

function profileFields(release: string): Pick<KernelEntry, 'profile' | 'profileChecked' | 'profileLastChecked'> {
  const profile: Profile | undefined = profileForRelease(release);
  if (!profile) return { profile: null, profileChecked: null, profileLastChecked: null };
  const last = newestCheck(profile);
  return {
    profile: profile.name,
    profileChecked: checkStanding(profile, release),
    profileLastChecked: last ? `${last.release} (${last.where})` : null,
  };
}

/** The words for an entry's profile: `profile 6.12.110, checked on this release`. */
function profileText(e: KernelEntry): string {
  if (!e.profile || e.package === null) return '';
  const last = e.profileLastChecked?.replace(/ \(.*$/, '');
  const how = {
    checked: 'checked on this release',
    older: `checked up to ${last}, not on this release`,
    newer: `last checked on ${last}: this release is newer (a divergence may be the kernel having moved)`,
    never: 'never checked on a real kernel',
  }[e.profileChecked ?? 'never'];
  return `; profile ${e.profile}, ${how}`;
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
    ...profileFields(k.package?.version ?? k.series),
  };
}

/** A kernel.org release as the exact kernel it resolves to today (the same for every arch). */
async function kernelOrgEntries(spec: string, arches: readonly string[]): Promise<KernelEntry[]> {
  let resolved: { kernel: string; asked: string; package: string | null; version: string | null; suite: string | null; why: string | null };
  try {
    const r = await resolveKernelOrg(spec);
    resolved = {
      kernel: `kernel.org-${r.release}`,
      asked: spec,
      package: r.file,
      version: r.release,
      suite: r.moniker,
      why: seriesProblem(r.release),
    };
  } catch (err) {
    if (!(err instanceof MprogError)) throw err;
    resolved = { kernel: `kernel.org-${spec}`, asked: spec, package: null, version: null, suite: null, why: err.message };
  }
  return arches.map((arch) => ({
    ...resolved,
    arch,
    kind: 'kernel.org' as const,
    usable: resolved.why === null,
    cgroups: resolved.version ? (profileForRelease(resolved.version)?.cgroupMprog ?? false) : false,
    ...(resolved.version ? profileFields(resolved.version) : { profile: null, profileChecked: null, profileLastChecked: null }),
  }));
}

function textLines(entries: KernelEntry[], arches: string[]): string {
  const width = Math.max(...entries.map((e) => e.kernel.length));
  const lines: string[] = [];
  for (const arch of arches) {
    lines.push(`${arch}:`);
    for (const e of entries.filter((x) => x.arch === arch)) {
      const what =
        e.package === null
          ? '(no package)'
          : e.kind === 'kernel.org'
            ? `built from kernel.org's ${e.package}${e.suite ? ` (${e.suite})` : ''}`
            : `${e.kind === 'built' ? 'built from ' : ''}${e.package} ${e.version} (${e.suite})`;
      const cgroups = e.usable && !e.cgroups ? ': cgroup sequences unsupported (no cgroup mprog API before 6.17 and 6.12.110)' : '';
      lines.push(
        `  ${e.kernel.padEnd(width)}  ${e.usable ? 'usable    ' : 'not usable'}  ${what}${e.why ? `: ${e.why}` : ''}${cgroups}${profileText(e)}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

export async function runKernels(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(args, {
    arch: { type: 'string', short: 'a', multiple: true },
    'kernel-org': { type: 'string', multiple: true },
    json: { type: 'boolean', short: 'j', default: false },
  });
  if (positionals.length > 0) throw new UsageError(`kernels takes no arguments (got ${positionals.join(' ')})`);
  const asked = (values.arch ?? []).flatMap((a) => a.split(','));
  const arches = asked.length ? [...new Set(asked.map(archOption))] : [...ARCHES];
  const kernelOrg = [...new Set((values['kernel-org'] ?? []).flatMap((l) => l.split(/[\s,]+/)).filter(Boolean))];
  const badSpec = kernelOrg.find((k) => !KERNEL_ORG_SPEC.test(k));
  if (badSpec !== undefined)
    throw new UsageError(`--kernel-org ${badSpec}: not a kernel.org release (mainline, a series such as 6.6, a release such as 6.6.87)`);
  const entries: KernelEntry[] = [];
  try {
    for (const arch of arches) {
      for (const k of await debianKernels(arch)) entries.push(entry(k, 'debian'));
      for (const k of await buildableKernels(arch)) entries.push(entry(k, 'built'));
    }
  } catch (err) {
    // The mirror unreachable or apt missing: the user can act on apt's own words. Anything else is a bug.
    if (!(err instanceof MprogError)) throw err;
    throw new Unusable(`kernels: ${err.message}`, { cause: err });
  }
  // kernel.org's answer per release, listed per arch after the Debian ones.
  const fromKernelOrg = (await Promise.all(kernelOrg.map((spec) => kernelOrgEntries(spec, arches)))).flat();
  entries.push(...fromKernelOrg);
  entries.sort((a, b) => arches.indexOf(a.arch as never) - arches.indexOf(b.arch as never));
  process.stdout.write(values.json ? `${JSON.stringify(entries, null, 2)}\n` : textLines(entries, arches));
  return 0;
}
