// The emulator as a target: replays a sequence on a fresh emulated kernel, the way the agent
// does on a real one (same fd and device conventions, see vm/agent/PROTOCOL.md).

import { cgroupBpfInherit, cgroupBpfRelease } from '../../emulator/cgroup.js';
import { type Cgroup, cgroupMkdir, cgroupRmdir } from '../../emulator/cgroupfs.js';
import { ENOENT } from '../../uapi/errno.js';
import { isErr } from '../../emulator/err.js';
import type { QueryArrays, QueryOut } from '../../emulator/mprog.js';
import { Kernel } from '../../emulator/kernel.js';
import { DEFAULT_PROFILE, PROFILES, type Profile, findProfile } from '../../emulator/profiles.js';
import { bpfProgLoad } from '../../emulator/prog.js';
import { devDelete, devPairCreate, rtnetlinkRcvMsg } from '../../emulator/rtnetlink.js';
import { ALL_CAPS, capMask } from '../../uapi/capability.js';
import { tcDelQdisc, tcModifyQdisc } from '../../emulator/sch-api.js';
import {
  bpfObjGetInfoByFd,
  bpfProgAttach,
  bpfProgDetach,
  bpfProgQuery,
  bpfProgQueryCheckCaps,
  closeFd,
  linkCreate,
  linkDetach,
  linkUpdate,
  ModelGapError,
  sysBpfEntry,
} from '../../emulator/syscall.js';
import { BPF_LINK_TYPE_CGROUP, BPF_LINK_TYPE_NETNS, BPF_MAP_TYPE, BPF_PROG_TYPE, type BpfMapType, type BpfProgType } from '../../uapi/bpf.js';
import { BpfMap, mapCreate } from '../../emulator/map.js';
import { type AttrCommand, beyondSize, callerBuffer, checkAttr, getU32, getU64, putU32, putU64, sysBpfCopyAttr } from '../../emulator/bpf-attr.js';
import { attrLayout } from '../../emulator/profiles.js';
import { attachTypeToProgType } from '../../emulator/attach-types.js';
import { EFAULT, EINVAL } from '../../uapi/errno.js';
import { enterWorld } from '../../emulator/world.js';
import type { KernelWorld } from '../../contract/world.js';
import {
  type DevRef,
  type MapType,
  type ProgramType,
  QUERY_ARRAY_NAMES,
  type QueryStep,
  type RawQuery,
  type RawSequenceResult,
  type RawStepResult,
  type Ref,
  type Sequence,
  type Step,
  callerCaps,
  isAttrOp,
  nameTable,
  stepAttr,
  usesCgroups,
  usesNetns,
} from '../../contract/seq.js';
import { type RunOptions, type Target, TargetError } from '../../contract/target.js';

import { CLOSED_CGROUP_FD_BASE, CLOSED_FD_BASE, MISSING_IFINDEX } from '../../contract/closed-refs.js';

/** The kernel's number for each program type a sequence can declare. */
export const PROG_TYPES: Record<ProgramType, BpfProgType> = {
  sched_cls: BPF_PROG_TYPE.SCHED_CLS,
  xdp: BPF_PROG_TYPE.XDP,
  cgroup_skb: BPF_PROG_TYPE.CGROUP_SKB,
  cgroup_sockopt: BPF_PROG_TYPE.CGROUP_SOCKOPT,
  flow_dissector: BPF_PROG_TYPE.FLOW_DISSECTOR,
};

