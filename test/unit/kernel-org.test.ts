// kernel.org as a kernel source, against a local server standing in for it (MPROG_KERNEL_ORG):
// series → newest release (releases.json, or the directory's sha256sums.asc for a series it no
// longer lists), mainline (a release candidate: a git.kernel.org snapshot, no sums), the tarball
// downloaded once and checked against the published SHA-256, a damaged download refused and not
// kept, the signature checked with gpgv and a test keyring, the cache keyed by the exact release,
// and the tree laid out as a kernel source. Small fake trees: nothing here compiles a kernel
// (test/kbuild/kernel-org-build.test.ts builds a real one through the same stand-in).

import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveKernelSource } from '../../vm/kernel-build/source.js';
import { compareKernelOrgReleases, parseSums, resolveKernelOrg } from '../../vm/kernel-build/kernel-org.js';
import { KERNEL_ORG_LABEL } from '../../vm/guest/boot-kernel.js';
import { setNoticeSink } from '../../vm/runtime/notices.js';
import { findOnPath } from '../../vm/runtime/lifetime.js';
import { type FakeKernelOrg, fakeKernelOrg, releasesJson, sha256, sumsText } from '../fake-kernel-org.js';

/** A tarball of a tiny tree `linux-RELEASE/` that looks like a kernel source of that release. */
async function fakeTarball(release: string, compress: 'J' | 'z' = 'J'): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'mprog-korg-tree-'));
  const [version, patchlevel, sublevel] = release.replace(/-rc\d+$/, '').split('.');
  const top = join(dir, `linux-${release}`);
  mkdirSync(join(top, 'kernel', 'bpf'), { recursive: true });
  writeFileSync(join(top, 'Makefile'), `VERSION = ${version}\nPATCHLEVEL = ${patchlevel}\nSUBLEVEL = ${sublevel ?? 0}\n`);
  writeFileSync(join(top, 'kernel', 'bpf', 'tcx.c'), `/* ${release} */\n`);
  const file = join(dir, 'out.tar');
  await execa('tar', [`-c${compress}f`, file, '-C', dir, `linux-${release}`]);
  return readFileSync(file);
}

let server: FakeKernelOrg;
const tarballs: Record<string, Buffer> = {};
const saved = { org: process.env['MPROG_KERNEL_ORG'], cache: process.env['MPROG_CACHE'], keyring: process.env['MPROG_KERNEL_ORG_KEYRING'] };
let notices: string[] = [];

beforeAll(async () => {
  server = await fakeKernelOrg();
  for (const r of ['6.6.87', '6.6.90', '6.7.12', '6.7.3', '6.18.50']) tarballs[r] = await fakeTarball(r);
  tarballs['7.5-rc2'] = await fakeTarball('7.5-rc2', 'z');
  tarballs['6.6.88'] = await fakeTarball('6.6.88');
  for (const r of ['6.6.87', '6.6.90', '6.7.12', '6.7.3', '6.18.50']) server.files.set(`/v6.x/linux-${r}.tar.xz`, tarballs[r]!);
  // 6.6.88 as the sums publish it, and other bytes served for it: a damaged download.
  server.files.set(
    '/v6.x/linux-6.6.88.tar.xz',
    Buffer.concat([tarballs['6.6.88']!.subarray(0, 100), Buffer.from('damage'), tarballs['6.6.88']!.subarray(106)]),
  );
  server.files.set(
    '/v6.x/sha256sums.asc',
    Buffer.from(
      sumsText({
        'linux-6.6.87.tar.xz': tarballs['6.6.87']!,
        'linux-6.6.88.tar.xz': tarballs['6.6.88']!,
        'linux-6.6.90.tar.xz': tarballs['6.6.90']!,
        'linux-6.7.3.tar.xz': tarballs['6.7.3']!,
        'linux-6.7.12.tar.xz': tarballs['6.7.12']!,
        'linux-6.18.50.tar.xz': tarballs['6.18.50']!,
        'patch-6.7.12.xz': 'f'.repeat(64),
      }),
    ),
  );
  server.files.set('/torvalds/t/linux-7.5-rc2.tar.gz', tarballs['7.5-rc2']!);
  server.files.set(
    '/releases.json',
    releasesJson([
      { version: '7.5-rc2', moniker: 'mainline', source: 'https://git.kernel.org/torvalds/t/linux-7.5-rc2.tar.gz' },
      { version: '6.18.50', moniker: 'stable' },
      { version: '6.12.130', moniker: 'longterm' },
      { version: '6.6.90', moniker: 'longterm' },
      { version: 'next-20261201', moniker: 'linux-next' },
    ]),
  );
  process.env['MPROG_KERNEL_ORG'] = server.url;
  delete process.env['MPROG_KERNEL_ORG_KEYRING'];
  setNoticeSink((t) => notices.push(t));
});

beforeEach(() => {
  process.env['MPROG_CACHE'] = mkdtempSync(join(tmpdir(), 'mprog-korg-cache-'));
  server.requests.clear();
  notices = [];
});

