// The emulator as a target: replays a sequence on a fresh emulated kernel, the way the agent
// does on a real one (same fd and device conventions, see vm/agent/PROTOCOL.md).

import { cgroupBpfInherit, cgroupBpfRelease } from '../../emulator/cgroup.js';
import { type Cgroup, cgroupMkdir, cgroupRmdir } from '../../emulator/cgroupfs.js';
import { ENOENT, isErr } from '../../emulator/errno.js';
import type { QueryArrays, QueryOut } from '../../emulator/mprog.js';
import { Kernel } from '../../emulator/kernel.js';
import { DEFAULT_PROFILE, PROFILES, type Profile, findProfile } from '../../emulator/profiles.js';
import { bpfProgLoad } from '../../emulator/prog.js';
import { devDelete, devPairCreate } from '../../emulator/rtnetlink.js';
import {
  bpfObjGetInfoByFd,
  bpfProgAttach,
  bpfProgDetach,
  bpfProgQuery,
  closeFd,
  linkCreate,
  linkDetach,
  linkUpdate,
} from '../../emulator/syscall.js';
import { BPF_PROG_TYPE, type BpfProgType } from '../../emulator/uapi.js';
import { type KernelWorld, enterWorld } from '../../emulator/world.js';
import { type DevRef, type ProgramType, QUERY_ARRAY_NAMES, type QueryStep, type RawQuery, type RawSequenceResult, type RawStepResult, type Ref, type Sequence, type Step, usesCgroups } from '../../contract/seq.js';
import { type RunOptions, type Target, TargetError } from '../../contract/target.js';

/** A reference to an object whose fd is closed or was never opened: a number no fd has. */
export const CLOSED_FD_BASE = 1000000;
/** A device name that names no device now: an ifindex no device has. */
export const MISSING_IFINDEX = 0x7fffffff;
/** A cgroup name whose cgroup was never made: a number no fd has, CLOSED_CGROUP_FD_BASE + its
 * index among the sequence's cgroup names (declared, then made by cgroup_create, in file order). */
export const CLOSED_CGROUP_FD_BASE = 2000000;

/** The kernel's number for each program type a sequence can declare. */
export const PROG_TYPES: Record<ProgramType, BpfProgType> = {
  sched_cls: BPF_PROG_TYPE.SCHED_CLS,
  xdp: BPF_PROG_TYPE.XDP,
  cgroup_skb: BPF_PROG_TYPE.CGROUP_SKB,
  cgroup_sockopt: BPF_PROG_TYPE.CGROUP_SOCKOPT,
};

/** Every cgroup name of a sequence, in the order the agent numbers them (declared, then made by
 * cgroup_create steps, first appearance). */
export function cgroupNames(seq: Sequence): string[] {
  const names = (seq.cgroups ?? []).map((c) => c.name);
  for (const step of seq.steps) if (step.op === 'cgroup_create' && !names.includes(step.name)) names.push(step.name);
  return names;
}

/** The array pointers a query step passes: those it names (all four by default), none with count 0. */
export function queryArrays(step: QueryStep): QueryArrays {
  return Object.fromEntries(QUERY_ARRAY_NAMES.map((a) => [a, step.count > 0 && (step.arrays ?? QUERY_ARRAY_NAMES).includes(a)])) as unknown as QueryArrays;
}

/** The four query buffers as the caller reads them back: min(count passed, count) elements each,
 * 0 where the kernel wrote nothing; none when nothing was passed. */
export function queryBuffers(step: QueryStep, out: QueryOut): RawQuery {
  const n = step.count ? Math.min(step.count, out.count) : 0;
  const buffer = (written: number[]) => Array.from({ length: n }, (_, i) => written[i] ?? 0);
  return {
    count: out.count,
    revision: out.revision,
    attach_flags: out.attach_flags,
    prog_ids: buffer(out.prog_ids),
    link_ids: buffer(out.link_ids),
    prog_attach_flags: buffer(out.prog_attach_flags),
    link_attach_flags: buffer(out.link_attach_flags),
  };
}

/** One replay: the emulated kernel plus what the sequence's names currently stand for. */
class EmulatorRun {
  readonly k: Kernel;
  private readonly fds = new Map<string, number>();
  private readonly objIndex = new Map<string, number>();
  /** The cgroup each cgroup name stands for now, its fd, and the agent's index of the name. */
  private readonly cgroups = new Map<string, { cgroup: Cgroup; fd: number }>();
  private readonly cgroupIndex = new Map<string, number>();
  readonly raw: RawSequenceResult;

