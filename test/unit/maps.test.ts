// The maps dimension (spec "Maps"): the format's declarations and their errors, the emulator's
// storage rules (verifier, link update, BPF_F_REPLACE), the agent's lines, the C reproducer, the
// generator's share and the shrinker. The kernels' answers themselves are corpus/maps/, compared
// on the host and in QEMU (test/qemu/corpus-on-kernels.test.ts).

import { describe, expect, it } from 'vitest';
import type { Sequence } from '../../contract/seq.js';
import { findProfile } from '../../emulator/profiles.js';
import { normalise } from '../../harness/replay/normalise.js';
import { parseSequenceFile, parseSequenceText } from '../../harness/sequences/parse.js';
import { sequenceToText } from '../../harness/sequences/write.js';
import { runOnEmulator } from '../../harness/targets/emulator.js';
import { cReproducer } from '../../harness/reproducers/c.js';
import { shellReproducer } from '../../harness/reproducers/shell.js';
import { lower, objectIndex } from '../../vm/agent/codec.js';
import { generateSequence } from '../../harness/generation/generate.js';
import { shrink } from '../../harness/generation/shrink.js';

const MAPS = [
  { name: 's1', type: 'cgroup_storage' },
  { name: 's2', type: 'cgroup_storage' },
  { name: 'p1', type: 'percpu_cgroup_storage' },
  { name: 'arr', type: 'array' },
];

function seqOf(programs: unknown[], steps: unknown[], maps: unknown[] = MAPS): Sequence {
  return parseSequenceText(JSON.stringify({ format: 'mprog-seq/1', name: 'maps', cgroups: ['c0'], maps, programs, steps }), 'maps.json');
}

const skb = (name: string, maps?: string[]) => ({ name, type: 'cgroup_skb', ...(maps && { maps }) });
const create = (link: string, prog: string) => ({ op: 'link_create', link, prog, cgroup: 'c0', attach_type: 'cgroup_inet_egress' });
const update = (link: string, prog: string) => ({ op: 'link_update', link, prog });

/** ok or the errno name of each step on `profile`. */
function answers(seq: Sequence, profile = '6.12.114'): string[] {
  return normalise(seq, runOnEmulator(seq, findProfile(profile)!)).map((r) => (r.ok ? 'ok' : r.errno!));
}

describe('the format', () => {
  it('names the file and the JSON path of each mistake', () => {
    expect(() => seqOf([skb('a', ['nope'])], [])).toThrow(/maps\.json: \$\.programs\[0\]\.maps\[0\]: "nope" is not a declared map/);
    expect(() => seqOf([skb('a'), skb('b', ['a'])], [])).toThrow(/\$\.programs\[1\]\.maps\[0\]: "a" is a program, expected a map/);
    expect(() => seqOf([{ name: 'a', type: 'sched_cls', maps: ['arr', 's1'] }], [])).toThrow(
      /\$\.programs\[0\]\.maps\[1\]: a sched_cls program cannot use the cgroup_storage map "s1" \(it may use: array\)/,
    );
    expect(() => seqOf([skb('a', ['s1', 's1'])], [])).toThrow(/\$\.programs\[0\]\.maps\[1\]: "s1" is named twice/);
    const many = Array.from({ length: 17 }, (_, i) => ({ name: `m${i}`, type: 'array' }));
    expect(() =>
      seqOf(
        [
          skb(
            'a',
            many.map((m) => m.name),
          ),
        ],
        [],
        many,
      ),
    ).toThrow(/\$\.programs\[0\]\.maps: at most 16 maps a program/);
    expect(() => seqOf([skb('s1')], [])).toThrow(/\$\.programs\[0\]\.name: duplicate name "s1" \(maps, programs and links share one namespace\)/);
    expect(() => seqOf([skb('a')], [create('arr', 'a')])).toThrow(/\$\.steps\[0\]\.link: duplicate name "arr"/);
    expect(() => seqOf([skb('a')], [update('l1', 's1')])).toThrow(/\$\.steps\[0\]\.link: "l1" is not a declared link/);
    expect(() => seqOf([skb('a')], [], [{ name: 'm', type: 'hash' }])).toThrow(/\$\.maps\[0\]\.type: "hash" is not one of: cgroup_storage/);
    expect(() => seqOf([skb('a')], [], [{ name: 'm' }])).toThrow(/\$\.maps\[0\]\.type: missing/);
    expect(() => seqOf([skb('a')], [], [{ name: 'm', type: 'array', size: 8 }])).toThrow(/\$\.maps\[0\]\.size: unknown field/);
  });

  it("writes maps and each program's list back as they were", () => {
    const seq = seqOf([skb('a', ['s1', 'arr']), { name: 't', type: 'sched_cls', maps: ['arr'] }, 'x'], []);
    const again = parseSequenceText(sequenceToText(seq), 'again.json');
    expect(again.maps).toEqual(seq.maps);
    expect(again.programs).toEqual(seq.programs);
    expect(JSON.parse(sequenceToText(seq)).programs[2]).toBe('x');
  });
});

