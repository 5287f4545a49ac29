// Signals to any process of mprog's end the run: to mprog itself even while the in-process
// emulator keeps it busy (it used to starve signal handling), and to the npm that launched it
// (`npx mprog`: npm exits at SIGKILL, and mprog behind npm's `sh -c` ran on under init).

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '../..');

/** What a failed test would leave running. */
const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

/** The pid of the node process running mprog with `marker` among its arguments, once it runs. */
async function mprogPid(marker: string, timeoutMs = 60_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let argv: string[];
      try {
        argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      } catch {
        continue;
      }
      if (/(^|\/)node$/.test(argv[0] ?? '') && argv.some((a) => /bin\/mprog(\.js)?$/.test(a)) && argv.includes(marker)) {
        started.push(Number(entry));
        return Number(entry);
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mprog process with ${marker} within ${timeoutMs} ms`);
}

function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
  } catch {
    return false;
  }
}

/** How long until `pid` is gone (ms), at most `limitMs`. */
async function goneWithin(pid: number, limitMs: number): Promise<number> {
  const start = Date.now();
  while (alive(pid) && Date.now() - start < limitMs) await new Promise((r) => setTimeout(r, 50));
  return Date.now() - start;
}

/** A fuzz run on the emulator that would go on for hours: busy in-process, no I/O. */
function longFuzz(command: string, prefix: string[]): { child: ChildProcess; out: string } {
  const out = mkdtempSync(join(tmpdir(), 'mprog-launcher-'));
  const child = spawn(command, [...prefix, 'fuzz', '--target', 'emulator', '--sequences', '1000000', '--out', out], { cwd: REPO, stdio: 'ignore' });
  return { child, out };
}

describe('signals end mprog', () => {
  it('SIGTERM to mprog while the emulator keeps it busy: exit 143 at once', async () => {
    const { child, out } = longFuzz(process.execPath, [join(REPO, 'bin/mprog.js')]);
    const pid = await mprogPid(out);
    await new Promise((r) => setTimeout(r, 2000));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    process.kill(pid, 'SIGTERM');
    expect(await goneWithin(pid, 5000)).toBeLessThan(2000);
    expect(await exited).toBe(143);
  });

  it.each(['SIGKILL', 'SIGTERM'] as const)('%s to the npx that launched it ends mprog too', async (signal) => {
    const { child, out } = longFuzz('npx', ['--no-install', 'mprog']);
    const pid = await mprogPid(out);
    await new Promise((r) => setTimeout(r, 2000));
    child.kill(signal);
    expect(await goneWithin(pid, 10_000)).toBeLessThan(5000);
  });
});