  constructor(
    seq: Sequence,
    profile: Profile,
    private readonly world: KernelWorld | undefined,
  ) {
    this.k = new Kernel(profile, world?.netkit);
    this.raw = { kernel: `emulator:${profile.name}`, progIds: {}, linkIds: {}, devNames: {}, steps: [] };
    [...seq.programs.map((p) => p.name), ...seq.links].forEach((name, i) => this.objIndex.set(name, i));
    for (const dev of seq.devices) this.createPair(dev.kind, dev.name, dev.peer);
    if (world) enterWorld(this.k, world);
    for (const prog of seq.programs) {
      const id = world?.progIds[prog.name];
      if (id) this.k.progIdr.setCursor(id); // the kernel's counter, as other loads left it
      const fd = bpfProgLoad(this.k, PROG_TYPES[prog.type], prog.name, prog.expected_attach_type ?? 0);
      this.fds.set(prog.name, fd);
      const file = this.k.files.get(fd);
      if (file?.kind === 'prog') this.raw.progIds[prog.name] = file.prog.id;
    }
    for (const link of seq.links) this.raw.linkIds[link] = 0;
    cgroupNames(seq).forEach((name, i) => this.cgroupIndex.set(name, i));
    this.raw.cgroupNames = {};
    for (const c of seq.cgroups ?? []) this.createCgroup(c.name, c.parent);
  }

  /** mkdir of a cgroup (under its parent, or the sequence's root) and open(2) of it. */
  private createCgroup(name: string, parentName: string | null): number {
    const parent = parentName === null ? this.k.cgroups.root : this.cgroups.get(parentName)?.cgroup;
    if (!parent) return -ENOENT; // a parent that was never made has no directory
    const cgrp = cgroupMkdir(this.k.cgroups, parent, name, cgroupBpfInherit);
    if (isErr(cgrp)) return cgrp;
    const fd = this.k.files.install({ kind: 'cgroup', cgroup: cgrp });
    this.cgroups.set(name, { cgroup: cgrp, fd });
    this.raw.cgroupNames![cgrp.id] = name;
    return 0;
  }

  /** rmdir of a cgroup; the kernel's release of its programs and links, which targets wait for. */
  private deleteCgroup(name: string): number {
    const bound = this.cgroups.get(name);
    if (!bound) return -ENOENT;
    return cgroupRmdir(bound.cgroup, (cgrp) => cgroupBpfRelease(this.k, cgrp));
  }

  private createPair(kind: 'veth' | 'netkit', name: string, peer: string): number {
    const ret = devPairCreate(this.k, kind, name, peer);
    if (ret === 0) {
      for (const n of [name, peer]) this.raw.devNames[this.k.net.getByName(n)!.ifindex] = n;
    }
    return ret;
  }

  private fd(name: string): number {
    return this.fds.get(name) ?? CLOSED_FD_BASE + this.objIndex.get(name)!;
  }

  private id(name: string): number {
    return this.raw.progIds[name] ?? this.raw.linkIds[name] ?? 0;
  }

  private ref(ref: Ref | null): number {
    if (!ref) return 0;
    if ('fd' in ref) return this.fd(ref.fd);
    if ('id' in ref) return this.id(ref.id);
    return ref.value;
  }

  /** The attach target as the attr carries it: an ifindex, or a cgroup's fd. */
  private ifindex(dev: DevRef): number {
    if ('ifindex' in dev) return dev.ifindex;
    if ('cgroupFd' in dev) return dev.cgroupFd;
    if ('cgroup' in dev) return this.cgroups.get(dev.cgroup)?.fd ?? CLOSED_CGROUP_FD_BASE + this.cgroupIndex.get(dev.cgroup)!;
    return this.k.net.getByName(dev.name)?.ifindex ?? MISSING_IFINDEX;
  }

  private close(name: string): number {
    const ret = closeFd(this.k, this.fd(name));
    if (ret === 0) this.fds.delete(name);
    return ret;
  }

