// A damaged agent build is found and built again before use (issue 20, item 13), on the host
// target: the real build truncated, then a real replay: said once, rebuilt, exit 0 (a guest's
// side: test/qemu/agent-damage.test.ts).

import { rmSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateCache } from '../private-cache.js';
import { besidesProgress } from '../stderr.js';

const BASIC = 'test/sequences/tc_opts/basic.json';

// A private cache (the agent is built into the cache): no other test's agent is damaged meanwhile.
let cache: string;
beforeAll(async () => {
  cache = await privateCache(['apt', 'userland']);
});
afterAll(() => rmSync(cache, { recursive: true, force: true }));

describe('a damaged agent build', () => {
  for (const [what, name] of [
    ['the agent, truncated', 'mprog-agent'],
    ['the bpftool zygote, truncated', 'bpftool-zygote.so'],
  ] as const) {
    it(`${what}: rebuilt before the host target runs it`, async () => {
      await execa('node', ['vm/agent/build.mjs', '--out', join(cache, 'agent'), 'x86_64']);
      const file = join(cache, 'agent', 'x86_64', name);
      truncateSync(file, 100);
      const r = await execa('node', ['bin/mprog.js', 'replay', '--target', 'host', BASIC], { reject: false, env: { MPROG_CACHE: cache } });
      expect(besidesProgress(r.stderr)).toBe(
        `mprog: agent build: ${file} is damaged (its SHA-256 is not the one recorded when it was built); building it again`,
      );
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toMatch(/basic\.json: host /);
    });
  }
});
