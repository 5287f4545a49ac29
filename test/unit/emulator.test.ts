// Every shipped sequence replayed on the emulator: each `expect` (taken from the selftests and
// from runs on real kernels) must hold.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatExpectFailures, replaySequence } from '../../harness/replay/replay.js';
import { parseSequenceFile } from '../../harness/sequences/parse.js';
import { EmulatorTarget } from '../../harness/targets/emulator.js';

function jsonFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return jsonFiles(path);
      return name.endsWith('.json') ? [path] : [];
    });
}

const files = [...jsonFiles('test/sequences'), ...jsonFiles('corpus')];

describe('shipped sequences on the emulator', () => {
  const target = new EmulatorTarget('6.12.110'); // Debian's 6.12 (6.12.117): tcx, netkit and the cgroup mprog API
  it('finds the sequences', () => {
    expect(files.length).toBeGreaterThanOrEqual(76);
  });
  it.each(files)('%s', async (file) => {
    const seq = parseSequenceFile(file);
    const { report, expectFailures } = await replaySequence(target, seq);
    expect(report.results).toHaveLength(seq.steps.length);
    expect(formatExpectFailures(seq, target.spec, expectFailures)).toBe('');
  });
});
