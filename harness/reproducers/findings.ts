// What a finding leaves in its directory for whoever investigates it: the minimal sequence and
// the one it was shrunk from (mprog-seq/1), and reproducers that need nothing of mprog: C (raw
// bpf(2) and rtnetlink) and, where bpftool and ip can express every step, shell.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sequence } from '../../contract/seq.js';
import { cReproducer } from './c.js';
import { shellReproducer } from './shell.js';
import { sequenceToText } from '../sequences/write.js';

export interface WrittenFinding {
  /** Paths written. */
  files: string[];
  /** Why there is no shell reproducer, when there is none. */
  shellNote: string | null;
  /** Writes one more file of the finding (e.g. its JSON details) and lists it. */
  write: (name: string, text: string) => void;
}

/** Writes minimal.json, original.json, repro.c and repro.sh (or repro.sh.missing) into `dir`. */
export function writeReproducers(dir: string, minimal: Sequence, original: Sequence): WrittenFinding {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const write = (name: string, text: string, mode = 0o644) => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode });
    files.push(path);
  };
  write('minimal.json', sequenceToText(minimal));
  write('original.json', sequenceToText(original));
  write('repro.c', cReproducer(minimal));
  const sh = shellReproducer(minimal);
  let shellNote: string | null = null;
  if ('script' in sh) {
    write('repro.sh', sh.script, 0o755);
  } else {
    shellNote = `no shell reproducer: ${sh.inexpressible.join('; ')}`;
    write('repro.sh.missing', ['no shell reproducer (bpftool/ip cannot express every step):', ...sh.inexpressible].join('\n  ') + '\n');
  }
  return { files, shellNote, write: (name, text) => write(name, text) };
}
