// A damaged agent build is found and built again before use (issue 20, item 13: a truncated
// agent build went into every guest, which reported `boot-fail: the guest
// never ran the agent` while its console showed the agent segfaulting). The real build, truncated,
// then a real replay on a guest (debian-6.12 x86_64 under QEMU): said once, rebuilt, exit 0.

import { rmSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { privateCache } from '../private-cache.js';
import { besidesProgress } from '../stderr.js';

const MINUTE = 60_000;
const BASIC = 'test/sequences/tc_opts/basic.json';

describe('a truncated agent build', () => {
  it('is rebuilt before a guest gets it: the replay passes', { timeout: 15 * MINUTE }, async () => {
    // A private cache (the agent is built into the cache): no other test's agent is damaged meanwhile.
    const cache = await privateCache(['apt', 'userland', 'kernels']);
    const AGENT = join(cache, 'agent', 'x86_64', 'mprog-agent');
    await execa('node', ['vm/agent/build.mjs', '--out', join(cache, 'agent'), 'x86_64']);
    truncateSync(AGENT, 4096);
    const r = await execa('node', ['bin/mprog.js', 'replay', '--target', 'qemu:debian-6.12:x86_64', BASIC], {
      reject: false,
      env: { MPROG_CACHE: cache },
    });
    rmSync(cache, { recursive: true, force: true });
    expect(besidesProgress(r.stderr)).toBe(
      `mprog: agent build: ${AGENT} is damaged (its SHA-256 is not the one recorded when it was built); building it again`,
    );
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/basic\.json: qemu:debian-6\.12:x86_64 /);
  });
});
