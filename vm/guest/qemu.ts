// One QEMU guest running the mprog agent: launch (a boot, or a resume of the guest saved at its
// first boot), handshake, and the classification of every way it can go wrong (boot-fail, panic,
// timeout, hung, agent-lost, agent-error), always with the console tail.
// The agent's channel is a virtio-serial port wired to QEMU's stdio; the console goes to a file.

import { notice } from '../runtime/notices.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { constants, accessSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { basename, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { AgentClient } from '../agent/client.js';
import { TargetError } from '../../contract/target.js';
import { AGENT_PORT_NAME } from './initramfs.js';
import type { PreparedKernel } from './boot-kernel.js';
import { atExit, findOnPath, scratchDir, tied } from '../runtime/lifetime.js';
import { discardSnapshot, saveSnapshot, savedGuest, snapshotPath, streamState, touchSnapshot, type SnapshotManifest } from './snapshot.js';
import { readCachedFile } from '../runtime/cache-products.js';
import { cacheRoot, hostArch, scratchFor, type Arch } from '../runtime/paths.js';

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
const STUCK =
  /soft lockup[^\n]*|hard LOCKUP[^\n]*|rcu: [^\n]*detected[^\n]*stall[^\n]*|blocked for more than \d+ seconds[^\n]*|BUG: [^\n]*|Oops[^\n]*/;
/**
 * How a missed deadline is judged (README, "Faults and exit codes"). Measured under TCG on this
 * 2-core machine at load 3–5 (other QEMU jobs and busy loops beside it), QEMU as a whole: a guest
 * waiting for input 0–1.5% of a CPU per 2 s sample; a guest replaying 55–100%. A guest is hung
 * only if over all of HUNG_WINDOW_MS QEMU used less than HUNG_CPU_SHARE of a CPU and the agent
 * sent nothing (a late answer means it was working); it is still working as soon as it has used
 * more than that share of the window, or the agent sends anything.
 */
const HUNG_WINDOW_MS = 3000;
const HUNG_CPU_SHARE = 0.1;
const WATCH_STEP_MS = 250;
/** The console kept with a saved guest (its boot), and read back into a resumed one's. */
const SAVED_CONSOLE_CHARS = 32_000;
/** /proc/PID/stat times are in USER_HZ, 100 on every Linux ABI. */
const USER_HZ = 100;
/** How long a guest that is going down (panic → reboot) gets to finish before it is judged. */
const EXIT_GRACE_MS = 3000;
const BYE_EXIT_MS = 10_000;
const QMP_SOCKET = 'qmp.sock';
/** Between a resumed guest's saved boot console and what it prints once resumed. */
const RESUMED_MARK = '--- mprog: the guest was saved after this boot and resumed here ---\n';

/** What this guest printed itself: for a resumed one, what follows the saved boot's console. */
function sinceResume(console: string): string {
  const at = console.lastIndexOf(RESUMED_MARK);
  return at < 0 ? console : console.slice(at + RESUMED_MARK.length);
}

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

/** QEMU with the agent's channel on stdin/stdout, its stderr, and fd 3 for an incoming saved guest. */
type QemuProcess = ChildProcess & { stdin: Writable; stdout: Readable; stderr: Readable; stdio: [Writable, Readable, Readable, Writable | null] };

/** A saved guest that turned out not to be what was saved: its reason, for discardSnapshot. */
class DamagedSnapshot extends Error {}

const live = new Set<QemuProcess>();
// Besides the OS-level tie (tied()): a guest must not outlive an orderly exit either.
atExit(() => {
  for (const proc of live) proc.kill('SIGKILL');
});

function cmdline(arch: Arch, extra?: string): string {
  // rcu_expedited: every tcx change waits for a grace period (11 ms under TCG without it).
  // ipv6.disable: each sequence's fresh netns would build and tear down IPv6 state the mprog API
  // never touches (a fifth of a sequence's time under TCG).
  // oops=panic: an oops (a BUG(), a bad pointer) otherwise kills only the calling process and
  // leaves the kernel running on, maybe holding rtnl: it is the kernel's crash, and said as one.
  return [`console=${QEMU[arch].console}`, 'panic=-1', 'oops=panic', 'rcupdate.rcu_expedited=1', 'ipv6.disable=1', 'quiet', extra ?? '']
    .join(' ')
    .trim();
}

