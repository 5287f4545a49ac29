// Speed of the qemu: targets, per arch: boot (spawning QEMU → agent handshake), replay
// throughput through the agent, the same sequences run inside the guest with no host in the loop
// (what the kernel allows; the gap is the channel's and the harness's cost), and a bare
// attach+detach loop (the kernel's ceiling for one bpf(2) call); optionally conform's rounds.

import type { Sequence, Step } from '../../contract/seq.js';
import { QemuTarget } from '../targets/qemu.js';
import type { Arch } from '../../vm/runtime/paths.js';

/** How many things (bpf(2) calls; steps for conform) in how long. */
interface Rate {
  count: number;
  seconds: number;
  perSecond: number;
}

export interface QemuBench {
  spec: string;
  /** Guest `uname -r` and the Debian package it came from ("name version", or null). */
  kernel: string;
  package: string | null;
  accel: string;
  /** Seconds from spawning QEMU to the end of the agent handshake (kernel and initramfs already prepared). */
  bootSeconds: number;
  /** The batch of sequences replayed `rounds` times through the agent, bpf(2) path alone. */
  replay: Rate & { sequences: number };
  /** RAWRUN: the same sequences, `rounds` times, run and timed inside the guest. */
  raw: Rate;
  /** One more round of replay, with bpftool after every query as replay does by default. */
  checked: Rate;
  /** RAWBENCH: attach+detach pairs timed inside the guest. */
  attachDetach: Rate;
  /** `opts.conformRound`'s, one per round, alternating with the other rounds; null without it. */
  conform: { checked: Rate; raw: Rate } | null;
}

/** One round of conform on the guest, and its corpus run inside the guest: steps and nanoseconds of each. */
export type ConformRound = (target: QemuTarget) => Promise<{ steps: number; ns: number; rawNs: number }>;

/** Steps that are not one bpf(2) call: device changes and close(2). */
const NOT_BPF: ReadonlySet<Step['op']> = new Set(['dev_create', 'dev_delete', 'qdisc_add', 'qdisc_delete', 'link_close', 'prog_close']);

/** The bpf(2) calls one replay makes: a BPF_PROG_LOAD per program and one per bpf step. */
export function bpfCalls(seq: Sequence): number {
  return seq.programs.length + seq.steps.filter((s) => !NOT_BPF.has(s.op)).length;
}

function rate(count: number, ns: number): Rate {
  return { count, seconds: ns / 1e9, perSecond: count / (ns / 1e9) };
}

export async function benchQemu(opts: {
  arch: Arch;
  /** Default debian-6.12. */
  kernel?: string;
  sequences: Sequence[];
  rounds?: number;
  /** Measured in every round too, so that it and the raw rates share the guest and the machine's load. */
  conformRound?: ConformRound;
}): Promise<QemuBench> {
  const spec = `qemu:${opts.kernel ?? 'debian-6.12'}:${opts.arch}`;
  const rounds = opts.rounds ?? 3;
  const target = new QemuTarget(spec);
  const callsPerRound = opts.sequences.reduce((n, seq) => n + bpfCalls(seq), 0);
  // All of a round in flight at once, as a replay of many files sends them (the agent answers in order).
  const replayRound = async (crossCheck: boolean): Promise<number> => {
    const start = process.hrtime.bigint();
    await Promise.all(opts.sequences.map((seq) => target.run(seq, { crossCheck })));
    return Number(process.hrtime.bigint() - start);
  };
  try {
    const { accel, package: pkg } = await target.prepare();
    const release = await target.kernel();
    const bootSeconds = (await target.bootMs()) / 1000;

    // Rounds alternate between the two, so each inherits the other's deferred kernel work (netns
    // teardown runs after the sequences that caused it) in equal measure.
    let replayNs = 0;
    let rawNs = 0;
    const conform = { steps: 0, ns: 0, rawNs: 0 };
    for (let r = 0; r < rounds; r++) {
      replayNs += await replayRound(false);
      const run = await target.rawRun(opts.sequences, 300_000);
      if (run.failed > 0) throw new Error(`${spec}: ${run.failed} sequences failed when run inside the guest`);
      rawNs += run.elapsedNs;
      if (opts.conformRound) {
        const round = await opts.conformRound(target);
        conform.steps += round.steps;
        conform.ns += round.ns;
        conform.rawNs += round.rawNs;
      }
    }
    const checkedNs = await replayRound(true);
    const loop = await target.rawBench(5000, 300_000);
    return {
      spec,
      kernel: release,
      package: pkg ? `${pkg.name} ${pkg.version}` : null,
      accel,
      bootSeconds,
      replay: { sequences: opts.sequences.length * rounds, ...rate(callsPerRound * rounds, replayNs) },
      raw: rate(callsPerRound * rounds, rawNs),
      checked: rate(callsPerRound, checkedNs),
      attachDetach: rate(loop.calls, loop.elapsedNs),
      conform: opts.conformRound ? { checked: rate(conform.steps, conform.ns), raw: rate(conform.steps, conform.rawNs) } : null,
    };
  } finally {
    await target.close();
  }
}
