// What a real kernel holds that a sequence does not make itself, and that its answers depend on:
// the ids the kernel hands out, the bpf objects and fds that exist outside the sequence, and the
// kernel's configuration. The harness reads it from the kernel it compares with (the agent
// reports it, vm/agent/PROTOCOL.md "World"); without one the emulator stands for a freshly
// booted kernel: ids from 1, nothing outside the sequence.

import { cgroupBpfInherit } from './cgroup.js';
import { CGROUP_ATYPE, CgroupTree } from './cgroupfs.js';
import type { Kernel } from './kernel.js';
import { BpfLink, type BpfLinkOps } from './link.js';
import { NETNS_BPF_FLOW_DISSECTOR } from './net-namespace.js';
import { BpfProg } from './prog.js';
import type { BpfProgType } from '../uapi/bpf.js';
import type { KernelWorld, OutsideCgroupList } from '../contract/world.js';

/** An object outside the sequence is reached only by id, as a relative: nothing of the sequence
 * can hold its fd, so nothing of the sequence can detach, update or release it. */
const outsideLinkOps: BpfLinkOps = {
  release: () => outsideOnly(),
  detach: () => outsideOnly(),
  updateProg: () => outsideOnly(),
  fillInfo: () => outsideOnly(),
};

function outsideOnly(): never {
  throw new Error('emulator: a link outside the sequence was operated on through an fd the sequence cannot have');
}

/** Puts the world's outside objects, fds and link id cursor into a kernel before the sequence's
 * programs load. */
export function enterWorld(k: Kernel, world: KernelWorld): void {
  const progs = new Map<number, BpfProg>();
  for (const p of world.progs) {
    const prog = new BpfProg(p.type as BpfProgType, '');
    prog.id = p.id;
    k.progIdr.allocAt(p.id, prog);
    progs.set(p.id, prog);
  }
  for (const l of world.links) {
    // A link's program exists while the link does; a program freed between the two look-ups
    // (another process) stands in as one of no type.
    const link = new BpfLink(l.type, outsideLinkOps, progs.get(l.progId) ?? new BpfProg(0 as BpfProgType, ''));
    link.id = l.id;
    k.linkIdr.allocAt(l.id, link);
  }
  for (const fd of world.fds) k.files.installAt(fd, { kind: 'other' });
  if (world.cgroupAncestors?.length) enterCgroupAncestors(k, world.cgroupAncestors);
  if (world.initNetFlowDissector) enterInitNetFlowDissector(k);
  if (world.nextLinkId) k.linkIdr.setCursor(world.nextLinkId);
}

/** The cgroups above the sequence's root, with the programs they hold (outside objects, so the
 * sequence can only see them, in effective queries and the hierarchy's rules). */
function enterCgroupAncestors(k: Kernel, levels: OutsideCgroupList[][]): void {
  k.cgroups = new CgroupTree(levels.length);
  levels.forEach((lists, depth) => {
    const cgrp = k.cgroups.ancestors[depth]!;
    for (const list of lists) {
      const atype = CGROUP_ATYPE[list.attachType];
      if (atype === undefined) continue;
      cgrp.bpf.flags[atype] = list.flags;
      for (const id of list.progIds) {
        const prog = k.progIdr.find(id) ?? new BpfProg(0 as BpfProgType, ''); // freed meanwhile: a stand-in
        cgrp.bpf.progs[atype]!.push({ prog, link: null, flags: list.flags });
      }
    }
  });
  for (const cgrp of [...k.cgroups.ancestors, k.cgroups.root]) cgroupBpfInherit(cgrp);
}

/** init_net's flow dissector: only its run array is ever looked at (it bars the sequence's
 * namespace, whichever program it is and however it was attached). */
function enterInitNetFlowDissector(k: Kernel): void {
  k.initNet.bpf.runArray[NETNS_BPF_FLOW_DISSECTOR] = true;
}
