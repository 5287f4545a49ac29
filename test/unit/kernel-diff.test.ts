// `mprog kernel build` and `mprog diff` on bad input, which they refuse before building or
// preparing anything (the builds and the differences: test/kbuild/kernel-diff.test.ts).

import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

const mprog = (...args: string[]) => execa('node', ['bin/mprog.js', ...args], { reject: false, env: { NO_COLOR: '1' } });

describe('mprog kernel build', () => {
  it('says what is wrong with its input before building anything', async () => {
    const missing = await mprog('kernel', 'build', 'debian-6.12', '--patch', 'test/patches/nonexistent.patch');
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/--patch test\/patches\/nonexistent\.patch: cannot read it \(ENOENT\)/);
    const notKernel = await mprog('kernel', 'build', 'test/patches');
    expect(notKernel.exitCode).toBe(2);
    expect(notKernel.stderr).toMatch(/not a kernel source tree/);
  });
});

describe('mprog diff', () => {
  it('names a kernel that cannot be one before it prepares the other', async () => {
    const missing = await mprog('diff', '--base', 'mprog-6.12', '--kernel', '/nonexistent/bzImage', '--fuzz', '0');
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/kernel \/nonexistent\/bzImage: no such file/);
    const dir = await mprog('diff', '--base', 'test/patches', '--kernel', 'mprog-6.12');
    expect(dir.exitCode).toBe(2);
    expect(dir.stderr).toMatch(/kernel test\/patches: is a directory: give the image built in it/);
  });
});
