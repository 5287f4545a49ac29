// The attr dimension (spec "Attr size and contents"), without a kernel: the parser's rules for
// attr_size and raw, the agent protocol's asz=/raw=/beyond=, and the model of __sys_bpf()'s size
// checks, CHECK_ATTR() and the write-backs, per profile (the answers corpus/attr checks on real
// kernels: the host's 6.18.44, debian-6.12, debian-7.3, 6.6.87).

import { describe, expect, it } from 'vitest';
import { DEFAULT_ATTR_SIZE, type Sequence } from '../../contract/seq.js';
import { ATTR_6_12, ATTR_7_3, attrLayout, findProfile } from '../../emulator/profiles.js';
import { bpfCheckUargTailZero, callerBuffer, checkAttr, sysBpfCopyAttr } from '../../emulator/bpf-attr.js';
import { normalise } from '../../harness/replay/normalise.js';
import { expectMismatches } from '../../harness/replay/expect.js';
import { SeqError, parseSequenceText } from '../../harness/sequences/parse.js';
import { sequenceToText } from '../../harness/sequences/write.js';
import { runOnEmulator } from '../../harness/targets/emulator.js';
import { cReproducer, parseCOutput } from '../../harness/reproducers/c.js';
import { shellReproducer } from '../../harness/reproducers/shell.js';
import { lower, objectIndex, parseResult } from '../../vm/agent/codec.js';
import { TargetError } from '../../contract/target.js';

function seqOf(steps: unknown[], extra: object = {}): Sequence {
  return parseSequenceText(
    JSON.stringify({
      format: 'mprog-seq/1',
      name: 'attr',
      devices: [{ name: 'v0', kind: 'veth', peer: 'v1' }],
      programs: [{ name: 'p1', type: 'sched_cls' }],
      steps,
      ...extra,
    }),
    'attr.json',
  );
}

function run(seq: Sequence, profile = '6.12.110') {
  return normalise(seq, runOnEmulator(seq, findProfile(profile)!));
}

const ATTACH = { op: 'prog_attach', prog: 'p1', dev: 'v0', attach_type: 'tcx_ingress' };
const QUERY = { op: 'query', dev: 'v0', attach_type: 'tcx_ingress' };

describe('the format', () => {
  it('takes attr_size and raw on the bpf(2) ops only', () => {
    const seq = seqOf([{ ...ATTACH, attr_size: 40, raw: [{ at: 32, hex: 'AB01' }] }]);
    expect(seq.steps[0]).toMatchObject({ attr_size: 40, raw: [{ at: 32, hex: 'ab01' }] });
    expect(() =>
      seqOf([
        ATTACH,
        { op: 'link_create', link: 'l', prog: 'p1', dev: 'v0', attach_type: 'tcx_egress' },
        { op: 'link_close', link: 'l', attr_size: 4 },
      ]),
    ).toThrow(/steps\[2\]\.attr_size: unknown field/);
  });

  it('refuses sizes outside 1..4096 and bytes outside attr_size, naming the path', () => {
    expect(() => seqOf([{ ...ATTACH, attr_size: 0 }])).toThrow(/steps\[0\]\.attr_size: must be an integer from 1 to 4096/);
    expect(() => seqOf([{ ...ATTACH, attr_size: 4097 }])).toThrow(/steps\[0\]\.attr_size: must be an integer from 1 to 4096/);
    expect(() => seqOf([{ ...ATTACH, raw: [{ at: 31, hex: '0102' }] }])).toThrow(
      /steps\[0\]\.raw\[0\]: bytes 31\.\.32 lie outside attr_size 32 \(the default of prog_attach\)/,
    );
    expect(() => seqOf([{ ...QUERY, attr_size: 8, raw: [{ at: 0, hex: '0' }] }])).toThrow(/raw\[0\]\.hex: must be one or more bytes/);
    expect(() => seqOf([{ ...QUERY, raw: [{ at: 0, hex: '00', x: 1 }] }])).toThrow(SeqError);
  });

  it('writes them back as it read them, with beyond_size in expects', () => {
    const seq = seqOf([{ ...QUERY, attr_size: 40, raw: [{ at: 36, hex: '01' }], expect: { beyond_size: true } }]);
    const again = parseSequenceText(sequenceToText(seq), 'again.json');
    expect(again.steps).toEqual(seq.steps);
    expect(seq.expects[0]).toEqual({ beyond_size: true });
  });

  it('lists the libbpf sizes as defaults', () => {
    expect(DEFAULT_ATTR_SIZE).toEqual({
      prog_attach: 32,
      prog_detach: 32,
      link_create: 64,
      link_update: 16,
      link_detach: 4,
      link_info: 16,
      query: 64,
    });
  });
});

describe('the agent protocol', () => {
  it('sends asz= then raw= and reads beyond=1', () => {
    const seq = seqOf([{ ...QUERY, attr_size: 72, raw: [{ at: 64, hex: '01ff' }] }, QUERY]);
    const lines = lower(seq, objectIndex(seq), false);
    expect(lines.find((l) => l.startsWith('STEP 0'))).toMatch(/ asz=72 raw=64:01ff$/);
    expect(lines.find((l) => l.startsWith('STEP 1'))).not.toMatch(/asz=/);
    const fail = (m: string) => new TargetError('harness-fault', m);
    expect(parseResult(seq.steps[1]!, ['0', 'beyond=1'], fail).step.beyond_size).toBe(true);
    expect(parseResult(seq.steps[1]!, ['0'], fail).step.beyond_size).toBeUndefined();
  });
});

