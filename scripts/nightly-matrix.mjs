#!/usr/bin/env node
// The nightly workflow's matrices, from `mprog kernels --json` (the file given, or stdin):
//   matrix=  every usable Debian series, every kernel named in BUILT_KERNELS and each kernel.org
//            release KERNEL_ORG names (`mprog kernels --kernel-org`, listed as the exact release
//            it resolved to: kernel.org-6.6.90), per arch, in SHARDS shards each (conform jobs);
//   fuzz=    FUZZ_KERNEL on FUZZ_ARCH (the fuzz job).
// Each entry carries the exact package version (or kernel.org release) the kernel resolves to, so
// that a job's cache key names what the cache holds. A kernel.org line that did not resolve
// tonight (kernel.org unreachable) is left out with a warning: the Debian kernels still run. Prints the two lines for $GITHUB_OUTPUT.
import { readFileSync } from 'node:fs';

function fail(message) {
  process.stderr.write(`nightly-matrix: ${message}\n`);
  process.exit(2);
}

const env = (name) => process.env[name] ?? fail(`${name} is not set`);
const shards = Number(env('SHARDS'));
if (!Number.isInteger(shards) || shards < 1) fail(`SHARDS=${process.env.SHARDS}: expected an integer of at least 1`);
const built = env('BUILT_KERNELS')
  .split(/[\s,]+/)
  .filter(Boolean);
const kernelOrg = (process.env.KERNEL_ORG ?? '').split(/[\s,]+/).filter(Boolean);

let kernels;
try {
  kernels = JSON.parse(readFileSync(process.argv[2] ?? 0, 'utf8'));
} catch (err) {
  fail(`cannot read the output of mprog kernels --json: ${err.message}`);
}
if (!Array.isArray(kernels)) fail('the output of mprog kernels --json is not an array');

/** The entry of a kernel the workflow names: it must exist and be usable on every arch it is asked for. */
function named(kernel, arch) {
  const k = kernels.find((e) => e.kernel === kernel && e.arch === arch);
  if (!k) fail(`${kernel} (${arch}) is not among the kernels the mirror has (see npx mprog kernels)`);
  if (!k.usable) fail(`${kernel} (${arch}) is not usable: ${k.why}`);
  return k;
}

const arches = [...new Set(kernels.map((k) => k.arch))];

/** The kernel.org release `asked` resolved to for `arch`, or null (warned) when it did not resolve or cannot run. */
function fromKernelOrg(asked, arch) {
  const k = kernels.find((e) => e.kind === 'kernel.org' && e.asked === asked && e.arch === arch);
  if (!k) fail(`kernel.org ${asked} (${arch}) is not in the output of mprog kernels (run it with --kernel-org "$KERNEL_ORG")`);
  if (k.usable) return k;
  process.stderr.write(`::warning::kernel.org ${asked} (${arch}) left out tonight: ${k.why}\n`);
  return null;
}

const chosen = [
  ...kernels.filter((k) => k.kind === 'debian' && k.usable),
  ...built.flatMap((kernel) => arches.map((arch) => named(kernel, arch))),
  ...kernelOrg.flatMap((asked) => arches.map((arch) => fromKernelOrg(asked, arch))).filter((k) => k !== null),
];
const include = chosen.flatMap((k) =>
  Array.from({ length: shards }, (_, i) => ({ kernel: k.kernel, arch: k.arch, version: k.version, shard: i + 1, shards })),
);
if (include.length === 0) fail('no usable kernel');
if (include.length > 256) fail(`${include.length} jobs: GitHub allows 256 per matrix; lower SHARDS`);
const fuzz = named(env('FUZZ_KERNEL'), env('FUZZ_ARCH'));

process.stdout.write(`matrix=${JSON.stringify({ include })}\n`);
process.stdout.write(`fuzz=${JSON.stringify({ include: [{ kernel: fuzz.kernel, arch: fuzz.arch, version: fuzz.version }] })}\n`);
