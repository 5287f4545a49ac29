// What conform draws on a real terminal (a pty from util-linux's `script`), on the running kernel:
// colour and the live block on a terminal, neither when TERM=dumb, no colour with NO_COLOR, and
// FORCE_COLOR through a pipe. The run has a divergence (the emulator at profile 6.6 beside this
// kernel's cgroup links), so the outcome word, the differing field's mark and the verdict are
// all on screen.

import { execa } from 'execa';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const MINUTE = 60_000;
const ESC = '\u001b';
const COLOUR = new RegExp(`${ESC}\\[(1|31|32|33)m`);
const CURSOR = new RegExp(`${ESC}\\[\\d+A`);

const conform = ['bin/mprog.js', 'conform', '--host', '--profile', '6.6', 'corpus/tcx/cgroup-skb-link.json', 'corpus/tcx/revision.json'];

/** conform on a pty (`script -qec`), with `env` added; all it wrote, stdout and stderr as the terminal shows them. */
async function onTerminal(env: Record<string, string>): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), 'mprog-tty-'));
  const command = ['node', ...conform, '--out', out].join(' ');
  const r = await execa('script', ['-qec', command, '/dev/null'], { env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '', ...env }, reject: false });
  expect(r.exitCode).toBe(1);
  return r.stdout;
}

describe('conform on a terminal', () => {
  it('draws the live block and colours its marks', { timeout: 5 * MINUTE }, async () => {
    const screen = await onTerminal({ TERM: 'xterm-256color' });
    expect(screen).toMatch(CURSOR);
    expect(screen).toMatch(new RegExp(`${ESC}\\[1m${ESC}\\[31mFAIL`));
    expect(screen).toMatch(new RegExp(`${ESC}\\[31m\\*${ESC}\\[39m errno`));
  });

  it('with TERM=dumb: plain lines, no cursor movement, no colour', { timeout: 5 * MINUTE }, async () => {
    const screen = await onTerminal({ TERM: 'dumb' });
    expect(screen).not.toMatch(CURSOR);
    expect(screen).not.toMatch(COLOUR);
    expect(screen).toMatch(/\[1\/2\] FAIL/);
  });

  it('with NO_COLOR: the live block, no colour', { timeout: 5 * MINUTE }, async () => {
    const screen = await onTerminal({ TERM: 'xterm-256color', NO_COLOR: '1' });
    expect(screen).toMatch(CURSOR);
    expect(screen).not.toMatch(COLOUR);
  });

  it('through a pipe: plain, unless FORCE_COLOR', { timeout: 5 * MINUTE }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'mprog-pipe-'));
    const plain = await execa('node', [...conform, '--out', out], { reject: false, env: { NO_COLOR: '', FORCE_COLOR: '' } });
    expect(plain.stdout + plain.stderr).not.toMatch(new RegExp(ESC));
    const forced = await execa('node', [...conform, '--out', out], { reject: false, env: { NO_COLOR: '', FORCE_COLOR: '1' } });
    expect(forced.stdout).toMatch(COLOUR);
    expect(forced.stderr).not.toMatch(CURSOR); // colour forced, but a pipe cannot move a cursor
  });
});
