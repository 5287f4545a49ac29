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
    expect(out[0]).toMatchObject({ name: 'tcx/revision', file: FILE, target: 'emulator:6.12.114', kernel: 'emulator:6.12.114' }); // the default profile: Debian's 6.12
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
    const out = JSON.parse(r.stdout)[0];
    expect(out.kernel).toBe('emulator:7.2');
    // The JSON says which expects failed too (only where one did: the keys above otherwise).
    expect(out.expect_failures).toEqual([{ step: 1, op: 'query', mismatches: ['query.revision: expected 7, got 2'] }]);
    // Without --json: a line per step, the call and the answer, `!` where the expect failed.
    const text = await replay('--target', 'emulator:7.2', file);
    expect(text.exitCode).toBe(1);
    expect(text.stdout.split('\n')).toEqual([
      `${file}: emulator:7.2: 2 steps, 1 expects failed`,
      '    0  prog_attach prog=a dev=v0 tcx_ingress  ok',
      '!   1  query dev=v0 tcx_ingress               ok: 1 attached, revision 2: a',
    ]);
  });
});

describe('mprog replay --deadline', () => {
  it('refuses a malformed --deadline with its usage, exit 2', async () => {
    const r = await replay('--target', 'emulator', '--deadline', '1m', FILE);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^mprog replay: --deadline 1m: expected BASE\[,STEP\[,QUERY\]\] in milliseconds/);
  });
});