describe('the model', () => {
  it('lets a link take a program with the same storage of each type, and no other', () => {
    const seq = seqOf(
      [skb('a', ['s1']), skb('b', ['arr', 's1']), skb('c', ['s2']), skb('d'), skb('e', ['s1', 'p1'])],
      [create('l1', 'a'), update('l1', 'b'), update('l1', 'c'), update('l1', 'd'), update('l1', 'e'), create('l2', 'd'), update('l2', 'a')],
    );
    expect(answers(seq)).toEqual(['ok', 'ok', 'EINVAL', 'EINVAL', 'EINVAL', 'ok', 'EINVAL']);
    expect(answers(seq, '7.2')).toEqual(answers(seq));
    // 6.17.13 has no such check (measured): the link takes every program of its type.
    expect(answers(seq, '6.17')).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
  });

  it('checks no storage on BPF_F_REPLACE', () => {
    const attach = (prog: string, replace?: string) => ({
      op: 'prog_attach',
      prog,
      cgroup: 'c0',
      attach_type: 'cgroup_inet_ingress',
      flags: replace ? ['BPF_F_ALLOW_MULTI', 'BPF_F_REPLACE'] : ['BPF_F_ALLOW_MULTI'],
      ...(replace && { replace: { fd: replace } }),
    });
    const seq = seqOf([skb('a', ['s1']), skb('b', ['s2', 'p1']), skb('c')], [attach('a'), attach('b', 'a'), attach('c', 'b')]);
    expect(answers(seq)).toEqual(['ok', 'ok', 'ok']);
  });

  it('refuses a second storage of a type at load: the program unopened, no id used', () => {
    const seq = seqOf(
      [skb('two', ['s1', 's2']), skb('ok', ['s1', 'p1'])],
      [create('l1', 'two'), create('l2', 'ok'), { op: 'link_info', link: 'l2' }],
    );
    const raw = runOnEmulator(seq, findProfile('6.12.114')!);
    expect(answers(seq)).toEqual(['EBADF', 'ok', 'ok']);
    expect(Object.hasOwn(raw.progIds, 'two')).toBe(false);
    expect(raw.progIds['ok']).toBe(1);
  });

  it('gives the maps the first fds, before the programs', () => {
    // fd 3 is s1, 4 s2, 5 p1, 6 arr, 7 the program: a raw replace fd of 3 is a map (EINVAL), 7 the program.
    const raw = (fd: number) => ({
      op: 'prog_attach',
      prog: 'a',
      cgroup: 'c0',
      attach_type: 'cgroup_inet_ingress',
      flags: ['BPF_F_ALLOW_MULTI', 'BPF_F_REPLACE'],
      replace: { value: fd },
    });
    const attach = { op: 'prog_attach', prog: 'a', cgroup: 'c0', attach_type: 'cgroup_inet_ingress', flags: ['BPF_F_ALLOW_MULTI'] };
    expect(answers(seqOf([skb('a')], [attach, raw(3), raw(7)]))).toEqual(['ok', 'EINVAL', 'ok']);
  });
});

describe('the agent and the reproducers', () => {
  it("lowers maps before the programs and each program's maps by index", () => {
    const seq = seqOf([skb('a', ['p1', 's1']), skb('b')], []);
    const lines = lower(seq, objectIndex(seq), false);
    expect(lines.filter((l) => /^(MAP|PROG) /.test(l))).toEqual([
      'MAP 0 cgroup_storage s1',
      'MAP 1 cgroup_storage s2',
      'MAP 2 percpu_cgroup_storage p1',
      'MAP 3 array arr',
      'PROG 0 cgroup_skb a maps=2,0',
      'PROG 1 cgroup_skb b',
    ]);
  });

  it('the C one makes the maps and patches their fds in; the shell one says it cannot', () => {
    const seq = seqOf([skb('a', ['p1', 's1'])], [create('l1', 'a')]);
    const c = cReproducer(seq);
    expect(c).toContain('\t{ "a", 0, 8, -1, 0, 0, 2, { 2, 0 } },');
    expect(c).toContain('const int n_maps = 4;');
    expect(c).toContain('\t{ "p1", 21, -1 },');
    const sh = shellReproducer(seq);
    expect('inexpressible' in sh && sh.inexpressible.join('\n')).toMatch(/declares maps: only the C reproducer/);
  });
});

describe('the generator and the shrinker', () => {
  const opts = { profile: findProfile('6.12.114')!, maxSteps: 20, netkit: false, bulk: true, cgroups: true };

  it('gives a share of cgroup sequences storages, and their link updates meet the check', () => {
    const seqs = Array.from({ length: 300 }, (_, i) => generateSequence(7, i, opts).seq);
    const withMaps = seqs.filter((s) => s.maps?.length);
    const cgroupWithMaps = withMaps.filter((s) => s.cgroups?.length);
    expect(cgroupWithMaps.length).toBeGreaterThan(5);
    expect(withMaps.length - cgroupWithMaps.length).toBeGreaterThan(0); // tcx ones with arrays
    // Link updates the storage check refuses: the same update with the maps taken away succeeds.
    const refused = cgroupWithMaps.filter((s) => {
      const plain = { ...s, maps: undefined, programs: s.programs.map(({ maps: _m, ...p }) => p) };
      const a = answers(s);
      const b = answers(plain);
      return s.steps.some((st, i) => st.op === 'link_update' && a[i] === 'EINVAL' && b[i] === 'ok');
    });
    expect(refused.length).toBeGreaterThan(0);
    // Without the dimension the same draws give no maps.
    expect(Array.from({ length: 50 }, (_, i) => generateSequence(7, i, { ...opts, maps: false }).seq).every((s) => !s.maps)).toBe(true);
  });

  it('keeps the storage a divergence needs and drops the maps nothing needs', async () => {
    const seq = parseSequenceFile('corpus/maps/link-update.json');
    // "Diverges" while step answers still hold an EINVAL link update after a successful one.
    const still = async (s: Sequence) => {
      const a = answers(s);
      return s.steps.some((st, i) => st.op === 'link_update' && a[i] === 'EINVAL') && a.includes('ok');
    };
    const { seq: small } = await shrink(seq, still);
    expect(small.steps.map((s) => s.op)).toEqual(['link_create', 'link_update']);
    const used = small.programs.flatMap((p) => p.maps ?? []);
    expect(used.length).toBe(1); // one program with a storage, the other without: the smallest mismatch
    expect(small.maps?.map((m) => m.name)).toEqual(used);
  });
});
