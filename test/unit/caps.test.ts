// The caller-privileges dimension (spec "Caller privileges"), without a kernel: the parser's rules
// for a sequence's and a step's caps, the agent protocol's CAPS line, caps= key, P <obj> 0 <-errno>
// and unpriv_bpf=, the model's capability checks per profile (the answers corpus/caps checks on
// real kernels: the host's 6.18.44, debian-6.12 and debian-7.3), the reproducers, and the
// generator's stream of its own.

import { describe, expect, it } from 'vitest';
import type { Sequence } from '../../contract/seq.js';
import type { KernelWorld } from '../../contract/world.js';
import { findProfile } from '../../emulator/profiles.js';
import { normalise } from '../../harness/replay/normalise.js';
import { parseSequenceText } from '../../harness/sequences/parse.js';
import { sequenceToText } from '../../harness/sequences/write.js';
import { runOnEmulator } from '../../harness/targets/emulator.js';
import { cReproducer } from '../../harness/reproducers/c.js';
import { shellReproducer } from '../../harness/reproducers/shell.js';
import { lower, objectIndex, parseWorld } from '../../vm/agent/codec.js';
import { ALL_CAPS, capMask } from '../../uapi/capability.js';
import { generateSequence } from '../../harness/generation/generate.js';
import { capsRng, sequenceCaps } from '../../harness/generation/caps-choice.js';

function seqOf(steps: unknown[], extra: object = {}): Sequence {
  return parseSequenceText(
    JSON.stringify({
      format: 'mprog-seq/1',
      name: 'caps',
      devices: [{ name: 'v0' }],
      programs: ['a', 'b', { name: 'c', type: 'cgroup_skb' }],
      steps,
      ...extra,
    }),
    'caps.json',
  );
}

/** ok or the errno name of each step, on `profile`, in `world` when given. */
function answers(seq: Sequence, profile: string, world?: KernelWorld): string[] {
  return normalise(seq, runOnEmulator(seq, findProfile(profile)!, world)).map((r) => (r.ok ? 'ok' : r.errno!));
}

const ATTACH = (prog: string) => ({ op: 'prog_attach', prog, dev: 'v0', attach_type: 'tcx_ingress' });
const DETACH_NO_FD = { op: 'prog_detach', dev: 'v0', attach_type: 'tcx_ingress' };
const QUERY = { op: 'query', dev: 'v0', attach_type: 'tcx_ingress' };

/** A world as the agent reports it: the ids of the programs loaded, kernel.unprivileged_bpf_disabled when given. */
function worldOf(progIds: Record<string, number>, unprivilegedBpfDisabled?: number): KernelWorld {
  return {
    progIds,
    nextLinkId: 0,
    linkIds: {},
    progs: [],
    links: [],
    fds: [],
    netkit: true,
    ...(unprivilegedBpfDisabled !== undefined && { unprivilegedBpfDisabled }),
  };
}

describe('the format', () => {
  it('takes caps on the sequence and on any step, and writes them back', () => {
    const seq = seqOf(
      [
        { ...DETACH_NO_FD, caps: ['CAP_BPF'] },
        { op: 'dev_create', name: 'v1', caps: [] },
      ],
      { caps: ['CAP_BPF', 'CAP_NET_ADMIN'] },
    );
    expect(seq.caps).toEqual(['CAP_BPF', 'CAP_NET_ADMIN']);
    expect(seq.steps[0]!.caps).toEqual(['CAP_BPF']);
    expect(seq.steps[1]!.caps).toEqual([]);
    const again = parseSequenceText(sequenceToText(seq), 'again.json');
    expect(again.caps).toEqual(seq.caps);
    expect(again.steps.map((s) => s.caps)).toEqual([['CAP_BPF'], []]);
    // Absent stays absent: root, as before.
    const plain = seqOf([QUERY]);
    expect(plain.caps).toBeUndefined();
    expect(sequenceToText(plain)).not.toContain('"caps":');
  });

  it('refuses what is not a list of capability names, each once, naming the file and the path', () => {
    expect(() => seqOf([QUERY], { caps: 'CAP_BPF' })).toThrow(/caps\.json: \$\.caps: must be an array of capability names/);
    expect(() => seqOf([QUERY], { caps: ['CAP_BPF', 'CAP_BFP'] })).toThrow(/\$\.caps\[1\]: unknown capability "CAP_BFP"/);
    expect(() => seqOf([{ ...QUERY, caps: ['CAP_NET_ADMIN', 'CAP_NET_ADMIN'] }])).toThrow(
      /\$\.steps\[0\]\.caps\[1\]: "CAP_NET_ADMIN" is named twice/,
    );
    expect(() => seqOf([{ ...QUERY, caps: [12] }])).toThrow(/\$\.steps\[0\]\.caps\[0\]: must be a string/);
  });

  it('gives the kernel bit of each name', () => {
    expect(capMask(['CAP_NET_ADMIN'])).toBe(1n << 12n);
    expect(capMask(['CAP_BPF', 'CAP_SYS_ADMIN'])).toBe((1n << 39n) | (1n << 21n));
    expect(ALL_CAPS).toBe((1n << 41n) - 1n);
  });
});