afterAll(async () => {
  await server.close();
  for (const [k, v] of Object.entries({ MPROG_KERNEL_ORG: saved.org, MPROG_CACHE: saved.cache, MPROG_KERNEL_ORG_KEYRING: saved.keyring })) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

const layOut = (source: Awaited<ReturnType<typeof resolveKernelSource>>) =>
  source.layOut(join(mkdtempSync(join(tmpdir(), 'mprog-korg-layout-')), 'src'));

describe('kernel.org releases', () => {
  it('says, once, that without a keyring the signature of the sums is not checked', async () => {
    await resolveKernelOrg('6.7');
    expect(notices).toContainEqual(
      expect.stringMatching(/the PGP signature of sha256sums\.asc was NOT checked \(no keyring: set MPROG_KERNEL_ORG_KEYRING/),
    );
  });

  it('orders releases as kernel.org numbers them (a release candidate before its release)', () => {
    expect(['6.6.9', '7.5-rc2', '6.6', '6.6.10', '7.5', '7.4.3'].sort(compareKernelOrgReleases)).toEqual([
      '6.6',
      '6.6.9',
      '6.6.10',
      '7.4.3',
      '7.5-rc2',
      '7.5',
    ]);
    expect([...parseSums(sumsText({ 'linux-6.6.tar.xz': 'a'.repeat(64) })).keys()]).toEqual(['linux-6.6.tar.xz']);
  });

  it('resolves a series to its newest release: from releases.json, or from the sums file for a series it no longer lists', async () => {
    expect(await resolveKernelOrg('6.6')).toMatchObject({ release: '6.6.90', moniker: 'longterm', url: `${server.url}/v6.x/linux-6.6.90.tar.xz` });
    expect(await resolveKernelOrg('6.7')).toMatchObject({ release: '6.7.12', moniker: null, sums: `${server.url}/v6.x/sha256sums.asc` });
    expect(await resolveKernelOrg('6.6.0')).toMatchObject({ release: '6.6', file: 'linux-6.6.tar.xz' });
    await expect(resolveKernelOrg('6.9')).rejects.toThrow(/kernel\.org has no 6\.9 release/);
    await expect(resolveKernelOrg('latest')).rejects.toThrow(/latest: not a release/);
  });

  it('downloads the tarball once, checked against the published SHA-256, and lays it out as a kernel source', async () => {
    const source = await resolveKernelSource('kernel.org:6.6.87');
    expect(source.name).toBe('kernel.org-6.6.87');
    expect(source.identity).toBe(`kernel.org:6.6.87:${sha256(tarballs['6.6.87']!)}`);
    expect(source.description).toMatch(/kernel\.org linux-6\.6\.87\.tar\.xz/);
    // Only the sums so far: a kernel already built needs no tarball.
    expect(server.requests.get('/v6.x/linux-6.6.87.tar.xz')).toBeUndefined();
    const tree = await layOut(source);
    expect(readFileSync(join(tree, 'Makefile'), 'utf8')).toMatch(/SUBLEVEL = 87/);
    expect(readFileSync(join(tree, 'kernel/bpf/tcx.c'), 'utf8')).toBe('/* 6.6.87 */\n');
    expect(notices).toContainEqual(
      expect.stringMatching(/^kernel\.org: downloading linux-6\.6\.87\.tar\.xz of [\d.]+ MiB from http:\/\/127\.0\.0\.1/),
    );
    // No keyring: said (once a process) and in what the build describes.
    expect(source.description).toMatch(/SHA-256 checked against v6\.x\/sha256sums\.asc; signature not checked/);
    // Again: from the cache, no download (and no sums: the cache recorded them).
    server.requests.clear();
    const again = await resolveKernelSource('kernel.org:6.6.87');
    expect(again.identity).toBe(source.identity);
    await layOut(again);
    expect([...server.requests.keys()]).toEqual([]);
    expect(existsSync(join(process.env['MPROG_CACHE']!, 'kernel-org', 'linux-6.6.87', 'linux-6.6.87.tar.xz'))).toBe(true);
  });

  it('refuses a damaged download, says why and keeps nothing', async () => {
    const source = await resolveKernelSource('kernel.org:6.6.88');
    await expect(layOut(source)).rejects.toThrow(
      /linux-6\.6\.88\.tar\.xz as downloaded from .* is damaged: its SHA-256 is [0-9a-f]{64}, .*sha256sums\.asc says [0-9a-f]{64}/,
    );
    expect(existsSync(join(process.env['MPROG_CACHE']!, 'kernel-org', 'linux-6.6.88'))).toBe(false);
  });

  it('keys the cache by the exact release a series resolves to', async () => {
    const series = await resolveKernelSource('kernel.org:6.6');
    const exact = await resolveKernelSource('kernel.org:6.6.90');
    const older = await resolveKernelSource('kernel.org:6.6.87');
    expect(series.name).toBe('kernel.org-6.6.90');
    expect(series.identity).toBe(exact.identity);
    expect(older.identity).not.toBe(exact.identity);
    expect(notices).toContainEqual("kernel.org:6.6: kernel.org's newest 6.6 is 6.6.90 (longterm)");
    // kernel.org unreachable: a series falls back to the newest release of it in the cache, saying so.
    await layOut(exact);
    process.env['MPROG_KERNEL_ORG'] = 'http://127.0.0.1:1';
    try {
      expect((await resolveKernelSource('kernel.org:6.6')).identity).toBe(exact.identity);
      expect(notices).toContainEqual(expect.stringMatching(/cannot fetch releases\.json .*; using 6\.6\.90, the newest 6\.6 release in the cache/));
      await expect(resolveKernelSource('kernel.org:6.7')).rejects.toThrow(
        /kernel\.org: cannot fetch releases\.json \(http:\/\/127\.0\.0\.1:1\/releases\.json\)/,
      );
    } finally {
      process.env['MPROG_KERNEL_ORG'] = server.url;
    }
  });

  it('mainline: releases.json names it; a release candidate comes from the snapshots, keyed by its bytes (no sums published)', async () => {
    const source = await resolveKernelSource('kernel.org:mainline');
    expect(source.name).toBe('kernel.org-7.5-rc2');
    expect(source.identity).toBe(`kernel.org:7.5-rc2:${sha256(tarballs['7.5-rc2']!)}`);
    expect(source.description).toMatch(/not checked: no published SHA-256/);
    expect(server.requests.get('/torvalds/t/linux-7.5-rc2.tar.gz')).toBe(1);
    const tree = await layOut(source);
    expect(readFileSync(join(tree, 'kernel/bpf/tcx.c'), 'utf8')).toBe('/* 7.5-rc2 */\n');
    expect(server.requests.get('/torvalds/t/linux-7.5-rc2.tar.gz')).toBe(1);
  });

  it('a release kernel.org does not have: said with the URL', async () => {
    await expect(resolveKernelSource('kernel.org:6.6.99')).rejects.toThrow(
      /sha256sums\.asc lists no linux-6\.6\.99\.tar\.xz: kernel\.org has no 6\.6\.99 release/,
    );
  });

  it('--kernel labels name the same builds', () => {
    for (const ok of ['kernel.org-6.6', 'kernel.org-6.6.87', 'kernel.org-mainline', 'kernel.org-7.5-rc2'])
      expect(KERNEL_ORG_LABEL.test(ok), ok).toBe(true);
    for (const bad of ['kernel.org-', 'kernel.org-latest', 'kernel.org:6.6']) expect(KERNEL_ORG_LABEL.test(bad), bad).toBe(false);
  });
});

describe.skipIf(!findOnPath('gpg') || !findOnPath('gpgv'))('the signature of sha256sums.asc, with gpgv and a keyring', () => {
  let keyring: string;
  let home: string;
  let signed: Buffer;
  let unsigned: Buffer;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'mprog-gnupg-'));
    const env = { ...process.env, GNUPGHOME: home };
    await execa('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'Test Autosigner <autosigner@test>', 'ed25519', 'sign', 'never'], { env });
    unsigned = server.files.get('/v6.x/sha256sums.asc')!;
    signed = Buffer.from((await execa('gpg', ['--batch', '--clearsign'], { env, input: unsigned.toString() })).stdout);
    keyring = join(home, 'kernel-org.gpg');
    writeFileSync(keyring, (await execa('gpg', ['--batch', '--export'], { env, encoding: 'buffer' })).stdout);
  });

  afterAll(async () => {
    // gpg started an agent for this home: it goes with it.
    await execa('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: home }, reject: false });
    server.files.set('/v6.x/sha256sums.asc', unsigned);
    delete process.env['MPROG_KERNEL_ORG_KEYRING'];
  });

  it('checks it, and refuses sums whose signature does not verify', async () => {
    server.files.set('/v6.x/sha256sums.asc', signed);
    process.env['MPROG_KERNEL_ORG_KEYRING'] = keyring;
    const source = await resolveKernelSource('kernel.org:6.6.87');
    expect(source.description).toContain(`signature checked with ${keyring}`);
    await layOut(source);
    process.env['MPROG_CACHE'] = mkdtempSync(join(tmpdir(), 'mprog-korg-cache-'));
    server.files.set('/v6.x/sha256sums.asc', Buffer.from(signed.toString().replace(sha256(tarballs['6.6.90']!), sha256(tarballs['6.6.87']!))));
    await expect(resolveKernelSource('kernel.org:6.6.90')).rejects.toThrow(/the PGP signature of .*sha256sums\.asc does not verify with the keyring/);
    server.files.set('/v6.x/sha256sums.asc', unsigned);
    await expect(resolveKernelSource('kernel.org:6.6.90')).rejects.toThrow(/does not verify/);
  });
});
