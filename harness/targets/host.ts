// Target `host`: the running kernel, through the agent binary of this machine's architecture
// run as a child process over stdio. Every sequence gets its own network namespace (the agent
// forks per sequence), so the host's own devices are never touched. Its cgroups, the one host
// object that outlives every process (a directory with programs attached stays), are removed by
// the reaper (`mprog-agent --reap`, vm/agent/cgroups.c) once the run has ended, however it ended.

import { notice } from '../../vm/runtime/notices.js';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { projectBpftoolCommand, type BpftoolCommand } from '../../vm/debian/project-bpftool.js';
import { buildAgent, type AgentBuild } from '../../vm/agent/compile.js';
import { atExit, findOnPath, tied } from '../../vm/runtime/lifetime.js';
import { hostArch, type Arch } from '../../vm/runtime/paths.js';
import { LIBSTDBUF } from '../../vm/debian/guest-userland.js'; // Debian's path, on this machine as in a guest
import type { RawSequenceResult, Sequence } from '../../contract/seq.js';
import { AgentClient } from '../../vm/agent/client.js';
import { DEFAULT_DEADLINE, type Deadline, type RunOptions, SETTLE_DEADLINE_MS, TargetError, type Target } from '../../contract/target.js';
import { MprogError } from '../../contract/errors.js';

const CONNECT_DEADLINE_MS = 10_000;
const PROBE_DEADLINE_MS = 30_000;
const EXIT_DEADLINE_MS = 5_000;

// include/uapi/linux/capability.h
const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;
const CAP_BPF = 39n;

type AgentProcess = ChildProcessByStdio<Writable, Readable, null>;

interface Running {
  agent: AgentProcess;
  client: AgentClient;
}

/** Said once per process: why host results are not cross-checked against bpftool. */
let toldNoBpftool = false;

export class HostTarget implements Target {
  readonly spec = 'host';
  private running: Promise<Running> | null = null;

  constructor(private readonly deadline: Deadline = DEFAULT_DEADLINE) {}

  /** uname -r, as the agent reports it; starting the agent here makes an unusable host fail early. */
  async kernel(): Promise<string> {
    const { client } = await this.start();
    return client.kernelRelease;
  }

  async run(seq: Sequence, opts: RunOptions = {}): Promise<RawSequenceResult> {
    const running = this.start();
    const { agent, client } = await running;
    try {
      return await client.run(seq, { deadline: this.deadline, ...opts });
    } finally {
      // After a timeout or a broken exchange the next sequence gets a fresh agent.
      if (!client.usable && this.running === running) {
        this.running = null;
        agent.kill('SIGKILL');
      }
    }
  }

  async settle(): Promise<void> {
    const { client } = await this.start();
    await client.settle(SETTLE_DEADLINE_MS);
  }

  /** The agent's own raw attach+detach rate on this kernel. */
  async rawBench(iterations: number, deadlineMs: number): Promise<{ calls: number; elapsedNs: number }> {
    const { client } = await this.start();
    return client.rawBench(iterations, deadlineMs);
  }

  async close(): Promise<void> {
    const running = this.running;
    this.running = null;
    const started = await running?.catch(() => null); // one that never started has nothing to stop
    if (started) await stopAgent(started.agent, started.client);
  }

  /** Checks privileges, builds the agent if needed and starts it (once; later calls share it). */
  start(): Promise<Running> {
    this.running ??= startHost();
    return this.running;
  }
}

/** The bpftools the cross-check can use, in order: the one on PATH, then the project's own. */
const BPFTOOL_CANDIDATES: { what: string; find: () => Promise<BpftoolCommand | null> }[] = [
  {
    what: 'bpftool on PATH',
    find: async () => {
      const bpftool = findOnPath('bpftool');
      return bpftool === null ? null : { bpftool };
    },
  },
  { what: "the project's bpftool (Debian's, via the private apt)", find: () => projectBpftoolCommand(agentArch()) },
];

