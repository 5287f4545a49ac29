// The --out lock with real processes (issue 20, item 9): two processes taking a stale lock at the
// same instant (exactly one wins, 60 times), stale locks naming live processes that are not its
// holder (pid 1, a `sleep`), a holder SIGKILLed, and `fuzz` refusing a directory a running
// `conform` holds. Runs the built lockOutDir (dist/), as the CLI does.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../processes.js';

const OUT_DIR_JS = join(process.cwd(), 'dist', 'harness', 'results', 'out-dir.js');

/**
 * A process that waits until `at` (ms since the epoch; busy, for a sharp start), tries the lock
 * on `dir`, prints `won` or `lost: <message>`, and holds what it got for `holdMs`.
 */
const contender = (dir: string, at: number, holdMs: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const script = `
      const { lockOutDir } = await import(${JSON.stringify(OUT_DIR_JS)});
      while (Date.now() < ${at});
      let said;
      try { lockOutDir(${JSON.stringify(dir)}); said = 'won'; } catch (err) { said = 'lost: ' + err.message; }
      process.stdout.write(said + '\\n');
      setTimeout(() => process.exit(0), ${holdMs});`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', () => resolve(out.trim()));
  });

const tmp = (): string => mkdtempSync(join(tmpdir(), 'mprog-lock-'));

/** A lock file as a run SIGKILLed long ago left it, naming `pid` (its start time another's). */
const staleLock = (dir: string, pid: number): void =>
  writeFileSync(join(dir, '.lock'), `${JSON.stringify({ tool: 'mprog', pid, start: '1', command: 'conform' })}\n`);

describe('the --out lock', () => {
  it('of two processes taking a stale lock at the same instant, exactly one gets it (60 trials)', { timeout: 3 * 60_000 }, async () => {
    const outcomes: string[][] = [];
    for (let trial = 0; trial < 60; trial++) {
      const dir = tmp();
      staleLock(dir, 999_999_999); // no such process
      // Both have started node and loaded the module well before `at`.
      const at = Date.now() + 450;
      const got = await Promise.all([contender(dir, at, 150), contender(dir, at, 150)]);
      outcomes.push(got);
      expect(existsSync(join(dir, '.lock'))).toBe(false); // the winner's, removed as it ended
    }
    const winners = outcomes.map((got) => got.filter((g) => g === 'won').length);
    expect(winners).toEqual(outcomes.map(() => 1));
    for (const got of outcomes) expect(got.find((g) => g !== 'won')).toMatch(/^lost: --out .*: another (mprog|process)/);
  });

  it('takes over a stale lock naming pid 1, a live sleep, or a bare pid', async () => {
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      for (const write of [
        (d: string) => staleLock(d, 1),
        (d: string) => staleLock(d, sleeper.pid!),
        (d: string) => writeFileSync(join(d, '.lock'), '1\n'),
        (d: string) => writeFileSync(join(d, '.lock'), `${sleeper.pid}\n`),
      ]) {
        const dir = tmp();
        write(dir);
        expect(await contender(dir, 0, 0)).toBe('won');
      }
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('is free again once its holder was SIGKILLed; refused while it lives', async () => {
    const dir = tmp();
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { lockOutDir } = await import(${JSON.stringify(OUT_DIR_JS)}); lockOutDir(${JSON.stringify(dir)}); setInterval(() => {}, 1000);`,
      ],
      { stdio: 'ignore' },
    );
    await waitFor('the holder to write its label', 10_000, () =>
      readFileSync(join(dir, '.lock'), { flag: 'a+' }).toString().includes(`"pid":${holder.pid}`) ? true : undefined,
    );
    expect(await contender(dir, 0, 0)).toMatch(new RegExp(`^lost: --out ${dir}: another mprog .*\\(pid ${holder.pid}\\) is writing there`));
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    expect(existsSync(join(dir, '.lock'))).toBe(true); // left behind, naming a dead process
    expect(await contender(dir, 0, 0)).toBe('won');
  });

  it('fuzz refuses a directory a running conform holds', { timeout: 2 * 60_000 }, async () => {
    const out = tmp();
    const conform = execa('node', ['bin/mprog.js', 'conform', '--host', '--out', out, 'corpus/tcx'], { reject: false });
    // Stopped while it holds the lock, so it cannot end meanwhile.
    await waitFor('conform to lock its --out', 60_000, () =>
      existsSync(join(out, '.lock')) && readFileSync(join(out, '.lock'), 'utf8').includes('conform') ? true : undefined,
    );
    process.kill(conform.pid!, 'SIGSTOP');
    try {
      const fuzz = await execa('node', ['bin/mprog.js', 'fuzz', '--target', 'emulator', '--sequences', '2', '--seed', '1', '--out', out], {
        reject: false,
      });
      expect(fuzz.exitCode).toBe(2);
      expect(fuzz.stderr).toBe(
        `mprog: --out ${out}: another mprog conform (pid ${conform.pid}) is writing there; wait for it to end, or use another --out`,
      );
      expect(existsSync(join(out, 'coverage.json'))).toBe(false);
    } finally {
      process.kill(conform.pid!, 'SIGCONT');
    }
    expect((await conform).exitCode).not.toBe(2);
  });
});
