// One sequence on a target and on the emulator in that target's world, both sides' normalised
// results and where they differ: what fuzz, diff and the bench compare, and the choices that go
// with it (the profile for a target, whether it has netkit, how many sequences are in flight).

import { type Profile, profileForRelease } from '../../emulator/profiles.js';
import type { KernelWorld } from '../../contract/world.js';
import type { Sequence, StepResult } from '../../contract/seq.js';
import { type RunOptions, type Target, TargetError } from '../../contract/target.js';
import { EmulatorTarget, runOnEmulator } from '../targets/emulator.js';
import { normalise } from './normalise.js';
import { pipelined } from './pipelined.js';
import { type StepDivergence, diffResults } from './step-diff.js';

/** What the emulator is told of the world of the kernel it is compared with. */
export type WorldView = (world: KernelWorld | undefined) => KernelWorld | undefined;
export const wholeWorld: WorldView = (world) => world;

/**
 * A run that cannot compare anything (fuzz, diff): no emulator profile for the kernel. The target
 * cannot be used for want of a profile: a target's fault, exit 2.
 */
export class NoProfileError extends TargetError {
  override name = 'NoProfileError';
  constructor(message: string) {
    super('unusable', message);
  }
}

/** The emulator profile for a target: the override, the emulator's own, or the one of its kernel release. */
export async function chooseProfile(target: Target, override: Profile | undefined): Promise<Profile> {
  if (override) return override;
  if (target instanceof EmulatorTarget) return target.profile;
  const kernel = await target.kernel();
  const profile = profileForRelease(kernel);
  if (!profile) throw new NoProfileError(`no emulator profile for kernel "${kernel}"; pass --profile`);
  return profile;
}

/** Whether the target has netkit (CONFIG_NETKIT), as its world says (the emulator: as its
 * profile says); sequences use netkit devices only then. */
export async function targetHasNetkit(target: Target, profile: Profile): Promise<boolean> {
  if (!profile.netkit) return false;
  const probe: Sequence = {
    format: 'mprog-seq/1',
    name: 'netkit-probe',
    file: 'netkit-probe',
    devices: [],
    programs: [],
    steps: [],
    expects: [],
    links: [],
  };
  return (await target.run(probe)).world?.netkit ?? profile.netkit;
}

/** Whether the target has the clsact/ingress qdiscs (CONFIG_NET_SCH_INGRESS): a one-step probe
 * that the agent answers `unsupported` without them; sequences add and delete qdiscs only then. */
export async function targetHasQdiscs(target: Target): Promise<boolean> {
  const probe: Sequence = {
    format: 'mprog-seq/1',
    name: 'qdisc-probe',
    file: 'qdisc-probe',
    devices: [{ name: 'v0', kind: 'veth', peer: 'v0p' }],
    programs: [],
    steps: [{ op: 'qdisc_add', dev: 'v0', kind: 'clsact' }],
    expects: [undefined],
    links: [],
  };
  try {
    await target.run(probe);
    return true;
  } catch (err) {
    if (err instanceof TargetError && err.kind === 'unsupported') return false;
    throw err;
  }
}

/** Both sides' normalised results for one sequence. Generated sequences run without the
 * bpftool cross-check (too slow for every one); the ones that diverge are shrunk and reported
 * with it. */
export async function compare(
  target: Target,
  profile: Profile,
  seq: Sequence,
  runOpts: RunOptions = {},
  view: WorldView = wholeWorld,
): Promise<{ target: StepResult[]; emulator: StepResult[]; diff: StepDivergence[]; world: KernelWorld | undefined }> {
  const raw = await target.run(seq, runOpts);
  const onTarget = normalise(seq, raw);
  const onEmulator = normalise(seq, runOnEmulator(seq, profile, view(raw.world)));
  return { target: onTarget, emulator: onEmulator, diff: diffResults(onTarget, onEmulator), world: raw.world };
}

/** Generated sequences a target works on at once (see pipelined). */
export const IN_FLIGHT = 4;

type Answer = Awaited<ReturnType<typeof compare>>;

/** The generated sequences (index 0, 1, ... while `more(index)`) with both sides' answers, in order. */
export async function* answers<G extends { seq: Sequence }>(
  target: Target,
  profile: Profile,
  generate: (index: number) => G,
  more: (index: number) => boolean,
  view: WorldView = wholeWorld,
): AsyncGenerator<G & { index: number; answer: Answer | Error }> {
  const ask = (g: G) => compare(target, profile, g.seq, { crossCheck: false }, view);
  for await (const { index, item, answer } of pipelined(generate, more, ask, IN_FLIGHT)) yield { ...item, index, answer };
}
