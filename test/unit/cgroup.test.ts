// The cgroup attach points (emulator/cgroup.ts, kernel/bpf/cgroup.c re-told), without a kernel:
// the rules the corpus exercises on real kernels, here one at a time, with the profiles that
// lack them, the world above the sequence's root, the format and the agent protocol's lines.

import { describe, expect, it } from 'vitest';
import { TargetError } from '../../contract/target.js';
import { findProfile, profileForRelease } from '../../emulator/profiles.js';
import { BPF_CGROUP_INET_INGRESS, BPF_F_ALLOW_MULTI, BPF_PROG_TYPE } from '../../uapi/bpf.js';
import type { KernelWorld } from '../../contract/world.js';
import { normalise } from '../../harness/replay/normalise.js';
import { SeqError, parseSequenceText } from '../../harness/sequences/parse.js';
import { EmulatorTarget, runOnEmulator } from '../../harness/targets/emulator.js';
import { cgroupIndex, lower, objectIndex, parseCgroupAncestor, parseResult, parseWorld } from '../../vm/agent/codec.js';

const P = findProfile('7.2')!;

function seqOf(steps: unknown[], extra: object = {}) {
  return parseSequenceText(
    JSON.stringify({
      format: 'mprog-seq/1',
      name: 'cg',
      cgroups: ['c0', { name: 'c1', parent: 'c0' }],
      programs: [1, 2, 3, 4].map((i) => ({ name: `p${i}`, type: 'cgroup_skb' })),
      steps,
      ...extra,
    }),
    'cg.json',
  );
}

function results(steps: unknown[], world?: KernelWorld, profile = P, extra: object = {}) {
  const seq = seqOf(steps, extra);
  return normalise(seq, runOnEmulator(seq, profile, world));
}

/** The errno (or "ok") of each step. */
const answers = (steps: unknown[], world?: KernelWorld, profile = P) => results(steps, world, profile).map((r) => r.errno ?? 'ok');

const IN = 'cgroup_inet_ingress';
const attach = (prog: string, cgroup: string, flags: unknown[] = ['BPF_F_ALLOW_MULTI'], extra: object = {}) => ({
  op: 'prog_attach',
  prog,
  cgroup,
  attach_type: IN,
  flags,
  ...extra,
});
const effective = (cgroup: string) => ({ op: 'query', cgroup, attach_type: IN, query_flags: ['BPF_F_QUERY_EFFECTIVE'], arrays: ['prog_ids'] });
const plain = (cgroup: string) => ({ op: 'query', cgroup, attach_type: IN });

describe('__cgroup_bpf_attach', () => {
  it('checks in the kernel order: mode flags, REPLACE with BEFORE, revision, hierarchy, mode, limit, duplicate', () => {
    expect(
      answers([
        attach('p1', 'c0', ['BPF_F_ALLOW_MULTI', 'BPF_F_ALLOW_OVERRIDE']),
        attach('p1', 'c0', ['BPF_F_ALLOW_MULTI', 'BPF_F_REPLACE', 'BPF_F_BEFORE'], { replace: { fd: 'p2' } }),
        attach('p1', 'c0', [], { expected_revision: 2 }), // ESTALE before the parent's EPERM would matter
        attach('p1', 'c0', []),
        attach('p2', 'c1'), // a program attached without flags above: EPERM
        attach('p2', 'c0'), // multi on a list in "none" mode: EPERM
        attach('p2', 'c0', [], { expected_revision: 1 }), // stale comes before the mode
      ]),
    ).toEqual(['EINVAL', 'EINVAL', 'ESTALE', 'ok', 'EPERM', 'EPERM', 'ESTALE']);
  });

  it('a duplicate is EINVAL, not EEXIST; a missing REPLACE target ENOENT', () => {
    expect(
      answers([attach('p1', 'c0'), attach('p1', 'c0'), attach('p2', 'c0', ['BPF_F_ALLOW_MULTI', 'BPF_F_REPLACE'], { replace: { fd: 'p3' } })]),
    ).toEqual(['ok', 'EINVAL', 'ENOENT']);
  });

  it('single mode replaces its one program in place, whatever relative is named', () => {
    const r = results([attach('p1', 'c0', []), attach('p2', 'c0', ['BPF_F_BEFORE'], { relative: { value: 999 } }), plain('c0')]);
    expect(r.map((x) => x.errno ?? 'ok')).toEqual(['ok', 'ok', 'ok']);
    expect(r[2]!.query).toMatchObject({ count: 1, revision: 3, attach_flags: 0, prog_ids: ['p2'] });
  });
});