describe('__sys_bpf() and CHECK_ATTR()', () => {
  it('bpf_check_uarg_tail_zero: a larger attr needs a zero tail', () => {
    const buf = new Uint8Array(200);
    expect(bpfCheckUargTailZero(buf, 152, 200)).toBe(0);
    buf[190] = 1;
    expect(bpfCheckUargTailZero(buf, 152, 200)).toBe(-7);
    expect(bpfCheckUargTailZero(buf, 152, 150)).toBe(0);
  });

  it('a short attr reads as zeros, the canary stays outside the kernel copy', () => {
    const p = findProfile('6.12.110')!;
    const buf = callerBuffer(8, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), []);
    const attr = sysBpfCopyAttr(p, buf, 8) as Uint8Array;
    expect(attr.length).toBe(152);
    expect([...attr.subarray(0, 10)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 0, 0]);
    expect(buf[8]).toBe(0xa5);
  });

  it('the last fields per version: link_create 60 in 6.12 and 6.18.44, 64 in 7.3', () => {
    expect(ATTR_6_12.lastFieldEnd.link_create).toBe(60);
    expect(ATTR_7_3.lastFieldEnd.link_create).toBe(64);
    expect(attrLayout(findProfile('6.18.44')!).lastFieldEnd.link_create).toBe(60);
    expect(attrLayout(findProfile('6.18.44')!).size).toBe(168);
    const attr = new Uint8Array(168);
    attr[61] = 1;
    expect(checkAttr(findProfile('6.18.44')!, 'link_create', attr)).toBe(true);
    expect(checkAttr(findProfile('7.2')!, 'link_create', attr)).toBe(false);
  });
});

describe('the model, as the host answered', () => {
  it('tcx query: revision and count written past a short attr (beyond_size), E2BIG, EINVAL', () => {
    const r = run(
      seqOf([
        ATTACH,
        { ...QUERY, attr_size: 40 },
        { ...QUERY, attr_size: 64 },
        { ...QUERY, attr_size: 4096, raw: [{ at: 4000, hex: '01' }] },
        { ...QUERY, attr_size: 72, raw: [{ at: 64, hex: '01' }] },
        { ...QUERY, raw: [{ at: 56, hex: 'ff' }] },
      ]),
    );
    expect(r[1]).toMatchObject({ ok: true, beyond_size: true, query: { count: 1, revision: 2 } });
    expect(r[2]!.beyond_size).toBeUndefined();
    expect(r[3]).toMatchObject({ ok: false, errno: 'E2BIG' });
    expect(r[4]).toMatchObject({ ok: false, errno: 'EINVAL' });
    expect(r[5]).toMatchObject({ ok: true, query: { revision: 2 } });
    expect(expectMismatches({ beyond_size: false }, r[2]!)).toEqual([]);
    expect(expectMismatches({ beyond_size: false }, r[1]!)).toHaveLength(1);
  });

  it('raw bytes are fields: expected_revision set through raw is ESTALE; an 8-byte attach has no attach_type', () => {
    const r = run(seqOf([ATTACH, { ...ATTACH, attach_type: 'tcx_egress', raw: [{ at: 28, hex: '01' }] }, { ...ATTACH, attr_size: 8 }]));
    expect(r[1]).toMatchObject({ ok: false, errno: 'ESTALE' });
    expect(r[2]).toMatchObject({ ok: false, errno: 'EINVAL' });
  });

  it('link_info with a 4-byte attr: info_len written back past it, nothing filled', () => {
    const r = run(
      seqOf([
        { op: 'link_create', link: 'l', prog: 'p1', dev: 'v0', attach_type: 'tcx_egress' },
        { op: 'link_info', link: 'l', attr_size: 4 },
      ]),
    );
    expect(r[1]).toMatchObject({ ok: true, beyond_size: true, link_info: { prog: null, dev: null } });
  });

  it('cgroup query: the revision only inside the size (21c4b99b27f3); count past 24 bytes', () => {
    const seq = parseSequenceText(
      JSON.stringify({
        format: 'mprog-seq/1',
        name: 'cg',
        cgroups: ['c0'],
        programs: [{ name: 'p1', type: 'cgroup_skb' }],
        steps: [
          { op: 'prog_attach', prog: 'p1', cgroup: 'c0', attach_type: 'cgroup_inet_ingress' },
          { op: 'query', cgroup: 'c0', attach_type: 'cgroup_inet_ingress', attr_size: 40 },
          { op: 'query', cgroup: 'c0', attach_type: 'cgroup_inet_ingress', attr_size: 24 },
        ],
      }),
      'cg.json',
    );
    const r = run(seq, '6.18.44');
    expect(r[1]!.beyond_size).toBeUndefined();
    expect(r[1]!.query!.revision).toBe(Number(0xa5a5a5a5a5a5a5a5n)); // the canary: not written
    expect(r[2]).toMatchObject({ beyond_size: true, query: { count: 1 } });
  });
});

describe('the reproducers', () => {
  it('the C reproducer passes the size and bytes and reports beyond_size; the shell one cannot', () => {
    const seq = seqOf([ATTACH, { ...QUERY, attr_size: 40, raw: [{ at: 36, hex: '00' }] }]);
    expect(cReproducer(seq)).toContain('attr_next(40, "36:00");');
    expect(parseCOutput('step 1 query: 0 0 count=1 rev=2 aflags=0\nstep 1 beyond_size: true\n')[0]).toMatchObject({ step: 1, beyond_size: true });
    expect(shellReproducer(seq)).toEqual({ inexpressible: [expect.stringMatching(/bpftool cannot pass an attr_size/)] });
  });
});
