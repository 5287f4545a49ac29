// The reference probes of generated sequences (harness/generation/reference-choice.ts): every
// reference field given objects of every kind on every kind of attach point, which the state-aimed
// choices of the generators never made (issue 21: netkit's BPF_F_REPLACE given an XDP program),
// the objects they need declared, and every other choice drawn as before. Answers are the
// emulator's (profile 6.12.114, Debian's 6.12.117, which the mutation bench diffs against).

import { describe, expect, it } from 'vitest';
import type { Ref, Sequence, Step } from '../../contract/seq.js';
import { findProfile } from '../../emulator/profiles.js';
import { type GenerateOptions, generateSequence } from '../../harness/generation/generate.js';
import { normalise } from '../../harness/replay/normalise.js';
import { parseSequenceText } from '../../harness/sequences/parse.js';
import { sequenceToText } from '../../harness/sequences/write.js';
import { runOnEmulator } from '../../harness/targets/emulator.js';
import { BPF_F_LINK, BPF_F_REPLACE, BPF_NETKIT_PEER, BPF_NETKIT_PRIMARY, BPF_TCX_EGRESS, BPF_TCX_INGRESS } from '../../uapi/bpf.js';

const profile = findProfile('6.12.114')!;
/** What `mprog diff` generates with on Debian's 6.12 (harness/diff/run.ts). */
const opts: GenerateOptions = { profile, maxSteps: 20, netkit: true, qdiscs: true, bulk: true, nearIds: [], cgroups: true };

const NETKIT_TYPES = [BPF_NETKIT_PRIMARY, BPF_NETKIT_PEER];
const TCX_TYPES = [BPF_TCX_INGRESS, BPF_TCX_EGRESS];

/** The type of the program a ref names ('link' for a link, 'raw' for a number). */
function kindOf(seq: Sequence, ref: Ref | string | null): string | null {
  if (ref === null) return null;
  if (typeof ref !== 'string' && 'value' in ref) return 'raw';
  const name = typeof ref === 'string' ? ref : 'fd' in ref ? ref.fd : ref.id;
  return seq.programs.find((p) => p.name === name)?.type ?? (seq.links.includes(name) ? 'link' : '?');
}

/** Each step with the emulator's answer (ok or the errno). */
function answered(seq: Sequence): { step: Step; answer: string }[] {
  const results = normalise(seq, runOnEmulator(seq, profile));
  return seq.steps.map((step, i) => ({ step, answer: results[i]!.ok ? 'ok' : results[i]!.errno! }));
}

const batch = (seed: number, n: number, o: GenerateOptions = opts) => Array.from({ length: n }, (_, i) => generateSequence(seed, i, o).seq);

describe('reference probes', () => {
  it("make netkit's BPF_F_REPLACE call with an XDP program in 200 sequences of each seed (EINVAL)", () => {
    for (const seed of [1, 2, 3]) {
      const calls = batch(seed, 200).flatMap((seq) =>
        answered(seq).filter(
          ({ step }) =>
            step.op === 'prog_attach' &&
            NETKIT_TYPES.includes(step.attach_type) &&
            (step.flags & BPF_F_REPLACE) !== 0 &&
            kindOf(seq, step.replace) === 'xdp',
        ),
      );
      expect(calls.map((c) => c.answer)).toContain('EINVAL');
    }
  });

  it('give relatives, replace and old_prog programs of every type and links of every kind, on tcx and netkit points, and update netkit links', () => {
    const seen = new Set<string>();
    for (const seq of batch(4, 200)) {
      const point = (t: number) => (NETKIT_TYPES.includes(t) ? 'netkit' : TCX_TYPES.includes(t) ? 'tcx' : 'cgroup');
      const netkitLinks = new Set<string>();
      for (const { step, answer } of answered(seq)) {
        if (step.op === 'link_create' && answer === 'ok' && NETKIT_TYPES.includes(step.attach_type)) netkitLinks.add(step.link);
        if (step.op === 'link_update' && netkitLinks.has(step.link) && answer === 'EPERM') seen.add('old_prog not the netkit link program');
        if (step.op === 'prog_attach' && step.flags & BPF_F_REPLACE) seen.add(`replace ${kindOf(seq, step.replace)} ${point(step.attach_type)}`);
        if ((step.op === 'prog_attach' || step.op === 'link_create' || step.op === 'prog_detach') && step.relative) {
          const kind = step.relative && 'value' in step.relative ? 'raw' : kindOf(seq, step.relative);
          const foreignLink =
            kind === 'link' &&
            seq.cgroups?.length &&
            seq.devices.length &&
            (step.flags & BPF_F_LINK) !== 0 &&
            'fd' in step.relative &&
            step.relative.fd === 'ol';
          seen.add(`relative ${foreignLink ? 'cgroup-link' : kind} ${point(step.attach_type)}`);
        }
        if (step.op === 'link_update' && step.old_prog) seen.add(`old_prog ${kindOf(seq, step.old_prog)}`);
      }
    }
    const want = [
      ...['sched_cls', 'xdp', 'cgroup_skb', 'link'].flatMap((k) => ['tcx', 'netkit'].map((p) => `replace ${k} ${p}`)),
      ...['sched_cls', 'xdp', 'cgroup_skb', 'link', 'raw', 'cgroup-link'].flatMap((k) => ['tcx', 'netkit'].map((p) => `relative ${k} ${p}`)),
      ...['sched_cls', 'xdp', 'cgroup_skb', 'cgroup_sockopt', 'link'].map((k) => `relative ${k} cgroup`),
      ...['sched_cls', 'xdp', 'cgroup_skb', 'cgroup_sockopt'].map((k) => `old_prog ${k}`),
      'old_prog not the netkit link program',
    ];
    expect(want.filter((w) => !seen.has(w))).toEqual([]);
  });

  it('declare what they name only when on, and round-trip through the parser', () => {
    for (const seq of batch(5, 60)) expect(sequenceToText(parseSequenceText(sequenceToText(seq), seq.file))).toBe(sequenceToText(seq));
    const off = batch(5, 60, { ...opts, references: false });
    expect(off.flatMap((s) => s.programs).some((p) => p.name.startsWith('o'))).toBe(false);
    expect(off.flatMap((s) => s.devices).some((d) => d.name === 'onk')).toBe(false);
    expect(off.some((s) => s.links.some((l) => l === 'ol' || l.startsWith('r')))).toBe(false);
  });

  it('draw everything else as it was drawn without them', () => {
    // Without a probe, a sequence is the one drawn with references off, less the objects probes
    // would have named (foreign programs, the netkit pair, the cgroup link and its step).
    const strip = (s: Sequence) =>
      JSON.stringify({
        ...s,
        cgroups: s.devices.length ? undefined : s.cgroups,
        devices: s.devices.filter((d) => d.name !== 'onk'),
        programs: s.programs.filter((p) => !/^o\d$/.test(p.name)),
        links: s.links.filter((l) => l !== 'ol'),
        steps: s.steps.filter((st) => !(st.op === 'link_create' && st.link === 'ol')),
        expects: undefined,
      });
    let same = 0;
    let probed = 0;
    for (let i = 0; i < 60; i++) {
      const on = JSON.parse(strip(generateSequence(6, i, opts).seq)) as Sequence;
      const off = generateSequence(6, i, { ...opts, references: false }).seq;
      if (on.steps.length > off.steps.length) {
        probed++;
        continue;
      }
      same++;
      expect(JSON.stringify(on)).toBe(strip(off));
    }
    expect(same).toBeGreaterThan(5);
    expect(probed).toBeGreaterThan(20);
  });
});