describe('effective arrays (compute_effective_progs)', () => {
  it('multi programs of every level, the deepest cgroup first; PREORDER ones first, the outermost first', () => {
    const r = results([
      attach('p1', 'c0'),
      attach('p2', 'c0', ['BPF_F_ALLOW_MULTI', 'BPF_F_PREORDER']),
      attach('p3', 'c1'),
      attach('p4', 'c1', ['BPF_F_ALLOW_MULTI', 'BPF_F_PREORDER']),
      effective('c1'),
      effective('c0'),
    ]);
    expect(r[4]!.query).toEqual({ count: 4, revision: 0, attach_flags: 0, prog_ids: ['p2', 'p4', 'p3', 'p1'] });
    expect(r[5]!.query).toEqual({ count: 2, revision: 0, attach_flags: 0, prog_ids: ['p2', 'p1'] });
  });

  it('an override program yields to any program below it', () => {
    const r = results([attach('p1', 'c0', ['BPF_F_ALLOW_OVERRIDE']), effective('c1'), attach('p2', 'c1'), effective('c1')]);
    expect(r[1]!.query!.prog_ids).toEqual(['p1']);
    expect(r[3]!.query!.prog_ids).toEqual(['p2']);
  });

  it('a cgroup made later inherits what is in effect above it (cgroup_bpf_inherit)', () => {
    const r = results([attach('p1', 'c1'), { op: 'cgroup_create', name: 'c2', parent: 'c1' }, effective('c2')]);
    expect(r[2]!.query!.prog_ids).toEqual(['p1']);
  });
});

describe('revision', () => {
  it('starts at 1, moves on every change (link update to the same program too) and is never reset', () => {
    const r = results([
      attach('p1', 'c0'),
      { op: 'prog_detach', prog: 'p1', cgroup: 'c0', attach_type: IN },
      { op: 'link_create', link: 'l', prog: 'p2', cgroup: 'c0', attach_type: IN },
      { op: 'link_update', link: 'l', prog: 'p2' },
      { op: 'link_close', link: 'l' },
      plain('c0'),
    ]);
    expect(r.map((x) => x.errno ?? 'ok')).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(r[5]!.query).toMatchObject({ count: 0, revision: 6, attach_flags: 0 });
  });
});

describe('cgroup removal (cgroup_bpf_release)', () => {
  it('busy with a child; once gone its links are cut loose and its fd finds nothing', () => {
    const r = results([
      { op: 'link_create', link: 'l', prog: 'p1', cgroup: 'c1', attach_type: IN },
      { op: 'cgroup_delete', cgroup: 'c0' },
      { op: 'cgroup_delete', cgroup: 'c1' },
      { op: 'link_info', link: 'l' },
      { op: 'link_update', link: 'l', prog: 'p2' },
      { op: 'link_detach', link: 'l' },
      plain('c1'),
      { op: 'cgroup_create', name: 'c1', parent: 'c0' },
      plain('c1'),
    ]);
    expect(r.map((x) => x.errno ?? 'ok')).toEqual(['ok', 'EBUSY', 'ok', 'ok', 'ENOLINK', 'ok', 'ENOENT', 'ok', 'ok']);
    expect(r[3]!.link_info).toEqual({ prog: 'p1', cgroup: null, attach_type: IN });
    expect(r[8]!.query).toMatchObject({ count: 0, revision: 1 });
  });
});

