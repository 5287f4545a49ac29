// The project's own bpftool (Debian's, >= 7.5, the first that lists tcx) for use on the host:
// the guest userland's binary run through its own dynamic loader and libraries, so it works on a
// host whose distribution ships an older bpftool (Debian 12 has 7.1).

import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { readCachedFile } from '../runtime/cache-products.js';
import { basename, dirname, join } from 'node:path';
import { cacheRoot, scratchFor, type Arch } from '../runtime/paths.js';
import { prepareUserland } from './guest-userland.js';
import { Unusable } from '../../contract/errors.js';

const BPFTOOL = '/usr/sbin/bpftool';

/** How to run a bpftool: the binary, and the dynamic loader it needs when built for another C library. */
export interface BpftoolCommand {
  bpftool: string;
  loader?: { path: string; libraryPath: string };
}

/** The userland's bpftool, through the userland's own loader and libraries. */
export async function projectBpftoolCommand(arch: Arch): Promise<Required<BpftoolCommand>> {
  const { files, libDirs } = await prepareUserland(arch);
  const loader = Object.entries(files).find(([guest]) => basename(guest).startsWith('ld-linux'))?.[1];
  const bpftool = files[BPFTOOL];
  if (!loader || !bpftool) throw new Unusable(`the ${arch} userland has no ${loader ? 'bpftool' : 'dynamic loader'}`);
  const hostLibDirs = [
    ...new Set(
      Object.entries(files)
        .filter(([guest]) => libDirs.includes(dirname(guest)))
        .map(([, host]) => dirname(host)),
    ),
  ];
  return { bpftool, loader: { path: loader, libraryPath: hostLibDirs.join(':') } };
}

/** A script that runs the userland's bpftool (for shell reproducers' PATH). */
export async function projectBpftool(arch: Arch): Promise<string> {
  const { bpftool, loader } = await projectBpftoolCommand(arch);
  const text = `#!/bin/sh\nexec ${loader.path} --library-path ${loader.libraryPath} ${bpftool} "$@"\n`;
  // Keyed by its text, so a userland with other packages gets a script of its own.
  const script = join(cacheRoot(), 'host-bpftool', `${arch}-${createHash('sha256').update(text).digest('hex').slice(0, 16)}`, 'bpftool');
  if (readCachedFile(script, (data) => (data.toString('utf8') === text ? null : 'is not the script it should be')) === null) {
    mkdirSync(dirname(script), { recursive: true });
    const tmp = scratchFor(script);
    writeFileSync(tmp, text, { mode: 0o755 });
    renameSync(tmp, script); // atomic: a concurrent writer writes the same bytes
  }
  return script;
}
