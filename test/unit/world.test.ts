// The emulator in a kernel's world: what a sequence can reach by number (ids and fds) answers as
// it would in the kernel the world was read from, and a kernel's configuration (netkit built or
// not) and version (the cgroup_skb attach type check) change the answers as they do there.
// The world here is written by hand; test/host/world-lockstep.test.ts and test/kbuild/world-lockstep.test.ts take it from real kernels.

import { describe, expect, it } from 'vitest';
import { findProfile } from '../../emulator/profiles.js';
import { BPF_LINK_TYPE_TCX, BPF_PROG_TYPE } from '../../uapi/bpf.js';
import type { KernelWorld } from '../../contract/world.js';
import { normalise } from '../../harness/replay/normalise.js';
import { parseSequenceText } from '../../harness/sequences/parse.js';
import { runOnEmulator } from '../../harness/targets/emulator.js';

const P612 = findProfile('6.12')!;

function seqOf(steps: unknown[], programs: unknown[] = ['a', 'b']) {
  return parseSequenceText(JSON.stringify({ format: 'mprog-seq/1', name: 'w', devices: ['v0'], programs, steps }), 'w.json');
}

/** The errno (or "ok") of each step. */
function answers(steps: unknown[], world?: KernelWorld, profile = P612, programs?: unknown[]) {
  const seq = seqOf(steps, programs);
  return normalise(seq, runOnEmulator(seq, profile, world)).map((r) => r.errno ?? 'ok');
}

const WORLD: KernelWorld = {
  progIds: { a: 500, b: 501 },
  nextLinkId: 300,
  linkIds: {},
  progs: [
    { id: 7, type: BPF_PROG_TYPE.XDP },
    { id: 8, type: BPF_PROG_TYPE.SCHED_CLS },
  ],
  links: [{ id: 9, type: BPF_LINK_TYPE_TCX, progId: 8 }],
  fds: [100],
  netkit: true,
};

const attachB = (extra: object) => ({ op: 'prog_attach', prog: 'b', dev: 'v0', attach_type: 'tcx_ingress', ...extra });
const first = { op: 'prog_attach', prog: 'a', dev: 'v0', attach_type: 'tcx_ingress' };

describe('ids', () => {
  it("uses the kernel's ids for the sequence's programs: an id passed as an fd names no open fd", () => {
    const step = attachB({ flags: ['BPF_F_BEFORE'], relative: { id: 'a' } });
    expect(answers([first, step], WORLD)).toEqual(['ok', 'EBADF']);
    // A freshly booted kernel gives a id 1: fd 1 is open (stdout), not a program.
    expect(answers([first, step])).toEqual(['ok', 'EINVAL']);
  });

  it('finds programs outside the sequence by id, with their type', () => {
    expect(answers([first, attachB({ flags: ['BPF_F_BEFORE', 'BPF_F_ID'], relative: { value: 7 } })], WORLD)).toEqual(['ok', 'EINVAL']);
    expect(answers([first, attachB({ flags: ['BPF_F_BEFORE', 'BPF_F_ID'], relative: { value: 8 } })], WORLD)).toEqual(['ok', 'ENOENT']);
    expect(answers([first, attachB({ flags: ['BPF_F_ID'], relative: { value: 8 } })], WORLD)).toEqual(['ok', 'EINVAL']);
    expect(answers([first, attachB({ flags: ['BPF_F_ID'], relative: { value: 8 } })])).toEqual(['ok', 'ENOENT']);
  });

  it('finds links outside the sequence by id, and a prog id is no link id', () => {
    const byLinkId = (value: number) => attachB({ flags: ['BPF_F_AFTER', 'BPF_F_ID', 'BPF_F_LINK'], relative: { value } });
    expect(answers([first, byLinkId(9)], WORLD)).toEqual(['ok', 'ENOENT']);
    expect(answers([first, byLinkId(7)], WORLD)).toEqual(['ok', 'ENOENT']);
    expect(answers([first, attachB({ flags: ['BPF_F_AFTER', 'BPF_F_ID', 'BPF_F_LINK'], relative: { id: 'a' } })], WORLD)).toEqual(['ok', 'ENOENT']);
  });

  it('gives a new link the id the kernel hands out next: a relative equal to it is EAGAIN (primed, not settled)', () => {
    const create = (value: number) => ({
      op: 'link_create',
      link: 'l',
      prog: 'b',
      dev: 'v0',
      attach_type: 'tcx_ingress',
      flags: ['BPF_F_BEFORE', 'BPF_F_ID', 'BPF_F_LINK'],
      relative: { value },
    });
    expect(answers([first, create(300)], WORLD)).toEqual(['ok', 'EAGAIN']);
    expect(answers([first, create(301)], WORLD)).toEqual(['ok', 'ENOENT']);
    // Other processes took ids before this step: the kernel's id for it wins.
    expect(answers([first, create(310)], { ...WORLD, linkIds: { 1: 310 } })).toEqual(['ok', 'EAGAIN']);
    expect(answers([first, create(1)])).toEqual(['ok', 'EAGAIN']);
  });

  it("sees the process's other fds as files that are no bpf objects", () => {
    const step = attachB({ flags: ['BPF_F_BEFORE'], relative: { value: 100 } });
    expect(answers([first, step], WORLD)).toEqual(['ok', 'EINVAL']);
    expect(answers([first, step])).toEqual(['ok', 'EBADF']);
  });
});

describe('configuration and version', () => {
  const netkitOnVeth = [
    { op: 'link_create', link: 'l', prog: 'a', dev: 'v0', attach_type: 'netkit_primary' },
    { op: 'prog_attach', prog: 'a', dev: 'v0', attach_type: 'netkit_peer' },
    { op: 'prog_detach', prog: 'a', dev: 'v0', attach_type: 'netkit_primary' },
    { op: 'query', dev: 'v0', attach_type: 'netkit_primary' },
    { op: 'dev_create', name: 'nk1', kind: 'netkit', peer: 'nk1p' },
    { op: 'dev_create', name: 'v0', kind: 'netkit', peer: 'nk2p' },
  ];

  it("answers netkit's attach types from netkit's code only when the kernel has CONFIG_NETKIT", () => {
    expect(answers(netkitOnVeth, WORLD)).toEqual(['ENXIO', 'ENXIO', 'ENXIO', 'ENXIO', 'ok', 'EEXIST']);
    expect(answers(netkitOnVeth, { ...WORLD, netkit: false })).toEqual(['EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EOPNOTSUPP', 'EEXIST']);
  });

  it('sends a cgroup_skb link on tcx to the cgroup code before 6.6.33, to the type check after', () => {
    const steps = [
      { op: 'link_create', link: 'l', prog: 'g', dev: 'v0', attach_type: 'tcx_ingress' },
      { op: 'link_create', link: 'm', prog: 'g', dev: 'v0', attach_type: 'tcx_ingress', flags: ['BPF_F_AFTER'] },
    ];
    const programs = [{ name: 'g', type: 'cgroup_skb' }];
    expect(answers(steps, undefined, findProfile('6.6')!, programs)).toEqual(['EBADF', 'EINVAL']);
    for (const p of ['6.6.33', '6.12', '7.2']) expect(answers(steps, undefined, findProfile(p)!, programs)).toEqual(['EINVAL', 'EINVAL']);
  });
});