describe('profiles', () => {
  it('pick the cgroup API by release, 6.12 before and after the .110 backport', () => {
    const names = [
      '6.6.58',
      '6.12.57+deb13-cloud-amd64',
      '6.12.117+deb13-cloud-amd64',
      '6.16.12+deb13-cloud-amd64',
      '6.17.13+deb13-cloud-arm64',
      '6.18.44',
    ].map((r) => profileForRelease(r)!);
    expect(names.map((p) => [p.name, p.cgroupMprog, p.cgroupPreorder])).toEqual([
      ['6.6.33', false, false],
      ['6.12', false, false],
      ['6.12.114', true, true],
      ['6.15', false, true],
      ['6.17', true, true],
      ['6.18.44', true, true],
    ]);
  });

  it('a profile without the cgroup mprog API reports cgroup sequences as unsupported, with the reason', async () => {
    const run = new EmulatorTarget('6.6.33').run(seqOf([attach('p1', 'c0')]));
    await expect(run).rejects.toBeInstanceOf(TargetError);
    await expect(run).rejects.toMatchObject({ kind: 'unsupported', message: expect.stringMatching(/no cgroup mprog API.*6\.17/) });
  });

  it('before the API the mprog flags and fields are EINVAL and appends are all there is', () => {
    const seq = seqOf([
      attach('p1', 'c0'),
      attach('p2', 'c0', ['BPF_F_ALLOW_MULTI', 'BPF_F_BEFORE']),
      attach('p2', 'c0', ['BPF_F_ALLOW_MULTI'], { expected_revision: 1 }),
      attach('p2', 'c0'),
      plain('c0'),
    ]);
    const r = normalise(seq, runOnEmulator(seq, findProfile('6.15')!));
    expect(r.map((x) => x.errno ?? 'ok')).toEqual(['ok', 'EINVAL', 'EINVAL', 'ok', 'ok']);
    expect(r[4]!.query).toMatchObject({ count: 2, revision: 0, prog_ids: ['p1', 'p2'] });
  });
});

describe('the world above the sequence root', () => {
  const world = (flags: number): KernelWorld => ({
    progIds: { p1: 501, p2: 502, p3: 503, p4: 504 },
    nextLinkId: 0,
    linkIds: {},
    progs: [{ id: 77, type: BPF_PROG_TYPE.CGROUP_SKB }],
    links: [],
    fds: [],
    netkit: true,
    cgroupAncestors: [[{ attachType: BPF_CGROUP_INET_INGRESS, flags, progIds: [77] }]],
  });

  it('multi programs of the hierarchy root show in effective arrays as outside ids', () => {
    const r = results([attach('p1', 'c1'), effective('c1')], world(BPF_F_ALLOW_MULTI));
    expect(r[1]!.query!.prog_ids).toEqual(['p1', '#77']);
  });

  it('a program attached there without flags forbids every attach below (EPERM)', () => {
    expect(answers([attach('p1', 'c1'), { op: 'link_create', link: 'l', prog: 'p1', cgroup: 'c0', attach_type: IN }], world(0))).toEqual([
      'EPERM',
      'EPERM',
    ]);
  });
});

