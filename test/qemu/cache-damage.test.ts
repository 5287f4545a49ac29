// Nothing under the cache is used unchecked (issue 20, items 1 and 8), found the way the audit
// found it: real runs of the built CLI on a private copy of the cache, a saved guest with a byte
// flipped or its kernel release changed in its RAM image, and directories where cache files
// should be; each said once, removed, made again, and the run uses what it should.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { PrivateApt } from '../../vm/debian/private-apt.js';
import { seriesCandidates } from '../../vm/guest/boot-kernel.js';
import { cacheRoot } from '../../vm/runtime/paths.js';
import { privateCache } from '../private-cache.js';
import { besidesProgress } from '../stderr.js';

const MINUTE = 60_000;
const BASIC = 'test/sequences/tc_opts/basic.json';
const RELEASE = /^6\.12\.\d+\+deb\d+-cloud-amd64$/;

const caches: string[] = [];
afterAll(() => {
  for (const cache of caches) rmSync(cache, { recursive: true, force: true });
});

const replay = (cache: string) =>
  execa('node', ['bin/mprog.js', 'replay', '--json', '--target', 'qemu:debian-6.12:x86_64', BASIC], { reject: false, env: { MPROG_CACHE: cache } });

/** A private cache (package lists and userland linked from the real one) after a first run: kernel, initramfs and one saved guest made. */
async function cacheWithSavedGuest(): Promise<{ cache: string; state: string; release: string }> {
  const cache = await privateCache(['apt', 'userland']);
  caches.push(cache);
  const r = await replay(cache);
  expect(r.exitCode, r.stderr).toBe(0);
  const states = readdirSync(join(cache, 'snapshots')).filter((f) => f.endsWith('.state'));
  expect(states).toHaveLength(1);
  const release = JSON.parse(r.stdout)[0].kernel as string;
  expect(release).toMatch(RELEASE);
  return { cache, state: join(cache, 'snapshots', states[0]!), release };
}

const manifestOf = (state: string) => state.replace(/\.state$/, '.json');

describe('saved guests are verified before they are used', () => {
  it('a byte flipped in the middle of the state: said once, removed, booted and saved again; the next run resumes', {
    timeout: 15 * MINUTE,
  }, async () => {
    const { cache, state, release } = await cacheWithSavedGuest();
    const data = readFileSync(state);
    data[data.length >> 1] ^= 0x01;
    writeFileSync(state, data);
    const ino = statSync(state).ino;

    const r = await replay(cache);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(besidesProgress(r.stderr)).toBe(`mprog: cache: ${state}: does not match the checksum recorded when it was saved; making it again`);
    expect(JSON.parse(r.stdout)[0].kernel).toBe(release);
    expect(statSync(state).ino).not.toBe(ino); // saved again: a new file renamed into place
    const manifest = JSON.parse(readFileSync(manifestOf(state), 'utf8'));
    expect(createHash('sha256').update(readFileSync(state)).digest('hex')).toBe(manifest.sha256);

    const saved = statSync(state).ino;
    const again = await replay(cache);
    expect(again.exitCode).toBe(0);
    expect(besidesProgress(again.stderr)).toBe('');
    expect(statSync(state).ino).toBe(saved); // resumed from the new one, not saved again
  });

  it('"6.12.117" changed to "6.12.119" in the RAM image: the checksum says so; with the checksum redone, the release the guest reports does', {
    timeout: 15 * MINUTE,
  }, async () => {
    const { cache, state, release } = await cacheWithSavedGuest();
    const other = release.replace(/^(6\.12\.)(\d+)/, (_, a: string, n: string) => `${a}${Number(n) + 2}`);
    expect(other.length).toBe(release.length);
    const damage = (redoChecksum: boolean) => {
      const text = readFileSync(state).toString('latin1');
      expect(text.includes(release)).toBe(true);
      const data = Buffer.from(text.split(release).join(other), 'latin1');
      writeFileSync(state, data);
      if (redoChecksum) {
        const manifest = JSON.parse(readFileSync(manifestOf(state), 'utf8'));
        manifest.sha256 = createHash('sha256').update(data).digest('hex');
        writeFileSync(manifestOf(state), JSON.stringify(manifest));
      }
    };

    damage(false);
    const r = await replay(cache);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(besidesProgress(r.stderr)).toBe(`mprog: cache: ${state}: does not match the checksum recorded when it was saved; making it again`);
    expect(JSON.parse(r.stdout)[0].kernel).toBe(release);

    // As if the state had been saved from another guest than its manifest says: only the
    // release check can tell. The run reports the kernel it booted, not the one in the damaged RAM.
    damage(true);
    const checked = await replay(cache);
    expect(checked.exitCode).toBe(0);
    expect(besidesProgress(checked.stderr)).toBe(
      `mprog: cache: ${state}: the resumed guest reports kernel ${other}, but it was saved from ${release} (the kernel's release); making it again`,
    );
    expect(JSON.parse(checked.stdout)[0].kernel).toBe(release);
    expect(checked.stdout).not.toContain(other);
    expect(readFileSync(state).toString('latin1').includes(other)).toBe(false);
  });
});

