// The parser's errors: each names the file and the JSON path, and the CLI turns them into exit 2.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { PROFILES } from '../emulator/profiles.js';
import { SeqError, parseSequenceText } from '../harness/seq/parse.js';

const base = {
  format: 'mprog-seq/1',
  name: 't',
  devices: [{ name: 'v0' }],
  programs: ['a', 'b'],
  steps: [{ op: 'prog_attach', prog: 'a', dev: 'v0', attach_type: 'tcx_ingress' }],
};

function errorOf(doc: unknown): SeqError {
  try {
    parseSequenceText(typeof doc === 'string' ? doc : JSON.stringify(doc), 'f.json');
  } catch (err) {
    if (err instanceof SeqError) return err;
    throw err;
  }
  throw new Error('parsed without error');
}

const withStep = (step: object) => ({ ...base, steps: [step] });

describe('mprog-seq/1 parser errors', () => {
  it.each([
    ['bad JSON', '{"format": ', '$', /not valid JSON/],
    ['wrong format', { ...base, format: 'mprog-seq/2' }, '$.format', /mprog-seq\/1/],
    ['missing steps', { format: 'mprog-seq/1', name: 't' }, '$.steps', /missing/],
    ['unknown op', withStep({ op: 'prog_atach', prog: 'a' }), '$.steps[0].op', /unknown op "prog_atach"/],
    ['unknown flag', withStep({ ...base.steps[0], flags: ['BPF_F_BEFORE', 'BPF_F_NOPE'] }), '$.steps[0].flags[1]', /unknown flag "BPF_F_NOPE"/],
    ['undeclared program', withStep({ ...base.steps[0], prog: 'zz' }), '$.steps[0].prog', /"zz" is not a declared program/],
    ['undeclared relative', withStep({ ...base.steps[0], relative: { fd: 'nope' } }), '$.steps[0].relative.fd', /not a declared program or link/],
    ['undeclared device', withStep({ ...base.steps[0], dev: 'eth9' }), '$.steps[0].dev', /not a declared device/],
    ['name over 15 characters', { ...base, programs: ['a_very_long_program_name'] }, '$.programs[0].name', /1 to 15 characters/],
    ['device name over 15 characters', { ...base, devices: [{ name: 'abcdefghijklmnop' }] }, '$.devices[0].name', /interface name/],
    ['duplicate program', { ...base, programs: ['a', 'a'] }, '$.programs[1].name', /duplicate name "a"/],
    ['link named like a program', withStep({ op: 'link_create', link: 'a', prog: 'a', dev: 'v0', attach_type: 'tcx_ingress' }), '$.steps[0].link', /duplicate name "a"/],
    ['program where a link is needed', withStep({ op: 'link_close', link: 'a' }), '$.steps[0].link', /is a program, expected a link/],
    ['unknown attach type', withStep({ ...base.steps[0], attach_type: 'tcx_sideways' }), '$.steps[0].attach_type', /unknown attach type/],
    ['unknown field', withStep({ ...base.steps[0], relative_fd: 3 }), '$.steps[0].relative_fd', /unknown field/],
    ['missing required field', withStep({ op: 'prog_attach', prog: 'a', attach_type: 'tcx_ingress' }), '$.steps[0].dev', /missing/],
    ['reference with two kinds', withStep({ ...base.steps[0], relative: { fd: 'b', id: 'b' } }), '$.steps[0].relative', /exactly one of/],
    ['negative number', withStep({ ...base.steps[0], expected_revision: -1 }), '$.steps[0].expected_revision', /integer/],
    ['unknown errno in expect', withStep({ ...base.steps[0], expect: { errno: 'EWHATEVER' } }), '$.steps[0].expect.errno', /unknown errno/],
    ['unknown expect field', withStep({ ...base.steps[0], expect: { query: { cnt: 1 } } }), '$.steps[0].expect.query.cnt', /unknown field/],
    ['expect count not a number', withStep({ ...base.steps[0], expect: { query: { count: 'two' } } }), '$.steps[0].expect.query.count', /integer/],
    ['expect prog_ids not a list', withStep({ ...base.steps[0], expect: { query: { prog_ids: 5 } } }), '$.steps[0].expect.query.prog_ids', /array/],
    ['expect prog_ids element', withStep({ ...base.steps[0], expect: { query: { prog_ids: ['a', 3] } } }), '$.steps[0].expect.query.prog_ids[1]', /string/],
    ['expect attach flags element', withStep({ ...base.steps[0], expect: { query: { link_attach_flags: [-1] } } }), '$.steps[0].expect.query.link_attach_flags[0]', /integer/],
    ['expect link_info dev', withStep({ ...base.steps[0], expect: { link_info: { dev: 7 } } }), '$.steps[0].expect.link_info.dev', /string/],
    // Names every JavaScript object inherits: only the tables' own entries count.
    ['inherited op name', withStep({ op: 'toString' }), '$.steps[0].op', /unknown op "toString"/],
    ['op __proto__', withStep({ op: '__proto__' }), '$.steps[0].op', /unknown op "__proto__"/],
    ['inherited attach type name', withStep({ ...base.steps[0], attach_type: 'toString' }), '$.steps[0].attach_type', /unknown attach type "toString"/],
    ['inherited flag name', withStep({ ...base.steps[0], flags: ['constructor'] }), '$.steps[0].flags[0]', /unknown flag "constructor"/],
    ['non-ASCII device name', { ...base, devices: [{ name: 'vé0' }] }, '$.devices[0].name', /printable ASCII/],
    ['NUL in a device name', { ...base, devices: [{ name: 'v\u00000' }] }, '$.devices[0].name', /"v\\u00000" is not a valid interface name/],
    ['non-ASCII peer', { ...base, devices: [{ name: 'v1', peer: 'p\u00a0' }] }, '$.devices[0].peer', /interface name/],
    ['device name "."', withStep({ op: 'dev_create', name: '.' }), '$.steps[0].name', /interface name/],
  ])('%s', (_what, doc, path, reason) => {
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
    expect(r.stderr).toBe(`mprog: ${file}: $.steps[0].flags[0]: unknown flag "BPF_F_BOGUS" (expected one of: BPF_F_ALLOW_OVERRIDE, BPF_F_ALLOW_MULTI, BPF_F_REPLACE, BPF_F_BEFORE, BPF_F_AFTER, BPF_F_ID, BPF_F_PREORDER, BPF_F_LINK, or an integer)`);
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
