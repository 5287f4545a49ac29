// Version profiles: which kernel release maps to which profile, and what each one changes.

import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROFILES, type Profile, findProfile, profileForRelease } from '../../emulator/profiles.js';
import { loadCorpus } from '../../harness/sequences/corpus.js';
import { checkExpects } from '../../harness/replay/replay.js';
import { normalise } from '../../harness/replay/normalise.js';
import { parseSequenceText } from '../../harness/sequences/parse.js';
import { runOnEmulator } from '../../harness/targets/emulator.js';

describe('profileForRelease', () => {
  it.each([
    ['6.1.0-31-cloud-amd64', '6.1'],
    ['6.6.9', '6.6'],
    ['6.6.58', '6.6.33'],
    ['6.8.11', '6.7'],
    ['6.8.12', '6.12'],
    ['6.12.57+deb13-cloud-amd64', '6.12'],
    ['6.12.113', '6.12.110'],
    ['6.12.117+deb13-cloud-amd64', '6.12.114'],
    ['6.17.13+deb14-cloud-amd64', '6.17'],
    ['6.18.13', '6.17'],
    ['6.18.14', '7.2'],
    ['6.18.43', '7.2'],
    ['6.18.44-fc-v657', '6.18.44'],
    ['6.18.60', '6.18.44'],
    ['6.19.2', '6.19'],
    ['6.19.4', '7.2'],
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

describe('the cgroup link update of 6.18.44', () => {
  const updates = loadCorpus(['corpus/cgroup/link-update-attach-type.json']);
  const answers = (profile: string) => {
    const [s] = updates;
    return normalise(s!, runOnEmulator(s!, findProfile(profile)!))
      .slice(3, 6)
      .map((r) => r.errno ?? 'ok');
  };
  it("checks the new program against the link's attach type there, and only there", () => {
    expect(answers('6.18.44')).toEqual(['EINVAL', 'EINVAL', 'EINVAL']);
    expect(answers('7.2')).toEqual(['ok', 'ok', 'ok']);
    expect(answers('6.12.110')).toEqual(['ok', 'ok', 'ok']);
  });
});

/** Every `expect` of the corpus at `paths` holds on each of `profiles`. */
function expectsHold(paths: string[], profiles: readonly Profile[]): void {
  const corpus = loadCorpus(paths);
  for (const profile of profiles) {
    for (const s of corpus) {
      const failures = checkExpects(s, normalise(s, runOnEmulator(s, profile)));
      expect({ profile: profile.name, file: s.file, failures }).toEqual({ profile: profile.name, file: s.file, failures: [] });
    }
  }
}

describe('the corpus expectations', () => {
  it('hold on every profile with tcx (steps whose answer changed between versions carry none)', () => {
    expectsHold(
      ['corpus/tcx', 'corpus/ids'],
      PROFILES.filter((p) => p.tcx),
    );
  });

  it('hold for corpus/caps on every profile with what each file needs: tcx, netkit, the cgroup mprog API', () => {
    const tcx = ['bpf-only', 'detach-no-fd', 'links', 'net-admin-only', 'none', 'query'];
    expectsHold(
      tcx.map((f) => `corpus/caps/${f}.json`),
      PROFILES.filter((p) => p.tcx),
    );
    expectsHold(
      ['corpus/caps/netkit.json'],
      PROFILES.filter((p) => p.netkit),
    );
    expectsHold(
      ['corpus/caps/cgroup.json', 'corpus/caps/bpf-net-admin.json'],
      PROFILES.filter((p) => p.cgroupMprog),
    );
    expect(tcx.length + 3).toBe(readdirSync('corpus/caps').length);
  });

  it('hold for corpus/cgroup on every profile with the cgroup mprog API', () => {
    expectsHold(
      ['corpus/cgroup'],
      PROFILES.filter((p) => p.cgroupMprog),
    );
  });
});
