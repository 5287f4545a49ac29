// `mprog kernel build SRC [--patch FILE]... [--config FRAGMENT]... [--arch A]`: a kernel to boot
// as `qemu:IMAGE:ARCH` (conform, replay, fuzz) or to give `mprog diff`. The image's path is the
// last line of stdout; progress goes to stderr as notices.

import { buildKernel } from '../../vm/kernel-build.js';
import { KernelBuildError } from '../../vm/kernel-tools.js';
import { ARCHES, isArch } from '../../vm/paths.js';
import { KernelFailure, UsageError } from '../errors.js';
import { parseOptions } from './main.js';

export const KERNEL_HELP = `usage: mprog kernel build SRC [--patch FILE]... [--config FRAGMENT]... [--arch A]

Build a kernel the harness can boot: SRC laid out in scratch (your tree is never written), the
patches applied in order (unified diffs, -p1, as git apply), configured as tinyconfig +
kernel-configs/mprog.fragment + each --config fragment, and compiled (cross-compiled for arm64).
Prints the image's path as the last line of stdout: give it to --kernel of conform, diff, or
to qemu:IMAGE:ARCH. Cached by content (the tree, each patch, each fragment, the arch): the
same inputs again take no time; a different patch is a different kernel.

  SRC              debian-X.Y (Debian's linux-source-X.Y), a source tarball, or a source
                   directory (a git tree, clean or with uncommitted changes; or any tree);
                   Linux 6.6 or later (tcx came in 6.6)
  --patch FILE     a patch to apply (repeatable, applied in the order given)
  --config FILE    a config fragment to merge after mprog.fragment (repeatable)
  --arch A         x86_64 (default) or arm64

exit status: 0 built (or found in the cache), 2 it cannot be built: the message says why (a
             patch that does not apply: which patch, file and hunk; a compiler error: its
             lines; a missing tool; an option the fragments need that the tree lacks)`;

export async function runKernel(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'build') throw new UsageError(sub === undefined ? 'kernel needs a subcommand: build' : `kernel ${sub}: unknown subcommand (known: build)`);
  const { values, positionals } = parseOptions(rest, {
    patch: { type: 'string', multiple: true },
    config: { type: 'string', multiple: true },
    arch: { type: 'string', default: 'x86_64' },
  });
  if (positionals.length !== 1) throw new UsageError(`kernel build takes one SRC (got ${positionals.length ? positionals.join(' ') : 'none'})`);
  if (!isArch(values.arch)) throw new UsageError(`--arch ${values.arch}: unknown architecture (known: ${ARCHES.join(', ')})`);
  try {
    const kernel = await buildKernel({ source: positionals[0]!, patches: values.patch ?? [], configs: values.config ?? [], arch: values.arch });
    process.stdout.write(`${kernel.description} (${kernel.arch})${kernel.release ? `: Linux ${kernel.release}` : ''}\n${kernel.image}\n`);
    return 0;
  } catch (err) {
    throw err instanceof KernelBuildError ? new KernelFailure(err.message, 'unusable', { cause: err }) : err;
  }
}
