// Unpacking parts of Debian packages without installing them.

import { mkdirSync, readFileSync } from 'node:fs';
import { runTool } from '../runtime/run-tool.js';

/** The member paths of a package's data archive, as tar names them ("./usr/lib/..."). */
export async function listDeb(deb: string): Promise<string[]> {
  const listed = await runTool('sh', ['-c', 'set -e; dpkg-deb --fsys-tarfile "$1" | tar -t', 'sh', deb], {
    what: `listing ${deb}`,
    tree: true,
    lines: 3,
  });
  return listed.split('\n').filter((l) => l && !l.endsWith('/'));
}

/** Extracts exactly `members` (names as listDeb gives them) of `deb` into `dir`. */
export async function extractMembers(deb: string, dir: string, members: string[]): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const script = 'set -e; deb=$1; dir=$2; shift 2; dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" "$@"';
  await runTool('sh', ['-c', script, 'sh', deb, dir, ...members], { what: `extracting ${members.join(' ')} from ${deb}`, tree: true, lines: 3 });
}

/** Extracts a whole package into `dir`. */
export async function extractAll(deb: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await runTool('dpkg-deb', ['-x', deb, dir], { what: `unpacking ${deb}`, tree: true });
}

/** Decompresses a kernel module (.ko.xz / .ko.zst / .ko.gz / .ko) to plain bytes: busybox insmod wants them so. */
export async function moduleBytes(path: string): Promise<Buffer> {
  const tool = path.endsWith('.xz') ? 'xz' : path.endsWith('.zst') ? 'zstd' : path.endsWith('.gz') ? 'gzip' : null;
  if (!tool) return readFileSync(path);
  return runTool(tool, ['-dc', path], { what: `decompressing ${path} with ${tool}`, binary: true });
}
