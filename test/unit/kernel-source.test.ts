// What `mprog kernel build SRC` keys its cache on and lays out, with real git and real trees
// (small ones: nothing here compiles a kernel), and the trees it refuses before building.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { buildKernel } from '../../vm/kernel-build/build.js';
import { patchFiles } from '../../vm/kernel-build/patch.js';
import { resolveKernelSource } from '../../vm/kernel-build/source.js';

/** A directory holding `files` (path → content). */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'mprog-ksrc-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

async function git(dir: string, ...args: string[]): Promise<void> {
  await execa('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args]);
}

const MAKEFILE = 'VERSION = 6\nPATCHLEVEL = 12\n';

describe('kernel sources', () => {
  it('keys a git tree on HEAD, its uncommitted changes and its untracked files, and lays out no ignored file', async () => {
    const dir = tree({ Makefile: MAKEFILE, 'kernel/bpf/mprog.c': 'int x;\n', '.gitignore': '*.o\n' });
    await git(dir, 'init', '-q');
    await git(dir, 'add', '.');
    await git(dir, 'commit', '-q', '-m', 'base');
    const clean = (await resolveKernelSource(dir)).identity;
    writeFileSync(join(dir, 'kernel/bpf/mprog.o'), 'ignored build product');
    expect((await resolveKernelSource(dir)).identity).toBe(clean);
    writeFileSync(join(dir, 'kernel/bpf/mprog.c'), 'int y;\n');
    const dirty = await resolveKernelSource(dir);
    expect(dirty.identity).not.toBe(clean);
    expect(dirty.description).toMatch(/with uncommitted changes/);
    writeFileSync(join(dir, 'kernel/bpf/new.c'), 'int z;\n');
    expect((await resolveKernelSource(dir)).identity).not.toBe(dirty.identity);

    const out = join(mkdtempSync(join(tmpdir(), 'mprog-layout-')), 'src');
    const laid = await dirty.layOut(out);
    expect(readFileSync(join(laid, 'kernel/bpf/mprog.c'), 'utf8')).toBe('int y;\n');
    expect(existsSync(join(laid, 'kernel/bpf/new.c'))).toBe(true);
    expect(existsSync(join(laid, 'kernel/bpf/mprog.o'))).toBe(false);
    expect(existsSync(join(laid, '.git'))).toBe(false);
    // Hard links: a gigabyte tree is not copied.
    expect(statSync(join(laid, 'Makefile')).ino).toBe(statSync(join(dir, 'Makefile')).ino);
  });

  it("keys any other directory on its files' content", async () => {
    const dir = tree({ Makefile: MAKEFILE, 'kernel/bpf/tcx.c': 'a\n' });
    const before = (await resolveKernelSource(dir)).identity;
    writeFileSync(join(dir, 'kernel/bpf/tcx.c'), 'b\n');
    expect((await resolveKernelSource(dir)).identity).not.toBe(before);
  });

  it('keys a tarball on its bytes and lays out the tree inside it', async () => {
    const dir = tree({ 'linux-6.13/Makefile': 'VERSION = 6\nPATCHLEVEL = 13\n', 'linux-6.13/kernel/bpf/tcx.c': 'a\n' });
    const tarball = join(dir, 'linux-6.13.tar.xz');
    await execa('tar', ['-cJf', tarball, '-C', dir, 'linux-6.13']);
    const source = await resolveKernelSource(tarball);
    expect(source.name).toBe('tarball-linux-6.13');
    expect(source.identity).toMatch(/^tarball:[0-9a-f]{64}$/);
    const laid = await source.layOut(join(mkdtempSync(join(tmpdir(), 'mprog-layout-')), 'src'));
    expect(readFileSync(join(laid, 'kernel/bpf/tcx.c'), 'utf8')).toBe('a\n');
  });

  it('reads the files and hunks of a patch', () => {
    const files = patchFiles(readFileSync('test/patches/does-not-apply.patch', 'utf8'));
    expect([...files.keys()]).toEqual(['kernel/bpf/mprog.c']);
    expect(files.get('kernel/bpf/mprog.c')!.map((h) => [h.index, h.oldStart])).toEqual([
      [1, 168],
      [2, 240],
    ]);
  });
});

describe('trees mprog kernel build refuses before compiling', () => {
  const build = (source: string) => buildKernel({ source, patches: [], configs: [], arch: 'x86_64' });

  it('a kernel older than 6.6 has no tcx', async () => {
    await expect(build(tree({ Makefile: 'VERSION = 6\nPATCHLEVEL = 1\n' }))).rejects.toThrow(/Linux 6\.1 has no tcx \(it came in 6\.6\)/);
  });

  it('a tree without kernel/bpf/tcx.c has no tcx', async () => {
    await expect(build(tree({ Makefile: MAKEFILE }))).rejects.toThrow(/the tree has no tcx \(no kernel\/bpf\/tcx\.c/);
  });

  it('a machine without the build tools: named, with where to get them', async () => {
    const path = process.env['PATH'];
    process.env['PATH'] = mkdtempSync(join(tmpdir(), 'mprog-empty-path-'));
    try {
      await expect(build(tree({ Makefile: MAKEFILE, 'kernel/bpf/tcx.c': '' }))).rejects.toThrow(
        /missing build tools make, gcc, flex, bison, bc, tar, xz, cp \(scripts\/setup\.sh installs them\)/,
      );
    } finally {
      process.env['PATH'] = path;
    }
  });

  it('a directory that is no kernel tree, at once: nothing below it is read (a FIFO there would block)', async () => {
    const dir = tree({ 'notes.txt': 'not a kernel\n' });
    await execa('mkfifo', [join(dir, 'fifo')]);
    await expect(build(dir)).rejects.toThrow(/not a kernel source tree: no Makefile with VERSION and PATCHLEVEL at its top/);
    await execa('mkfifo', [join(dir, 'Makefile')]); // nor a Makefile that is not a regular file
    await expect(build(dir)).rejects.toThrow(/not a kernel source tree/);
  });

  it('SIGTERM while it hashes a large tree ends it at once (exit 143)', { timeout: 60_000 }, async () => {
    const dir = tree({ Makefile: MAKEFILE, 'kernel/bpf/tcx.c': '' });
    // 600 sparse files of 8 MB: some 7 s of hashing here, no disk.
    await execa('truncate', ['-s', '8M', ...Array.from({ length: 600 }, (_, i) => join(dir, `f${i}`))]);
    const run = execa('node', ['bin/mprog.js', 'kernel', 'build', dir], { reject: false });
    await new Promise((r) => setTimeout(r, 800));
    run.kill('SIGTERM');
    const sent = Date.now();
    const r = await run;
    expect(r.exitCode).toBe(143);
    expect(Date.now() - sent).toBeLessThan(3000);
  });

  it('a source that is not there', async () => {
    await expect(build('/nonexistent/linux')).rejects.toThrow(/\/nonexistent\/linux: no such file or directory/);
  });
});
