// A private copy of the project's cache for tests that damage or fill it: hard links (no copy of
// the bytes), except the files mprog itself rewrites in place. Nothing mprog does writes into a
// cached file: every product is replaced whole, so the real cache stays as it was.

import { copyFileSync, mkdtempSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { cacheRoot } from '../vm/paths.js';

/** A fresh cache directory holding links to `parts` (e.g. 'apt', 'userland') of the real one. */
export async function privateCache(parts: string[]): Promise<string> {
  const real = cacheRoot();
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
