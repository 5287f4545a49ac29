// The world lockstep on real kernels (no mocks), run on one kernel by each of
// test/host/world-lockstep.test.ts and test/kbuild/world-lockstep.test.ts: the emulator compared
// with a kernel must see that kernel's ids, outside objects and fds. An emulator that forgets the
// world (ids counted from 1 in each sequence, nothing outside it: how it ran before it had one)
// is a test-only mutant that `mprog fuzz` must catch within 200 generated sequences, on the host
// and on the mprog-6.12 kernel in QEMU, while the real one agrees with the kernel on the same
// sequences.

import { afterAll, describe, expect, it } from 'vitest';
import { profileForRelease } from '../emulator/profiles.js';
import { loadCorpus } from '../harness/sequences/corpus.js';
import { fuzz } from '../harness/fuzz/run.js';
import { type WorldView, compare } from '../harness/replay/compare.js';
import { parseSequenceText } from '../harness/sequences/parse.js';
import type { Target } from '../contract/target.js';

const MINUTE = 60_000;
const FORGET: WorldView = () => undefined;

async function profileOf(target: Target) {
  const profile = profileForRelease(await target.kernel());
  expect(profile).toBeDefined();
  return profile!;
}

/** The lockstep tests of one kernel target (`open` makes it; it is closed after the file's tests). */
export function describeWorldLockstep(spec: string, open: () => Target): void {
  describe(spec, () => {
    const target = open();
    afterAll(async () => {
      await target.close();
    });

    it('catches the emulator that forgets the world within 200 sequences; the real one agrees on what it found and on as many more', {
      timeout: 30 * MINUTE,
    }, async () => {
      const mutant = await fuzz({ target, seed: 11, sequences: 200, maxSteps: 16, worldView: FORGET });
      expect(mutant.divergence).not.toBeNull();
      expect(mutant.divergence!.minimal.steps.length).toBeLessThanOrEqual(5);
      const profile = await profileOf(target);
      for (const seq of [mutant.divergence!.original, mutant.divergence!.minimal]) {
        expect((await compare(target, profile, seq)).diff).toEqual([]);
      }
      const real = await fuzz({ target, seed: 11, sequences: mutant.divergence!.index + 1, maxSteps: 16 });
      expect(real.divergence).toBeNull();
      expect(real.sequences).toBe(mutant.divergence!.index + 1);
    });

    it('replays the corpus of ids and raw numbers like the emulator in its world, unlike a fresh one', { timeout: 10 * MINUTE }, async () => {
      const corpus = loadCorpus(['corpus/ids']);
      const profile = await profileOf(target);
      let forgetful = 0;
      for (const seq of corpus) {
        // netkit devices need CONFIG_NETKIT, which the host lacks; corpus/ids declares none.
        expect((await compare(target, profile, seq)).diff).toEqual([]);
        forgetful += (await compare(target, profile, seq, {}, FORGET)).diff.length;
      }
      expect(forgetful).toBeGreaterThan(0);
    });

    it('answers EAGAIN for a relative equal to the id of the link being created, as the emulator in its world does', {
      timeout: 10 * MINUTE,
    }, async () => {
      const profile = await profileOf(target);
      const sequence = (steps: unknown[]) =>
        parseSequenceText(
          JSON.stringify({ format: 'mprog-seq/1', name: 'own-link-id', devices: ['v0'], programs: ['a'], steps }),
          'own-link-id.json',
        );
      const linkCreate = (value: number) => ({
        op: 'link_create',
        link: 'l',
        prog: 'a',
        dev: 'v0',
        attach_type: 'tcx_ingress',
        flags: ['BPF_F_BEFORE', 'BPF_F_ID', 'BPF_F_LINK'],
        relative: { value },
      });
      // The first sequence (no link) shows the next link id; the second's own world probe takes
      // that one, so its link is primed with the id after it (nothing else here makes links).
      const first = await compare(target, profile, sequence([{ op: 'query', dev: 'v0', attach_type: 'tcx_ingress' }]));
      expect(first.world?.nextLinkId).toBeGreaterThan(0);
      const second = await compare(target, profile, sequence([linkCreate(first.world!.nextLinkId + 1)]));
      expect(second.target.map((r) => r.errno)).toEqual(['EAGAIN']);
      expect(second.diff).toEqual([]);
    });
  });
}
