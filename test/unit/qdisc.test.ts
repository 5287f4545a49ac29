// The qdisc dimension (issue 21): what a clsact/ingress qdisc does to the tcx entries in the
// emulator (emulator/sch-api.ts, sch-ingress.ts, tcx.ts), as measured on 6.18.44 and read in
// 6.12's and 7.3's sources, and how the step goes to the agent, the reproducers and the generator.

import { describe, expect, it } from 'vitest';
import type { Sequence, StepResult } from '../../contract/seq.js';
import { findProfile } from '../../emulator/profiles.js';
import { generateSequence } from '../../harness/generation/generate.js';
import { normalise } from '../../harness/replay/normalise.js';
import { cReproducer } from '../../harness/reproducers/c.js';
import { shellReproducer } from '../../harness/reproducers/shell.js';
import { parseSequenceText } from '../../harness/sequences/parse.js';
import { runOnEmulator } from '../../harness/targets/emulator.js';
import { lower, objectIndex } from '../../vm/agent/codec.js';

const profile = findProfile('6.12.110')!;

function seqOf(steps: unknown[], extra: Record<string, unknown> = {}): Sequence {
  const text = JSON.stringify({ format: 'mprog-seq/1', name: 'qdisc-unit', devices: ['v0'], programs: ['a', 'b'], steps, ...extra });
  return parseSequenceText(text, 'qdisc-unit.json');
}

function run(steps: unknown[]): StepResult[] {
  const seq = seqOf(steps);
  return normalise(seq, runOnEmulator(seq, profile));
}

const answer = (r: StepResult) => (r.ok ? (r.query ? `count ${r.query.count} rev ${r.query.revision}` : 'ok') : r.errno);
const add = (kind: string, dev = 'v0') => ({ op: 'qdisc_add', dev, kind });
const del = (kind: string, dev = 'v0') => ({ op: 'qdisc_delete', dev, kind });
const query = (attach_type = 'tcx_ingress', dev = 'v0') => ({ op: 'query', dev, attach_type });
const attach = (prog: string, extra: Record<string, unknown> = {}) => ({ op: 'prog_attach', prog, dev: 'v0', attach_type: 'tcx_ingress', ...extra });
const detach = (extra: Record<string, unknown> = {}) => ({ op: 'prog_detach', dev: 'v0', attach_type: 'tcx_ingress', ...extra });

describe('qdiscs beside tcx in the emulator', () => {
  it('answers rtnetlink as tc_modify_qdisc/tc_get_qdisc do (measured on 6.18.44)', () => {
    const r = run([
      del('clsact'),
      add('clsact'),
      add('clsact'),
      add('ingress'),
      del('ingress'),
      del('clsact'),
      del('clsact'),
      add('ingress'),
      del('ingress'),
    ]);
    // No ingress queue yet: ENOENT; a second add of either kind: EEXIST; the other kind: EINVAL;
    // after a delete the queue stays with its noop qdisc (handle 0): EINVAL.
    expect(r.map(answer)).toEqual(['ENOENT', 'ok', 'EEXIST', 'EEXIST', 'EINVAL', 'ok', 'EINVAL', 'ok', 'ok']);
  });

  it('keeps the empty entry alive while the qdisc holds it: ESTALE before ENOENT, the revision counts on', () => {
    const r = run([
      add('clsact'),
      query(),
      detach({ flags: ['BPF_F_BEFORE'] }),
      detach({ expected_revision: 5 }),
      attach('a'),
      detach({ prog: 'a' }),
      query(),
      attach('a', { expected_revision: 1 }),
      attach('a', { expected_revision: 3 }),
      query('tcx_egress'),
    ]);
    expect(r.map(answer)).toEqual(['ok', 'count 0 rev 1', 'ENOENT', 'ESTALE', 'ok', 'ok', 'count 0 rev 3', 'ESTALE', 'ok', 'count 0 rev 1']);
  });

  it('frees the entry when the last of programs and qdiscs goes; ingress holds only the ingress entry', () => {
    const r = run([
      attach('a'),
      add('clsact'),
      del('clsact'),
      query(), // the program keeps it: revision 2
      detach(),
      query(), // freed: 1 again
      add('ingress'),
      { op: 'prog_attach', prog: 'b', dev: 'v0', attach_type: 'tcx_egress' },
      { op: 'prog_detach', dev: 'v0', attach_type: 'tcx_egress' },
      query('tcx_egress'), // no qdisc holds egress: freed
      attach('a'),
      detach(),
      query(), // held by ingress: 3
      del('ingress'),
      query(), // the qdisc was the last: freed
    ]);
    expect(r.map(answer)).toEqual([
      'ok',
      'ok',
      'ok',
      'count 1 rev 2',
      'ok',
      'count 0 rev 1',
      'ok',
      'ok',
      'ok',
      'count 0 rev 1',
      'ok',
      'ok',
      'count 0 rev 3',
      'ok',
      'count 0 rev 1',
    ]);
  });

  it('destroys the qdisc with its device; the name made again has none', () => {
    const r = run([add('clsact'), { op: 'dev_delete', dev: 'v0p' }, del('clsact'), { op: 'dev_create', name: 'v0' }, del('clsact'), add('clsact')]);
    expect(r.map(answer)).toEqual(['ok', 'ok', 'ENODEV', 'ok', 'ENOENT', 'ok']);
  });
});

