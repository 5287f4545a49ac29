// Nothing outlives mprog: real runs of the built CLI, real signals, and the real process table.
// Each test waits until the child it is about (here a QEMU guest; the host agent and its
// per-sequence fork: test/host/lifetime.test.ts; a kernel build: test/kbuild/lifetime.test.ts)
// exists, ends node the way a user or CI would, and then looks for those processes.

import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { describe, expect, it } from 'vitest';
import { descendants, survivors, waitFor } from '../processes.js';

const MINUTE = 60_000;
const BASIC = 'test/sequences/tc_opts/basic.json';

const mprog = (...args: string[]): ResultPromise => execa('node', ['bin/mprog.js', ...args], { reject: false });

/** Scratch directories of a process, by the pid in their name. */
const scratchOf = (pid: number): string[] => readdirSync(tmpdir()).filter((n) => n.startsWith(`mprog-vm-${pid}-`));

/** A replay on a debian-6.12 guest, once its QEMU runs: the node process and the QEMU pid. */
async function replayWithGuest(): Promise<{ run: ResultPromise; node: number; qemu: number }> {
  // Many files: the guest is still replaying when the test strikes.
  const run = mprog('replay', '--target', 'qemu:debian-6.12:x86_64', ...Array.from({ length: 200 }, () => BASIC));
  const node = run.pid!;
  const qemu = await waitFor("the guest's QEMU", 5 * MINUTE, () => descendants(node).find((p) => /qemu-system-x86_64/.test(p.cmd))?.pid);
  return { run, node, qemu };
}

describe('no process outlives mprog', () => {
  it("SIGKILL to node: the guest's QEMU dies too, and the next run reclaims the scratch directory", { timeout: 10 * MINUTE }, async () => {
    const { run, node, qemu } = await replayWithGuest();
    run.kill('SIGKILL');
    await run;
    expect(await survivors([qemu], 10_000)).toEqual([]);
    // Nothing could run in a SIGKILLed node: its scratch directory is still there...
    const left = scratchOf(node);
    expect(left).toHaveLength(1);
    // ...until the next run starts a guest.
    const next = await replayWithGuest();
    expect(existsSync(join(tmpdir(), left[0]!))).toBe(false);
    next.run.kill('SIGKILL');
    await next.run;
    expect(await survivors([next.qemu], 10_000)).toEqual([]);
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
    ['SIGHUP', 129],
  ] as const)('%s to node: exits %i, the guest is gone and so is its scratch directory', { timeout: 10 * MINUTE }, async (signal, status) => {
    const { run, node, qemu } = await replayWithGuest();
    run.kill(signal);
    const r = await run;
    expect(r.exitCode).toBe(status);
    expect(await survivors([qemu], 10_000)).toEqual([]);
    expect(scratchOf(node)).toEqual([]);
  });
});
