// Nothing outlives mprog: real runs of the built CLI, real signals, and the real process table.
// Each test waits until the child it is about (a QEMU guest, the host agent and its per-sequence
// fork) exists, ends node the way a user or CI would, and then looks for those processes.

import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { describe, expect, it } from 'vitest';
import { privateCache } from './private-cache.js';

const MINUTE = 60_000;
const BASIC = 'test/sequences/tc_opts/basic.json';

/** Every process below `root`, with its command line, from /proc. */
function descendants(root: number): { pid: number; cmd: string }[] {
  const parent = new Map<number, number>();
  const cmds = new Map<number, string>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      cmds.set(Number(name), readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').trim());
    } catch {
      // gone meanwhile
    }
  }
  const below = (pid: number): number[] => [...parent].filter(([, pp]) => pp === pid).flatMap(([p]) => [p, ...below(p)]);
  return below(root).map((pid) => ({ pid, cmd: cmds.get(pid) ?? '' }));
}

function alive(pid: number): boolean {
  // A zombie has exited: only its entry is left for its parent to reap.
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Polls until `find` gives something (or fails after `ms`). */
async function waitFor<T>(what: string, ms: number, find: () => T | undefined): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const got = find();
    if (got !== undefined) return got;
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}`);
    await sleep(100);
  }
}

/** Waits until none of `pids` is alive; the ones still alive after `ms`. */
async function survivors(pids: number[], ms: number): Promise<number[]> {
  const until = Date.now() + ms;
  while (pids.some(alive) && Date.now() < until) await sleep(100);
  return pids.filter(alive);
}

const mprog = (...args: string[]): ResultPromise => execa('node', ['bin/mprog.js', ...args], { reject: false });

/** Scratch directories of a process, by the pid in their name. */
const scratchOf = (pid: number): string[] => readdirSync(tmpdir()).filter((n) => n.startsWith(`mprog-vm-${pid}-`));

/** A replay on a debian-6.12 guest, once its QEMU runs: the node process and the QEMU pid. */
async function replayWithGuest(): Promise<{ run: ResultPromise; node: number; qemu: number }> {
  // Many files: the guest is still replaying when the test strikes.
  const run = mprog('replay', '--target', 'qemu:debian-6.12:x86_64', ...Array.from({ length: 200 }, () => BASIC));
  const node = run.pid!;
  const qemu = await waitFor('the guest\'s QEMU', 5 * MINUTE, () => descendants(node).find((p) => /qemu-system-x86_64/.test(p.cmd))?.pid);
  return { run, node, qemu };
}

describe('no process outlives mprog', () => {
  it('SIGKILL to node: the guest\'s QEMU dies too, and the next run reclaims the scratch directory', { timeout: 10 * MINUTE }, async () => {
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

  it('SIGKILL to node during a kernel build: its tools die too; the next run reclaims its scratch', { timeout: 15 * MINUTE }, async () => {
    // A private cache: the build starts from Debian's source there, and the real one is untouched.
    const cache = await privateCache(['apt']);
    const build = (): ResultPromise =>
      execa('node', ['bin/mprog.js', 'replay', '--target', 'qemu:mprog-6.12:x86_64', BASIC], { reject: false, env: { MPROG_CACHE: cache } });
    const scratch = (): string[] => (existsSync(join(cache, 'kernels')) ? readdirSync(join(cache, 'kernels')).filter((n) => n.includes('.tmp-')) : []);
    try {
      const run = build();
      // The source tarball's extraction: silent for tens of seconds, so no broken pipe would end it.
      const tree = await waitFor('tar -xf', 10 * MINUTE, () => {
        const below = descendants(run.pid!);
        return below.some((p) => /^(\S*\/)?tar -xf /.test(p.cmd)) ? below : undefined;
      });
      run.kill('SIGKILL');
      const left = await survivors(tree.map((p) => p.pid), 5_000);
      for (const pid of left) process.kill(pid, 'SIGKILL');
      await run;
      expect(left).toEqual([]);
      const [killed] = scratch();
      expect(killed).toMatch(new RegExp(`\\.tmp-${run.pid}-`));
      // The next build removes the dead run's scratch before it starts its own.
      const next = build();
      await waitFor('the next build\'s scratch', 5 * MINUTE, () => (scratch().some((n) => n.includes(`.tmp-${next.pid}-`)) ? true : undefined));
      expect(scratch()).not.toContain(killed);
      next.kill('SIGKILL');
      await next;
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('SIGKILL to node on the host target: the agent and the sequence it is running die too', { timeout: 5 * MINUTE }, async () => {
    // One long sequence: 1000 deletions and re-creations of a veth pair, each waiting for the
    // kernel's RCU grace periods, keep the agent's fork busy for about a minute; an agent left
    // alone would go on long after the 5 s the test allows.
    const dir = mkdtempSync(join(tmpdir(), 'mprog-lifetime-'));
    const file = join(dir, 'churn.json');
    const churn = [{ op: 'dev_delete', dev: 'v0' }, { op: 'dev_create', name: 'v0' }];
    // The query first: the sequence's bpftool (a fork of the agent's bpftool zygote) lives on too.
    const query = { op: 'query', dev: 'v0', attach_type: 'tcx_ingress' };
    writeFileSync(file, JSON.stringify({ format: 'mprog-seq/1', name: 'churn', devices: ['v0'], steps: [query, ...Array.from({ length: 1000 }, () => churn).flat()] }));
    const run = mprog('replay', '--target', 'host', file);
    const node = run.pid!;
    // The agent and, below it, the fork that runs the sequence: seen for 3 s, so not the short-lived
    // agent that probes bpftool first.
    const firstSeen = new Map<number, number>();
    const tree = await waitFor('the agent running a sequence', MINUTE, () => {
      const below = descendants(node);
      const agents = below.filter((p) => /mprog-agent/.test(p.cmd));
      for (const a of agents) if (!firstSeen.has(a.pid)) firstSeen.set(a.pid, Date.now());
      return agents.filter((a) => Date.now() - firstSeen.get(a.pid)! > 3000).length >= 2 ? below : undefined;
    });
    expect(tree.filter((p) => /bpftool/.test(p.cmd)).length).toBeGreaterThanOrEqual(2); // the zygote and the fork
    run.kill('SIGKILL');
    // Not `await run` first: a surviving agent holds node's stderr open, and the run with it.
    const left = await survivors(tree.map((p) => p.pid), 5_000);
    for (const pid of left) process.kill(pid, 'SIGKILL');
    await run;
    expect(left).toEqual([]);
  });
});