describe('the format', () => {
  const bad = (steps: unknown[], extra: object = {}) => {
    try {
      seqOf(steps, extra);
    } catch (err) {
      return err instanceof SeqError ? `${err.path}: ${err.reason}` : String(err);
    }
    return 'parsed';
  };

  it('names the JSON path of what it rejects', () => {
    expect(bad([{ op: 'query', attach_type: IN }])).toMatch(/^\$\.steps\[0\]\.dev: missing/);
    expect(bad([{ op: 'query', cgroup: 'c0', dev: 'lo', attach_type: IN }])).toMatch(/^\$\.steps\[0\]\.cgroup: .*not both/);
    expect(bad([{ op: 'query', cgroup: 'nope', attach_type: IN }])).toMatch(/^\$\.steps\[0\]\.cgroup: "nope" is not a declared cgroup/);
    expect(bad([{ op: 'query', cgroup: 'c0', attach_type: IN, arrays: ['prog_ids', 'prog_ids'] }])).toMatch(/^\$\.steps\[0\]\.arrays\[1\]/);
    expect(bad([{ op: 'query', cgroup: 'c0', attach_type: IN, query_flags: ['BPF_F_EFFECTIVE'] }])).toMatch(
      /^\$\.steps\[0\]\.query_flags\[0\]: unknown query flag/,
    );
    expect(bad([], { cgroups: ['a/b'] })).toMatch(/^\$\.cgroups\[0\]\.name: .* not a valid cgroup name/);
    expect(bad([], { cgroups: [{ name: 'c1', parent: 'c9' }] })).toMatch(/^\$\.cgroups\[0\]\.parent: "c9" is not a cgroup declared before/);
    expect(bad([], { devices: ['c0'] })).toMatch(/cgroup.*share one namespace|share one namespace/);
    expect(bad([], { programs: [{ name: 'x', type: 'xdp', expected_attach_type: 'cgroup_getsockopt' }] })).toMatch(
      /^\$\.programs\[0\]\.expected_attach_type: only cgroup_sockopt/,
    );
  });

  it('cgroup_sockopt programs load for getsockopt unless they say otherwise', () => {
    const seq = seqOf([], {
      programs: [
        { name: 'g', type: 'cgroup_sockopt' },
        { name: 's', type: 'cgroup_sockopt', expected_attach_type: 'cgroup_setsockopt' },
      ],
    });
    expect(seq.programs.map((p) => p.expected_attach_type)).toEqual([21, 22]);
  });
});

describe('the agent protocol for cgroups', () => {
  const seq = seqOf(
    [
      { op: 'link_create', link: 'l', prog: 'p1', cgroup: 'c1', attach_type: IN, flags: ['BPF_F_BEFORE'] },
      { op: 'query', cgroup: { fd: 7 }, attach_type: IN, arrays: ['prog_ids', 'link_ids'] },
      { op: 'cgroup_create', name: 'c2', parent: 'c1' },
      { op: 'cgroup_delete', cgroup: 'c2' },
    ],
    {
      programs: [
        { name: 'p1', type: 'cgroup_skb' },
        { name: 'g', type: 'cgroup_sockopt' },
      ],
    },
  );

  it('lowers cgroup names to indices, declared ones first', () => {
    expect([...cgroupIndex(seq)]).toEqual([
      ['c0', 0],
      ['c1', 1],
      ['c2', 2],
    ]);
    expect(lower(seq, objectIndex(seq), true)).toEqual([
      'SEQ 3 4',
      'PROG 0 cgroup_skb p1',
      'PROG 1 cgroup_sockopt g 21',
      'LINK 2 l',
      'CGROUP 0 c0 - 1',
      'CGROUP 1 c1 0 1',
      'CGROUP 2 c2 - 0',
      'STEP 0 link_create link=2 prog=0 cg=1 type=0 flags=8 rev=0',
      'STEP 1 query dev=i:7 type=0 count=64 qflags=0 aflags=0 arrays=5',
      'STEP 2 cgroup_create cg=2 parent=1',
      'STEP 3 cgroup_delete cg=2',
      'END',
    ]);
  });

  it('reads a cgroup link info and the cgroups above the root', () => {
    const fail = (m: string) => new TargetError('agent-error', m);
    expect(parseResult(seq.steps[0]!, ['0', 'id=4'], fail).linkId).toBe(4);
    const info = parseResult({ op: 'link_info', link: 'l' }, ['0', 'prog=9', 'cgid=1234', 'atype=0'], fail).step.link_info;
    expect(info).toEqual({ prog_id: 9, cgroup_id: 1234, attach_type: 0 });
    const world = parseWorld(['next_link=5', 'netkit=1', 'fds=3', 'cgdepth=1'], {})!;
    expect(parseCgroupAncestor(world, ['0', '1', '2', '77,78'])).toBe(true);
    expect(parseCgroupAncestor(world, ['1', '1', '2', '77'])).toBe(false); // no such level
    expect(world.cgroupAncestors).toEqual([[{ attachType: 1, flags: 2, progIds: [77, 78] }]]);
  });
});
