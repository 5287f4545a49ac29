// Target `host`: the running kernel, through the agent binary of this machine's architecture
// run as a child process over stdio. Every sequence gets its own network namespace (the agent
// forks per sequence), so the host's own devices are never touched.

import { notice } from '../../vm/notices.js';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { projectBpftoolCommand, type BpftoolCommand } from '../../vm/host-bpftool.js';
import { buildAgent, type AgentBuild } from '../../vm/agent-build.js';
import { atExit, findOnPath, tied } from '../../vm/lifetime.js';
import { hostArch, type Arch } from '../../vm/paths.js';
import { LIBSTDBUF } from '../../vm/userland.js'; // Debian's path, on this machine as in a guest
import type { RawSequenceResult, Sequence } from '../../contract/seq.js';
import { AgentClient } from '../../vm/agent/agent-client.js';
import { DEFAULT_DEADLINE, type Deadline, type RunOptions, TargetError, type Target } from '../../contract/target.js';

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

async function startHost(): Promise<Running> {
  checkPrivileges();
  const agent = await buildAgent(agentArch()).catch((err: Error) => {
    throw new TargetError('unusable', `host target: ${err.message}`);
  });
  const reasons: string[] = [];
  // The agent runs bpftool line-buffered, through the library `stdbuf -oL` preloads (coreutils).
  if (!existsSync(LIBSTDBUF)) reasons.push(`${LIBSTDBUF} (coreutils) is missing`);
  for (const candidate of reasons.length ? [] : BPFTOOL_CANDIDATES) {
    const bpftool = await candidate.find().catch((err: Error) => {
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
    reasons.push(verdict === 'no-bpftool' ? `${bpftool.bpftool} -j batch (net show) failed` : `${bpftool.bpftool} does not list tcx attachments (tcx needs bpftool 7.3 or later)`);
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
  // The agent forks a child per sequence (and bpftool under it): tied as a tree, so a killed mprog
  // leaves no sequence running in its netns. Its own process group keeps a terminal's Ctrl-C for mprog.
  const agent = spawn(...tied(agentPath, bpftool === null ? [] : bpftoolArgs(build, bpftool), { tree: true }), {
    stdio: ['pipe', 'pipe', 'inherit'],
    detached: true,
  });
  const forget = atExit(() => agent.kill('SIGKILL'));
  agent.once('exit', forget);
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