describe('the agent protocol', () => {
  it('lowers caps to a CAPS line and a caps= key, and reads unpriv_bpf= into the world', () => {
    const seq = seqOf([{ ...DETACH_NO_FD, caps: ['CAP_BPF'] }, QUERY], { caps: [] });
    const lines = lower(seq, objectIndex(seq), false);
    expect(lines[1]).toBe('CAPS 0');
    expect(lines.find((l) => l.startsWith('STEP 0'))).toMatch(/ caps=549755813888( |$)/);
    expect(lines.find((l) => l.startsWith('STEP 1'))).not.toMatch(/caps=/);
    expect(lower(seqOf([QUERY]), objectIndex(seqOf([QUERY])), false).some((l) => l.startsWith('CAPS'))).toBe(false);
    expect(parseWorld(['next_link=3', 'netkit=1', 'fds=0,1', 'unpriv_bpf=2'], {})?.unprivilegedBpfDisabled).toBe(2);
    expect(parseWorld(['next_link=3', 'netkit=1', 'fds=0,1'], {})?.unprivilegedBpfDisabled).toBeUndefined();
    expect(parseWorld(['next_link=3', 'netkit=1', 'fds=0,1', 'unpriv_bpf=x'], {})).toBeNull();
  });
});

describe('the model', () => {
  it('loads as the sequence caller: net-admin types need CAP_BPF and CAP_NET_ADMIN, cgroup_skb CAP_BPF while unprivileged BPF is off', () => {
    const steps = [ATTACH('a'), { op: 'prog_attach', prog: 'c', cgroup: 'c0', attach_type: 'cgroup_inet_ingress' }];
    const seq = (caps: string[]) =>
      parseSequenceText(
        JSON.stringify({
          format: 'mprog-seq/1',
          name: 'l',
          caps,
          devices: ['v0'].map((name) => ({ name })),
          cgroups: ['c0'],
          programs: ['a', { name: 'c', type: 'cgroup_skb' }],
          steps,
        }),
        'l.json',
      );
    // CAP_BPF: sched_cls refused (EBADF: never opened), cgroup_skb loads but its attach needs CAP_NET_ADMIN (EINVAL).
    expect(answers(seq(['CAP_BPF']), '6.12.114')).toEqual(['EBADF', 'EINVAL']);
    expect(answers(seq(['CAP_BPF', 'CAP_NET_ADMIN']), '6.12.114')).toEqual(['ok', 'ok']);
    expect(answers(seq(['CAP_SYS_ADMIN']), '6.12.114')).toEqual(['ok', 'ok']);
    expect(answers(seq(['CAP_NET_ADMIN']), '6.12.114')).toEqual(['EBADF', 'EBADF']);
    // With unprivileged BPF allowed (kernel.unprivileged_bpf_disabled 0, from the world), a caller with
    // CAP_NET_ADMIN alone loads cgroup_skb and attaches it.
    expect(answers(seq(['CAP_NET_ADMIN']), '6.12.114', worldOf({ c: 11 }, 0))).toEqual(['EBADF', 'ok']);
  });

  it('checks a detach without a program fd since ae23bc81ddf7, after the flags, before the device', () => {
    const seq = seqOf([
      ATTACH('a'),
      { ...DETACH_NO_FD, caps: ['CAP_BPF'] },
      { ...DETACH_NO_FD, flags: ['BPF_F_ALLOW_MULTI'], caps: ['CAP_BPF'] },
      { ...DETACH_NO_FD, dev: { ifindex: 2147483000 }, caps: [] },
      { ...DETACH_NO_FD, prog: 'a', caps: [] },
    ]);
    for (const p of ['6.12.114', '6.18.44', '7.2']) expect(answers(seq, p)).toEqual(['ok', 'EPERM', 'EINVAL', 'EPERM', 'ok']);
    // Before the fix any caller detaches the last program; the detach with the fd then finds none.
    // The releases without it: 6.12.110-6.12.113, 6.17-6.18.13 (6.17.13 measured), 6.19.0-6.19.3, 6.6.87 (measured).
    for (const p of ['6.12', '6.12.110', '6.17', '6.19', '6.6.33']) expect(answers(seq, p), p).toEqual(['ok', 'ok', 'EINVAL', 'ENODEV', 'ENOENT']);
    expect(findProfile('6.12.114')!.differences.some((d) => d.commit.startsWith('ae23bc81ddf7'))).toBe(true);
  });

  it('checks the query first, before CHECK_ATTR(); CAP_SYS_ADMIN counts since ed1ad5a7415d (v6.9)', () => {
    const seq = seqOf([
      ATTACH('a'),
      { ...QUERY, caps: ['CAP_BPF'] },
      { ...QUERY, caps: ['CAP_SYS_ADMIN'] },
      { ...QUERY, caps: ['CAP_NET_ADMIN'] },
      { ...QUERY, attr_size: 72, raw: [{ at: 64, hex: '01' }], caps: [] },
      { ...QUERY, attr_size: 400, raw: [{ at: 300, hex: '01' }], caps: [] },
    ]);
    expect(answers(seq, '6.12.110')).toEqual(['ok', 'EPERM', 'ok', 'ok', 'EPERM', 'E2BIG']);
    expect(answers(seq, '6.6.33')).toEqual(['ok', 'EPERM', 'EPERM', 'ok', 'EPERM', 'E2BIG']);
  });

  it('lets the fd be the permission for tcx attach and the link ops; rtnetlink needs CAP_NET_ADMIN itself', () => {
    const seq = seqOf([
      { ...ATTACH('a'), caps: [] },
      { op: 'link_create', link: 'l', prog: 'b', dev: 'v0', attach_type: 'tcx_egress', caps: [] },
      { op: 'link_update', link: 'l', prog: 'a', caps: [] },
      { op: 'link_info', link: 'l', caps: [] },
      { op: 'link_detach', link: 'l', caps: [] },
      { op: 'dev_create', name: 'v1', caps: ['CAP_SYS_ADMIN'] },
      { op: 'dev_create', name: 'v2', caps: ['CAP_NET_ADMIN'] },
      { op: 'qdisc_add', dev: 'v2', kind: 'clsact', caps: ['CAP_BPF'] },
      { op: 'dev_delete', dev: 'v2', caps: [] },
    ]);
    expect(answers(seq, '6.12.110')).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'EPERM', 'ok', 'EPERM', 'EPERM']);
  });

  it("refuses every command on 6.1 when unprivileged BPF is off and the caller lacks CAP_BPF (__sys_bpf()'s check before 1d28635abcf1)", () => {
    const seq = seqOf([
      { ...QUERY, caps: ['CAP_NET_ADMIN'] },
      { ...QUERY, caps: ['CAP_BPF', 'CAP_NET_ADMIN'] },
    ]);
    expect(answers(seq, '6.1')).toEqual(['EPERM', 'EINVAL']);
    expect(answers(seq, '6.1', worldOf({ a: 1, b: 2, c: 3 }, 0))).toEqual(['EINVAL', 'EINVAL']);
    expect(answers(seq, '6.6.33')).toEqual(['ok', 'ok']);
  });
});

