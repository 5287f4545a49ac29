// The parser's errors: each names the file and the JSON path, and the CLI turns them into exit 2.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { PROFILES } from '../../emulator/profiles.js';
import { SeqError, parseSequenceText } from '../../harness/sequences/parse.js';
import { PARSE_ERROR_CASES, base, withStep } from '../parse-error-cases.js';

function errorOf(doc: unknown): SeqError {
  try {
    parseSequenceText(typeof doc === 'string' ? doc : JSON.stringify(doc), 'f.json');
  } catch (err) {
    if (err instanceof SeqError) return err;
    throw err;
  }
  throw new Error('parsed without error');
}

describe('mprog-seq/1 parser errors', () => {
  it.each(PARSE_ERROR_CASES)('%s', (_what, doc, path, reason) => {
    const err = errorOf(doc);
    expect(err.file).toBe('f.json');
    expect(err.path).toBe(path);
    expect(err.reason).toMatch(reason);
    expect(err.message).toBe(`f.json: ${path}: ${err.reason}`);
  });

  it('bounds nesting: an expect 5,000 levels deep is an error at its path, not a stack overflow', () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const text = JSON.stringify(withStep({ ...base.steps[0], expect: { query: { prog_ids: 0 } } })).replace('"prog_ids":0', `"prog_ids":${deep}`);
    const err = errorOf(text);
    expect(err.path).toMatch(/^\$\.steps\[0\]\.expect\.query\.prog_ids(\[0\])+$/);
    expect(err.reason).toBe('nested more than 32 levels deep');
  });

  it('fills the defaults of the format', () => {
    const seq = parseSequenceText(
      JSON.stringify({ ...base, devices: ['v0', { name: 'nk0', kind: 'netkit' }], steps: [{ op: 'query', dev: 'v0', attach_type: 'tcx_egress' }] }),
      'f.json',
    );
    expect(seq.devices).toEqual([
      { name: 'v0', kind: 'veth', peer: 'v0p' },
      { name: 'nk0', kind: 'netkit', peer: 'nk0p' },
    ]);
    expect(seq.programs).toEqual([
      { name: 'a', type: 'sched_cls' },
      { name: 'b', type: 'sched_cls' },
    ]);
    expect(seq.steps[0]).toEqual({ op: 'query', dev: { name: 'v0' }, attach_type: 47, count: 64, query_flags: 0, attach_flags: 0 });
  });
});

describe('mprog replay on bad input', () => {
  it('exits 2 naming the file and the path, without a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mprog-parse-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify(withStep({ ...base.steps[0], flags: ['BPF_F_BOGUS'] })));
    const r = await execa('node', ['bin/mprog.js', 'replay', '--target', 'emulator', '--json', file], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      `mprog: ${file}: $.steps[0].flags[0]: unknown flag "BPF_F_BOGUS" (expected one of: BPF_F_ALLOW_OVERRIDE, BPF_F_ALLOW_MULTI, BPF_F_REPLACE, BPF_F_BEFORE, BPF_F_AFTER, BPF_F_ID, BPF_F_PREORDER, BPF_F_LINK, or an integer)`,
    );
    expect(r.stdout).toBe('');
  });

  it('names every bad file, not only the first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mprog-parse-'));
    const [a, b] = [join(dir, 'a.json'), join(dir, 'b.json')];
    writeFileSync(a, JSON.stringify(withStep({ op: 'constructor' })));
    writeFileSync(b, JSON.stringify({ ...base, devices: [{ name: 'v\u00000' }] }));
    const r = await execa('node', ['bin/mprog.js', 'replay', '--target', 'emulator', a, b], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`mprog: ${a}: $.steps[0].op: unknown op "constructor"`);
    expect(r.stderr).toContain(`mprog: ${b}: $.devices[0].name:`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 on a missing file and on an unknown target', async () => {
    const missing = await execa('node', ['bin/mprog.js', 'replay', '--target', 'emulator', '/nonexistent.json'], { reject: false });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/\/nonexistent\.json: \$: cannot read: ENOENT/);
    const dir = mkdtempSync(join(tmpdir(), 'mprog-parse-'));
    const file = join(dir, 'ok.json');
    writeFileSync(file, JSON.stringify(base));
    const target = await execa('node', ['bin/mprog.js', 'replay', '--target', 'emulator:5.4', file], { reject: false });
    expect(target.exitCode).toBe(2);
    expect(target.stderr).toContain(`unknown emulator profile "5.4" (known: ${PROFILES.map((p) => p.name).join(', ')})`);
  });
});
