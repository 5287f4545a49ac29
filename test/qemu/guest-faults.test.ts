// How a guest's faults are judged and what they carry (issue 20, items 3 and 12), found the way
// the audit found them: `conform --deadline 1 corpus/tcx` run again and again on the loaded
// machine, and QEMU killed in the middle of a conform run.

import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';

const MINUTE = 60_000;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function outDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'mprog-guest-faults-'));
  dirs.push(d);
  return d;
}

interface Rec {
  type: string;
  name?: string;
  outcome?: string;
  fault?: { kind: string; message: string; console?: string };
}
const records = (dir: string): Rec[] =>
  readFileSync(join(dir, 'results.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Rec);

/** QEMU processes whose parent is `pid`. */
function qemuChildren(pid: number): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        return stat.includes('(qemu-system-') && stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] === String(pid);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('a missed deadline on a working guest is a timeout, never a crash', () => {
  it("conform --deadline 1 (and 1,0,0: every sequence late) corpus/tcx, 3 times each: exit 2 (or 0), never 3; deadlines land on the user's sequences, not on the tcx probe", {
    timeout: 20 * MINUTE,
  }, async () => {
    const exits: number[] = [];
    for (const deadline of ['1', '1', '1', '1,0,0', '1,0,0', '1,0,0']) {
      const out = outDir();
      const r = await execa('node', ['bin/mprog.js', 'conform', '--deadline', deadline, '--out', out, 'corpus/tcx'], { reject: false });
      exits.push(r.exitCode ?? -1);
      const faults = records(out).filter((x) => x.fault);
      for (const f of faults) {
        expect(f.fault!.kind, f.fault!.message).toBe('timeout');
        expect(f.fault!.message).not.toContain('(tcx probe)');
        expect(f.fault!.message).toMatch(/the guest is still working \(.*\): give it more time with --deadline/);
        expect(f.fault!.console && existsSync(join(out, f.fault!.console))).toBe(true);
      }
      expect(r.exitCode, r.stderr).toBe(faults.length ? 2 : 0);
      expect(r.stderr).not.toMatch(/\bhung\b/);
    }
    expect(exits.every((e) => e === 0 || e === 2)).toBe(true);
    expect(exits.slice(3)).toEqual([2, 2, 2]); // 1 ms for a whole sequence: always missed, always a timeout
  });
});

describe('every guest fault comes with its console', () => {
  it('QEMU killed mid-run: agent-lost (exit 3), the console saved under console/ (the boot the guest was resumed from included)', {
    timeout: 10 * MINUTE,
  }, async () => {
    // A first run makes sure a saved guest exists, so that the killed one is a resumed guest,
    // whose console file starts empty but for the saved boot's console.
    const warm = await execa('node', ['bin/mprog.js', 'replay', '--target', 'qemu:debian-6.12:x86_64', 'test/sequences/tc_opts/basic.json'], {
      reject: false,
    });
    expect(warm.exitCode).toBe(0);
    const out = outDir();
    const run = execa('node', ['bin/mprog.js', 'conform', '--out', out, 'test/sequences'], { reject: false });
    let killed: number | undefined;
    const started = Date.now();
    while (killed === undefined && Date.now() - started < 5 * MINUTE) {
      await new Promise((r) => setTimeout(r, 200));
      const done = existsSync(join(out, 'results.jsonl')) ? records(out).filter((x) => x.type === 'result').length : 0;
      const [qemu] = qemuChildren(run.pid!);
      if (qemu && done >= 3) {
        process.kill(qemu, 'SIGKILL');
        killed = qemu;
      }
    }
    expect(killed).toBeDefined();
    const r = await run;
    expect(r.exitCode).toBe(3);
    const lost = records(out).filter((x) => x.fault?.kind === 'agent-lost');
    expect(lost.length).toBeGreaterThan(0);
    for (const f of lost) {
      expect(f.fault!.message).toMatch(/QEMU killed by SIGKILL/);
      expect(f.fault!.console).toMatch(/^console\//);
      const log = readFileSync(join(out, f.fault!.console!), 'utf8');
      expect(log.length).toBeGreaterThan(0);
      expect(log).toContain('--- mprog: the guest was saved after this boot and resumed here ---');
    }
  });
});
