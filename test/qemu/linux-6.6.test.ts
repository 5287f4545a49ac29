// The design card's 6.6 LTS kernel: the shipped corpus on the 6.6.87 images in
// ../shared/kernels/ (tinyconfig + kernel-configs/mprog.fragment, no netkit: 6.6 has none, and no
// cgroup mprog API: it came in 6.17 and 6.12.110), on x86_64 and arm64, with profile 6.6.33.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { conformCorpus } from '../conform-corpus.js';
import { parseSequenceFile } from '../../harness/sequences/parse.js';
import { usesCgroups } from '../../contract/seq.js';

const MINUTE = 60_000;
const KERNELS = join(import.meta.dirname, '../../../shared/kernels');
const IMAGES = { x86_64: join(KERNELS, 'linux-6.6.87-x86_64.bzImage'), arm64: join(KERNELS, 'linux-6.6.87-arm64.Image') } as const;
const present = existsSync(IMAGES.x86_64) && existsSync(IMAGES.arm64);

if (!present) console.log(`skip: the 6.6.87 kernel images are not in ${KERNELS} (../shared/kernels beside the checkout)`);

describe.skipIf(!present)('the shipped corpus on Linux 6.6.87', () => {
  it.each(['x86_64', 'arm64'] as const)('agrees with the emulator on %s (profile 6.6.33)', { timeout: 30 * MINUTE }, async (arch) => {
    const report = await conformCorpus({ kernels: [IMAGES[arch]], arches: [arch], host: false, jobs: 1 });
    const [target] = report.targets;
    expect(target?.releases).toEqual([expect.stringMatching(/^6\.6\.87/)]);
    expect(target?.profiles).toEqual(['6.6.33']);
    const notPassed = report.pairs.filter((p) => p.record.outcome !== 'pass' && p.record.outcome !== 'unsupported');
    expect(notPassed.map((p) => `${p.record.sequence}: ${p.record.outcome} ${p.record.fault?.message ?? ''}`)).toEqual([]);
    // What 6.6 (and these images) lack, and only that, is unsupported: netkit, the cgroup mprog
    // API, and qdiscs (no CONFIG_NET_SCHED in the images).
    const unsupported = report.pairs.filter((p) => p.record.outcome === 'unsupported').map((p) => p.record.sequence);
    const needsWhatIsMissing = (file: string): boolean => {
      const seq = parseSequenceFile(file);
      return (
        usesCgroups(seq) ||
        seq.devices.some((d) => d.kind === 'netkit') ||
        seq.steps.some((st) => st.op === 'qdisc_add' || st.op === 'qdisc_delete' || (st.op === 'dev_create' && st.kind === 'netkit'))
      );
    };
    expect(unsupported.filter((s) => !needsWhatIsMissing(s))).toEqual([]);
    expect(unsupported).toEqual(expect.arrayContaining(readdirSync('corpus/netkit').map((f) => `corpus/netkit/${f}`)));
    expect(unsupported.length).toBeGreaterThan(0);
    expect(report.status).toBe(0);
  });
});
