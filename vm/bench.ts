// Speed of the qemu: targets, per arch: boot (spawning QEMU → agent handshake), replay
// throughput through the agent, and the agent's raw bpf(2) rate inside the guest.

import type { Sequence, Step } from '../harness/seq/types.js';
import { QemuTarget } from '../harness/targets/qemu.js';
import type { Arch } from './paths.js';

export interface QemuBench {
  spec: string;
  /** Guest `uname -r` and the Debian package it came from ("name version", or null). */
  kernel: string;
  package: string | null;
  accel: string;
  /** Seconds from spawning QEMU to the end of the agent handshake (kernel and initramfs already prepared). */
  bootSeconds: number;
  /** The batch of sequences replayed `rounds` times through the agent on one VM. */
  replay: { sequences: number; calls: number; seconds: number; callsPerSecond: number };
  /** RAWBENCH: attach+detach pairs timed inside the guest. */
  raw: { calls: number; seconds: number; callsPerSecond: number };
}

/** Steps that are not one bpf(2) call: device changes and close(2). */
const NOT_BPF: ReadonlySet<Step['op']> = new Set(['dev_create', 'dev_delete', 'link_close', 'prog_close']);

/** The bpf(2) calls one replay makes: a BPF_PROG_LOAD per program and one per bpf step. */
export function bpfCalls(seq: Sequence): number {
  return seq.programs.length + seq.steps.filter((s) => !NOT_BPF.has(s.op)).length;
}

export async function benchQemu(opts: {
  arch: Arch;
  /** Default debian-6.12. */
  kernel?: string;
  sequences: Sequence[];
  rounds?: number;
  rawIterations?: number;
  /** Run bpftool after every query, as replay does by default (true), or measure the bpf(2) path alone. */
  crossCheck?: boolean;
}): Promise<QemuBench> {
  const spec = `qemu:${opts.kernel ?? 'debian-6.12'}:${opts.arch}`;
  const rounds = opts.rounds ?? 3;
  const target = new QemuTarget(spec);
  try {
    const { accel, package: pkg } = await target.prepare();
    const release = await target.kernel();
    const bootSeconds = (await target.bootMs()) / 1000;

    let calls = 0;
    const start = process.hrtime.bigint();
    for (let r = 0; r < rounds; r++) {
      // All of a round in flight at once, as a replay of many files sends them (the agent answers in order).
      await Promise.all(opts.sequences.map((seq) => target.run(seq, { crossCheck: opts.crossCheck ?? true })));
      calls += opts.sequences.reduce((n, seq) => n + bpfCalls(seq), 0);
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;

    const raw = await target.rawBench(opts.rawIterations ?? 5000, 300_000);
    const rawSeconds = raw.elapsedNs / 1e9;
    return {
      spec,
      kernel: release,
      package: pkg ? `${pkg.name} ${pkg.version}` : null,
      accel,
      bootSeconds,
      replay: { sequences: opts.sequences.length * rounds, calls, seconds, callsPerSecond: calls / seconds },
      raw: { calls: raw.calls, seconds: rawSeconds, callsPerSecond: raw.calls / rawSeconds },
    };
  } finally {
    await target.close();
  }
}
