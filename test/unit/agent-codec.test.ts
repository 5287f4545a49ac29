// The agent protocol's codec, with no agent: a sequence lowered to exactly the lines
// vm/agent/PROTOCOL.md describes, and reply lines read back (results, the world, bad lines).

import { describe, expect, it } from 'vitest';
import { parseSequenceText } from '../../harness/sequences/parse.js';
import { lower, objectIndex, parseOutside, parseResult, parseWorld } from '../../vm/agent/codec.js';
import { TargetError } from '../../contract/target.js';

const seq = parseSequenceText(
  JSON.stringify({
    format: 'mprog-seq/1',
    name: 'codec',
    devices: ['v0', { name: 'nk0', kind: 'netkit', peer: 'nk0p' }],
    programs: ['a', { name: 'x', type: 'xdp' }],
    steps: [
      {
        op: 'prog_attach',
        prog: 'a',
        dev: 'v0',
        attach_type: 'tcx_ingress',
        flags: ['BPF_F_BEFORE', 'BPF_F_ID'],
        relative: { id: 'l' },
        replace: { fd: 'x' },
        expected_revision: 3,
      },
      { op: 'link_create', link: 'l', prog: 'a', dev: { ifindex: 7 }, attach_type: 'netkit_peer', relative: { value: 4294967295 } },
      { op: 'prog_detach', dev: 'v0', attach_type: 'tcx_egress' },
      { op: 'link_update', link: 'l', prog: 'a', old_prog: 'x', flags: ['BPF_F_REPLACE'] },
      { op: 'query', dev: 'v0', attach_type: 'tcx_ingress', count: 2, query_flags: 1 },
      { op: 'link_info', link: 'l' },
      { op: 'dev_create', name: 'v9', kind: 'veth', peer: 'v9p' },
      { op: 'dev_delete', dev: 'v9' },
    ],
  }),
  'codec.json',
);
const fail = (m: string) => new TargetError('agent-error', m);

describe('lowering', () => {
  it('gives the lines PROTOCOL.md describes, objects numbered programs first, then links', () => {
    expect(lower(seq, objectIndex(seq), false)).toEqual([
      'SEQ 3 8 nobpftool',
      'DEV veth v0 v0p',
      'DEV netkit nk0 nk0p',
      'PROG 0 sched_cls a',
      'PROG 1 xdp x',
      'LINK 2 l',
      'STEP 0 prog_attach prog=0 dev=n:v0 type=46 flags=40 rel=d:2 rep=f:1 rev=3',
      'STEP 1 link_create link=2 prog=0 dev=i:7 type=55 flags=0 rel=v:4294967295 rev=0',
      'STEP 2 prog_detach dev=n:v0 type=47 flags=0 rev=0',
      'STEP 3 link_update link=2 prog=0 old=1 flags=4',
      'STEP 4 query dev=n:v0 type=46 count=2 qflags=1 aflags=0',
      'STEP 5 link_info link=2',
      'STEP 6 dev_create name=v9 kind=veth peer=v9p',
      'STEP 7 dev_delete dev=n:v9',
      'END',
    ]);
    expect(lower(seq, objectIndex(seq), true)[0]).toBe('SEQ 3 8');
  });
});

describe('replies', () => {
  it('reads a query (full and partial), a link_create id and a link_info', () => {
    const query = seq.steps[4]!;
    expect(parseResult(query, ['0', 'count=2', 'rev=5', 'aflags=0', 'ids=11,12', 'lids=0,31', 'pfl=0,0', 'lfl=0,0'], fail)).toEqual({
      step: {
        ret: 0,
        query: {
          count: 2,
          revision: 5,
          attach_flags: 0,
          prog_ids: [11, 12],
          link_ids: [0, 31],
          prog_attach_flags: [0, 0],
          link_attach_flags: [0, 0],
        },
      },
      linkId: 0,
    });
    expect(parseResult(query, ['-28', 'count=3', 'rev=5', 'aflags=0', 'ids=11,12', 'lids=0,31', 'pfl=0,0', 'lfl=0,0'], fail).step.query?.count).toBe(
      3,
    );
    expect(parseResult(query, ['-22'], fail)).toEqual({ step: { ret: -22 }, linkId: 0 });
    expect(parseResult(seq.steps[1]!, ['4', 'id=31'], fail)).toEqual({ step: { ret: 4 }, linkId: 31 });
    expect(parseResult(seq.steps[5]!, ['0', 'prog=11', 'ifindex=3', 'atype=55'], fail).step.link_info).toEqual({
      prog_id: 11,
      ifindex: 3,
      attach_type: 55,
    });
  });

  it('refuses what the protocol does not allow', () => {
    expect(() => parseResult(seq.steps[4]!, ['0', 'count=2', 'rev=x'], fail)).toThrow(/rev=/);
    expect(() => parseResult(seq.steps[1]!, ['4'], fail)).toThrow(/id=/);
    expect(() => parseResult(seq.steps[0]!, ['zero'], fail)).toThrow(/return value/);
    expect(() => parseResult(seq.steps[0]!, ['0', 'novalue'], fail)).toThrow(/bad field/);
  });

  it('reads the world: the W line, then the objects outside the sequence', () => {
    const world = parseWorld(['next_link=40', 'netkit=1', 'fds=106,103,105'], { a: 20 })!;
    expect(world).toEqual({ progIds: { a: 20 }, nextLinkId: 40, linkIds: {}, progs: [], links: [], fds: [106, 103, 105], netkit: true });
    expect(parseOutside(world, ['prog', '1', '3'])).toBe(true);
    expect(parseOutside(world, ['link', '9', '11', '1'])).toBe(true);
    expect(world.progs).toEqual([{ id: 1, type: 3 }]);
    expect(world.links).toEqual([{ id: 9, type: 11, progId: 1 }]);
    expect(parseOutside(world, ['prog', '1'])).toBe(false);
    expect(parseOutside(world, ['map', '1', '2'])).toBe(false);
    expect(parseWorld(['next_link=40', 'netkit=2', 'fds=1'], {})).toBeNull();
    expect(parseWorld(['next_link=40', 'netkit=0', 'fds='], {})).toBeNull();
  });
});
