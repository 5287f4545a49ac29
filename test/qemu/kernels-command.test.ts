// `mprog kernels` against the real Debian mirror (through the private apt), and the kernel a VM
// of a listed series really boots.

import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { prepareKernel } from '../../vm/guest/boot-kernel.js';

const mprog = (...args: string[]) => execa('node', ['bin/mprog.js', ...args], { reject: false, env: { NO_COLOR: '1' } });
const MINUTE = 60_000;

interface Entry {
  kernel: string;
  arch: string;
  kind: string;
  package: string | null;
  version: string | null;
  suite: string | null;
  usable: boolean;
  why: string | null;
}

describe('mprog kernels', () => {
  it("lists each arch's Debian series and buildable kernels, with the version a VM boots", { timeout: 10 * MINUTE }, async () => {
    const r = await mprog('kernels', '--json');
    expect(r.exitCode).toBe(0);
    const entries = JSON.parse(r.stdout) as Entry[];
    const find = (kernel: string, arch: string) => entries.find((e) => e.kernel === kernel && e.arch === arch);
    for (const arch of ['x86_64', 'arm64']) {
      expect(find('debian-6.12', arch)).toMatchObject({ kind: 'debian', usable: true, why: null, version: expect.stringMatching(/^6\.12\.\d+-/) });
      expect(find('debian-6.1', arch)).toMatchObject({ kind: 'debian', usable: false, why: expect.stringMatching(/no tcx/) });
      expect(find('mprog-6.12', arch)).toMatchObject({
        kind: 'built',
        usable: true,
        package: 'linux-source-6.12',
        version: expect.stringMatching(/^6\.12\.\d+-/),
      });
    }
    // A series without a complete package says which part the mirror lacks (7.0 and 7.1 while they lack it).
    for (const e of entries.filter((x) => x.package === null))
      expect(e).toMatchObject({ usable: false, why: expect.stringMatching(/the mirror has no linux-(modules|base|binary)-/) });
    for (const e of entries.filter((x) => x.usable)) expect(e.package).not.toBeNull();
    // The version listed is the one a VM of that series boots (prepareKernel resolves it the same way).
    const booted = await prepareKernel('debian-6.12', 'x86_64');
    expect(`${booted.package!.name} ${booted.package!.version}`).toBe(
      `${find('debian-6.12', 'x86_64')!.package} ${find('debian-6.12', 'x86_64')!.version}`,
    );
  });

  it('prints plain lines per arch for people, one arch when asked', { timeout: 5 * MINUTE }, async () => {
    const r = await mprog('kernels', '--arch', 'arm64');
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.split('\n').filter(Boolean);
    expect(lines[0]).toBe('arm64:');
    expect(lines.some((l) => l === 'x86_64:')).toBe(false);
    expect(lines).toContainEqual(
      expect.stringMatching(/^ {2}debian-6\.12 +usable +linux-image-6\.12\.\S+-cloud-arm64\S* 6\.12\.\S+ \(\S+\); profile \S+, .+$/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}debian-6\.1 +not usable +linux-image-6\.1\.\S+ \S+ \(bookworm\): no tcx/));
    expect(r.stdout).not.toMatch(/\x1b/);
  });
});
