// `mprog kernel build SRC [--patch FILE]... [--config FRAGMENT]... [--arch A]`: a kernel to boot
// as `qemu:IMAGE:ARCH` (conform, replay, fuzz) or to give `mprog diff`. The image's path is the
// last line of stdout; progress goes to stderr as notices.

import { buildKernel } from '../../vm/kernel-build/build.js';
import { UsageError } from '../../contract/errors.js';
import { archOption, parseOptions } from './options.js';

export const KERNEL_HELP = `usage: mprog kernel build SRC [--patch FILE]... [--config FRAGMENT]... [--arch A] [--coverage]

Build a kernel the harness can boot: SRC laid out in scratch (your tree is never written), the
patches applied in order (unified diffs, -p1, as git apply), configured as tinyconfig +
kernel-configs/mprog.fragment + each --config fragment, and compiled (cross-compiled for arm64).
Prints the image's path as the last line of stdout: give it to --kernel of conform, diff, or
to qemu:IMAGE:ARCH. Cached by content (the tree, each patch, each fragment, the arch): the
same inputs again take no time; a different patch is a different kernel.

  SRC              debian-X.Y (Debian's linux-source-X.Y); kernel.org:X.Y (the newest X.Y.Z
                   release), kernel.org:X.Y.Z (exactly that release) or kernel.org:mainline
                   (Linus's newest, a release candidate too); a source tarball; or a source
                   directory (a git tree, clean or with uncommitted changes; or any tree);
                   Linux 6.6 or later (tcx came in 6.6). --kernel of every command takes the
                   same kernel.org builds (unpatched) as kernel.org-6.6, kernel.org-6.6.87,
                   kernel.org-mainline
  --patch FILE     a patch to apply (repeatable, applied in the order given)
  --config FILE    a config fragment to merge after mprog.fragment (repeatable)
  --arch A         x86_64 (default) or arm64
  --coverage       gcov counters in the attach code only (kernel/bpf/mprog.c, tcx.c, cgroup.c,
                   syscall.c, drivers/net/netkit.c, net/core/dev.c, net/sched/sch_ingress.c;
                   with kernel-configs/coverage.fragment): conform and diff on it write a
                   coverage report of what the kernel ran (a kernel of its own in the cache)

kernel.org: the tarball is downloaded once into .cache/kernel-org/ (progress on stderr),
checked against the SHA-256 its directory's sha256sums.asc publishes (a release candidate,
a git.kernel.org snapshot, has none: said so), and cached by the exact release. Which release
is newest comes from releases.json (or, for a series it no longer lists, from sha256sums.asc).
  MPROG_KERNEL_ORG=URL          kernel.org's place (default https://cdn.kernel.org/pub/linux/kernel,
                                releases.json at https://www.kernel.org/releases.json); when set:
                                URL/vX.x/, URL/releases.json and URL/torvalds/t/ (snapshots)
  MPROG_KERNEL_ORG_KEYRING=FILE a keyring (gpgv's --keyring) holding kernel.org's checksum
                                autosigner key: sha256sums.asc's signature is checked with gpgv;
                                without it the signature is NOT checked (and mprog says so)

short forms: -a --arch

exit status: 0 built (or found in the cache), 2 it cannot be built: the message says why (a
             patch that does not apply: which patch, file and hunk; a compiler error: its
             lines; a missing tool; an option the fragments need that the tree lacks)`;

export async function runKernel(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'build')
    throw new UsageError(sub === undefined ? 'kernel needs a subcommand: build' : `kernel ${sub}: unknown subcommand (known: build)`);
  const { values, positionals } = parseOptions(rest, {
    patch: { type: 'string', multiple: true },
    config: { type: 'string', multiple: true },
    arch: { type: 'string', short: 'a', default: 'x86_64' },
    coverage: { type: 'boolean' },
  });
  if (positionals.length !== 1) throw new UsageError(`kernel build takes one SRC (got ${positionals.length ? positionals.join(' ') : 'none'})`);
  const arch = archOption(values.arch);
  // A build that cannot be done throws a KernelBuildError (a KernelFailure: exit 2).
  const kernel = await buildKernel({
    source: positionals[0]!,
    patches: values.patch ?? [],
    configs: values.config ?? [],
    arch,
    coverage: values.coverage ?? false,
  });
  process.stdout.write(`${kernel.description} (${kernel.arch})${kernel.release ? `: Linux ${kernel.release}` : ''}\n${kernel.image}\n`);
  return 0;
}
