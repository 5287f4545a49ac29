// A sequence of more programs than a guest's default fd limit (issue 20, item 11: past about
// 1,000 programs the guest answered `agent: loading program p1017: Too many open files`, exit 2,
// while the emulator and the host passed): 1,500 programs, each an fd of the sequence's process,
// on a real guest (debian-6.12 x86_64 under QEMU), on the host and on the emulator.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { besidesProgress } from '../stderr.js';

const MINUTE = 60_000;
const PROGRAMS = 1500;

function manyPrograms(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'mprog-many-')), 'many.json');
  const programs = Array.from({ length: PROGRAMS }, (_, i) => `p${i}`);
  const last = programs[PROGRAMS - 1];
  writeFileSync(
    file,
    JSON.stringify({
      format: 'mprog-seq/1',
      name: 'many-programs',
      devices: ['v0'],
      programs,
      steps: [
        { op: 'prog_attach', prog: last, dev: 'v0', attach_type: 'tcx_ingress', expect: { ok: true } },
        { op: 'query', dev: 'v0', attach_type: 'tcx_ingress', arrays: ['prog_ids'], expect: { ok: true, query: { count: 1, prog_ids: [last] } } },
      ],
    }),
  );
  return file;
}

const replay = (target: string, file: string) => execa('node', ['bin/mprog.js', 'replay', '--target', target, file], { reject: false });

describe(`a sequence of ${PROGRAMS} programs`, () => {
  const file = manyPrograms();
  for (const target of ['qemu:debian-6.12:x86_64', 'host', 'emulator']) {
    it(`replays on ${target}, exit 0`, { timeout: 15 * MINUTE }, async () => {
      const r = await replay(target, file);
      expect(besidesProgress(r.stderr)).toBe('');
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toMatch(/many\.json: .*: 2 steps/);
    });
  }
});
