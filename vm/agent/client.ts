// The host side of an mprog-agent session (vm/agent/PROTOCOL.md): the line transport with its
// deadlines, the handshake, one exchange at a time with requests pipelined, and a sequence's
// replies read into a RawSequenceResult (codec: agent-codec.ts), cross-checked with bpftool
// (agent-bpftool.ts).

import { BPF_TCX_INGRESS } from '../../uapi/bpf.js';
import type { KernelWorld } from '../../contract/world.js';
import { LOOPBACK_IFINDEX, type RawSequenceResult, type Sequence, nameTable } from '../../contract/seq.js';
import { bpftoolEntries, crossCheck } from './bpftool-check.js';
import { checkInt, devIfindex, lower, objectIndex, parseCgroupAncestor, parseOutside, parseResult, parseWorld } from './codec.js';
import type { GcdaFile } from '../../contract/coverage.js';
import { DEFAULT_DEADLINE, type Deadline, TargetError } from '../../contract/target.js';

const PROTOCOL_VERSION = 1;
const BYE_DEADLINE_MS = 10_000;

/** Splits the agent's byte stream into lines; every wait for a line has a deadline. */
class LineReader {
  private partial = '';
  private readonly lines: string[] = [];
  private closed: string | null = null;
  private wake: (() => void) | null = null;

  constructor(input: NodeJS.ReadableStream) {
    input.setEncoding('utf8');
    input.on('data', (chunk: string) => {
      const parts = (this.partial + chunk).split('\n');
      this.partial = parts.pop() ?? '';
      for (const line of parts) this.lines.push(line.replace(/\r$/, ''));
      this.notify();
    });
    input.on('end', () => this.close('the agent closed the connection'));
    input.on('close', () => this.close('the agent closed the connection'));
    input.on('error', (err: Error) => this.close(`reading from the agent failed: ${err.message}`));
  }

