// Version profiles: which kernel release maps to which profile, and what each one changes.

import { describe, expect, it } from 'vitest';
import { PROFILES, findProfile, profileForRelease } from '../emulator/profiles.js';
import { BadInput } from '../harness/errors.js';
import { loadCorpus } from '../harness/corpus.js';
import { checkExpects } from '../harness/replay.js';
import { normalise } from '../harness/normalise.js';
import { parseSequenceText } from '../harness/seq/parse.js';
import { runOnEmulator } from '../harness/targets/emulator.js';

describe('profileForRelease', () => {
  it.each([
    ['6.1.0-31-cloud-amd64', '6.1'],
    ['6.6.9', '6.6'],
    ['6.6.58', '6.6.33'],
    ['6.8.11', '6.7'],
    ['6.8.12', '6.12'],
    ['6.12.57+deb13-cloud-amd64', '6.12'],
    ['6.18.44-fc-v657', '7.2'],
    ['7.2.13+deb14-cloud-arm64', '7.2'],
  ])('%s -> %s', (release, name) => {
    expect(profileForRelease(release)?.name).toBe(name);
  });

  it('knows no profile for a kernel older than 6.1 or a release it cannot read', () => {
    expect(profileForRelease('5.10.0')).toBeUndefined();
    expect(profileForRelease('emulator')).toBeUndefined();
  });

  it('documents every difference with a commit', () => {
    for (const p of PROFILES) for (const d of p.differences) expect(d.commit).toMatch(/"/);
  });
});

const seq = parseSequenceText(
  JSON.stringify({
    format: 'mprog-seq/1',
    name: 'p',
    devices: [{ name: 'v0' }, { name: 'nk0', kind: 'netkit' }],
    programs: ['a'],
    steps: [
      { op: 'prog_attach', prog: 'a', dev: 'v0', attach_type: 'tcx_ingress' },
      { op: 'link_create', link: 'l', prog: 'a', dev: 'nk0', attach_type: 'netkit_primary' },
      { op: 'query', dev: 'v0', attach_type: 'tcx_ingress' },
    ],
  }),
  'p.json',
);

const outcome = (profile: string) => normalise(seq, runOnEmulator(seq, findProfile(profile)!)).map((r) => r.errno ?? 'ok');

describe('profiles differ where the kernels do', () => {
  it('6.1 has neither tcx nor netkit', () => expect(outcome('6.1')).toEqual(['EINVAL', 'EINVAL', 'EINVAL']));
  it('6.6 has tcx but not netkit', () => expect(outcome('6.6')).toEqual(['ok', 'EINVAL', 'ok']));
  it('6.12 and 7.2 have both', () => {
    expect(outcome('6.12')).toEqual(['ok', 'ok', 'ok']);
    expect(outcome('7.2')).toEqual(['ok', 'ok', 'ok']);
  });
});

describe('the corpus expectations', () => {
  it('hold on every profile with tcx (steps whose answer changed between versions carry none)', () => {
    const corpus = loadCorpus(['corpus/tcx', 'corpus/ids']);
    if (corpus instanceof BadInput) throw new Error(corpus.message);
    for (const profile of PROFILES.filter((p) => p.tcx)) {
      for (const s of corpus) {
        expect({ profile: profile.name, file: s.file, failures: checkExpects(s, normalise(s, runOnEmulator(s, profile))) }).toEqual({ profile: profile.name, file: s.file, failures: [] });
      }
    }
  });
});