function qemuArgs(opts: VmOptions, consoleFile: string): string[] {
  const arch = opts.kernel.arch;
  // Under KVM the guest gets the host CPU; -cpu max/cortex-a72 are for TCG.
  const machine = opts.accel === 'kvm' ? [QEMU[arch].machine[0]!, QEMU[arch].machine[1]!, '-cpu', 'host'] : QEMU[arch].machine;
  return [
    ...machine,
    '-accel',
    opts.accel,
    '-m',
    '512',
    '-smp',
    '1',
    '-nodefaults',
    '-display',
    'none',
    '-monitor',
    'none',
    '-no-reboot',
    '-kernel',
    opts.kernel.image,
    '-initrd',
    opts.initramfs,
    '-append',
    cmdline(arch, opts.extraCmdline),
    // append: a resumed guest's console file starts with the console of the boot it was saved from.
    '-chardev',
    `file,id=con,path=${consoleFile},append=on`,
    '-serial',
    'chardev:con',
    '-device',
    'virtio-serial-pci,id=vser',
    '-chardev',
    'stdio,id=agent,signal=off',
    '-device',
    `virtserialport,bus=vser.0,chardev=agent,name=${AGENT_PORT_NAME}`,
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
  /** When the agent last sent anything (ms since the epoch). */
  private agentOutputAt = 0;

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
    const snapshot =
      qemu && !opts.extraCmdline ? snapshotPath({ qemu, kernel: opts.kernel.image, initramfs: opts.initramfs, args: qemuArgs(opts, '') }) : null;
    const saved = snapshot ? savedGuest(snapshot) : null;
    if (snapshot && saved) {
      try {
        const resumed = await Vm.start(opts, { resume: { file: snapshot, manifest: saved } });
        touchSnapshot(snapshot);
        return resumed;
      } catch (err) {
        discardSnapshot(snapshot, err instanceof DamagedSnapshot ? err.message : 'QEMU could not resume this saved guest');
      }
    }
    if (snapshot) notice(`${opts.kernel.arch} guest of ${basename(opts.kernel.image)}: first boot, then saved so that later guests resume it`);
    return Vm.start(opts, { save: snapshot });
  }

  /**
   * Boots (and saves the booted guest to `save`), or resumes the guest saved in `resume`: its
   * state streamed to QEMU and hashed on the way, the guest used only when every byte matched and
   * it reports the kernel release recorded (and, where known, the kernel's own); otherwise a
   * DamagedSnapshot saying why.
   */
  private static async start(
    opts: VmOptions,
    state: { resume?: { file: string; manifest: SnapshotManifest }; save?: string | null },
  ): Promise<Booted> {
    const started = Date.now();
    const resume = state.resume;
    const vm = Vm.spawn(opts, { incoming: resume?.manifest.console, qmp: !!state.save });
    const verdict = resume && vm.proc.stdio[3] ? streamState(resume.file, resume.manifest, vm.proc.stdio[3]) : Promise.resolve(null);
    // A stream that does not match is not waited on to the boot deadline: QEMU goes at once.
    void verdict.then((why) => {
      if (why) vm.proc.kill('SIGKILL');
    });
    try {
      const connecting = AgentClient.connect(
        { input: vm.proc.stdout, output: vm.proc.stdin },
        // A resumed agent said READY before it was saved: it answers the handshake at once.
        { deadlineMs: opts.bootDeadlineMs, waitReady: !resume },
      );
      vm.proc.stdout.on('data', () => (vm.agentOutputAt = Date.now()));
      const client = await connecting.catch(async (err: unknown) => {
        const why = await verdict;
        throw why ? new DamagedSnapshot(why) : err;
      });
      const why = await verdict;
      if (why) throw new DamagedSnapshot(why);
      const known = opts.kernel.release ?? null;
      if (resume && (client.kernelRelease !== resume.manifest.release || (known !== null && client.kernelRelease !== known))) {
        throw new DamagedSnapshot(
          `the resumed guest reports kernel ${client.kernelRelease}, but it was saved from ${resume.manifest.release}` +
            (known !== null && known !== resume.manifest.release ? ` and the kernel is ${known}` : known !== null ? ` (the kernel's release)` : ''),
        );
      }
      const bootMs = Date.now() - started;
      if (state.save) {
        if (known !== null && client.kernelRelease !== known) {
          tellUnsaved(new Error(`the guest reports kernel ${client.kernelRelease}, not ${known}`));
        } else {
          const console = vm.console(SAVED_CONSOLE_CHARS);
          await saveSnapshot(vm.qmpSocket(), state.save, { release: client.kernelRelease, console }).catch((err: Error) => tellUnsaved(err));
        }
      }
      return { vm, client, bootMs, resumed: !!resume };
    } catch (err) {
      if (err instanceof DamagedSnapshot) {
        await vm.kill();
        throw err;
      }
      const fault = await vm.fault(err, 'boot');
      await vm.kill();
      throw fault;
    }
  }

  /**
   * QEMU for `opts`; `incoming`: resume a saved guest, streamed to fd 3 (the console of its boot
   * given, to start the console file with); `qmp`: a QMP socket (qmpSocket()).
   */
  private static spawn(opts: VmOptions, extra: { incoming?: string | undefined; qmp?: boolean } = {}): Vm {
    const { bin, pkg } = QEMU[opts.kernel.arch];
    const dir = scratchDir('mprog-vm');
    const consoleFile = join(dir.path, 'console.log');
    writeFileSync(
      consoleFile,
      extra.incoming === undefined ? '' : `${extra.incoming}${extra.incoming && !extra.incoming.endsWith('\n') ? '\n' : ''}${RESUMED_MARK}`,
    );
    const extraArgs = [
      ...(extra.incoming !== undefined ? ['-incoming', 'fd:3'] : []),
      ...(extra.qmp ? ['-qmp', `unix:${join(dir.path, QMP_SOCKET)},server=on,wait=off`] : []),
    ];
    // Found here, since setpriv (tied) would turn a missing QEMU into its own exit status.
    const path = findOnPath(bin) ?? bin;
    // Own process group (detached): a Ctrl-C at the terminal reaches mprog, which decides what the
    // guest's end means, not the guest directly.
    const stdio = extra.incoming !== undefined ? ['pipe', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'];
    const proc = spawn(...tied(path, [...qemuArgs(opts, consoleFile), ...extraArgs]), {
      stdio: stdio as ['pipe', 'pipe', 'pipe'],
      detached: true,
    }) as unknown as QemuProcess;
    // QEMU gone before it read the whole saved state: streamState says so; the write must not crash node.
    (proc.stdio[3] as Writable | null | undefined)?.on('error', () => undefined);
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

  /**
   * The last part of the guest console, read now (never empty: a guest that printed nothing says
   * so, and every fault carries a console).
   */
  consoleTail(chars = CONSOLE_TAIL_CHARS): string {
    const text = this.console(chars);
    return text.trim() === '' || text.endsWith(RESUMED_MARK) ? `${text}(nothing on the guest console${text ? ' since' : ''})\n` : text;
  }

  /** The last `chars` of the console file as it is now ('' when there is none). */
  private console(chars: number): string {
    try {
      return readFileSync(join(this.dir.path, 'console.log'), 'latin1').slice(-chars);
    } catch {
      return ''; // the scratch directory is gone (the VM was cleaned up)
    }
  }

  /** QEMU's CPU time so far (s); null when it is gone. */
  private cpuSeconds(): number | null {
    try {
      const stat = readFileSync(`/proc/${this.proc.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / USER_HZ; // utime, stime (fields 14 and 15 of stat)
    } catch {
      return null;
    }
  }

  /**
   * Watches a guest that missed a deadline for up to HUNG_WINDOW_MS: 'working' as soon as the
   * agent sends anything or QEMU has used more than HUNG_CPU_SHARE of the window, 'idle' when
   * neither happened over all of it, 'gone' when QEMU exited meanwhile; with what was seen.
   */
  private async watch(since: number): Promise<{ verdict: 'working' | 'idle' | 'gone'; seen: string }> {
    const start = Date.now();
    const cpu0 = this.cpuSeconds();
    // Anything the agent sent from about the moment of the deadline on shows it was working.
    const outputBefore = since - WATCH_STEP_MS;
    const budget = HUNG_CPU_SHARE * (HUNG_WINDOW_MS / 1000);
    for (;;) {
      const cpu = this.cpuSeconds();
      const elapsed = Date.now() - start;
      const used = cpu0 === null || cpu === null ? 0 : cpu - cpu0;
      const seen = `QEMU used ${used.toFixed(2)} s of CPU in ${(elapsed / 1000).toFixed(1)} s`;
      if (this.exitStatus !== null || cpu === null) return { verdict: 'gone', seen };
      if (this.agentOutputAt > outputBefore)
        return {
          verdict: 'working',
          seen: `the agent answered ${Date.now() - this.agentOutputAt < 50 ? 'just now' : 'after the deadline'}; ${seen}`,
        };
      if (used > budget) return { verdict: 'working', seen };
      if (elapsed >= HUNG_WINDOW_MS) return { verdict: 'idle', seen: `${seen}, and the agent sent nothing` };
      await new Promise((resolve) => setTimeout(resolve, WATCH_STEP_MS));
    }
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
    const at = Date.now();
    const timedOut = err instanceof TargetError && err.kind === 'timeout';
    if (!timedOut) await this.exited(EXIT_GRACE_MS);
    if (this.spawnError) return new TargetError('unusable', `${this.what}: ${this.spawnError}`);
    let console = this.consoleTail();
    const message = err instanceof Error ? err.message : String(err);
    const panic = /Kernel panic[^\n]*/.exec(sinceResume(console));
    if (panic) return new TargetError('panic', `${this.what}: ${panic[0].trim()}`, console);
    if (timedOut) {
      if (phase === 'boot') {
        return new TargetError('timeout', `${this.what}: no agent handshake within ${this.opts.bootDeadlineMs} ms of starting QEMU`, console);
      }
      const missed = `${message} (deadline ${phase.requestDeadlineMs} ms)`;
      const stuck = STUCK.exec(sinceResume(console));
      if (stuck) return new TargetError('hung', `${this.what}: ${stuck[0].trim()}; ${missed}`, console);
      const { verdict, seen } = await this.watch(at);
      console = this.consoleTail(); // what the guest printed while it was watched
      const late = /Kernel panic[^\n]*/.exec(sinceResume(console)) ?? STUCK.exec(sinceResume(console));
      if (late) return new TargetError(/^Kernel panic/.test(late[0]) ? 'panic' : 'hung', `${this.what}: ${late[0].trim()}; ${missed}`, console);
      if (verdict === 'idle') return new TargetError('hung', `${this.what}: ${missed}; the guest stopped working (${seen})`, console);
      if (verdict === 'working')
        return new TargetError(
          'timeout',
          `${this.what}: ${missed}; the guest is still working (${seen}): give it more time with --deadline`,
          console,
        );
      await this.exited(EXIT_GRACE_MS);
      return new TargetError('agent-lost', `${this.what}: ${missed}; then QEMU went away (${this.exitStatus ?? 'gone'})`, console);
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
  const { accel, why } = await accelAndWhy(kernel, initramfs);
  // Said once per arch and process: how every guest of that arch will run, and why.
  if (!said.has(kernel.arch)) {
    said.add(kernel.arch);
    notice(`QEMU accelerator for ${kernel.arch} guests: ${accel.toUpperCase()} (${why})`);
  }
  return accel;
}

const said = new Set<string>();

async function accelAndWhy(kernel: PreparedKernel, initramfs: string): Promise<{ accel: Accel; why: string }> {
  const forced = process.env['MPROG_ACCEL'];
  if (forced === 'tcg' || forced === 'kvm') return { accel: forced, why: `MPROG_ACCEL=${forced}` };
  if (hostArch() !== kernel.arch) return { accel: 'tcg', why: `the host is ${hostArch() ?? process.arch}` };
  if (!kvmUsable()) return { accel: 'tcg', why: '/dev/kvm cannot be opened for reading and writing' };
  const file = join(cacheRoot(), 'kvm-probe.json');
  const key = `${release()} ${kernel.arch}`;
  const verdicts = kvmVerdicts(file);
  const cached = verdicts[key] !== undefined;
  if (!cached) {
    verdicts[key] = await probeKvm(kernel, initramfs);
    mkdirSync(cacheRoot(), { recursive: true });
    const tmp = scratchFor(file);
    writeFileSync(tmp, JSON.stringify(verdicts, null, 2) + '\n');
    renameSync(tmp, file);
  }
  const probed = cached ? `the probe boot on host kernel ${release()}, remembered in ${file}` : `a probe boot just now on host kernel ${release()}`;
  return verdicts[key] === 'kvm' ? { accel: 'kvm', why: `${probed} reached the agent with KVM` } : { accel: 'tcg', why: `${probed} with KVM failed` };
}

/** The cached KVM verdicts; a file that is not what chooseAccel writes is said so and probed again. */
function kvmVerdicts(file: string): Record<string, Accel> {
  let verdicts: Record<string, Accel> = {};
  readCachedFile(file, (data) => {
    try {
      const v = JSON.parse(data.toString('utf8')) as unknown;
      if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => x === 'tcg' || x === 'kvm')) {
        verdicts = v as Record<string, Accel>;
        return null;
      }
    } catch {
      // not JSON: as damaged as any other content
    }
    return 'not a map of KVM verdicts ("tcg" or "kvm")';
  });
  return verdicts;
}

/** /dev/kvm is there to open: only then is a probe boot worth trying (and its verdicts read). */
export function kvmUsable(): boolean {
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