  private close(why: string): void {
    this.closed ??= why;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  get isClosed(): boolean {
    return this.closed !== null && this.lines.length === 0;
  }

  /** The next line; `what` says in errors what was being waited for. */
  async next(deadline: number, what: string): Promise<string> {
    for (;;) {
      const line = this.lines.shift();
      if (line !== undefined) return line;
      if (this.closed !== null) throw new TargetError('agent-lost', `${this.closed} while waiting for ${what}`);
      if (Date.now() >= deadline) throw new TargetError('timeout', `no answer from the agent in time while waiting for ${what}`);
      await this.news(deadline);
    }
  }

  /** Waits until the stream ends (the agent exited). */
  async ended(deadline: number, what: string): Promise<void> {
    for (;;) {
      this.lines.length = 0;
      if (this.closed !== null) return;
      if (Date.now() >= deadline) throw new TargetError('timeout', `the agent did not exit in time after ${what}`);
      await this.news(deadline);
    }
  }

  /** Resolves when a line or the end of the stream arrives, or at the deadline. */
  private news(deadline: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, deadline - Date.now());
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** What one replay produced, before the bpftool cross-check decides anything. */
interface Replay {
  raw: RawSequenceResult;
  /** `bpftool net show -j` output per query step index; null when the agent sent `-`. */
  bpftool: Map<number, string | null>;
  /** ifindex each query step addressed (for device names: as known from the agent's D lines). */
  queryIfindex: Map<number, number>;
}

/** Errors that stand for a FAIL answer: the agent finished the exchange, the stream is in step. */
const agentFails = new WeakSet<TargetError>();

function failAnswer(err: TargetError): TargetError {
  agentFails.add(err);
  return err;
}

export class AgentClient {
  /** Serialises calls: the protocol is one exchange at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Set once an exchange broke off midway; the stream is then out of step with the agent. */
  private broken: string | null = null;

  private constructor(
    private readonly reader: LineReader,
    private readonly output: NodeJS.WritableStream,
    readonly kernelRelease: string,
    readonly machine: string,
  ) {}

  /**
   * (Optionally waits for READY, then) does the HELLO handshake. Lines before the answer
   * (console noise, READY) are skipped.
   */
  static async connect(
    io: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream },
    opts: { deadlineMs: number; waitReady?: boolean },
  ): Promise<AgentClient> {
    const deadline = Date.now() + opts.deadlineMs;
    const reader = new LineReader(io.input);
    if (opts.waitReady) {
      while ((await reader.next(deadline, 'READY')) !== 'READY');
    }
    io.output.write(`HELLO ${PROTOCOL_VERSION}\n`);
    for (;;) {
      const line = await reader.next(deadline, 'the HELLO answer');
      const tok = line.split(' ');
      if (tok[0] !== 'HELLO') continue;
      if (tok.length !== 5 || tok[1] !== 'mprog-agent' || tok[2] !== String(PROTOCOL_VERSION)) {
        throw new TargetError(
          'agent-error',
          `the agent answered "${line}"; this harness speaks mprog-agent protocol ${PROTOCOL_VERSION} (rebuild the agent: node vm/agent/build.mjs)`,
        );
      }
      return new AgentClient(reader, io.output, tok[3]!, tok[4]!);
    }
  }

  /** False once an exchange broke off midway (timeout, protocol error, agent gone): only bye() still works. */
  get usable(): boolean {
    return this.broken === null && !this.reader.isClosed;
  }

  /** Replays one sequence; cross-checks full query answers against bpftool when the agent runs it. */
  run(seq: Sequence, opts: { deadline?: Deadline; crossCheck?: boolean } = {}): Promise<RawSequenceResult> {
    const objects = objectIndex(seq);
    const crossChecked = opts.crossCheck ?? true;
    return this.exchange(lower(seq, objects, crossChecked), async () => {
      const replay = await this.replay(seq, Date.now() + sequenceDeadlineMs(seq, opts.deadline ?? DEFAULT_DEADLINE, crossChecked));
      for (const [i, text] of replay.bpftool) {
        if (text !== null) crossCheck(seq, i, replay.raw.steps[i]!, replay.queryIfindex.get(i)!, text);
      }
      return replay.raw;
    });
  }

  /**
   * Whether the agent's bpftool lists tcx attachments: attaches one program with tcx and
   * looks for it in bpftool's answer. 'no-tcx' when the kernel itself refused the attach.
   */
  probeBpftool(deadlineMs: number): Promise<'lists-tcx' | 'no-tcx-in-output' | 'no-bpftool' | 'no-tcx'> {
    const seq: Sequence = {
      format: 'mprog-seq/1',
      name: 'bpftool-probe',
      file: '(bpftool probe)',
      devices: [{ name: 'probe0', kind: 'veth', peer: 'probe0p' }],
      programs: [{ name: 'probe', type: 'sched_cls' }],
      steps: [
        {
          op: 'prog_attach',
          prog: 'probe',
          dev: { name: 'probe0' },
          attach_type: BPF_TCX_INGRESS,
          flags: 0,
          relative: null,
          replace: null,
          expected_revision: 0,
        },
        { op: 'query', dev: { name: 'probe0' }, attach_type: BPF_TCX_INGRESS, count: 1, query_flags: 0, attach_flags: 0 },
      ],
      expects: [undefined, undefined],
      links: [],
    };
    return this.exchange(lower(seq, objectIndex(seq), true), async () => {
      const replay = await this.replay(seq, Date.now() + deadlineMs);
      if (replay.raw.steps[0]!.ret !== 0) return 'no-tcx';
      const text = replay.bpftool.get(1);
      if (text === null || text === undefined) return 'no-bpftool';
      const entries = bpftoolEntries(seq, 1, text);
      return entries.some((e) => e.kind === 'tcx/ingress' && e.prog_id === replay.raw.progIds['probe']) ? 'lists-tcx' : 'no-tcx-in-output';
    });
  }

  /** `iterations` attach+detach pairs on tcx ingress, timed inside the agent. */
  async rawBench(iterations: number, deadlineMs: number): Promise<{ calls: number; elapsedNs: number }> {
    const n = String(checkInt(iterations, 'rawBench iterations'));
    const [elapsed] = await this.oneLine([`RAWBENCH ${n}`], 'RAWBENCH', n, 2, deadlineMs);
    return { calls: 2 * iterations, elapsedNs: Number(elapsed) };
  }

  /**
   * RAWRUN: the sequences run by the agent as a replay runs them, answers dropped, the batch timed
   * inside the agent. `failed` counts the sequences that did not finish (a FAIL answer).
   */
  async rawRun(seqs: readonly Sequence[], deadlineMs: number): Promise<{ elapsedNs: number; failed: number }> {
    const k = String(seqs.length);
    const request = [`RAWRUN ${k}`, ...seqs.flatMap((seq) => lower(seq, objectIndex(seq), false))];
    const [elapsed, failed] = await this.oneLine(request, 'RAWRUN', k, 3, deadlineMs);
    return { elapsedNs: Number(elapsed), failed: Number(failed) };
  }

  /**
   * SETTLE: the namespaces of finished sequences (held, PROTOCOL.md "World") let go now and their
   * programs waited for, so that the next sequence meets no object of an earlier one.
   */
  async settle(deadlineMs: number): Promise<void> {
    await this.oneLine(['SETTLE'], 'SETTLE', null, 1, deadlineMs);
  }

  /** GCOV_RESET: a coverage kernel's gcov counters zeroed (PROTOCOL.md "Coverage"). */
  async gcovReset(deadlineMs: number): Promise<void> {
    await this.oneLine(['GCOV_RESET'], 'GCOV_RESET', 'ok', 1, deadlineMs);
  }

  /** GCOV_DUMP: every .gcda the kernel's debugfs shows, by its path below debugfs's gcov directory. */
  gcovDump(deadlineMs: number): Promise<GcdaFile[]> {
    return this.exchange(['GCOV_DUMP'], async () => {
      const deadline = Date.now() + deadlineMs;
      const files: GcdaFile[] = [];
      let chunks: string[] = [];
      for (;;) {
        const line = await this.reader.next(deadline, 'the GCOV_DUMP answer');
        const tok = line.split(' ');
        if (tok[0] === 'FAIL') throw failAnswer(new TargetError('agent-error', `gcov_dump: agent: ${line.slice(5)}`));
        if (tok[0] === '=' && tok.length === 2 && files.length) {
          chunks.push(tok[1]!);
          continue;
        }
        const last = files.at(-1);
        if (last) last.data = Buffer.from(chunks.join(''), 'base64');
        chunks = [];
        if (last && last.data.length !== last.size)
          throw new TargetError('agent-error', `gcov_dump: ${last.path}: ${last.data.length} bytes, said ${last.size}`);
        if (tok[0] === 'GCDA' && tok.length === 3) {
          files.push({ path: tok[1]!, size: Number(tok[2]), data: Buffer.alloc(0) });
        } else if (tok[0] === 'GCOV_DUMP' && tok.length === 3 && Number(tok[1]) === files.length) {
          return files;
        } else {
          throw new TargetError('agent-error', `gcov_dump: unexpected answer "${line.slice(0, 200)}"`);
        }
      }
    });
  }

  /**
   * A request answered by the one line `TAG echo field...` (`fields` tokens after the tag, the
   * first echoing the request's count, unless `echo` is null); returns the fields after the echo.
   * A FAIL answer ends the exchange cleanly, as for a sequence.
   */
  private oneLine(request: string[], tag: string, echo: string | null, fields: number, deadlineMs: number): Promise<string[]> {
    return this.exchange(request, async () => {
      const line = await this.reader.next(Date.now() + deadlineMs, `the ${tag} answer`);
      const tok = line.split(' ');
      if (tok[0] === 'FAIL') throw failAnswer(new TargetError('agent-error', `${tag.toLowerCase()}: agent: ${line.slice(5)}`));
      if (tok[0] !== tag || tok.length !== fields + 1 || (echo !== null && tok[1] !== echo)) {
        throw new TargetError('agent-error', `${tag.toLowerCase()}: unexpected answer "${line}"`);
      }
      return tok.slice(echo === null ? 1 : 2);
    });
  }

  /** Asks the agent to exit and waits until it has closed the connection. */
  bye(): Promise<void> {
    return this.exchange(
      this.reader.isClosed ? [] : ['BYE'],
      async () => {
        if (!this.reader.isClosed) await this.reader.ended(Date.now() + BYE_DEADLINE_MS, 'BYE');
      },
      true,
    );
  }

  /**
   * One request and its answer. The request is written at once, so several can be in flight: the
   * agent answers them in order, and a TCG guest never sits idle waiting for the host between
   * sequences. Answers are read one exchange at a time, each deadline counted from its turn.
   */
  private exchange<T>(request: string[], fn: () => Promise<T>, evenIfBroken = false): Promise<T> {
    if (this.broken === null || evenIfBroken) this.send(request);
    const result = this.queue.then(async () => {
      if (this.broken !== null && !evenIfBroken) {
        throw new TargetError('agent-error', `the agent connection is unusable after an earlier failure: ${this.broken}`);
      }
      try {
        return await fn();
      } catch (err) {
        // A timeout or protocol error leaves unread replies behind: nothing after it can be trusted.
        // A FAIL answer ends its exchange cleanly and leaves the connection usable.
        if (err instanceof TargetError && !agentFails.has(err) && ['timeout', 'agent-error', 'agent-lost'].includes(err.kind)) {
          this.broken ??= err.message;
        }
        throw err;
      }
    });
    this.queue = result.catch(() => undefined);
    return result;
  }

  private send(lines: string[]): void {
    this.output.write(lines.map((l) => `${l}\n`).join(''));
  }

  /** Reads the answer to one SEQ request. */
  private async replay(seq: Sequence, deadline: number): Promise<Replay> {
    const names = [...seq.programs.map((p) => p.name), ...seq.links];
    const raw: RawSequenceResult = {
      kernel: this.kernelRelease,
      progIds: nameTable(),
      linkIds: nameTable(seq.links.map((l) => [l, 0])),
      devNames: {},
      steps: [],
    };
    const replay: Replay = { raw, bpftool: new Map(), queryIfindex: new Map() };
    let world: KernelWorld | undefined;
    const ifindexOf = new Map<string, number>([['lo', LOOPBACK_IFINDEX]]);
    const fail = (message: string): TargetError => new TargetError('agent-error', `${seq.file}: ${message}`);

    for (;;) {
      const line = await this.reader.next(deadline, `the replies of ${seq.file}`);
      const [tag, ...tok] = line.split(' ');
      switch (tag) {
        case 'P': {
          const name = names[Number(tok[0])];
          // P <obj> 0 <-errno>: a load refused to a caller with caps, or by the verifier for its maps
          // (PROTOCOL.md "Caps", "Maps"): no fd, no id.
          if ((tok.length !== 2 && !(tok.length === 3 && tok[1] === '0' && /^-\d+$/.test(tok[2]!))) || name === undefined)
            throw fail(`bad agent line "${line}"`);
          if (tok.length === 2) raw.progIds[name] = Number(tok[1]);
          break;
        }
        case 'D': {
          if (tok.length !== 2) throw fail(`bad agent line "${line}"`);
          const ifindex = Number(tok[1]);
          raw.devNames[ifindex] = tok[0]!;
          ifindexOf.set(tok[0]!, ifindex);
          break;
        }
        case 'G': {
          // A cgroup made: its name and id (the inode number link_info reports).
          if (tok.length !== 2 || !/^\d+$/.test(tok[1]!)) throw fail(`bad agent line "${line}"`);
          (raw.cgroupNames ??= {})[Number(tok[1])] = tok[0]!;
          break;
        }
        case 'N':
          // The sequence's netns (its inode number, what a netns link's info reports).
          if (tok.length !== 1 || !/^\d+$/.test(tok[0]!)) throw fail(`bad agent line "${line}"`);
          raw.netnsIno = Number(tok[0]);
          break;
        case 'W':
          world = parseWorld(tok, raw.progIds) ?? undefined;
          if (!world) throw fail(`bad agent line "${line}"`);
          break;
        case 'C':
          if (!world || !parseCgroupAncestor(world, tok)) throw fail(`bad agent line "${line}"`);
          break;
        case 'O':
          if (!world || !parseOutside(world, tok)) throw fail(`bad agent line "${line}"`);
          break;
        case 'R': {
          const i = Number(tok[0]);
          const step = seq.steps[i];
          if (step === undefined || i !== raw.steps.length || tok.length < 2) {
            throw fail(`agent line "${line}" out of order (expected the result of step ${raw.steps.length})`);
          }
          const result = parseResult(step, tok.slice(1), (m) => fail(`step ${i}: ${m} in "${line}"`));
          raw.steps.push(result.step);
          if (step.op === 'link_create') {
            raw.linkIds[step.link] = result.linkId;
            if (world && result.linkId) world.linkIds[i] = result.linkId;
          }
          if (step.op === 'query') replay.queryIfindex.set(i, devIfindex(step.dev, ifindexOf));
          break;
        }
        case 'B': {
          const i = Number(tok[0]);
          if (seq.steps[i]?.op !== 'query' || i !== raw.steps.length - 1 || replay.bpftool.has(i)) {
            throw fail(`agent line "${line.slice(0, 80)}" out of order`);
          }
          const text = tok.slice(1).join(' ');
          replay.bpftool.set(i, text === '-' ? null : text);
          break;
        }
        case 'DONE':
          if (raw.steps.length !== seq.steps.length) {
            throw fail(`the agent finished after ${raw.steps.length} of ${seq.steps.length} steps`);
          }
          if (world) raw.world = world;
          return replay;
        case 'FAIL': {
          const message = tok.join(' ');
          throw failAnswer(
            message.startsWith('unsupported: ')
              ? new TargetError('unsupported', `${seq.file}: ${message.slice('unsupported: '.length)}`)
              : fail(`agent: ${message}`),
          );
        }
        default:
          throw fail(`unexpected agent line "${line.slice(0, 200)}"`);
      }
    }
  }
}

/** The milliseconds `seq` may take: the base, and a share per step and per query bpftool checks. */
export function sequenceDeadlineMs(seq: Sequence, deadline: Deadline, crossCheck: boolean): number {
  const queries = crossCheck ? seq.steps.filter((s) => s.op === 'query').length : 0;
  return deadline.baseMs + seq.steps.length * deadline.perStepMs + queries * deadline.perQueryMs;
}
