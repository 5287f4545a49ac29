// The flow dissector dimension (spec "The flow dissector"), without a kernel: the parser's netns
// target and its link_info, the agent protocol's NETNS line, ns= key, N line and fdinit=, the
// model (emulator/net-namespace.ts, flow-dissector.ts: the answers corpus/flow-dissector checks on
// real kernels, the host's 6.18.44, debian-6.12 and debian-7.3), and the reproducers.

import { describe, expect, it } from 'vitest';
import type { Sequence } from '../../contract/seq.js';
import type { KernelWorld } from '../../contract/world.js';
import { findProfile } from '../../emulator/profiles.js';
import { normalise } from '../../harness/replay/normalise.js';
import { parseSequenceText } from '../../harness/sequences/parse.js';
import { sequenceToText } from '../../harness/sequences/write.js';
import { runOnEmulator } from '../../harness/targets/emulator.js';
import { cReproducer, parseCOutput } from '../../harness/reproducers/c.js';
import { shellReproducer } from '../../harness/reproducers/shell.js';
import { bpftoolEntries } from '../../vm/agent/bpftool-check.js';
import { lower, objectIndex, parseResult, parseWorld } from '../../vm/agent/codec.js';
import { TargetError } from '../../contract/target.js';

function seqOf(steps: unknown[], extra: object = {}): Sequence {
  return parseSequenceText(
    JSON.stringify({
      format: 'mprog-seq/1',
      name: 'fd',
      programs: [{ name: 'f', type: 'flow_dissector' }, { name: 'g', type: 'flow_dissector' }, 'a'],
      steps,
      ...extra,
    }),
    'fd.json',
  );
}

function results(seq: Sequence, world?: KernelWorld) {
  return normalise(seq, runOnEmulator(seq, findProfile('6.12.114')!, world));
}

/** ok or the errno name of each step. */
function answers(seq: Sequence, world?: KernelWorld): string[] {
  return results(seq, world).map((r) => (r.ok ? 'ok' : r.errno!));
}

const T = { netns: 'self', attach_type: 'flow_dissector' };
const ATTACH = (prog: string, extra: object = {}) => ({ op: 'prog_attach', prog, ...T, ...extra });
const DETACH = (prog: string, extra: object = {}) => ({ op: 'prog_detach', prog, ...T, ...extra });
const LINK = (link: string, prog: string, extra: object = {}) => ({ op: 'link_create', link, prog, ...T, ...extra });
const QUERY = { op: 'query', ...T };

describe('the format', () => {
  it('takes "netns": "self" or { "fd": N } as the target, and writes them back', () => {
    const seq = seqOf([ATTACH('f'), { op: 'query', netns: { fd: 7 }, attach_type: 'flow_dissector' }]);
    expect(seq.steps[0]).toMatchObject({ dev: { netns: 'self' } });
    expect(seq.steps[1]).toMatchObject({ dev: { netnsFd: 7 } });
    const again = parseSequenceText(sequenceToText(seq), 'again.json');
    expect(again.steps).toEqual(seq.steps);
    expect(again.programs[0]).toEqual({ name: 'f', type: 'flow_dissector' });
  });

  it('refuses another netns name and two targets, naming the file and the path', () => {
    expect(() => seqOf([{ op: 'query', netns: 'other', attach_type: 'flow_dissector' }])).toThrow(
      /fd\.json: \$\.steps\[0\]\.netns: "other" is not a network namespace/,
    );
    expect(() => seqOf([{ ...ATTACH('f'), dev: 'v0' }], { devices: [{ name: 'v0' }] })).toThrow(
      /\$\.steps\[0\]\.netns: a step names one target: "dev" or "netns"/,
    );
    expect(() => seqOf([{ op: 'link_info', link: 'l', expect: { link_info: { netns: 3 } } }])).toThrow(/link_info\.netns/);
  });
});

