// The generator's picture of the state a sequence prefix leaves behind. Rather than re-implement
// the mprog rules here (a second copy of the emulator that could drift from it), the picture is
// read off the emulator: the prefix is replayed with probe queries appended, and the queries'
// answers say what each attach point holds and its revision. Replays are cheap (microseconds a
// step), so doing this after every generated step is affordable for sequences of tens of steps.

import type { Profile } from '../../emulator/profiles.js';
import { BPF_NETKIT_PEER, BPF_NETKIT_PRIMARY, BPF_TCX_EGRESS, BPF_TCX_INGRESS } from '../../uapi/bpf.js';
import { normalise } from '../replay/normalise.js';
import { SEQ_DEFAULTS } from '../sequences/parse.js';
import type { DeviceKind, QueryStep, Sequence, StepResult } from '../../contract/seq.js';
import { runOnEmulator } from '../targets/emulator.js';

export interface AttachPoint {
  dev: string;
  attachType: number;
}

export interface PointState extends AttachPoint {
  /** Program names in run order, and the owning link of each slot (null: plain attach). */
  progs: string[];
  links: (string | null)[];
  /** What a query reports (1 when there is no entry). */
  revision: number;
}

export interface KnownDevice {
  name: string;
  kind: DeviceKind;
}

export interface Observation {
  /** The result of every step of the prefix (probes excluded). */
  results: StepResult[];
  /** Devices that exist after the prefix. */
  alive: Set<string>;
  /** Every attach point of a live device, keyed by pointKey(). */
  points: Map<string, PointState>;
}

export function pointKey(p: AttachPoint): string {
  return `${p.dev}/${p.attachType}`;
}

/**
 * The attach types worth trying on a device: tcx on any, netkit's on both ends of a netkit pair
 * (on the peer end the kernel refuses them, which is a rule of its own to exercise).
 */
export function attachTypesOf(dev: KnownDevice): number[] {
  if (dev.kind === 'netkit') return [BPF_TCX_INGRESS, BPF_TCX_EGRESS, BPF_NETKIT_PRIMARY, BPF_NETKIT_PEER];
  return [BPF_TCX_INGRESS, BPF_TCX_EGRESS];
}

function probe(point: AttachPoint): QueryStep {
  return { op: 'query', dev: { name: point.dev }, attach_type: point.attachType, count: SEQ_DEFAULTS.queryCount, query_flags: 0, attach_flags: 0 };
}

/** Replays `seq` on the emulator of `profile` and reads the state it leaves on `devices`. */
export function observe(seq: Sequence, profile: Profile, devices: KnownDevice[]): Observation {
  const probed = devices.flatMap((dev) => attachTypesOf(dev).map((attachType) => ({ dev: dev.name, attachType })));
  const withProbes: Sequence = { ...seq, steps: [...seq.steps, ...probed.map(probe)] };
  const all = normalise(withProbes, runOnEmulator(withProbes, profile));
  const observation: Observation = { results: all.slice(0, seq.steps.length), alive: new Set(), points: new Map() };
  probed.forEach((point, i) => {
    const answer = all[seq.steps.length + i]!;
    // ENODEV: the device is gone; EACCES: netkit's types on the peer end (the tcx probe still answers).
    if (!answer.ok || !answer.query) return;
    observation.alive.add(point.dev);
    const q = answer.query;
    observation.points.set(pointKey(point), {
      ...point,
      progs: (q.prog_ids ?? []).map((id) => id ?? '?'),
      links: q.link_ids ?? [],
      revision: q.revision,
    });
  });
  return observation;
}

/** The program or link names a point currently holds (a link's slot counts as both). */
export function occupants(point: PointState): string[] {
  return [...point.progs, ...point.links.filter((l): l is string => l !== null)];
}
