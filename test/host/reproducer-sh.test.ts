// Shell reproducers carry interface names as the kernel accepts them (any printable character but
// "/" and ":"), shell metacharacters included: run for real, such a name must stay one word.

import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { shellReproducer } from '../../harness/reproducers/shell.js';
import { parseSequenceText } from '../../harness/sequences/parse.js';
import { projectBpftool } from '../../vm/debian/project-bpftool.js';
import { hostArch } from '../../vm/runtime/paths.js';

describe('shell reproducer', () => {
  it("quotes device names: a name with $(...), ;, ` and ' runs as a name, never as a command", async () => {
    const dev = 'v;touch${IFS}x';
    const peer = "p'`id>y`";
    const seq = parseSequenceText(
      JSON.stringify({
        format: 'mprog-seq/1',
        name: 'names\n$(touch z)',
        devices: [{ name: dev, peer }],
        programs: ['a'],
        steps: [
          { op: 'prog_attach', prog: 'a', dev, attach_type: 'tcx_ingress' },
          { op: 'query', dev, attach_type: 'tcx_ingress' },
          { op: 'dev_delete', dev },
        ],
      }),
      'names.json',
    );
    const made = shellReproducer(seq);
    if (!('script' in made)) throw new Error(made.inexpressible.join('; '));
    const cwd = mkdtempSync(join(tmpdir(), 'mprog-sh-names-'));
    writeFileSync(join(cwd, 'repro.sh'), made.script, { mode: 0o755 });
    // Debian 12's own bpftool (7.1) predates tcx: the script runs with the project's (7.5).
    const bpftoolDir = dirname(await projectBpftool(hostArch()!));
    const run = await execa('sh', ['repro.sh'], { cwd, reject: false, env: { PATH: `${bpftoolDir}:${process.env['PATH']}` } });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.stdout.split('\n').filter((l) => l.startsWith('step '))).toEqual(['step 0 prog_attach: 0', 'step 1 query: 0', 'step 2 dev_delete: 0']);
    expect(run.stdout).toMatch(new RegExp(`^\\s+${dev.replace(/[$()`{}|[\]\\^.*+?]/g, '\\$&')}\\(\\d+\\) tcx/ingress a prog_id \\d+`, 'm'));
    for (const f of ['x', 'y', 'z']) expect(existsSync(join(cwd, f))).toBe(false);
  });
});
