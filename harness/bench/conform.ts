// The main job's speed: `mprog conform` of the shipped corpus with the bpftool check on. Once on
// a guest already booted (steps per second, boot excluded), and as a user runs the command
// (wall seconds, boot included, warm cache).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { repoRoot, type Arch } from '../../vm/paths.js';
import { BadInput } from '../errors.js';
import { runConform } from '../conform/run.js';
import { QemuTarget } from '../targets/qemu.js';

function scratch<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'mprog-bench-conform-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** Steps per second of conform on `qemu:<kernel>:<arch>`, timed from a booted guest. */
export function conformStepsPerSecond(arch: Arch, kernel = 'debian-6.12'): Promise<number> {
  return scratch(async (outDir) => {
    const target = new QemuTarget(`qemu:${kernel}:${arch}`);
    await target.kernel(); // boots
    const start = process.hrtime.bigint();
    const done = await runConform({
      corpus: [], kernels: [kernel], arches: [arch], host: false, shard: null, profile: null,
      outDir, jobs: 1, resume: false, openTarget: async () => target,
    });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (done instanceof BadInput) throw done;
    if (done.report.status !== 0) throw new Error(`conform on ${kernel} ${arch} did not agree (exit ${done.report.status}): see ${outDir}`);
    return done.report.totals.steps / seconds;
  });
}

/** Wall seconds of `mprog conform ARGS` as a user runs it, the kernels and initramfs of the
 * `warm` targets prepared (downloaded, built) beforehand. */
export function conformWallSeconds(args: string[], warm: string[]): Promise<number> {
  return scratch(async (outDir) => {
    for (const spec of warm) {
      const target = new QemuTarget(spec);
      await target.prepare().finally(() => target.close());
    }
    const start = process.hrtime.bigint();
    await execa('node', [join(repoRoot(), 'bin/mprog.js'), 'conform', '--out', outDir, ...args], { stdio: 'ignore' });
    return Number(process.hrtime.bigint() - start) / 1e9;
  });
}
