// Nothing outlives mprog on the host target: a real run of the built CLI, SIGKILLed while the
// agent's per-sequence fork works, and the real process table (the guests' side:
// test/qemu/lifetime.test.ts).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { describe, expect, it } from 'vitest';
import { descendants, survivors, waitFor } from '../processes.js';

const MINUTE = 60_000;

const mprog = (...args: string[]): ResultPromise => execa('node', ['bin/mprog.js', ...args], { reject: false });

describe('no process outlives mprog', () => {
  it('SIGKILL to node on the host target: the agent and the sequence it is running die too', { timeout: 5 * MINUTE }, async () => {
    // One long sequence: 1000 deletions and re-creations of a veth pair, each waiting for the
    // kernel's RCU grace periods, keep the agent's fork busy for about a minute; an agent left
    // alone would go on long after the 5 s the test allows.
    const dir = mkdtempSync(join(tmpdir(), 'mprog-lifetime-'));
    const file = join(dir, 'churn.json');
    const churn = [
      { op: 'dev_delete', dev: 'v0' },
      { op: 'dev_create', name: 'v0' },
    ];
    // The query first: the sequence's bpftool (a fork of the agent's bpftool zygote) lives on too.
    const query = { op: 'query', dev: 'v0', attach_type: 'tcx_ingress' };
    writeFileSync(
      file,
      JSON.stringify({ format: 'mprog-seq/1', name: 'churn', devices: ['v0'], steps: [query, ...Array.from({ length: 1000 }, () => churn).flat()] }),
    );
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
    const left = await survivors(
      tree.map((p) => p.pid),
      5_000,
    );
    for (const pid of left) process.kill(pid, 'SIGKILL');
    await run;
    expect(left).toEqual([]);
  });
});
