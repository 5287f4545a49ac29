// Two small parsers and writers the VM layer relies on, checked against the real tools: the
// initramfs writer (cpioNewc) read back by GNU cpio, and `apt-cache madison` output as apt prints
// it (the private apt itself, against the mirror: test/qemu/private-apt.test.ts).

import { mkdtempSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { parseMadison } from '../../vm/debian/private-apt.js';
import { cpioNewc } from '../../vm/guest/cpio.js';

describe('cpioNewc', () => {
  const entries = [
    { path: '/sbin/tool', kind: 'file' as const, data: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 },
    { path: '/etc/motd', kind: 'file' as const, data: Buffer.from('odd length!') },
    { path: '/bin/sh', kind: 'symlink' as const, target: 'busybox' },
    { path: '/dev/console', kind: 'chardev' as const, major: 5, minor: 1 },
    { path: '/empty', kind: 'dir' as const, mode: 0o700 },
  ];

  it('writes an archive GNU cpio extracts: files with their bytes and modes, links, parent dirs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mprog-cpio-'));
    const archive = join(dir, 'a.cpio');
    writeFileSync(archive, cpioNewc(entries));
    const out = join(dir, 'out');
    await execa('mkdir', [out]);
    // Device nodes need privileges to make: list them, extract the rest.
    const listing = await execa('cpio', ['-itv', '--quiet', '-F', archive]);
    expect(listing.stdout).toMatch(/^crw------- .* 5,\s+1 .* dev\/console$/m);
    await execa('cpio', ['-idm', '--quiet', '--no-absolute-filenames', '-F', archive, '--nonmatching', 'dev/console'], { cwd: out });
    expect(readFileSync(join(out, 'sbin/tool'), 'utf8')).toBe('#!/bin/sh\necho hi\n');
    expect(statSync(join(out, 'sbin/tool')).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(out, 'etc/motd'), 'utf8')).toBe('odd length!');
    expect(statSync(join(out, 'etc/motd')).mode & 0o777).toBe(0o644);
    expect(readlinkSync(join(out, 'bin/sh'))).toBe('busybox');
    expect(statSync(join(out, 'empty')).isDirectory()).toBe(true);
    expect(statSync(join(out, 'sbin')).isDirectory()).toBe(true);
  });

  it('gives the same bytes for the same entries in any order', () => {
    expect(cpioNewc([...entries].reverse()).equals(cpioNewc(entries))).toBe(true);
  });
});

describe('parseMadison', () => {
  it('keeps the arch asked for, in main, newest first', () => {
    const out = [
      '   bpftool:arm64 | 7.5.0+6.12.57-1 | http://deb.debian.org/debian trixie/main arm64 Packages',
      '   bpftool:arm64 | 7.6.0+6.16.12-1~bpo13+1 | http://deb.debian.org/debian trixie-backports/main arm64 Packages',
      '   bpftool:arm64 | 7.1.0+6.1.158-1 | http://deb.debian.org/debian bookworm/main arm64 Packages',
      '   bpftool:arm64 | 7.5.0+6.12.57-1 | http://deb.debian.org/debian trixie/main Sources',
      '   bpftool:amd64 | 9.9 | http://deb.debian.org/debian sid/main amd64 Packages',
      '',
    ].join('\n');
    expect(parseMadison(out, 'arm64')).toEqual([
      { name: 'bpftool', debArch: 'arm64', version: '7.6.0+6.16.12-1~bpo13+1', suite: 'trixie-backports' },
      { name: 'bpftool', debArch: 'arm64', version: '7.5.0+6.12.57-1', suite: 'trixie' },
      { name: 'bpftool', debArch: 'arm64', version: '7.1.0+6.1.158-1', suite: 'bookworm' },
    ]);
  });
});
