// Nothing outlives mprog during a kernel build: a real run of the built CLI that starts building
// mprog-6.12 from Debian's source, SIGKILLed while it extracts the tree (the guests' side:
// test/qemu/lifetime.test.ts; the host agent's: test/host/lifetime.test.ts).

import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { describe, expect, it } from 'vitest';
import { privateCache } from '../private-cache.js';
import { descendants, survivors, waitFor } from '../processes.js';

const MINUTE = 60_000;
const BASIC = 'test/sequences/tc_opts/basic.json';

describe('no process outlives mprog', () => {
  it('SIGKILL to node during a kernel build: its tools die too; the next run reclaims its scratch', { timeout: 15 * MINUTE }, async () => {
    // A private cache: the build starts from Debian's source there, and the real one is untouched.
    const cache = await privateCache(['apt']);
    const build = (): ResultPromise =>
      execa('node', ['bin/mprog.js', 'replay', '--target', 'qemu:mprog-6.12:x86_64', BASIC], { reject: false, env: { MPROG_CACHE: cache } });
    const scratch = (): string[] =>
      existsSync(join(cache, 'kernels')) ? readdirSync(join(cache, 'kernels')).filter((n) => n.includes('.tmp-')) : [];
    try {
      const run = build();
      // The source tarball's extraction: silent for tens of seconds, so no broken pipe would end it.
      const tree = await waitFor('tar -xf', 10 * MINUTE, () => {
        const below = descendants(run.pid!);
        return below.some((p) => /^(\S*\/)?tar -xf /.test(p.cmd)) ? below : undefined;
      });
      run.kill('SIGKILL');
      const left = await survivors(
        tree.map((p) => p.pid),
        5_000,
      );
      for (const pid of left) process.kill(pid, 'SIGKILL');
      await run;
      expect(left).toEqual([]);
      const [killed] = scratch();
      expect(killed).toMatch(new RegExp(`\\.tmp-${run.pid}-`));
      // The next build removes the dead run's scratch before it starts its own.
      const next = build();
      await waitFor("the next build's scratch", 5 * MINUTE, () => (scratch().some((n) => n.includes(`.tmp-${next.pid}-`)) ? true : undefined));
      expect(scratch()).not.toContain(killed);
      next.kill('SIGKILL');
      await next;
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