describe('the reproducers', () => {
  it('the C one narrows the effective set around each call; the shell one says it cannot', () => {
    const seq = seqOf([{ ...DETACH_NO_FD, caps: ['CAP_BPF'] }, QUERY], { caps: ['CAP_NET_ADMIN'] });
    const c = cReproducer(seq);
    expect(c).toContain('const int64_t seq_caps = 4096LL;');
    expect(c).toContain('caller_begin(549755813888LL);');
    expect(c).toContain('caller_begin(4096LL);');
    const sh = shellReproducer(seq);
    expect('inexpressible' in sh && sh.inexpressible.join('\n')).toMatch(/caps.*C reproducer/);
    expect(cReproducer(seqOf([QUERY]))).toContain('const int64_t seq_caps = -1;');
  });
});

describe('the generator', () => {
  const opts = { profile: findProfile('6.18.44')!, maxSteps: 20, netkit: false, bulk: true, cgroups: true };

  it('gives some sequences and some steps a caller of their own', () => {
    const seqs = Array.from({ length: 200 }, (_, i) => generateSequence(3, i, opts).seq);
    expect(seqs.filter((s) => s.caps !== undefined).length).toBeGreaterThan(2);
    expect(seqs.flatMap((s) => s.steps).filter((s) => s.caps !== undefined).length).toBeGreaterThan(50);
    // A stream of its own per name, not the same first draw for every name.
    expect(new Set(Array.from({ length: 200 }, (_, i) => JSON.stringify(sequenceCaps(capsRng(`fuzz-3-${i}`)) ?? null))).size).toBeGreaterThan(2);
  });

  it('draws everything else as it did without caps', () => {
    const strip = (s: Sequence) => JSON.stringify({ ...s, caps: undefined, steps: s.steps.map(({ caps: _c, ...rest }) => rest) });
    // Without a caller of its own anywhere, a sequence is the one drawn with caps off.
    for (let i = 0; i < 40; i++) {
      const on = generateSequence(11, i, opts).seq;
      if (on.caps !== undefined || on.steps.some((s) => s.caps !== undefined)) continue;
      expect(strip(on)).toBe(strip(generateSequence(11, i, { ...opts, caps: false }).seq));
    }
  });
});
