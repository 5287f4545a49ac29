#!/usr/bin/env node
// Builds, for each ARCH (x86_64, arm64; none given: both), the static mprog-agent and the library
// it preloads into bpftool (bpftool-zygote.so) into OUT/<arch>/ (mprog's cache: <cache>/agent; by
// default vm/agent/build), and compiles the C
// reproducers' runtime (reproducer.h) with the same -Werror flags. Rebuilds only when
// their sources, this script or the compiler changed, or when an output is damaged: the stamp
// (build/<arch>/.stamp) records the inputs' digest and then the SHA-256 of each output, which
// vm/agent/compile.ts also checks before mprog uses them. Installs nothing: names the Debian
// package that is missing instead. Usage: node vm/agent/build.mjs [--out OUT] [ARCH...] (mprog runs it when needed).

import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const zygoteSrc = join(here, 'bpftool-zygote.c');
/** The agent: every C file here but the zygote (main.c and the files agent.h lists). */
const agentSrcs = readdirSync(here)
  .filter((f) => f.endsWith('.c') && f !== 'bpftool-zygote.c')
  .sort()
  .map((f) => join(here, f));
/** Every header here: agent.h, kernel-abi.h, reproducer.h. */
const headers = readdirSync(here)
  .filter((f) => f.endsWith('.h'))
  .sort()
  .map((f) => join(here, f));
/** The runtime mprog fuzz pastes into its C reproducers: compiled here, on its own, so it stays -Werror clean. */
const reproducer = join(here, 'reproducer.h');
// -Wswitch-enum: a switch on enum mprog_op (kernel-abi.h) that misses an op does not build.
const cflags = ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-Wswitch-enum', '-Werror'];
const ARCHES = ['x86_64', 'arm64'];

function fail(message, status = 1) {
  process.stderr.write(`build.mjs: ${message}\n`);
  process.exit(status);
}

const sha256Of = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

/**
 * The stamp's text: the inputs' stamp on the first line, then `sha256 <hex> <file>` for each
 * output (a name in build/<arch>/). vm/agent/compile.ts reads the same lines.
 */
function stampText(stamp, out, outputs) {
  return `${stamp}\n${outputs.map((f) => `sha256 ${sha256Of(f)} ${f.slice(out.length + 1)}`).join('\n')}\n`;
}

/** Why the outputs recorded in `text` (the stamp file) do not stand as recorded, or null. */
function damaged(text, out, outputs) {
  const recorded = new Map(
    text
      .split('\n')
      .slice(1)
      .map((line) => line.split(' '))
      .filter((w) => w.length === 3 && w[0] === 'sha256')
      .map((w) => [w[2], w[1]]),
  );
  for (const f of outputs) {
    const want = recorded.get(f.slice(out.length + 1));
    if (!want) return 'the stamp records no SHA-256 for it';
    if (sha256Of(f) !== want) return `${f} is damaged (its SHA-256 is not the one recorded when it was built)`;
  }
  return null;
}

/** Why OUT needs a build (a short phrase), or null when its outputs stand as `stamp` recorded them. */
function whyBuild(stampFile, stamp, out, outputs) {
  if (!existsSync(stampFile)) return 'no build of it yet';
  const missing = outputs.find((f) => !existsSync(f));
  if (missing) return `${missing.slice(out.length + 1)} is missing`;
  const text = readFileSync(stampFile, 'utf8');
  if (text.split('\n')[0] !== stamp) return 'its sources, build.mjs or the compiler changed since the last build';
  const why = damaged(text, out, outputs);
  return why && `${why}; building it again`;
}

function hostArch() {
  return process.arch === 'x64' ? 'x86_64' : process.arch;
}

/** The compiler, the Debian package of the compiler, the Debian package of its static libc. */
function toolchain(arch) {
  if (arch === hostArch()) return ['gcc', 'gcc', 'libc6-dev'];
  return {
    x86_64: ['x86_64-linux-gnu-gcc', 'gcc-x86-64-linux-gnu', 'libc6-dev-amd64-cross'],
    arm64: ['aarch64-linux-gnu-gcc', 'gcc-aarch64-linux-gnu', 'libc6-dev-arm64-cross'],
  }[arch];
}

async function build(arch) {
  if (!ARCHES.includes(arch)) fail(`unknown architecture '${arch}' (known: ${ARCHES.join(' ')})`, 2);
  const [cc, ccPkg, libcPkg] = toolchain(arch);
  const out = join(outRoot, arch);
  const bin = join(out, 'mprog-agent');
  const zygote = join(out, 'bpftool-zygote.so');

  if (!(process.env.PATH ?? '').split(delimiter).some((d) => d && existsSync(join(d, cc))))
    fail(`${cc} not found: install the Debian package ${ccPkg}`);
  const inputs = [...agentSrcs, ...headers, zygoteSrc, fileURLToPath(import.meta.url)];
  const digest = createHash('sha256');
  // Each file's name too: a file added, removed or renamed changes the stamp.
  for (const f of inputs) digest.update(`${f.slice(here.length + 1)}\0`).update(readFileSync(f));
  const stamp = `${digest.digest('hex')}-${execFileSync(cc, ['-dumpfullversion'], { encoding: 'utf8' }).trim()}`;
  const stampFile = join(out, '.stamp');
  const why = whyBuild(stampFile, stamp, out, [bin, zygote]);
  if (!why) return;
  // The one line that says a compile is starting, and why: mprog turns it into its notice.
  process.stdout.write(`build.mjs: compiling ${arch} (${why})\n`);
  // Up to date is the common case (mprog runs this before every guest it prepares): zx is loaded
  // only to build. The compiler's own messages go straight to stderr.
  const { $ } = await import('zx');
  const loud = $({ stdio: ['ignore', 'inherit', 'inherit'], verbose: false });
  // gcc answers a bare name when it has no static libc for the target.
  if (!(await $`${cc} -print-file-name=libc.a`).stdout.startsWith('/')) fail(`no static C library for ${cc}: install the Debian package ${libcPkg}`);
  mkdirSync(out, { recursive: true });
  // Private temporary names: concurrent builds of the same arch must not mix their output (not the
  // pid alone: mprog runs this in a PID namespace of its own, where every build is pid 1).
  const unique = `${process.pid}.${randomBytes(6).toString('hex')}`;
  const tmp = (f) => `${f}.${unique}.tmp`;
  try {
    await loud`${cc} -static ${cflags} -o ${tmp(bin)} ${agentSrcs}`;
    await loud`${cc} -shared -fPIC ${cflags} -o ${tmp(zygote)} ${zygoteSrc}`;
    await loud`${cc} -x c -c ${cflags} -o /dev/null ${reproducer}`;
  } catch {
    fail(`compiling for ${arch} failed (the compiler's messages are above)`);
  }
  // No stamp while the outputs change: a reader (compile.ts) never takes new outputs for damaged
  // ones against an old stamp; the new stamp comes whole (renamed into place).
  rmSync(stampFile, { force: true });
  renameSync(tmp(bin), bin);
  renameSync(tmp(zygote), zygote);
  writeFileSync(tmp(stampFile), stampText(stamp, out, [bin, zygote]));
  renameSync(tmp(stampFile), stampFile);
  process.stdout.write(`build.mjs: built ${bin} and ${zygote}\n`);
}

const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const outRoot = outAt >= 0 ? args.splice(outAt, 2)[1] : join(here, 'build');
if (!outRoot) fail('--out needs a directory', 2);
const arches = args;
for (const arch of arches.length ? arches : ARCHES) await build(arch);
