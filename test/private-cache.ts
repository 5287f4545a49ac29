// A private copy of the project's cache for tests that damage or fill it: hard links (no copy of
// the bytes), except the files mprog itself rewrites in place. Nothing mprog does writes into a
// cached file: every product is replaced whole, so the real cache stays as it was. A part the real
// cache lacks (a fresh clone, or this test running first) is made there first, so that no test
// depends on another having filled it.

import { copyFileSync, existsSync, mkdtempSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { QemuTarget } from '../harness/targets/qemu.js';
import { cacheRoot } from '../vm/runtime/paths.js';

/** The parts of the real cache a debian-6.12 x86_64 guest is prepared from (no boot). */
const MADE_BY_PREPARING = ['apt', 'userland', 'kernels', 'initramfs'];

/** A fresh cache directory holding links to `parts` (e.g. 'apt', 'userland') of the real one. */
export async function privateCache(parts: string[]): Promise<string> {
  const real = cacheRoot();
  const unknown = parts.filter((p) => !MADE_BY_PREPARING.includes(p));
  if (unknown.length) throw new Error(`privateCache: ${unknown.join(', ')}: not a part a debian-6.12 guest is prepared from`);
  if (parts.some((p) => !existsSync(join(real, p)))) {
    const target = new QemuTarget('qemu:debian-6.12:x86_64');
    try {
      await target.prepare();
    } finally {
      await target.close();
    }
  }
  const cache = mkdtempSync(join(real, 'test-cache-'));
  for (const part of parts) await execa('cp', ['-al', join(real, part), join(cache, part)]);
  if (parts.includes('apt')) {
    for (const f of ['state/updated', 'state/status']) {
      unlinkSync(join(cache, 'apt', f));
      copyFileSync(join(real, 'apt', f), join(cache, 'apt', f));
    }
  }
  return cache;
}