describe('the qdisc steps outside the emulator', () => {
  const seq = seqOf([add('clsact'), del('ingress', 'v0p')]);

  it('parses kind and dev, and names the JSON path of a bad kind', () => {
    expect(seq.steps[0]).toEqual({ op: 'qdisc_add', dev: 'v0', kind: 'clsact' });
    expect(() => seqOf([add('fq')])).toThrow(/\$\.steps\[0\]\.kind/);
    expect(() => seqOf([{ op: 'qdisc_add', dev: 'v0' }])).toThrow(/\$\.steps\[0\]\.kind: missing/);
    expect(() => seqOf([add('clsact', 'nope')])).toThrow(/\$\.steps\[0\]\.dev/);
  });

  it('lowers to the agent protocol, the C reproducer and tc', () => {
    const lines = lower(seq, objectIndex(seq), false).join('\n');
    expect(lines).toMatch(/STEP 0 qdisc_add dev=n:v0 kind=clsact/);
    expect(lines).toMatch(/STEP 1 qdisc_delete dev=n:v0p kind=ingress/);
    const c = cReproducer(seq);
    expect(c).toContain('qdisc_add(0, "v0", "clsact");');
    expect(c).toContain('qdisc_delete(1, "v0p", "ingress");');
    const sh = shellReproducer(seq);
    expect('script' in sh && sh.script).toMatch(
      /step 0 qdisc_add in_ns tc qdisc add dev v0 clsact[\s\S]*step 1 qdisc_delete in_ns tc qdisc del dev v0p ingress/,
    );
  });

  it('generates qdisc steps now and then, and none when the target has no qdiscs', () => {
    const opts = { profile, maxSteps: 20, netkit: false, bulk: false };
    const seqs = Array.from({ length: 60 }, (_, i) => generateSequence(7, i, opts).seq);
    const qdiscSteps = seqs.flatMap((s) => s.steps).filter((s) => s.op === 'qdisc_add' || s.op === 'qdisc_delete');
    expect(qdiscSteps.length).toBeGreaterThan(10);
    expect(qdiscSteps.some((s) => s.op === 'qdisc_delete')).toBe(true);
    const none = Array.from({ length: 60 }, (_, i) => generateSequence(7, i, { ...opts, qdiscs: false }).seq);
    expect(none.flatMap((s) => s.steps).some((s) => s.op.startsWith('qdisc'))).toBe(false);
  });
});