  step(step: Step, index: number): RawStepResult {
    switch (step.op) {
      case 'prog_attach':
      case 'prog_detach': {
        const attr = {
          target_ifindex: this.ifindex(step.dev),
          attach_bpf_fd: step.prog === null ? 0 : this.fd(step.prog),
          attach_type: step.attach_type,
          attach_flags: step.flags,
          replace_bpf_fd: step.op === 'prog_attach' ? this.ref(step.replace) : 0,
          relative_fd: this.ref(step.relative),
          expected_revision: step.expected_revision,
        };
        return { ret: step.op === 'prog_attach' ? bpfProgAttach(this.k, attr) : bpfProgDetach(this.k, attr) };
      }
      case 'link_create': {
        const id = this.world?.linkIds[index];
        if (id) this.k.linkIdr.setCursor(id);
        const ret = linkCreate(this.k, {
          prog_fd: this.fd(step.prog),
          target_ifindex: this.ifindex(step.dev),
          attach_type: step.attach_type,
          flags: step.flags,
          relative_fd: this.ref(step.relative),
          expected_revision: step.expected_revision,
        });
        if (ret >= 0) {
          this.fds.set(step.link, ret);
          const info = bpfObjGetInfoByFd(this.k, ret);
          if (!isErr(info)) this.raw.linkIds[step.link] = info.id;
        }
        return { ret };
      }
      case 'link_update':
        return {
          ret: linkUpdate(this.k, {
            link_fd: this.fd(step.link),
            new_prog_fd: this.fd(step.prog),
            flags: step.flags,
            old_prog_fd: step.old_prog === null ? 0 : this.fd(step.old_prog),
          }),
        };
      case 'link_detach':
        return { ret: linkDetach(this.k, this.fd(step.link)) };
      case 'link_close':
        return { ret: this.close(step.link) };
      case 'prog_close':
        return { ret: this.close(step.prog) };
      case 'link_info': {
        const info = bpfObjGetInfoByFd(this.k, this.fd(step.link));
        if (isErr(info)) return { ret: info };
        const { type: _type, id: _id, ...linkInfo } = info;
        return { ret: 0, link_info: linkInfo };
      }
      case 'query': {
        const out = bpfProgQuery(this.k, {
          target_ifindex: this.ifindex(step.dev),
          attach_type: step.attach_type,
          query_flags: step.query_flags,
          attach_flags: step.attach_flags,
          count: step.count,
          arrays: queryArrays(step),
        });
        if (isErr(out)) return { ret: out };
        return { ret: out.ret, query: queryBuffers(step, out) };
      }
      case 'dev_create':
        return { ret: this.createPair(step.kind, step.name, step.peer) };
      case 'dev_delete':
        return { ret: devDelete(this.k, this.ifindex({ name: step.dev })) };
      case 'cgroup_create':
        return { ret: this.createCgroup(step.name, step.parent) };
      case 'cgroup_delete':
        return { ret: this.deleteCgroup(step.cgroup) };
    }
  }
}

/** Replays `seq` on an emulated kernel of `profile`: freshly booted, or in `world`. */
export function runOnEmulator(seq: Sequence, profile: Profile, world?: KernelWorld): RawSequenceResult {
  const run = new EmulatorRun(seq, profile, world);
  seq.steps.forEach((step, i) => run.raw.steps.push(run.step(step, i)));
  return run.raw;
}

/** Where the cgroup mprog API came, for messages. */
export const CGROUP_MPROG_SINCE = 'Linux 6.17 or 6.12.110+: "bpf: Implement mprog API on top of existing cgroup progs"';

export class EmulatorTarget implements Target {
  readonly spec: string;
  readonly profile: Profile;

  /** A profile by name (as the command line gives it), or a profile object (a test's mutant). */
  constructor(profile: string | Profile = DEFAULT_PROFILE) {
    const found = typeof profile === 'string' ? findProfile(profile) : profile;
    if (!found) {
      throw new TargetError('unusable', `unknown emulator profile "${profile as string}" (known: ${PROFILES.map((p) => p.name).join(', ')})`);
    }
    this.profile = found;
    this.spec = `emulator:${found.name}`;
  }

  async kernel(): Promise<string> {
    return this.spec;
  }

  async run(seq: Sequence, opts: RunOptions = {}): Promise<RawSequenceResult> {
    if (usesCgroups(seq) && !this.profile.cgroupMprog) {
      throw new TargetError('unsupported', `${seq.file}: profile ${this.profile.name} has no cgroup mprog API (cgroup sequences need ${CGROUP_MPROG_SINCE})`);
    }
    return runOnEmulator(seq, this.profile, opts.world);
  }

  async close(): Promise<void> {}
}
