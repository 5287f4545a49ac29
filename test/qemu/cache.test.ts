// The cache is verified, not trusted by existence: real runs of the built CLI on a private copy
// of the cache, damaged the way a kill or a full disk damages it, then replayed on a real guest.

import { existsSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivateApt } from '../../vm/debian/private-apt.js';
import { seriesCandidates } from '../../vm/guest/boot-kernel.js';
import { kvmUsable } from '../../vm/guest/qemu.js';
import { cacheRoot } from '../../vm/runtime/paths.js';
import { privateCache } from '../private-cache.js';
import { besidesProgress } from '../stderr.js';

const MINUTE = 60_000;
const BASIC = 'test/sequences/tc_opts/basic.json';

/** Replaces `file` by its first half under the same name (a new inode: the linked original stays whole). */
function truncate(file: string): void {
  const data = readFileSync(file);
  unlinkSync(file);
  writeFileSync(file, data.subarray(0, data.length >> 1));
}

describe('a damaged cache is repaired, said once, and never makes a run use another kernel', () => {
  const real = cacheRoot();
  // Each test damages a cache of its own: a private copy (hard links) of the real one.
  const caches: string[] = [];
  const replay = (cache: string) =>
    execa('node', ['bin/mprog.js', 'replay', '--target', 'qemu:debian-6.12:x86_64', BASIC], { reject: false, env: { MPROG_CACHE: cache } });
  /** A private cache of the real one's package lists and userland, as a debian-6.12 run leaves it (its kernel and initramfs made). */
  const preparedCache = async (): Promise<string> => {
    const cache = await privateCache(['apt', 'userland']);
    caches.push(cache);
    const r = await replay(cache);
    expect(r.exitCode).toBe(0);
    return cache;
  };

  beforeAll(async () => {
    // The real cache has what a debian-6.12 run needs (made here if another test has not).
    const r = await execa('node', ['bin/mprog.js', 'replay', '--target', 'qemu:debian-6.12:x86_64', BASIC], { reject: false });
    expect(r.exitCode).toBe(0);
  }, 10 * MINUTE);

  afterAll(() => {
    for (const cache of caches) rmSync(cache, { recursive: true, force: true });
  });

  it('fetches a truncated .deb again instead of falling back to an older kernel', { timeout: 10 * MINUTE }, async () => {
    // The real cache keeps the kernel's .deb only as long as nothing discards it: fetched here if it went.
    const realApt = new PrivateApt(join(real, 'apt'));
    const [newest] = await seriesCandidates('6.12', 'x86_64', realApt);
    await realApt.download(newest!);
    const cache = await privateCache(['apt', 'userland']);
    caches.push(cache);
    const deb = join(cache, 'apt', 'debs', `${newest!.name}_${newest!.version}_amd64.deb`);
    expect(existsSync(deb)).toBe(true);
    truncate(deb);
    const r = await replay(cache);
    expect(r.exitCode).toBe(0);
    expect(besidesProgress(r.stderr)).toBe(`mprog: cache: ${deb}: does not match the SHA256 in the Debian package lists; making it again`);
    // The download again, said with its size; a guest of a kernel never booted here, saved at its first boot.
    expect(r.stderr).toContain(`mprog: private apt: downloading ${newest!.name}:amd64=${newest!.version} (`);
    expect(r.stderr).toMatch(/^mprog: x86_64 guest of \S+: first boot, then saved so that later guests resume it$/m);
    // The kernel the run prepared and booted is the newest one, the one it resolved.
    expect(readdirSync(join(cache, 'kernels'))).toEqual([`${newest!.name}_${newest!.version}_amd64`]);
    expect(readFileSync(deb).equals(readFileSync(join(real, 'apt', 'debs', `${newest!.name}_${newest!.version}_amd64.deb`)))).toBe(true);
  });

  it('makes a truncated kernel image and initramfs again, and re-probes a garbage KVM verdict file where /dev/kvm opens', {
    timeout: 10 * MINUTE,
  }, async () => {
    const cache = await preparedCache();
    const [kernelDir] = readdirSync(join(cache, 'kernels'));
    const image = join(cache, 'kernels', kernelDir!, 'image');
    const [cpio] = readdirSync(join(cache, 'initramfs')).filter((f) => f.startsWith('x86_64-'));
    const initramfs = join(cache, 'initramfs', cpio!);
    truncate(image);
    truncate(initramfs);
    writeFileSync(join(cache, 'kvm-probe.json'), 'garbage{');
    const r = await replay(cache);
    expect(r.exitCode).toBe(0);
    // The verdicts are read only where /dev/kvm can be opened (a machine without it runs TCG at once).
    const kvm = kvmUsable();
    expect(besidesProgress(r.stderr).split('\n').sort()).toEqual(
      [
        `mprog: cache: ${join(cache, 'kernels', kernelDir!)}: image does not match its checksum; making it again`,
        `mprog: cache: ${initramfs}: its bytes are not the ones its name hashes; making it again`,
        ...(kvm ? [`mprog: cache: ${join(cache, 'kvm-probe.json')}: not a map of KVM verdicts ("tcg" or "kvm"); making it again`] : []),
      ].sort(),
    );
    const verdicts = readFileSync(join(cache, 'kvm-probe.json'), 'utf8');
    if (kvm) expect(JSON.parse(verdicts)).toEqual(expect.any(Object));
    else expect(verdicts).toBe('garbage{');
    // Repaired: the next run finds nothing to say.
    const again = await replay(cache);
    expect(again.exitCode).toBe(0);
    expect(besidesProgress(again.stderr)).toBe('');
  });

  it('makes a kernel directory made before manifests (no kernel.json) again, once', { timeout: 10 * MINUTE }, async () => {
    const cache = await preparedCache();
    const [kernelDir] = readdirSync(join(cache, 'kernels'));
    const dir = join(cache, 'kernels', kernelDir!);
    unlinkSync(join(dir, 'kernel.json'));
    const r = await replay(cache);
    expect(r.exitCode).toBe(0);
    expect(besidesProgress(r.stderr)).toBe(`mprog: cache: ${dir}: no kernel.json; making it again`);
    expect(existsSync(join(dir, 'kernel.json'))).toBe(true);
    expect(besidesProgress((await replay(cache)).stderr)).toBe('');
  });
});