describe('a directory where a cache file should be is damage like any other: said once with its path, removed, made again', () => {
  /** Puts a directory (with a file in it) where `file` was. */
  const directoryAt = (file: string) => {
    unlinkSync(file); // a private cache's files are links to the real one's: unlink, never write through
    mkdirSync(join(file, 'inside'), { recursive: true });
    writeFileSync(join(file, 'inside', 'x'), 'x');
  };

  it('the kernel image, its .deb and the initramfs', { timeout: 15 * MINUTE }, async () => {
    // The real cache keeps the kernel's .deb only as long as nothing discards it: fetched here if it went.
    const realApt = new PrivateApt(join(cacheRoot(), 'apt'));
    const [newest] = await seriesCandidates('6.12', 'x86_64', realApt);
    await realApt.download(newest!);
    const { cache } = await cacheWithSavedGuest();
    const [kernelDir] = readdirSync(join(cache, 'kernels'));
    const image = join(cache, 'kernels', kernelDir!, 'image');
    const [cpio] = readdirSync(join(cache, 'initramfs')).filter((f) => f.startsWith('x86_64-'));
    const initramfs = join(cache, 'initramfs', cpio!);
    const deb = join(cache, 'apt', 'debs', `${newest!.name}_${newest!.version}_amd64.deb`);
    for (const f of [image, initramfs, deb]) directoryAt(f);

    const started = Date.now();
    const r = await replay(cache);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(besidesProgress(r.stderr).split('\n').sort()).toEqual(
      [
        `mprog: cache: ${join(cache, 'kernels', kernelDir!)}: image is a directory where a file should be; making it again`,
        `mprog: cache: ${deb}: is a directory where a file should be; making it again`,
        `mprog: cache: ${initramfs}: is a directory where a file should be; making it again`,
      ].sort(),
    );
    expect(JSON.parse(r.stdout)[0].kernel).toMatch(RELEASE);
    for (const f of [image, initramfs, deb]) expect(statSync(f).isFile()).toBe(true);
    expect(readFileSync(deb).equals(readFileSync(join(cacheRoot(), 'apt', 'debs', `${newest!.name}_${newest!.version}_amd64.deb`)))).toBe(true);
    expect(Date.now() - started).toBeLessThan(5 * MINUTE);
  });

  it('a saved guest: no wait for the boot deadline, no harness-fault; booted and saved again', { timeout: 10 * MINUTE }, async () => {
    const { cache, state } = await cacheWithSavedGuest();
    rmSync(state);
    mkdirSync(join(state, 'inside'), { recursive: true });
    writeFileSync(join(state, 'inside', 'x'), 'x');
    const started = Date.now();
    const r = await replay(cache);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(besidesProgress(r.stderr)).toBe(`mprog: cache: ${state}: is a directory where a file should be; making it again`);
    expect(Date.now() - started).toBeLessThan(60_000); // the audit's run waited 123 s for the boot deadline
    expect(statSync(state).isFile()).toBe(true);
    const again = await replay(cache);
    expect(besidesProgress(again.stderr)).toBe('');
  });
});
