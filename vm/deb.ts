// Unpacking parts of Debian packages without installing them.

import { mkdirSync, readFileSync } from 'node:fs';
import { execa } from 'execa';
import { tied } from './lifetime.js';

/** The member paths of a package's data archive, as tar names them ("./usr/lib/..."). */
export async function listDeb(deb: string): Promise<string[]> {
  const r = await execa(...tied('sh', ['-c', 'set -e; dpkg-deb --fsys-tarfile "$1" | tar -t', 'sh', deb], { tree: true }), { reject: false });
  if (r.exitCode !== 0) throw new Error(`cannot list ${deb}: ${r.stderr.trim().split('\n').slice(-3).join('; ')}`);
  return r.stdout.split('\n').filter((l) => l && !l.endsWith('/'));
}

/** Extracts exactly `members` (names as listDeb gives them) of `deb` into `dir`. */
export async function extractMembers(deb: string, dir: string, members: string[]): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const script = 'set -e; deb=$1; dir=$2; shift 2; dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" "$@"';
  const r = await execa(...tied('sh', ['-c', script, 'sh', deb, dir, ...members], { tree: true }), { reject: false });
  if (r.exitCode !== 0) {
    throw new Error(`cannot extract ${members.join(' ')} from ${deb}: ${r.stderr.trim().split('\n').slice(-3).join('; ')}`);
  }
}

/** Extracts a whole package into `dir`. */
export async function extractAll(deb: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const r = await execa(...tied('dpkg-deb', ['-x', deb, dir], { tree: true }), { reject: false });
  if (r.exitCode !== 0) throw new Error(`cannot unpack ${deb}: ${r.stderr.trim()}`);
}

/** Decompresses a kernel module (.ko.xz / .ko.zst / .ko.gz / .ko) to plain bytes: busybox insmod wants them so. */
export async function moduleBytes(path: string): Promise<Buffer> {
  const tool = path.endsWith('.xz') ? 'xz' : path.endsWith('.zst') ? 'zstd' : path.endsWith('.gz') ? 'gzip' : null;
  if (!tool) return readFileSync(path);
  const r = await execa(...tied(tool, ['-dc', path]), { encoding: 'buffer', reject: false });
  if (r.exitCode !== 0) throw new Error(`cannot decompress ${path} with ${tool}: ${Buffer.from(r.stderr).toString().trim()}`);
  return Buffer.from(r.stdout);
}
