// Target `qemu:KERNEL:ARCH`: a kernel booted in QEMU with the mprog agent in its initramfs.
// One VM replays many sequences; after a fault (panic, timeout, agent gone) the fault is that
// sequence's answer and the next sequence gets a fresh VM.

import { EINVAL } from '../../uapi/errno.js';
import { BPF_TCX_INGRESS } from '../../uapi/bpf.js';
import { type RawSequenceResult, type Sequence, usesCgroups } from '../../contract/seq.js';
import { buildInitramfs } from '../../vm/guest/initramfs.js';
import { prepareKernel, type PreparedKernel } from '../../vm/guest/boot-kernel.js';
import { ARCH_NAMES, type Arch, archNamed } from '../../vm/runtime/paths.js';
import { chooseAccel, Vm, type Accel, type Booted } from '../../vm/guest/qemu.js';
import { sequenceDeadlineMs } from '../../vm/agent/client.js';
import { DEFAULT_DEADLINE, type Deadline, type RunOptions, SETTLE_DEADLINE_MS, TargetError, type Target } from '../../contract/target.js';
import { MprogError } from '../../contract/errors.js';
import type { GcdaFile, KernelCounters } from '../../contract/coverage.js';
import { type CoverageNotes, coverageNotesOfImage } from '../../vm/kernel-build/build.js';

export interface QemuTargetOptions {
  /** Extra kernel command line (tests use it to make a guest panic or hang). */
  extraCmdline?: string;
  /** Modules directory of a user-built kernel (`make modules_install INSTALL_MOD_PATH=DIR`). */
  modulesDir?: string;
  bootDeadlineMs?: number;
  /** Per sequence (default DEFAULT_DEADLINE). */
  deadline?: Deadline;
}

/** Reading a coverage kernel's counters: a few hundred KiB in base64 over virtio-serial. */
const GCOV_DEADLINE_MS = 60_000;

/** TCG boots take seconds; a loaded CI machine can be several times slower. */
const BOOT_DEADLINE_MS = 120_000;
/**
 * The harness's own requests (the tcx probe after a boot) have their own deadline: the user's
 * `--deadline` is for the user's sequences, and a short one must not land on a probe.
 */
const PROBE_DEADLINE: Deadline = DEFAULT_DEADLINE;

type Guest = Booted;

interface Prepared {
  kernel: PreparedKernel;
  initramfs: string;
  accel: Accel;
  /** A coverage build's notes (the kernel's cache metadata says it is one). */
  coverage: CoverageNotes | null;
}

/** `qemu:KERNEL:ARCH` → its parts; KERNEL may be a path containing ':'. */
function parseQemuSpec(spec: string): { kernel: string; arch: Arch } {
  const m = /^qemu:(.+):([^:]+)$/.exec(spec);
  const arch = m ? archNamed(m[2]!) : undefined;
  if (!m || !arch) {
    throw new TargetError('unusable', `target "${spec}": expected qemu:KERNEL:ARCH with ARCH ${ARCH_NAMES} (e.g. qemu:debian-6.12:x86_64)`);
  }
  return { kernel: m[1]!, arch };
}

export class QemuTarget implements Target {
  readonly spec: string;
  private readonly kernelName: string;
  private readonly arch: Arch;
  private prepared: Promise<Prepared> | null = null;
  private guest: Promise<Guest> | null = null;
  /** The guest `guest` resolved to, so a late failure of an older one does not drop a newer one. */
  private current: Guest | null = null;
  /** Why each broken guest was retired: said once, whichever of its pipelined requests failed first. */
  private readonly retired = new WeakMap<Guest, Promise<TargetError>>();
  /** Set when the kernel lacks tcx: every later sequence that is not about cgroups answers with it
   * (cgroup sequences still run: the agent says whether the kernel has their API). */
  private noTcx: TargetError | null = null;
  /** A coverage kernel's counters, one dump per guest that ended cleanly; guests lost with theirs. */
  private readonly dumps: GcdaFile[][] = [];
  private lostDumps = 0;

