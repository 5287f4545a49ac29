// One QEMU guest running the mprog agent: launch (a boot, or a resume of the guest saved at its
// first boot), handshake, and the classification of every way it can go wrong (boot-fail, panic,
// timeout, agent-error), always with the console tail.
// The agent's channel is a virtio-serial port wired to QEMU's stdio; the console goes to a file.

import { notice } from './notices.js';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { constants, accessSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { AgentClient } from './agent/agent-client.js';
import { TargetError } from '../contract/target.js';
import { AGENT_PORT_NAME } from './initramfs.js';
import type { PreparedKernel } from './kernels.js';
import { atExit, findOnPath, scratchDir, tied } from './lifetime.js';
import { saveSnapshot, shellWord, snapshotPath, touchSnapshot } from './qemu-snapshot.js';
import { tellDamaged } from './verified.js';
import { cacheRoot, hostArch, scratchFor, type Arch } from './paths.js';

export type Accel = 'tcg' | 'kvm';

export interface VmOptions {
  kernel: PreparedKernel;
  initramfs: string;
  accel: Accel;
  /** Appended to the kernel command line (later options win, e.g. `rdinit=/bin/sh`). */
  extraCmdline?: string;
  /** From spawning QEMU to the agent's HELLO answer. */
  bootDeadlineMs: number;
}

const CONSOLE_TAIL_CHARS = 6000;
/** What a kernel prints when it stops making progress (watchdogs, RCU, hung tasks, oopses). */
const STUCK = /soft lockup[^\n]*|hard LOCKUP[^\n]*|rcu: [^\n]*detected[^\n]*stall[^\n]*|blocked for more than \d+ seconds[^\n]*|BUG: [^\n]*|Oops[^\n]*/;
/** Below this share of one CPU over a second, a guest with a request pending is not working on it. */
const IDLE_CPU_SHARE = 0.05;
/** /proc/PID/stat times are in USER_HZ, 100 on every Linux ABI. */
const USER_HZ = 100;
/** How long a guest that is going down (panic → reboot) gets to finish before it is judged. */
const EXIT_GRACE_MS = 3000;
const BYE_EXIT_MS = 10_000;
const QMP_SOCKET = 'qmp.sock';

let toldUnsaved = false;
/** Said once: the guest boots every time rather than resuming. */
function tellUnsaved(err: Error): void {
  if (toldUnsaved) return;
  toldUnsaved = true;
  notice(`could not save a booted guest to resume later (${err.message}); guests will boot each time`);
}

const QEMU: Record<Arch, { bin: string; pkg: string; machine: string[]; console: string }> = {
  x86_64: { bin: 'qemu-system-x86_64', pkg: 'qemu-system-x86', machine: ['-M', 'q35', '-cpu', 'max'], console: 'ttyS0' },
  // cortex-a72 boots about 3x faster under TCG than -cpu max (no pointer-auth emulation).
  arm64: { bin: 'qemu-system-aarch64', pkg: 'qemu-system-arm', machine: ['-M', 'virt', '-cpu', 'cortex-a72'], console: 'ttyAMA0' },
};

type QemuProcess = ChildProcessByStdio<Writable, Readable, Readable>;

const live = new Set<QemuProcess>();
// Besides the OS-level tie (tied()): a guest must not outlive an orderly exit either.
atExit(() => {
  for (const proc of live) proc.kill('SIGKILL');
});

function cmdline(arch: Arch, extra?: string): string {
  // rcu_expedited: every tcx change waits for a grace period (11 ms under TCG without it).
  // ipv6.disable: each sequence's fresh netns would build and tear down IPv6 state the mprog API
  // never touches (a fifth of a sequence's time under TCG).
  return [`console=${QEMU[arch].console}`, 'panic=-1', 'rcupdate.rcu_expedited=1', 'ipv6.disable=1', 'quiet', extra ?? ''].join(' ').trim();
}

function qemuArgs(opts: VmOptions, consoleFile: string): string[] {
  const arch = opts.kernel.arch;
  // Under KVM the guest gets the host CPU; -cpu max/cortex-a72 are for TCG.
  const machine = opts.accel === 'kvm' ? [QEMU[arch].machine[0]!, QEMU[arch].machine[1]!, '-cpu', 'host'] : QEMU[arch].machine;
  return [
    ...machine,
    '-accel', opts.accel,
    '-m', '512', '-smp', '1',
    '-nodefaults', '-display', 'none', '-monitor', 'none', '-no-reboot',
    '-kernel', opts.kernel.image,
    '-initrd', opts.initramfs,
    '-append', cmdline(arch, opts.extraCmdline),
    '-chardev', `file,id=con,path=${consoleFile}`,
    '-serial', 'chardev:con',
    '-device', 'virtio-serial-pci,id=vser',
    '-chardev', 'stdio,id=agent,signal=off',
    '-device', `virtserialport,bus=vser.0,chardev=agent,name=${AGENT_PORT_NAME}`,
  ];
}

export interface Booted {
  vm: Vm;
  client: AgentClient;
  /** From spawning QEMU to the agent's handshake. */
  bootMs: number;
  /** Whether the guest was resumed from a saved state rather than booted. */
  resumed: boolean;
}

export class Vm {
  private stderr = '';
  /** Why QEMU could not be started, if it could not. */
  private spawnError: string | null = null;
  private readonly exit: Promise<string>;
  private exitStatus: string | null = null;

  private constructor(
    private readonly proc: QemuProcess,
    private readonly dir: { path: string; remove: () => void },
    readonly opts: VmOptions,
  ) {
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (s: string) => {
      this.stderr = (this.stderr + s).slice(-4000);
      // QEMU pauses a guest after a KVM internal error instead of exiting: nothing more will come.
      if (/KVM internal error/.test(s)) proc.kill('SIGKILL');
    });
    // A dead QEMU shows up as a closed stream in the client; a write to it must not crash node.
    proc.stdin.on('error', () => undefined);
    // 'close' (unlike 'exit') also comes when QEMU could not be started at all.
    this.exit = new Promise((resolve) => {
      proc.once('close', (code, signal) => {
        this.exitStatus = signal ? `killed by ${signal}` : `exit status ${code}`;
        resolve(this.exitStatus);
      });
    });
  }

  /** What this guest is, for messages: `debian-6.12 (x86_64)`. */
  get what(): string {
    return `${this.opts.kernel.label} (${this.opts.kernel.arch})`;
  }

  /**
   * Starts QEMU and does the agent handshake; any failure comes back as a classified TargetError.
   * A guest of the same kernel, initramfs and QEMU booted before is resumed from its saved state
   * (qemu-snapshot.ts); the first boot saves it.
   */
  static async boot(opts: VmOptions): Promise<Booted> {
    const qemu = findOnPath(QEMU[opts.kernel.arch].bin);
    // A guest with a command line of its own (a test's) is booted as it is asked.
    const snapshot = qemu && !opts.extraCmdline ? snapshotPath({ qemu, kernel: opts.kernel.image, initramfs: opts.initramfs, args: qemuArgs(opts, '') }) : null;
    if (snapshot && existsSync(snapshot)) {
      try {
        const resumed = await Vm.start(opts, { resume: snapshot });
        touchSnapshot(snapshot);
        return resumed;
      } catch {
        rmSync(snapshot, { force: true });
        tellDamaged(snapshot, 'QEMU could not resume this saved guest');
      }
    }
    return Vm.start(opts, { save: snapshot });
  }

  /** Boots (and saves the booted guest to `save`), or resumes the guest saved in `resume`. */
  private static async start(opts: VmOptions, state: { resume?: string; save?: string | null }): Promise<Booted> {
    const started = Date.now();
    const vm = Vm.spawn(opts, { incoming: state.resume, qmp: !!state.save });
    try {
      const client = await AgentClient.connect(
        { input: vm.proc.stdout, output: vm.proc.stdin },
        // A resumed agent said READY before it was saved: it answers the handshake at once.
        { deadlineMs: opts.bootDeadlineMs, waitReady: !state.resume },
      );
      const bootMs = Date.now() - started;
      if (state.save) await saveSnapshot(vm.qmpSocket(), state.save).catch((err: Error) => tellUnsaved(err));
      return { vm, client, bootMs, resumed: !!state.resume };
    } catch (err) {
      const fault = await vm.fault(err, 'boot');
      await vm.kill();
      throw fault;
    }
  }

  /** QEMU for `opts`; `incoming`: resume that saved state; `qmp`: a QMP socket (qmpSocket()). */
  private static spawn(opts: VmOptions, extra: { incoming?: string | undefined; qmp?: boolean } = {}): Vm {
    const { bin, pkg } = QEMU[opts.kernel.arch];
    const dir = scratchDir('mprog-vm');
    const consoleFile = join(dir.path, 'console.log');
    writeFileSync(consoleFile, '');
    const extraArgs = [
      ...(extra.incoming ? ['-incoming', `exec:cat ${shellWord(extra.incoming)}`] : []),
      ...(extra.qmp ? ['-qmp', `unix:${join(dir.path, QMP_SOCKET)},server=on,wait=off`] : []),
    ];
    // Found here, since setpriv (tied) would turn a missing QEMU into its own exit status.
    const path = findOnPath(bin) ?? bin;
    // Own process group (detached): a Ctrl-C at the terminal reaches mprog, which decides what the
    // guest's end means, not the guest directly.
    const proc = spawn(...tied(path, [...qemuArgs(opts, consoleFile), ...extraArgs]), { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    live.add(proc);
    proc.once('close', () => live.delete(proc));
    const vm = new Vm(proc, dir, opts);
    if (path === bin) vm.spawnError = `${bin} not found: install the Debian package ${pkg} (scripts/setup.sh)`;
    proc.once('error', (err: NodeJS.ErrnoException) => {
      vm.spawnError ??= `${bin}: ${err.message}`;
    });
    return vm;
  }

  /** The QMP socket of a guest spawned with one. */
  qmpSocket(): string {
    return join(this.dir.path, QMP_SOCKET);
  }

  /** The last part of the guest console. */
  consoleTail(): string {
    try {
      return readFileSync(join(this.dir.path, 'console.log'), 'latin1').slice(-CONSOLE_TAIL_CHARS);
    } catch {
      return '';
    }
  }

  /** The share of one CPU QEMU used over the next second; null when it is gone. */
  private async cpuShare(): Promise<number | null> {
    const ticks = (): number | null => {
      try {
        const stat = readFileSync(`/proc/${this.proc.pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
      } catch {
        return null;
      }
    };
    const before = ticks();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = ticks();
    return before === null || after === null || this.exitStatus !== null ? null : (after - before) / USER_HZ;
  }

  private async exited(withinMs: number): Promise<boolean> {
    if (this.exitStatus !== null) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), withinMs)));
    const r = await Promise.race([this.exit, timeout]);
    clearTimeout(timer);
    return r !== null;
  }

  /**
   * Turns what went wrong while talking to the guest into a TargetError of the right kind:
   * a panic on the console wins; then a missed deadline; then QEMU gone before the handshake
   * (boot-fail) or after it (agent-error).
   */
  async fault(err: unknown, phase: 'boot' | { requestDeadlineMs: number }): Promise<TargetError> {
    const timedOut = err instanceof TargetError && err.kind === 'timeout';
    if (!timedOut) await this.exited(EXIT_GRACE_MS);
    if (this.spawnError) return new TargetError('unusable', `${this.what}: ${this.spawnError}`);
    const console = this.consoleTail();
    const message = err instanceof Error ? err.message : String(err);
    const panic = /Kernel panic[^\n]*/.exec(console);
    if (panic) return new TargetError('panic', `${this.what}: ${panic[0].trim()}`, console);
    if (timedOut) {
      // Saved with the report even when the guest printed nothing (quiet), so the report says so.
      const log = console || '(nothing on the guest console)\n';
      if (phase === 'boot') {
        return new TargetError('timeout', `${this.what}: no agent handshake within ${this.opts.bootDeadlineMs} ms of starting QEMU`, log);
      }
      const missed = `${message} (deadline ${phase.requestDeadlineMs} ms)`;
      const stuck = STUCK.exec(console);
      if (stuck) return new TargetError('hung', `${this.what}: ${stuck[0].trim()}; ${missed}`, log);
      const share = await this.cpuShare();
      const cpu = share === null ? 'QEMU gone' : `QEMU used ${Math.round(share * 100)}% of a CPU over 1 s`;
      if (share === null || share < IDLE_CPU_SHARE) return new TargetError('hung', `${this.what}: ${missed}; the guest stopped working (${cpu})`, log);
      return new TargetError('timeout', `${this.what}: ${missed}; the guest is still working (${cpu}): give it more time with --deadline`, log);
    }
    const agentFault = err instanceof TargetError && (err.kind === 'agent-error' || err.kind === 'agent-lost');
    if (err instanceof TargetError && !agentFault) return err; // e.g. harness-fault: not the VM's doing
    const qemu = `QEMU ${this.exitStatus ?? 'still running'}${this.stderr.trim() ? `: ${this.stderr.trim()}` : ''}`;
    if (phase === 'boot' && (this.exitStatus !== null || (err instanceof TargetError && err.kind === 'agent-lost'))) {
      return new TargetError('boot-fail', `${this.what}: the guest never ran the agent (${qemu})`, console);
    }
    // After the handshake: a guest that went away, or whose agent's channel closed, lost its agent.
    const lost = this.exitStatus !== null || (err instanceof TargetError && err.kind === 'agent-lost');
    return new TargetError(lost ? 'agent-lost' : 'agent-error', `${this.what}: ${message} (${qemu})`, console);
  }

  /** BYE, then wait for the guest to power off; one that does not is killed. */
  async stop(client: AgentClient): Promise<void> {
    await client.bye().catch(() => undefined);
    if (!(await this.exited(BYE_EXIT_MS))) await this.kill();
    this.cleanup();
  }

  async kill(): Promise<void> {
    if (this.exitStatus === null) {
      this.proc.kill('SIGKILL');
      await this.exit;
    }
    this.cleanup();
  }

  private cleanup(): void {
    this.dir.remove();
  }
}

/**
 * KVM is used only when a probe boot with it reached the agent on this host (facts: /dev/kvm can
 * open yet guests die with "emulation failure"); the verdict is cached per host kernel and arch.
 * MPROG_ACCEL=tcg|kvm overrides.
 */
export async function chooseAccel(kernel: PreparedKernel, initramfs: string): Promise<Accel> {
  const forced = process.env['MPROG_ACCEL'];
  if (forced === 'tcg' || forced === 'kvm') return forced;
  if (hostArch() !== kernel.arch || !kvmUsable()) return 'tcg';
  const file = join(cacheRoot(), 'kvm-probe.json');
  const key = `${release()} ${kernel.arch}`;
  const verdicts = kvmVerdicts(file);
  if (verdicts[key] === undefined) {
    verdicts[key] = await probeKvm(kernel, initramfs);
    mkdirSync(cacheRoot(), { recursive: true });
    const tmp = scratchFor(file);
    writeFileSync(tmp, JSON.stringify(verdicts, null, 2) + '\n');
    renameSync(tmp, file);
  }
  return verdicts[key]!;
}

/** The cached KVM verdicts; a file that is not what chooseAccel writes is said so and probed again. */
function kvmVerdicts(file: string): Record<string, Accel> {
  if (!existsSync(file)) return {};
  try {
    const verdicts = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (typeof verdicts === 'object' && verdicts !== null && !Array.isArray(verdicts) && Object.values(verdicts).every((v) => v === 'tcg' || v === 'kvm')) {
      return verdicts as Record<string, Accel>;
    }
  } catch {
    // not JSON: as damaged as any other content
  }
  tellDamaged(file, 'not a map of KVM verdicts ("tcg" or "kvm")');
  return {};
}

function kvmUsable(): boolean {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

async function probeKvm(kernel: PreparedKernel, initramfs: string): Promise<Accel> {
  try {
    const { vm, client } = await Vm.boot({ kernel, initramfs, accel: 'kvm', bootDeadlineMs: 20_000 });
    await vm.stop(client);
    return 'kvm';
  } catch {
    return 'tcg';
  }
}
