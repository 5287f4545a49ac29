// The project's private apt (under .cache/apt) against the real Debian mirror: what the guests'
// kernels and userland are fetched through. The parsing of its output is in test/unit/cpio-apt.test.ts.

import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { PrivateApt } from '../../vm/debian/private-apt.js';
import { privateCache } from '../private-cache.js';
import { cacheRoot } from '../../vm/runtime/paths.js';

const MINUTE = 60_000;

/** The private apt's package lists in `cache` made `hours` old (the stamp the 12-hour rule reads). */
function listsAged(cache: string, hours: number): void {
  const old = new Date(Date.now() - hours * 3600_000);
  utimesSync(join(cache, 'apt', 'state', 'updated'), old, old);
}

/** An empty cache directory beside the project's (which a fresh clone does not have yet). */
function freshCache(): string {
  mkdirSync(cacheRoot(), { recursive: true });
  return mkdtempSync(join(cacheRoot(), 'test-cache-'));
}

describe('PrivateApt', () => {
  it("reads what the project's private apt prints for a real package", async () => {
    const found = await new PrivateApt().available(['busybox-static'], 'amd64');
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((p) => p.name === 'busybox-static' && p.debArch === 'amd64' && p.suite.length > 0)).toBe(true);
  });

  it('fetches the package lists of a fresh cache saying how far it is, and what it fetched in all', { timeout: 10 * MINUTE }, async () => {
    const cache = freshCache();
    try {
      const r = await execa('node', ['bin/mprog.js', 'kernels', '--arch', 'x86_64'], { env: { MPROG_CACHE: cache, NO_COLOR: '1' }, reject: false });
      expect(r.exitCode).toBe(0);
      const said = r.stderr.split('\n').filter((l) => l.startsWith('mprog: private apt: '));
      expect(said[0]).toMatch(/^mprog: private apt: fetching Debian's package lists from \S+ into \S+ \(once, then every 12 h\)$/);
      // Some 60 MB of lists: the end says apt's total.
      expect(said.at(-1)).toMatch(/^mprog: private apt: package lists: fetched [\d.,]+ [kMG]B in \S+ \(.+\/s\)$/);
      // Every few seconds between them (none when the mirror is quick), how far: apt's percentage, counting up.
      const between = said.slice(1, -1).map((l) => /^mprog: private apt: package lists: (\d+)% \(file \d+ of \d+\)$/.exec(l));
      expect(between.every((m) => m !== null)).toBe(true);
      const percents = between.map((m) => Number(m![1]));
      expect(percents).toEqual([...percents].sort((a, b) => a - b));
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('offline with lists older than 12 h: uses them with a warning instead of failing', { timeout: 10 * MINUTE }, async () => {
    const cache = await privateCache(['apt']);
    try {
      listsAged(cache, 13);
      // A network namespace of its own with no interface up: the mirror cannot be reached.
      const r = await execa('unshare', ['--net', 'node', 'bin/mprog.js', 'kernels', '--arch', 'x86_64'], {
        env: { MPROG_CACHE: cache, NO_COLOR: '1' },
        reject: false,
      });
      expect(r.stderr).toMatch(/^mprog: private apt: the package lists are 13 h old and \S+ cannot be reached: using them as they are$/m);
      expect(r.stdout).toMatch(/^ {2}debian-6\.12 +usable/m);
      expect(r.exitCode).toBe(0);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  describe('--offline', () => {
    const mprog = (cache: string, ...args: string[]) =>
      // No interface up in a netns of its own: a fetch would fail, not succeed, were one tried.
      execa('unshare', ['--net', 'node', 'bin/mprog.js', '--offline', ...args], { env: { MPROG_CACHE: cache, NO_COLOR: '1' }, reject: false });

    it('with nothing cached: an error naming the package lists, at once, exit 2', { timeout: MINUTE }, async () => {
      const cache = freshCache();
      try {
        const started = Date.now();
        const r = await mprog(cache, 'kernels', '--arch', 'x86_64');
        expect(r.exitCode).toBe(2);
        expect(r.stderr).toMatch(/--offline: Debian's package lists \(\S+\) is not in the cache \(.*test-cache-.*\) and would be fetched/);
        expect(Date.now() - started).toBeLessThan(20_000); // no mirror waited for (node's start and the CLI: a second or two)
      } finally {
        rmSync(cache, { recursive: true, force: true });
      }
    });

    it('with stale lists: uses them, saying so; a kernel package not cached is an error naming it', { timeout: 10 * MINUTE }, async () => {
      const cache = await privateCache(['apt']);
      try {
        listsAged(cache, 13);
        const listed = await mprog(cache, 'kernels', '--arch', 'x86_64');
        expect(listed.stderr).toMatch(/^mprog: private apt: offline: the package lists are 13 h old: using them as they are$/m);
        expect(listed.exitCode).toBe(0);
        for (const deb of readdirSync(join(cache, 'apt', 'debs')).filter((f) => f.startsWith('linux-image-')))
          rmSync(join(cache, 'apt', 'debs', deb));
        const r = await mprog(cache, 'replay', '--target', 'qemu:debian-6.12:x86_64', 'corpus/tcx/revision.json');
        expect(r.exitCode).toBe(2);
        expect(r.stderr).toMatch(/--offline: linux-image-6\.12\.\S+:amd64=\S+ \(a Debian package\) is not in the cache/);
      } finally {
        rmSync(cache, { recursive: true, force: true });
      }
    });
  });
});
