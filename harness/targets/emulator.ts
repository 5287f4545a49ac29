// The emulator as a target: replays a sequence on a fresh emulated kernel, the way the agent
// does on a real one (same fd and device conventions, see vm/agent/PROTOCOL.md).

import { isErr } from '../../emulator/errno.js';
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
import type { DevRef, ProgramType, RawSequenceResult, RawStepResult, Ref, Sequence, Step } from '../../contract/seq.js';
import { type RunOptions, type Target, TargetError } from '../../contract/target.js';

/** A reference to an object whose fd is closed or was never opened: a number no fd has. */
export const CLOSED_FD_BASE = 1000000;
/** A device name that names no device now: an ifindex no device has. */
export const MISSING_IFINDEX = 0x7fffffff;

/** The kernel's number for each program type a sequence can declare. */
export const PROG_TYPES: Record<ProgramType, BpfProgType> = {
  sched_cls: BPF_PROG_TYPE.SCHED_CLS,
  xdp: BPF_PROG_TYPE.XDP,
  cgroup_skb: BPF_PROG_TYPE.CGROUP_SKB,
};

/** One replay: the emulated kernel plus what the sequence's names currently stand for. */
class EmulatorRun {
  readonly k: Kernel;
  private readonly fds = new Map<string, number>();
  private readonly objIndex = new Map<string, number>();
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
      const fd = bpfProgLoad(this.k, PROG_TYPES[prog.type], prog.name);
      this.fds.set(prog.name, fd);
      const file = this.k.files.get(fd);
      if (file?.kind === 'prog') this.raw.progIds[prog.name] = file.prog.id;
    }
    for (const link of seq.links) this.raw.linkIds[link] = 0;
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

  private ifindex(dev: DevRef): number {
    if ('ifindex' in dev) return dev.ifindex;
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
        return { ret: 0, link_info: { prog_id: info.prog_id, ifindex: info.ifindex, attach_type: info.attach_type } };
      }
      case 'query': {
        const out = bpfProgQuery(this.k, {
          target_ifindex: this.ifindex(step.dev),
          attach_type: step.attach_type,
          query_flags: step.query_flags,
          attach_flags: step.attach_flags,
          count: step.count,
        });
        if (isErr(out)) return { ret: out };
        const { ret, ...query } = out;
        return { ret, query };
      }
      case 'dev_create':
        return { ret: this.createPair(step.kind, step.name, step.peer) };
      case 'dev_delete':
        return { ret: devDelete(this.k, this.ifindex({ name: step.dev })) };
    }
  }
}

/** Replays `seq` on an emulated kernel of `profile`: freshly booted, or in `world`. */
export function runOnEmulator(seq: Sequence, profile: Profile, world?: KernelWorld): RawSequenceResult {
  const run = new EmulatorRun(seq, profile, world);
  seq.steps.forEach((step, i) => run.raw.steps.push(run.step(step, i)));
  return run.raw;
}

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
    return runOnEmulator(seq, this.profile, opts.world);
  }

  async close(): Promise<void> {}
}