  constructor(
    spec: string,
    private readonly opts: QemuTargetOptions = {},
  ) {
    this.spec = spec;
    ({ kernel: this.kernelName, arch: this.arch } = parseQemuSpec(spec));
  }

  /** The guest's `uname -r`. */
  async kernel(): Promise<string> {
    return (await this.start()).client.kernelRelease;
  }

  async run(seq: Sequence, opts: RunOptions = {}): Promise<RawSequenceResult> {
    const guest = await this.start();
    if (this.noTcx && !usesCgroups(seq)) throw this.noTcx;
    const deadline = this.opts.deadline ?? DEFAULT_DEADLINE;
    try {
      return await guest.client.run(seq, { deadline, ...opts });
    } catch (err) {
      // A FAIL answer (setup failed) leaves the guest usable; anything else retires it. Either
      // way a fault of the guest comes with its console.
      if (guest.client.usable) {
        if (err instanceof TargetError && err.kind === 'agent-error' && !err.console)
          throw new TargetError(err.kind, err.message, guest.vm.consoleTail(), err);
        throw err;
      }
      throw await this.retire(guest, err, sequenceDeadlineMs(seq, deadline, opts.crossCheck ?? true));
    }
  }

  /** Takes a broken guest out of service (killed, no longer the one runs start on) once; its fault. */
  private retire(guest: Guest, err: unknown, deadlineMs: number): Promise<TargetError> {
    if (this.current === guest) {
      this.current = null;
      this.guest = null;
    }
    let fault = this.retired.get(guest);
    if (!fault) {
      this.lostDumps++; // a broken guest cannot be asked for its counters
      fault = guest.vm.fault(err, { requestDeadlineMs: deadlineMs }).then(async (f) => {
        await guest.vm.kill();
        return f;
      });
      this.retired.set(guest, fault);
    }
    return fault;
  }

  async settle(): Promise<void> {
    await (await this.start()).client.settle(SETTLE_DEADLINE_MS);
  }

  /** The current guest's console tail (null before the first boot and after a fault retired it). */
  console(): string | null {
    return this.current?.vm.consoleTail() ?? null;
  }

  /** The agent's own attach+detach rate in the guest. */
  async rawBench(iterations: number, deadlineMs: number): Promise<{ calls: number; elapsedNs: number }> {
    return (await this.start()).client.rawBench(iterations, deadlineMs);
  }

  /** The sequences run inside the guest, answers dropped, timed by the agent (see AgentClient.rawRun). */
  async rawRun(seqs: readonly Sequence[], deadlineMs: number): Promise<{ elapsedNs: number; failed: number }> {
    return (await this.start()).client.rawRun(seqs, deadlineMs);
  }

  /** Milliseconds from spawning QEMU to the agent handshake, of the current VM. */
  async bootMs(): Promise<number> {
    return (await this.start()).bootMs;
  }

  /** Whether the current VM was resumed from a saved guest rather than booted. */
  async resumed(): Promise<boolean> {
    return (await this.start()).resumed;
  }

  async close(): Promise<void> {
    const guest = this.guest;
    this.guest = null;
    this.current = null;
    const g = await guest?.catch(() => null);
    if (!g) return;
    try {
      if ((await this.prepared)?.coverage) this.dumps.push(await g.client.gcovDump(GCOV_DEADLINE_MS));
    } catch {
      this.lostDumps++; // said in the report as a guest whose counters are missing
    } finally {
      await g.vm.stop(g.client);
    }
  }

  async coverage(): Promise<KernelCounters | null> {
    const notes = this.prepared && (await this.prepared).coverage;
    if (!notes) return null;
    return { notesDir: notes.dir, sources: notes.sources, arch: this.arch, patchLines: notes.patchLines, dumps: this.dumps, lost: this.lostDumps };
  }

