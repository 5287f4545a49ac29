#!/usr/bin/env node
// Builds, for each ARCH (x86_64, arm64; none given: both), the static mprog-agent and the library
// it preloads into bpftool (bpftool-zygote.so) into vm/agent/build/<arch>/, and compiles the C
// reproducers' runtime (reproducer.h) with the same -Werror flags. Rebuilds only when
// their sources, this script or the compiler changed. Installs nothing: names the Debian package
// that is missing instead. Usage: node vm/agent/build.mjs [ARCH...] (mprog runs it when needed).

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'agent.c');
const zygoteSrc = join(here, 'bpftool-zygote.c');
/** The runtime mprog fuzz pastes into its C reproducers: compiled here, on its own, so it stays -Werror clean. */
const reproducer = join(here, 'reproducer.h');
const cflags = ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-Werror'];
const ARCHES = ['x86_64', 'arm64'];


function fail(message, status = 1) {
  process.stderr.write(`build.mjs: ${message}\n`);
  process.exit(status);
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
  const out = join(here, 'build', arch);
  const bin = join(out, 'mprog-agent');
  const zygote = join(out, 'bpftool-zygote.so');

  if (!(process.env.PATH ?? '').split(delimiter).some((d) => d && existsSync(join(d, cc)))) fail(`${cc} not found: install the Debian package ${ccPkg}`);
  const inputs = [src, join(here, 'kernel-abi.h'), zygoteSrc, reproducer, fileURLToPath(import.meta.url)];
  const digest = createHash('sha256');
  for (const f of inputs) digest.update(readFileSync(f));
  const stamp = `${digest.digest('hex')}-${execFileSync(cc, ['-dumpfullversion'], { encoding: 'utf8' }).trim()}`;
  const stampFile = join(out, '.stamp');
  if (existsSync(bin) && existsSync(zygote) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === stamp) return;
  // Up to date is the common case (mprog runs this before every guest it prepares): zx is loaded
  // only to build. The compiler's own messages go straight to stderr.
  const { $ } = await import('zx');
  const loud = $({ stdio: ['ignore', 'inherit', 'inherit'], verbose: false });
  // gcc answers a bare name when it has no static libc for the target.
  if (!(await $`${cc} -print-file-name=libc.a`).stdout.startsWith('/')) fail(`no static C library for ${cc}: install the Debian package ${libcPkg}`);
  mkdirSync(out, { recursive: true });
  // Private temporary names: concurrent builds of the same arch must not mix their output.
  const tmp = (f) => `${f}.${process.pid}.tmp`;
  try {
    await loud`${cc} -static ${cflags} -o ${tmp(bin)} ${src}`;
    await loud`${cc} -shared -fPIC ${cflags} -o ${tmp(zygote)} ${zygoteSrc}`;
    await loud`${cc} -x c -c ${cflags} -o /dev/null ${reproducer}`;
  } catch {
    fail(`compiling for ${arch} failed (the compiler's messages are above)`);
  }
  renameSync(tmp(bin), bin);
  renameSync(tmp(zygote), zygote);
  writeFileSync(stampFile, `${stamp}\n`);
  process.stdout.write(`build.mjs: built ${bin} and ${zygote}\n`);
}

const arches = process.argv.slice(2);
for (const arch of arches.length ? arches : ARCHES) await build(arch);
