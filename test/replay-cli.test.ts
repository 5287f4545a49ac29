// `mprog replay` as a user runs it: the output form and the exit statuses of the spec
// (../shared/spec/mprog-seq.md, "The replay command").

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

const FILE = 'corpus/tcx/revision.json';
const replay = (...args: string[]) => execa('node', ['bin/mprog.js', 'replay', ...args], { reject: false });

describe('mprog replay', () => {
  it('prints one object per file with name, file, target, kernel and the results, and exits 0', async () => {
    const r = await replay('--target', 'emulator', '--json', FILE, 'test/sequences/tc_opts/basic.json');
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(out.map((o) => Object.keys(o))).toEqual([
      ['name', 'file', 'target', 'kernel', 'results'],
      ['name', 'file', 'target', 'kernel', 'results'],
    ]);
    expect(out[0]).toMatchObject({ name: 'tcx/revision', file: FILE, target: 'emulator:6.12', kernel: 'emulator:6.12' });
    const seq = JSON.parse(readFileSync(FILE, 'utf8')) as { steps: unknown[] };
    const results = out[0]!['results'] as Record<string, unknown>[];
    expect(results).toHaveLength(seq.steps.length);
    results.forEach((res, i) => {
      expect(res['step']).toBe(i);
      expect(Object.keys(res).slice(0, 3)).toEqual(['step', 'op', 'ok']);
      expect(res['ok'] === true ? res['errno'] : typeof res['errno']).toBe(res['ok'] === true ? undefined : 'string');
    });
  });

  it('exits 1 and names the file, step and field when an expect fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mprog-replay-'));
    const file = join(dir, 'wrong.json');
    writeFileSync(
      file,
      JSON.stringify({
        format: 'mprog-seq/1',
        name: 'wrong',
        devices: ['v0'],
        programs: ['a'],
        steps: [
          { op: 'prog_attach', prog: 'a', dev: 'v0', attach_type: 'tcx_ingress' },
          { op: 'query', dev: 'v0', attach_type: 'tcx_ingress', expect: { query: { revision: 7 } } },
        ],
      }),
    );
    const r = await replay('--target', 'emulator:7.2', '--json', file);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(`${file}: emulator:7.2: step 1 (query): query.revision: expected 7, got 2`);
    expect(JSON.parse(r.stdout)[0].kernel).toBe('emulator:7.2');
  });
});