/**
 * The run's reaper: `mprog-agent --reap`, in a session of its own and not tied to this process's
 * life (no pdeathsig, no PID namespace), so that it outlives a SIGKILL of node. It reads a pipe
 * whose write end this process, every agent and every sequence process hold (`--reaper-fd 3`):
 * at EOF, every process of the run that could make a cgroup has ended, however it ended, and the
 * reaper removes the cgroup trees they made (their names carry `--cgroup-tag`, its pid) and exits.
 * A `SWEEP` line, sent when an agent ends (killed after a missed deadline, say) while the run goes
 * on, removes at once the trees whose owner is gone. One per process, shared by every host target.
 */
interface Reaper {
  pipe: Socket;
  tag: string;
}

let reaper: Reaper | null = null;

function startReaper(agentPath: string): Reaper {
  if (reaper && !reaper.pipe.destroyed) return reaper;
  const child = spawn(agentPath, ['--reap'], { stdio: ['pipe', 'ignore', 'inherit'], detached: true });
  // Neither the process nor its pipe keep node's event loop alive: the pipe closes when node goes.
  child.unref();
  const pipe = child.stdin as unknown as Socket;
  pipe.unref();
  pipe.on('error', () => undefined); // a reaper that is gone: the next host target starts another
  child.once('error', () => pipe.destroy());
  child.once('exit', () => pipe.destroy());
  if (child.pid === undefined) throw new TargetError('unusable', `host target: cannot run ${agentPath} --reap`);
  reaper = { pipe, tag: String(child.pid) };
  return reaper;
}

/** Tells the reaper to remove now the cgroup trees whose owner is gone (an agent ended). */
function sweepCgroups(r: Reaper): void {
  if (!r.pipe.destroyed) r.pipe.write('SWEEP\n');
}

async function startHost(): Promise<Running> {
  checkPrivileges();
  const agent = await buildAgent(agentArch()).catch((err: unknown) => {
    if (err instanceof TargetError || !(err instanceof MprogError)) throw err; // a bug goes up as it is
    throw new TargetError('unusable', `host target: ${err.message}`, undefined, err);
  });
  const reasons: string[] = [];
  // The agent runs bpftool line-buffered, through the library `stdbuf -oL` preloads (coreutils).
  if (!existsSync(LIBSTDBUF)) reasons.push(`${LIBSTDBUF} (coreutils) is missing`);
  for (const candidate of reasons.length ? [] : BPFTOOL_CANDIDATES) {
    const bpftool = await candidate.find().catch((err: unknown) => {
      if (!(err instanceof MprogError)) throw err; // a bug, not a reason to go without the check
      reasons.push(`${candidate.what}: ${err.message}`);
      return null;
    });
    if (bpftool === null) continue;
    const probing = await startAgent(agent, bpftool);
    const verdict = await probing.client.probeBpftool(PROBE_DEADLINE_MS).catch(async (err: unknown) => {
      await stopAgent(probing.agent, probing.client);
      throw err;
    });
    if (verdict === 'lists-tcx') return probing;
    await stopAgent(probing.agent, probing.client);
    if (verdict === 'no-tcx') {
      reasons.push('this kernel refused a tcx attach, so bpftool cannot be checked');
      break;
    }
    reasons.push(
      verdict === 'no-bpftool'
        ? `${bpftool.bpftool} -j batch (net show) failed`
        : `${bpftool.bpftool} does not list tcx attachments (tcx needs bpftool 7.3 or later)`,
    );
  }
  tellNoBpftool(reasons.join('; '));
  return startAgent(agent, null);
}

function tellNoBpftool(why: string): void {
  if (toldNoBpftool) return;
  toldNoBpftool = true;
  notice(`host: ${why}; query results are not cross-checked against bpftool`);
}

/**
 * bpf(2) needs CAP_BPF (or CAP_SYS_ADMIN) and tcx needs CAP_NET_ADMIN; the private network
 * namespace each sequence runs in needs CAP_SYS_ADMIN (unshare(CLONE_NEWNET)).
 */