describe('the model', () => {
  it('keeps one program per netns, replaced by an attach, detached by naming it', () => {
    const seq = seqOf([ATTACH('f'), ATTACH('f'), ATTACH('g'), DETACH('f'), QUERY, DETACH('g'), DETACH('g'), QUERY]);
    expect(answers(seq)).toEqual(['ok', 'EINVAL', 'ok', 'ENOENT', 'ok', 'ok', 'ENOENT', 'ok']);
    const r = results(seq);
    expect(r[4]!.query).toEqual({
      count: 1,
      revision: 0,
      attach_flags: 0,
      prog_ids: ['g'],
      link_ids: [null],
      prog_attach_flags: [0],
      link_attach_flags: [0],
    });
    expect(r[7]!.query).toMatchObject({ count: 0, prog_ids: [] });
  });

  it('refuses relative_fd and expected_revision before the program (ba62d61128bd), then target_fd, flags and replace', () => {
    const seq = seqOf([
      { op: 'prog_close', prog: 'g' },
      ATTACH('g', { relative: { value: 1 } }),
      ATTACH('g', { expected_revision: 1 }),
      ATTACH('g', { flags: ['BPF_F_AFTER'] }),
      ATTACH('g', { replace: { value: 1 } }),
      ATTACH('f', { replace: { value: 1 } }),
      ATTACH('f', { flags: ['BPF_F_ALLOW_OVERRIDE'] }),
      ATTACH('f', { netns: { fd: 1 } }),
      DETACH('g', { relative: { value: 1 } }),
      DETACH('g', { netns: { fd: 1 } }),
      DETACH('g'),
    ]);
    expect(answers(seq)).toEqual(['ok', 'EINVAL', 'EINVAL', 'EINVAL', 'EBADF', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EBADF']);
  });

  it('ignores relative_fd and expected_revision of a netns link, but not its flags', () => {
    const seq = seqOf([LINK('f1', 'f', { flags: ['BPF_F_BEFORE'] }), LINK('l2', 'f', { relative: { fd: 'g' }, expected_revision: 9 })]);
    expect(answers(seq)).toEqual(['EINVAL', 'ok']);
  });

  it('keeps links and a direct program apart, one link at most', () => {
    const seq = seqOf([LINK('l1', 'f'), LINK('l2', 'g'), ATTACH('g'), DETACH('f'), { op: 'link_close', link: 'l1' }, ATTACH('g'), LINK('l3', 'f')]);
    expect(answers(seq)).toEqual(['ok', 'E2BIG', 'EEXIST', 'EINVAL', 'ok', 'ok', 'EEXIST']);
  });

  it('reports a link\'s netns as "self", null once detached; a detached link answers ENOLINK to an update', () => {
    const seq = seqOf([
      LINK('l1', 'f'),
      { op: 'link_info', link: 'l1' },
      { op: 'link_detach', link: 'l1' },
      { op: 'link_detach', link: 'l1' },
      { op: 'link_info', link: 'l1' },
      { op: 'link_update', link: 'l1', prog: 'g' },
    ]);
    const r = results(seq);
    expect(r.map((x) => (x.ok ? 'ok' : x.errno))).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ENOLINK']);
    expect(r[1]!.link_info).toEqual({ prog: 'f', netns: 'self', attach_type: 'flow_dissector' });
    expect(r[4]!.link_info).toEqual({ prog: 'f', netns: null, attach_type: 'flow_dissector' });
  });

  it('bars every attach while init_net has a flow dissector (the world), and a failed link still uses up its id', () => {
    const world: KernelWorld = { progIds: {}, nextLinkId: 0, linkIds: {}, progs: [], links: [], fds: [], netkit: true, initNetFlowDissector: true };
    const seq = seqOf([ATTACH('f'), LINK('l1', 'f'), QUERY]);
    expect(answers(seq, world)).toEqual(['EEXIST', 'EEXIST', 'ok']);
    const free = seqOf([
      LINK('f1', 'f', { netns: { fd: 3 } }),
      LINK('l2', 'f', {}),
      LINK('f3', 'g'),
      { op: 'link_close', link: 'l2' },
      LINK('l4', 'g'),
    ]);
    const raw = runOnEmulator(free, findProfile('6.12.114')!);
    // f1 fails before bpf_link_prime (no netns), f3 after it (E2BIG): l2 gets 1, l4 3.
    expect([raw.linkIds.l2, raw.linkIds.l4]).toEqual([1, 3]);
  });

  it('writes no revision into a netns query attr (an input revision stays)', () => {
    const seq = seqOf([ATTACH('f'), { ...QUERY, raw: [{ at: 56, hex: '05' }] }, { ...QUERY, count: 0, attr_size: 28 }]);
    const r = results(seq);
    expect(r[1]!.query).toMatchObject({ count: 1, revision: 5 });
    expect(r[2]).toMatchObject({ ok: true, query: { count: 1 } });
    expect(r[2]!.beyond_size).toBeUndefined();
  });

  it('loads a flow dissector only with CAP_NET_ADMIN; its attach checks no capability, its query CAP_NET_ADMIN', () => {
    expect(answers(seqOf([ATTACH('f')], { caps: ['CAP_BPF'] }))).toEqual(['EBADF']);
    expect(
      answers(seqOf([ATTACH('f', { caps: [] }), { ...QUERY, caps: ['CAP_BPF'] }, DETACH('f', { caps: [] })], { caps: ['CAP_BPF', 'CAP_NET_ADMIN'] })),
    ).toEqual(['ok', 'EPERM', 'ok']);
  });
});

describe('the bpftool check', () => {
  it("reads bpftool's net show with the flow dissector it prints as a bare field in a list", () => {
    const seq = seqOf([ATTACH('f')]);
    const tc = '"tc":[{"devname":"v0","ifindex":3,"kind":"tcx/ingress","name":"a","prog_id":29157,"prog_flags":[],"link_id":0,"link_flags":[]}]';
    for (const fd of ['["id":29156]', '["id":7,"id":8]', '[]']) {
      const text = `{"command":["net","show","dev","v0"],"output":[{"xdp":[],${tc},"flow_dissector":${fd},"netfilter":[]}]}`;
      expect(bpftoolEntries(seq, 0, text)).toEqual([{ ifindex: 3, kind: 'tcx/ingress', prog_id: 29157, link_id: 0 }]);
    }
    expect(() => bpftoolEntries(seq, 0, '{"command":["net","show"],"output":[{"tc":[{"devname":')).toThrow(/no valid JSON/);
  });
});

describe('the agent protocol', () => {
  it('opens the netns for a sequence that reaches the flow dissector, and names the target with ns=', () => {
    const seq = seqOf([ATTACH('f'), { op: 'query', netns: { fd: 6 }, attach_type: 'flow_dissector' }]);
    const lines = lower(seq, objectIndex(seq), false);
    expect(lines).toContain('NETNS');
    expect(lines.find((l) => l.startsWith('STEP 0'))).toContain(' ns=s ');
    expect(lines.find((l) => l.startsWith('STEP 1'))).toContain(' ns=f:6 ');
    const tcx = parseSequenceText(JSON.stringify({ format: 'mprog-seq/1', name: 't', programs: ['a'], steps: [] }), 't.json');
    expect(lower(tcx, objectIndex(tcx), false)).not.toContain('NETNS');
  });

  it('reads a netns link_info and fdinit=', () => {
    const seq = seqOf([LINK('l', 'f'), { op: 'link_info', link: 'l' }]);
    const fail = (m: string) => new TargetError('agent-error', m);
    expect(parseResult(seq.steps[1]!, ['0', 'prog=4', 'netns=4026532300', 'atype=17'], fail).step.link_info).toEqual({
      prog_id: 4,
      netns_ino: 4026532300,
      attach_type: 17,
    });
    expect(parseWorld(['next_link=3', 'netkit=1', 'fds=100', 'fdinit=1'], {})?.initNetFlowDissector).toBe(true);
    expect(parseWorld(['next_link=3', 'netkit=1', 'fds=100', 'fdinit=2'], {})).toBeNull();
  });
});

describe('the reproducers', () => {
  it('C: target_fd 0 for attach and detach, the netns fd for link_create and query, link info read back', () => {
    const seq = seqOf([ATTACH('f'), LINK('l1', 'g'), QUERY]);
    const c = cReproducer(seq);
    expect(c).toContain('netns_open();');
    expect(c).toMatch(/attr_prog_attach a = \{ \.target_ifindex = 0,/);
    expect(c).toMatch(/attr_link_create a = \{ \.prog_fd = fd_of\(1\), \.target_ifindex = \(uint32_t\)netns_fd,/);
    expect(parseCOutput('step 3 link_info: 0 0 prog=g netns=self type=flow_dissector')[0]!.link_info).toEqual({
      prog: 'g',
      netns: 'self',
      attach_type: 'flow_dissector',
    });
  });

  it('shell: bpftool prog attach|detach PROG flow_dissector and net show; links and raw fds are inexpressible', () => {
    const ok = shellReproducer(seqOf([ATTACH('f'), QUERY, DETACH('f')]));
    expect('script' in ok && ok.script).toContain('bpftool prog attach pinned "$PINS/f" flow_dissector');
    expect('script' in ok && ok.script).toContain('bpftool prog detach pinned "$PINS/f" flow_dissector');
    const no = shellReproducer(seqOf([LINK('l1', 'f'), ATTACH('f', { netns: { fd: 3 } })]));
    expect('inexpressible' in no && no.inexpressible).toEqual([
      'step 0 (link_create): bpftool has no netns link commands',
      'step 1 (prog_attach): bpftool takes no raw netns fd',
    ]);
  });
});