/** The kernel's number for each map type a sequence can declare. */
export const MAP_TYPES_BPF: Record<MapType, BpfMapType> = {
  cgroup_storage: BPF_MAP_TYPE.CGROUP_STORAGE,
  percpu_cgroup_storage: BPF_MAP_TYPE.PERCPU_CGROUP_STORAGE,
  array: BPF_MAP_TYPE.ARRAY,
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
  return Object.fromEntries(
    QUERY_ARRAY_NAMES.map((a) => [a, step.count > 0 && (step.arrays ?? QUERY_ARRAY_NAMES).includes(a)]),
  ) as unknown as QueryArrays;
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
  /** The sequence's open /proc/self/ns/net (a sequence that reaches the flow dissector), or -1. */
  private netnsFd = -1;
  readonly raw: RawSequenceResult;

  constructor(
    private readonly seq: Sequence,
    profile: Profile,
    private readonly world: KernelWorld | undefined,
  ) {
    this.k = new Kernel(profile, world?.netkit);
    if (world?.unprivilegedBpfDisabled !== undefined) this.k.unprivilegedBpfDisabled = world.unprivilegedBpfDisabled;
    this.raw = { kernel: `emulator:${profile.name}`, progIds: nameTable(), linkIds: nameTable(), devNames: {}, steps: [] };
    [...seq.programs.map((p) => p.name), ...seq.links].forEach((name, i) => this.objIndex.set(name, i));
    for (const dev of seq.devices) this.createPair(dev.kind, dev.name, dev.peer);
    if (world) enterWorld(this.k, world);
    // The maps, made by the agent itself (not the caller) before the programs: fds of their own.
    const maps = new Map((seq.maps ?? []).map((m) => [m.name, this.createMap(m.type, m.name)]));
    for (const prog of seq.programs) {
      const id = world && Object.hasOwn(world.progIds, prog.name) ? world.progIds[prog.name] : undefined;
      if (id) this.k.progIdr.setCursor(id); // the kernel's counter, as other loads left it
      // Loaded by the sequence's caller (spec "Caller privileges"): one it may not load stays unopened.
      const progMaps = (prog.maps ?? []).map((m) => maps.get(m)!);
      const fd = this.asCaller(null, () => bpfProgLoad(this.k, PROG_TYPES[prog.type], prog.name, prog.expected_attach_type ?? 0, progMaps));
      if (fd < 0) continue;
      this.fds.set(prog.name, fd);
      const file = this.k.files.get(fd);
      if (file?.kind === 'prog') this.raw.progIds[prog.name] = file.prog.id;
    }
    for (const link of seq.links) this.raw.linkIds[link] = 0;
    cgroupNames(seq).forEach((name, i) => this.cgroupIndex.set(name, i));
    this.raw.cgroupNames = {};
    for (const c of seq.cgroups ?? []) this.createCgroup(c.name, c.parent);
    if (usesNetns(seq)) {
      this.netnsFd = this.k.files.install({ kind: 'netns', net: this.k.netns });
      this.raw.netnsIno = this.k.netns.inum;
    }
  }

  /** map_create() of a declared map; its fd stays open until the sequence ends. */
  private createMap(type: MapType, name: string): BpfMap {
    const map = new BpfMap(MAP_TYPES_BPF[type], name);
    mapCreate(this.k, map);
    return map;
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

  /** The attach target as the attr of `op` carries it: an ifindex, a cgroup's fd, or for the
   * sequence's netns 0 (BPF_PROG_ATTACH/DETACH act on the caller's) or its fd. */
  private ifindex(dev: DevRef, op: Step['op'] = 'query'): number {
    if ('ifindex' in dev) return dev.ifindex;
    if ('cgroupFd' in dev) return dev.cgroupFd;
    if ('netnsFd' in dev) return dev.netnsFd;
    if ('netns' in dev) return op === 'prog_attach' || op === 'prog_detach' ? 0 : this.netnsFd;
    if ('cgroup' in dev) return this.cgroups.get(dev.cgroup)?.fd ?? CLOSED_CGROUP_FD_BASE + this.cgroupIndex.get(dev.cgroup)!;
    return this.k.net.getByName(dev.name)?.ifindex ?? MISSING_IFINDEX;
  }

  private close(name: string): number {
    const ret = closeFd(this.k, this.fd(name));
    if (ret === 0) this.fds.delete(name);
    return ret;
  }

  /** `call` with the caller's effective capabilities: the step's, else the sequence's (the
   * setup around it runs as root, as the agent's does). */
  private asCaller<T>(step: Step | null, call: () => T): T {
    const caps = callerCaps(this.seq, step);
    this.k.caps = caps === null ? ALL_CAPS : capMask(caps);
    try {
      return call();
    } finally {
      this.k.caps = ALL_CAPS;
    }
  }

  step(step: Step, index: number): RawStepResult {
    return this.asCaller(step, () => {
      if (isAttrOp(step.op)) {
        const denied = sysBpfEntry(this.k); // 6.1's __sys_bpf(): before the attr is read
        if (denied) return { ret: denied, ...(stepAttr(step) && { beyond_size: false }) };
      }
      if (step.op === 'dev_create' || step.op === 'dev_delete' || step.op === 'qdisc_add' || step.op === 'qdisc_delete') {
        const denied = rtnetlinkRcvMsg(this.k);
        if (denied) return { ret: denied };
      }
      const attr = stepAttr(step);
      if (attr && isAttrOp(step.op)) return this.attrStep(step, index, attr);
      return this.ownStep(step, index);
    });
  }

  /** A step with attr_size or raw: the caller's buffer as the agent lays it out, __sys_bpf()'s
   * size checks and CHECK_ATTR() on it, the command on the fields decoded from the kernel's copy,
   * its copy_to_user()s into the buffer, the outputs read back from the buffer. */
  private attrStep(step: Step, index: number, a: { size: number; raw: { at: number; hex: string }[] }): RawStepResult {
    const cmd = step.op as AttrCommand;
    const f = new Uint8Array(64);
    const ARRAY_PTRS = [0x1000, 0x2000, 0x3000, 0x4000]; // prog_ids, prog_attach_flags, link_ids, link_attach_flags
    const INFO_PTR = 0x5000;
    const INFO_LEN = 32; // the agent's struct link_info_cgroup
    switch (step.op) {
      case 'prog_attach':
      case 'prog_detach':
        putU32(f, 0, this.ifindex(step.dev, step.op));
        putU32(f, 4, step.prog === null ? 0 : this.fd(step.prog));
        putU32(f, 8, step.attach_type);
        putU32(f, 12, step.flags);
        putU32(f, 16, step.op === 'prog_attach' ? this.ref(step.replace) : 0);
        putU32(f, 20, this.ref(step.relative));
        putU64(f, 24, step.expected_revision);
        break;
      case 'link_create':
        putU32(f, 0, this.fd(step.prog));
        putU32(f, 4, this.ifindex(step.dev));
        putU32(f, 8, step.attach_type);
        putU32(f, 12, step.flags);
        putU32(f, 16, this.ref(step.relative));
        putU64(f, 24, step.expected_revision);
        break;
      case 'link_update':
        putU32(f, 0, this.fd(step.link));
        putU32(f, 4, this.fd(step.prog));
        putU32(f, 8, step.flags);
        putU32(f, 12, step.old_prog === null ? 0 : this.fd(step.old_prog));
        break;
      case 'link_detach':
        putU32(f, 0, this.fd(step.link));
        break;
      case 'link_info':
        putU32(f, 0, this.fd(step.link));
        putU32(f, 4, INFO_LEN);
        putU64(f, 8, INFO_PTR);
        break;
      case 'query': {
        putU32(f, 0, this.ifindex(step.dev));
        putU32(f, 4, step.attach_type);
        putU32(f, 8, step.query_flags);
        putU32(f, 12, step.attach_flags);
        putU32(f, 24, step.count);
        const passed = queryArrays(step);
        QUERY_ARRAY_NAMES.forEach((name, i) => {
          if (passed[name]) putU64(f, [16, 32, 40, 48][i]!, ARRAY_PTRS[i]!);
        });
        break;
      }
    }
    // A size that cuts a pointer leaves the kernel half of the agent's address: not modelled.
    const pointers = step.op === 'query' ? [16, 32, 40, 48] : step.op === 'link_info' ? [8] : [];
    if (pointers.some((p) => a.size > p && a.size < p + 8))
      throw new ModelGapError(`${step.op} with attr_size ${a.size} cuts a pointer of the attr, which is not modelled`);
    const buf = callerBuffer(a.size, f, a.raw);
    const done = (r: RawStepResult): RawStepResult => ({ ...r, beyond_size: beyondSize(buf, a.size) });
    const kattr = sysBpfCopyAttr(this.k.profile, buf, a.size);
    if (typeof kattr === 'number') return done({ ret: kattr });
    // bpf_prog_query() checks the caller before CHECK_ATTR().
    const queryDenied = step.op === 'query' ? bpfProgQueryCheckCaps(this.k) : 0;
    if (queryDenied) return done({ ret: queryDenied });
    if (checkAttr(this.k.profile, cmd, kattr)) return done({ ret: -EINVAL });
    const size = Math.min(a.size, kattr.length);
    const u32 = (off: number) => getU32(kattr, off);
    const u64 = (off: number) => getU64(kattr, off);
    switch (step.op) {
      case 'prog_attach':
      case 'prog_detach': {
        const attr = {
          target_ifindex: u32(0),
          attach_bpf_fd: u32(4),
          attach_type: u32(8),
          attach_flags: u32(12),
          replace_bpf_fd: u32(16),
          relative_fd: u32(20),
          expected_revision: u64(24),
        };
        return done({ ret: step.op === 'prog_attach' ? bpfProgAttach(this.k, attr) : bpfProgDetach(this.k, attr) });
      }
      case 'link_create': {
        const id = this.world?.linkIds[index];
        if (id) this.k.linkIdr.setCursor(id);
        const ret = linkCreate(this.k, {
          prog_fd: u32(0),
          target_ifindex: u32(4),
          attach_type: u32(8),
          flags: u32(12),
          relative_fd: u32(16),
          expected_revision: u64(24),
        });
        if (ret >= 0) {
          this.fds.set(step.link, ret);
          const info = bpfObjGetInfoByFd(this.k, ret);
          if (!isErr(info)) this.raw.linkIds[step.link] = info.id;
        }
        return done({ ret });
      }
      case 'link_update':
        return done({ ret: linkUpdate(this.k, { link_fd: u32(0), new_prog_fd: u32(4), flags: u32(8), old_prog_fd: u32(12) }) });
      case 'link_detach':
        return done({ ret: linkDetach(this.k, u32(0)) });
      case 'link_info': {
        const infoLen = u32(4);
        const ptr = u64(8);
        if (infoLen > INFO_LEN || (ptr !== 0 && ptr !== INFO_PTR))
          throw new ModelGapError("BPF_OBJ_GET_INFO_BY_FD with an info buffer other than the agent's is not modelled");
        const info = bpfObjGetInfoByFd(this.k, u32(0));
        if (isErr(info)) return done({ ret: info });
        if (infoLen && !ptr) return done({ ret: -EFAULT });
        const k = new Uint8Array(64);
        putU32(k, 0, info.type);
        putU32(k, 4, info.id);
        putU32(k, 8, info.prog_id);
        if ('cgroup_id' in info) {
          putU64(k, 16, info.cgroup_id);
          putU32(k, 24, info.attach_type);
        } else {
          putU32(k, 16, 'netns_ino' in info ? info.netns_ino : info.ifindex);
          putU32(k, 20, info.attach_type);
        }
        const user = new Uint8Array(INFO_LEN);
        user.set(k.subarray(0, infoLen));
        putU32(buf, 4, infoLen); // put_user(info_len, &uattr->info.info_len)
        const linkType = getU32(user, 0);
        const li =
          linkType === BPF_LINK_TYPE_CGROUP
            ? { prog_id: getU32(user, 8), cgroup_id: getU64(user, 16), attach_type: getU32(user, 24) }
            : linkType === BPF_LINK_TYPE_NETNS
              ? { prog_id: getU32(user, 8), netns_ino: getU32(user, 16), attach_type: getU32(user, 20) }
              : { prog_id: getU32(user, 8), ifindex: getU32(user, 16), attach_type: getU32(user, 20) };
        return done({ ret: 0, link_info: li });
      }
      case 'query': {
        const ptrs = [u64(16), u64(32), u64(40), u64(48)];
        if (ptrs.some((p, i) => p !== 0 && p !== ARRAY_PTRS[i]))
          throw new ModelGapError("BPF_PROG_QUERY with array pointers other than the agent's is not modelled");
        const type = u32(4);
        const out = bpfProgQuery(this.k, {
          target_ifindex: u32(0),
          attach_type: type,
          query_flags: u32(8),
          attach_flags: u32(12),
          count: u32(24),
          arrays: { prog_ids: ptrs[0] !== 0, prog_attach_flags: ptrs[1] !== 0, link_ids: ptrs[2] !== 0, link_attach_flags: ptrs[3] !== 0 },
          // The agent's arrays hold the step's count, whatever the raw bytes make of the attr's.
          userArrayEntries: step.count,
        });
        if (isErr(out)) return done({ ret: out });
        // bpf_mprog_query() writes attach_flags, revision and count wherever they are;
        // __cgroup_bpf_query() attach_flags and count, and the revision (cgroup mprog API) only
        // inside the caller's size once 21c4b99b27f3 is in; __netns_bpf_prog_query() no revision.
        const ptype = attachTypeToProgType(this.k.profile, type);
        const mprog = ptype === BPF_PROG_TYPE.SCHED_CLS;
        const cgroup = !mprog && ptype !== BPF_PROG_TYPE.FLOW_DISSECTOR && ptype !== BPF_PROG_TYPE.SK_LOOKUP;
        putU32(buf, 12, out.attach_flags);
        putU32(buf, 24, out.count);
        const layout = attrLayout(this.k.profile);
        if (mprog || (cgroup && this.k.profile.cgroupMprog && (size >= 64 || !layout.cgroupQueryRevisionSized))) putU64(buf, 56, out.revision);
        const q = queryBuffers(step, { ...out, count: getU32(buf, 24) });
        return done({ ret: out.ret, query: { ...q, count: getU32(buf, 24), revision: getU64(buf, 56), attach_flags: getU32(buf, 12) } });
      }
    }
    return this.ownStep(step, index);
  }

  private ownStep(step: Step, index: number): RawStepResult {
    switch (step.op) {
      case 'prog_attach':
      case 'prog_detach': {
        const attr = {
          target_ifindex: this.ifindex(step.dev, step.op),
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
          userArrayEntries: step.count,
        });
        if (isErr(out)) return { ret: out };
        return { ret: out.ret, query: queryBuffers(step, out) };
      }
      case 'dev_create':
        return { ret: this.createPair(step.kind, step.name, step.peer) };
      case 'dev_delete':
        return { ret: devDelete(this.k, this.ifindex({ name: step.dev })) };
      case 'qdisc_add':
        return { ret: tcModifyQdisc(this.k, this.ifindex({ name: step.dev }), step.kind) };
      case 'qdisc_delete':
        return { ret: tcDelQdisc(this.k, this.ifindex({ name: step.dev }), step.kind) };
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
      throw new TargetError(
        'unsupported',
        `${seq.file}: profile ${this.profile.name} has no cgroup mprog API (cgroup sequences need ${CGROUP_MPROG_SINCE})`,
      );
    }
    return runOnEmulator(seq, this.profile, opts.world);
  }

  async close(): Promise<void> {}
}