function checkPrivileges(): void {
  const status = readFileSync('/proc/self/status', 'utf8');
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (capEff === undefined) throw new TargetError('unusable', 'host target: no CapEff line in /proc/self/status');
  const caps = BigInt(`0x${capEff}`);
  const has = (cap: bigint): boolean => ((caps >> cap) & 1n) === 1n;
  const missing = [
    ...(has(CAP_SYS_ADMIN) ? [] : ['CAP_SYS_ADMIN (for a private network namespace)']),
    ...(has(CAP_NET_ADMIN) ? [] : ['CAP_NET_ADMIN']),
    ...(has(CAP_BPF) || has(CAP_SYS_ADMIN) ? [] : ['CAP_BPF']),
  ];
  if (missing.length > 0) {
    throw new TargetError(
      'unusable',
      `host target needs root (effective capabilities CAP_SYS_ADMIN, CAP_NET_ADMIN and CAP_BPF); missing: ${missing.join(', ')}. ` +
        `Run as root (e.g. sudo), or use --target emulator or a qemu: target.`,
    );
  }
}

/** This machine's arch, which the host agent and bpftool are built for. */
function agentArch(): Arch {
  const arch = hostArch();
  if (arch === null) throw new TargetError('unusable', `host target: no agent build for this architecture (${process.arch}); known: x86_64, arm64`);
  return arch;
}

/** The agent's options that run `bpftool` for the cross-check. */
function bpftoolArgs(build: AgentBuild, bpftool: BpftoolCommand): string[] {
  const loader = bpftool.loader ? ['--bpftool-loader', bpftool.loader.path, bpftool.loader.libraryPath] : [];
  return ['--bpftool', bpftool.bpftool, ...loader, '--stdbuf', LIBSTDBUF, '--bpftool-zygote', build.bpftoolZygote];
}

async function startAgent(build: AgentBuild, bpftool: BpftoolCommand | null): Promise<Running> {
  const agentPath = build.agent;
  const reaps = startReaper(agentPath);
  const args = [...(bpftool === null ? [] : bpftoolArgs(build, bpftool)), '--reaper-fd', '3', '--cgroup-tag', reaps.tag];
  // The agent forks a child per sequence (and bpftool under it): tied as a tree, so a killed mprog
  // leaves no sequence running in its netns. Its own process group keeps a terminal's Ctrl-C for
  // mprog. Fd 3: the reaper's pipe, which the agent and its sequence processes hold.
  const agent = spawn(...tied(agentPath, args, { tree: true }), {
    stdio: ['pipe', 'pipe', 'inherit', reaps.pipe],
    detached: true,
  }) as AgentProcess;
  const forget = atExit(() => agent.kill('SIGKILL'));
  agent.once('exit', () => {
    forget();
    // Its PID namespace has gone with it: what its sequences left goes now, not at the run's end.
    sweepCgroups(reaps);
  });
  const spawned = new Promise<void>((resolve, reject) => {
    agent.once('spawn', resolve);
    agent.once('error', (err) => reject(new TargetError('unusable', `host target: cannot run ${agentPath}: ${err.message}`)));
  });
  // A dead agent shows up as a closed stream in the client; a write to it must not crash node.
  agent.stdin.on('error', () => undefined);
  try {
    await spawned;
    const client = await AgentClient.connect({ input: agent.stdout, output: agent.stdin }, { deadlineMs: CONNECT_DEADLINE_MS });
    return { agent, client };
  } catch (err) {
    agent.kill('SIGKILL');
    throw err;
  }
}

/** BYE, then wait for the exit; an agent that does not go is killed. */
async function stopAgent(agent: AgentProcess, client: AgentClient): Promise<void> {
  const exited = new Promise<void>((resolve) => {
    if (agent.exitCode !== null || agent.signalCode !== null) resolve();
    else agent.once('exit', () => resolve());
  });
  try {
    await client.bye();
  } catch {
    // fall through to the kill below
  }
  const timer = setTimeout(() => agent.kill('SIGKILL'), EXIT_DEADLINE_MS);
  await exited;
  clearTimeout(timer);
}
