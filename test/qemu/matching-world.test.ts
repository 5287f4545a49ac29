// mprog diff's matching world on two real guests of one kernel (debian-6.12, x86_64): after one
// of them has run more than the other (its ids ahead, programs of earlier sequences still held
// in their namespaces), SETTLE lets those go and matchWorlds pads the one behind until both hand
// out the same ids; the next sequence then sees the same world on both.

import { afterAll, describe, expect, it } from 'vitest';
import { parseSequenceText } from '../../harness/sequences/parse.js';
import { QemuTarget } from '../../harness/targets/qemu.js';
import { matchWorlds, nextIds } from '../../harness/diff/matching-world.js';

const MINUTE = 60_000;

/** n programs, each attached to v0 (a prog_attach: its netns holds them after the sequence) and one failing link_create. */
const attaching = (n: number) =>
  parseSequenceText(
    JSON.stringify({
      format: 'mprog-seq/1',
      name: `attaching-${n}`,
      devices: [{ name: 'v0' }],
      programs: Array.from({ length: n }, (_, i) => `p${i}`),
      steps: [
        ...Array.from({ length: n }, (_, i) => ({ op: 'prog_attach', prog: `p${i}`, dev: 'v0', attach_type: 'tcx_ingress' })),
        { op: 'link_create', link: 'l', prog: 'p0', dev: 'v0', attach_type: 'tcx_ingress' },
      ],
    }),
    'test/qemu/matching-world.test.ts',
  );

const targets: QemuTarget[] = [];
afterAll(async () => {
  await Promise.all(targets.map((t) => t.close()));
});

describe('two guests of one kernel brought to the same world', () => {
  it('settle, then padding: the same next ids, no outside object of an earlier sequence, the same ids for the next sequence', {
    timeout: 15 * MINUTE,
  }, async () => {
    const [a, b] = [new QemuTarget('qemu:debian-6.12:x86_64'), new QemuTarget('qemu:debian-6.12:x86_64')];
    targets.push(a, b);
    // What a fresh guest holds besides a sequence: the agent's own programs.
    const fresh = (await a.run(attaching(1))).world!.progs;
    // a runs ahead: 3 more sequences of 7 programs (and a link id each that failed), b one of 2.
    for (let i = 0; i < 3; i++) await a.run(attaching(7));
    await b.run(attaching(2));
    const [na, nb] = [await nextIds(a), await nextIds(b)];
    expect(na!.prog - nb!.prog).toBeGreaterThan(10);
    const held = await a.run(attaching(1));
    // Programs of earlier sequences, attached in their held namespaces, are outside objects.
    expect(held.world!.progs.length).toBeGreaterThanOrEqual(fresh.length + 21);

    expect(await matchWorlds(a, b)).toBe(true);
    const [ra, rb] = await Promise.all([a.run(attaching(3)), b.run(attaching(3))]);
    expect(ra.world!.progIds).toEqual(rb.world!.progIds);
    expect(ra.world!.nextLinkId).toBe(rb.world!.nextLinkId);
    expect(ra.world!.progs).toEqual(rb.world!.progs);
    expect(ra.world!.progs).toEqual(fresh); // nothing of the earlier sequences
    expect(ra.steps.map((s) => s.ret)).toEqual(rb.steps.map((s) => s.ret));
  });
});
