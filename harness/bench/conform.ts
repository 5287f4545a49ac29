// The main job's speed: `mprog conform` of the shipped corpus with the bpftool check on. In rounds
// on a guest already booted (steps per second, boot excluded; vm.ts alternates them with the raw
// rounds), and as a user runs the command (wall seconds, boot included, warm cache).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { repoRoot, type Arch } from '../../vm/runtime/paths.js';
import type { Target } from '../../contract/target.js';
import { type ConformDone, type RunOptions, runConform } from '../conform/run.js';
import { QemuTarget } from '../targets/qemu.js';
import { loadCorpus } from '../sequences/corpus.js';
import type { ConformRound } from './vm.js';

/** `fn` on a fresh directory, removed when it ends. */
export function scratch<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'mprog-bench-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** conform of `corpus` (the shipped one when empty) on one kernel and arch, one job, into `outDir`. */
export function conformOnOne(corpus: string[], kernel: string, arch: Arch, outDir: string, open?: RunOptions['openTarget']): Promise<ConformDone> {
  return runConform({
    corpus,
    kernels: [kernel],
    arches: [arch],
    host: false,
    shard: null,
    profile: null,
    outDir,
    jobs: 1,
    resume: false,
    ...(open && { openTarget: open }),
  });
}

/** `target` for runs that must leave it open: the bench measures several rounds on one guest. */
function keptOpen(target: Target): Target {
  return {
    spec: target.spec,
    kernel: () => target.kernel(),
    run: (seq, opts) => target.run(seq, opts),
    ...(target.origin ? { origin: () => target.origin!() } : {}),
    close: async () => undefined,
  };
}

/**
 * One round of conform (shipped corpus, check on) on a booted guest of `kernel`, then the same
 * corpus run inside the guest (RAWRUN, no host): steps and nanoseconds of each. The corpus costs
 * the kernel more per step than the selftest sequences (cgroup removal waits, 64-entry fills), so
 * conform's share is taken of this raw rate, the same calls in a loop inside the guest.
 */
export function conformRound(kernel: string, arch: Arch): ConformRound {
  return (target) =>
    scratch(async (outDir) => {
      const start = process.hrtime.bigint();
      const done = await conformOnOne([], kernel, arch, outDir, async () => keptOpen(target));
      const ns = Number(process.hrtime.bigint() - start);
      if (done.report.status !== 0) throw new Error(`conform on ${target.spec} did not agree (exit ${done.report.status})`);
      const raw = await target.rawRun(loadCorpus([]), 600_000);
      if (raw.failed > 0) throw new Error(`${target.spec}: ${raw.failed} corpus sequences failed when run inside the guest`);
      return { steps: done.report.totals.steps, ns, rawNs: raw.elapsedNs };
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