  /**
   * Downloads and builds what a boot needs (kernel, initramfs, KVM verdict) without booting; says
   * how the guest will run: accelerator and the exact Debian kernel package (null for a user kernel).
   */
  async prepare(): Promise<{ accel: Accel; package: PreparedKernel['package'] }> {
    const { accel, kernel } = await this.preparation();
    return { accel, package: kernel.package };
  }

  /** The Debian package and exact version of the kernel (of its source, for mprog-X.Y), or the image file given. */
  async origin(): Promise<string> {
    const { kernel } = await this.preparation();
    if (!kernel.package) return kernel.image;
    const built = kernel.package.name.startsWith('linux-source-') ? ' + kernel-configs/mprog.fragment' : '';
    return `${kernel.package.name} ${kernel.package.version}${built}`;
  }

  /**
   * What a boot needs, made once. What vm/ says the user can act on (a kernel that is not on the
   * mirror, a missing tool, a bad image file: an MprogError) makes the target unusable, `SPEC: why`;
   * anything else is a bug and goes up as it is.
   */
  private preparation(): Promise<Prepared> {
    this.prepared ??= this.prepareOnce().catch((err: unknown) => {
      this.prepared = null;
      if (err instanceof TargetError || !(err instanceof MprogError)) throw err;
      throw new TargetError('unusable', `${this.spec}: ${err.message}`, undefined, err);
    });
    return this.prepared;
  }

  /** The running guest, booting one (and preparing kernel and initramfs once) when there is none. */
  private start(): Promise<Guest> {
    this.guest ??= this.boot().then(
      (guest) => (this.current = guest),
      (err: unknown) => {
        this.guest = null;
        throw err;
      },
    );
    return this.guest;
  }

  private async boot(): Promise<Guest> {
    const { kernel, initramfs, accel } = await this.preparation();
    const guest = await Vm.boot({
      kernel,
      initramfs,
      accel,
      ...(this.opts.extraCmdline !== undefined ? { extraCmdline: this.opts.extraCmdline } : {}),
      bootDeadlineMs: this.opts.bootDeadlineMs ?? BOOT_DEADLINE_MS,
    });
    this.noTcx = await this.probeTcx(guest);
    // What the boot, the agent's setup and the probe ran is no sequence's.
    if ((await this.prepared)?.coverage) {
      try {
        await guest.client.gcovReset(GCOV_DEADLINE_MS);
      } catch (err) {
        throw await this.retire(guest, err, GCOV_DEADLINE_MS);
      }
    }
    return guest;
  }

  private async prepareOnce(): Promise<Prepared> {
    const kernel = await prepareKernel(this.kernelName, this.arch, this.opts.modulesDir ? { modulesDir: this.opts.modulesDir } : {});
    const initramfs = await buildInitramfs(kernel);
    // An image given by its path was copied into the cache to boot: its notes are beside the path given.
    return {
      kernel,
      initramfs,
      accel: await chooseAccel(kernel, initramfs),
      coverage: coverageNotesOfImage(kernel.package ? kernel.image : kernel.label),
    };
  }

  /** A query on tcx ingress of `lo`: EINVAL means the kernel has no tcx (before Linux 6.6). */
  private async probeTcx(guest: Guest): Promise<TargetError | null> {
    const probe: Sequence = {
      format: 'mprog-seq/1',
      name: 'tcx-probe',
      file: '(tcx probe)',
      devices: [],
      programs: [],
      steps: [{ op: 'query', dev: { name: 'lo' }, attach_type: BPF_TCX_INGRESS, count: 0, query_flags: 0, attach_flags: 0 }],
      expects: [undefined],
      links: [],
    };
    let ret: number;
    try {
      ret = (await guest.client.run(probe, { deadline: PROBE_DEADLINE })).steps[0]!.ret;
    } catch (err) {
      throw await this.retire(guest, err, sequenceDeadlineMs(probe, PROBE_DEADLINE, true));
    }
    if (ret !== -EINVAL) return null;
    const release = guest.client.kernelRelease;
    return new TargetError('unsupported', `${this.kernelName} (${release}): no tcx (BPF_TCX_INGRESS needs Linux 6.6+)`);
  }
}
