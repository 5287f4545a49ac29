// Each profile records the real kernels it was checked against; a divergence on a release newer
// than its last check says so beside the divergence, in every report (terminal, summary.md,
// JUnit, TAP), so that a nightly on a new stable kernel reads as "the kernel moved".

import { describe, expect, it } from 'vitest';
import { PROFILES, checkStanding, findProfile, newestCheck, profileForRelease } from '../../emulator/profiles.js';
import { modelCheckNotes } from '../../harness/results/model-checks.js';
import { buildReport } from '../../harness/results/report.js';
import { type PlanRecord, RESULTS_FORMAT, type ResultRecord } from '../../harness/results/records.js';
import { renderReport } from '../../harness/results/writers/terminal.js';
import { markdown } from '../../harness/results/writers/markdown.js';
import { junitXml } from '../../harness/results/writers/junit.js';
import { tap } from '../../harness/results/writers/tap.js';

describe('profile checks', () => {
  it('every profile says what it was checked on; the checks fall in its range', () => {
    for (const p of PROFILES) {
      expect(Array.isArray(p.checked), p.name).toBe(true);
      for (const c of p.checked) {
        expect(c.where, `${p.name} ${c.release}`).toMatch(/\d{4}-\d{2}-\d{2}/);
        // A check of a release the profile does not stand for would be a check of another profile.
        expect(profileForRelease(c.release)?.name, `${p.name} ${c.release}`).toBe(p.name);
      }
    }
    expect(newestCheck(findProfile('6.12.114')!)?.release).toBe('6.12.117');
    expect(newestCheck(findProfile('6.17')!)?.release).toBe('6.17.13');
    expect(newestCheck(findProfile('7.2')!)?.release).toBe('7.3.4');
    expect(newestCheck(findProfile('6.18.44')!)?.release).toBe('6.18.44-fc-v1300');
    expect(newestCheck(findProfile('6.6.33')!)?.release).toBe('6.6.87');
  });

  it('tells a release checked, older than the last check, newer, or of a profile never checked', () => {
    const p = findProfile('6.12.114')!;
    expect(checkStanding(p, '6.12.117+deb13-cloud-amd64')).toBe('checked');
    expect(checkStanding(p, '6.12.117-1')).toBe('checked');
    expect(checkStanding(p, '6.12.115')).toBe('older');
    expect(checkStanding(p, '6.12.130')).toBe('newer');
    expect(checkStanding(findProfile('7.2')!, '7.2.13')).toBe('checked');
    expect(checkStanding(findProfile('7.2')!, '7.5.0-rc2')).toBe('newer');
    expect(checkStanding(findProfile('6.18.44')!, '6.18.44-fc-v1300')).toBe('checked');
    expect(checkStanding(findProfile('6.18.44')!, '6.18.50')).toBe('newer');
    expect(checkStanding(findProfile('6.13')!, '6.13.4')).toBe('never');
  });
});

const divergence = {
  step: 12,
  op: 'link_update',
  fields: [{ path: 'errno', left: 'EINVAL', right: undefined }],
  left: { ok: false, errno: 'EINVAL' },
  right: { ok: true },
};

function record(release: string, profile: string, divergent = true): ResultRecord {
  return {
    type: 'result',
    sequence: 'corpus/cgroup/links.json',
    name: 'cgroup/links',
    target: 'qemu:kernel.org-6.18.50:x86_64',
    release,
    profile,
    outcome: divergent ? 'fail' : 'pass',
    steps: 20,
    divergences: divergent ? [divergence as never] : [],
    expectFailures: [],
    ms: 10,
  };
}

const plan: PlanRecord = {
  type: 'plan',
  format: RESULTS_FORMAT,
  shard: null,
  profile: null,
  targets: [{ spec: 'qemu:kernel.org-6.18.50:x86_64', kernel: 'kernel.org-6.18.50', arch: 'x86_64' }],
  sequences: [{ key: 'corpus/cgroup/links.json', name: 'cgroup/links', steps: 20, hash: 'h' }],
};

const NOTE =
  /this kernel \(6\.18\.50\) is newer than the model's last check of profile 6\.18\.44 \(6\.18\.44-fc-v1300, this project's host, x86_64, the shipped corpus, 2026-12-07\); it may have changed behaviour/;

describe('a divergence on a kernel newer than the last check', () => {
  it('is noted; one on a checked release, or a pair without divergences, is not', () => {
    expect(modelCheckNotes(record('6.18.50', '6.18.44'))).toEqual([expect.stringMatching(NOTE)]);
    expect(modelCheckNotes(record('6.18.44-fc-v1300', '6.18.44'))).toEqual([]);
    expect(modelCheckNotes(record('6.18.50', '6.18.44', false))).toEqual([]);
    expect(modelCheckNotes(record('6.13.4', '6.13'))).toEqual([
      expect.stringMatching(/profile 6\.13 was never checked on a real kernel of its range; this kernel \(6\.13\.4\)/),
    ]);
    // mprog diff records both kernels: "BASE vs KERNEL", the base's profile.
    expect(modelCheckNotes(record('6.12.117 vs 6.12.130', '6.12.114'))).toEqual([
      expect.stringMatching(/this kernel \(6\.12\.130\) is newer than the model's last check of profile 6\.12\.114 \(6\.12\.117,/),
    ]);
  });

  it('is said beside the divergence in the terminal report, summary.md, JUnit and TAP', () => {
    const report = buildReport([plan], [record('6.18.50', '6.18.44')]);
    const terminal = renderReport(report, ['out/conform/results.jsonl']);
    expect(terminal).toMatch(NOTE);
    // Beside it: between the failure's heading and its step table.
    expect(terminal.indexOf('newer than the model')).toBeLessThan(terminal.indexOf('step 12 (link_update)'));
    expect(terminal.indexOf('newer than the model')).toBeGreaterThan(terminal.indexOf('FAIL cgroup/links'));
    expect(markdown(report)).toMatch(
      /> ⚠️ this kernel \(6\.18\.50\) is newer than the model&#39;s last check|> ⚠️ this kernel \(6\.18\.50\) is newer than the model's last check/,
    );
    const junit = junitXml(report);
    expect(junit).toMatch(
      /<failure type="divergence"[^>]*>note: this kernel \(6\.18\.50\) is newer than the model&apos;s|<failure type="divergence"[^>]*>note: this kernel \(6\.18\.50\) is newer than the model's/,
    );
    expect(tap(report)).toMatch(/newer than the model's last check of profile 6\.18\.44/);
    // On the release it was checked on: no such note.
    const checked = buildReport([plan], [record('6.18.44-fc-v1300', '6.18.44')]);
    expect(renderReport(checked, [])).not.toMatch(/newer than the model/);
  });
});
