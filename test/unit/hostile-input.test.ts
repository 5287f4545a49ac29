// Inputs that used to hang mprog or blow it up, made for real as they were found (a FIFO, a
// symlink cycle, a symlink to /dev/zero, a file too big, bytes that are not UTF-8, names the
// kernel refuses): each is exit 2 at once, naming the path and why. And the reports of a run that
// was interrupted, and the command printed to resume it.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { walkInputDir } from '../../vm/runtime/input-files.js';
import { mprogCommand, resumeCommand } from '../../harness/conform/interrupt.js';
import { printable } from '../../harness/errors.js';
import type { PlanRecord, ResultRecord } from '../../harness/results/records.js';
import { buildReport } from '../../harness/results/report.js';
import { junitXml } from '../../harness/results/writers/junit.js';
import { markdown } from '../../harness/results/writers/markdown.js';
import { tap } from '../../harness/results/writers/tap.js';
import { type SeqError, parseSequenceText } from '../../harness/sequences/parse.js';

const BASIC = readFileSync('test/sequences/tc_opts/basic.json');
const tmp = (): string => mkdtempSync(join(tmpdir(), 'mprog-hostile-'));
const fifo = (path: string): void => void execFileSync('mkfifo', [path]);

/** The built CLI, with a deadline: a hang fails the test instead of stalling it; SIGINT then, as a user would. */
async function mprog(...args: string[]) {
  const run = execa('node', ['bin/mprog.js', ...args], { reject: false, timeout: 20_000, killSignal: 'SIGINT' });
  const started = Date.now();
  const r = await run;
  return { ...r, ms: Date.now() - started };
}

const seq = (extra: object) => JSON.stringify({ format: 'mprog-seq/1', name: 't', steps: [], ...extra });

describe('input paths that are not regular files or directories', () => {
  it('a FIFO as a sequence file: exit 2 at once, never blocked in open()', async () => {
    const dir = tmp();
    fifo(join(dir, 'f.json'));
    const r = await mprog('replay', '--target', 'emulator', join(dir, 'f.json'));
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(`mprog: ${join(dir, 'f.json')}: $: cannot read: a FIFO (named pipe), not a regular file`);
  });

  it('a FIFO inside a corpus, beside a good file: exit 2 naming it', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'a.json'), BASIC);
    fifo(join(dir, 'p.json'));
    const r = await mprog('conform', '--host', '--out', join(dir, 'out'), dir);
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(`mprog: ${join(dir, 'p.json')}: $: cannot read: a FIFO (named pipe), not a regular file`);
  });

  it('a corpus with a symlink cycle (self -> .): exit 2 naming the loop, not a walk without end', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'a.json'), BASIC);
    symlinkSync('.', join(dir, 'self'));
    const r = await mprog('conform', '--host', '--out', join(dir, 'out'), dir);
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(`mprog: corpus ${dir}: ${join(dir, 'self')}: a symlink loop: it leads back to ${dir}`);
  });

  it('a directory reached twice through symlinks (not a loop) is read once', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'real'));
    writeFileSync(join(dir, 'real', 'a.json'), BASIC);
    symlinkSync('real', join(dir, 'also'));
    expect(walkInputDir(dir, (n) => n.endsWith('.json'))).toEqual([join(dir, 'also', 'a.json')]);
  });

  it('a symlink to /dev/zero, alone and in a corpus: exit 2, nothing read', async () => {
    const dir = tmp();
    symlinkSync('/dev/zero', join(dir, 'z.json'));
    const alone = await mprog('replay', '--target', 'emulator', join(dir, 'z.json'));
    expect(alone.exitCode).toBe(2);
    expect(alone.stderr).toBe(`mprog: ${join(dir, 'z.json')}: $: cannot read: a character device, not a regular file`);
    const corpus = await mprog('conform', '--host', '--out', join(dir, 'out'), dir);
    expect(corpus.exitCode).toBe(2);
    expect(corpus.stderr).toBe(alone.stderr);
  });

  it('a sequence file over 64 MiB: exit 2 before reading it', async () => {
    const dir = tmp();
    const big = join(dir, 'big.json');
    writeFileSync(big, '');
    truncateSync(big, 64 * 1024 * 1024 + 1);
    const r = await mprog('replay', '--target', 'emulator', big);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(`mprog: ${big}: $: cannot read: 67108865 bytes: larger than a sequence file may be (at most 64 MiB)`);
  });

  it('merge of a directory whose results.jsonl is a FIFO: exit 2', async () => {
    const dir = tmp();
    fifo(join(dir, 'results.jsonl'));
    const r = await mprog('merge', dir, '--out', join(dir, 'm'));
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(`mprog: ${join(dir, 'results.jsonl')}: cannot read it (a FIFO (named pipe), not a regular file)`);
  });

  it('kernel build --patch and --config that are FIFOs: exit 2 naming the flag and the file', async () => {
    const dir = tmp();
    fifo(join(dir, 'p.patch'));
    const r = await mprog('kernel', 'build', '/nonexistent/linux', '--patch', join(dir, 'p.patch'));
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`--patch ${join(dir, 'p.patch')}: cannot read it (a FIFO (named pipe), not a regular file)`);
  });
});

describe('file contents', () => {
  it('bytes that are not UTF-8: exit 2 with the line and column, never a U+FFFD in the name', async () => {
    const dir = tmp();
    const file = join(dir, 'u.json');
    writeFileSync(
      file,
      Buffer.concat([Buffer.from('{"format": "mprog-seq/1",\n "name": "t'), Buffer.from([0xff, 0xfe]), Buffer.from('", "steps": []}')]),
    );
    const r = await mprog('replay', '--target', 'emulator', '--json', file);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      `mprog: ${file}: $: not UTF-8 text: byte 0xff at line 2, column 12 (offset 37) begins no UTF-8 character; save the file as UTF-8`,
    );
  });

  it('JSON syntax errors give the line and column', () => {
    const err = (() => {
      try {
        parseSequenceText('{"format": "mprog-seq/1",\n "name": "t",\n "steps": [],}', 'f.json');
      } catch (e) {
        return e as SeqError;
      }
      throw new Error('parsed');
    })();
    expect(err.reason).toMatch(/^not valid JSON: .* at line 3, column 14$/);
  });

  it.each([
    ['v%d', /a "%" makes the name a format the kernel fills in/],
    ['v%', /a "%" makes the name a format/],
    ['all', /"all" or "default"/],
    ['default', /"all" or "default"/],
    ['a b', /white space/],
    ['v:0', /":" is not allowed/],
  ])('device name %j is refused at parse time, with its JSON path', (name, reason) => {
    const errors = [
      () => parseSequenceText(seq({ devices: [name] }), 'f.json'),
      () => parseSequenceText(seq({ devices: [{ name: 'v0', peer: name }] }), 'f.json'),
      () => parseSequenceText(seq({ steps: [{ op: 'dev_create', name }] }), 'f.json'),
    ].map((f) => {
      try {
        f();
      } catch (e) {
        return e as SeqError;
      }
      throw new Error(`${name} parsed`);
    });
    expect(errors.map((e) => e.path)).toEqual(['$.devices[0].name', '$.devices[0].peer', '$.steps[0].name']);
    for (const e of errors) expect(e.reason).toMatch(reason);
  });

  it('a lone surrogate (a JSON escape of no character) is refused at its path', () => {
    expect(() => parseSequenceText(seq({ name: 't\\ud800' }).replace('t\\\\ud800', 't\\ud800'), 'f.json')).toThrow(/\$\.name: not Unicode text/);
  });

  it('control characters from user text are escaped in error messages (a NUL, an ESC)', async () => {
    const dir = tmp();
    const file = join(dir, 'c.json');
    writeFileSync(file, seq({ steps: [{ op: 'x\u0000\u001b[2J' }] }));
    const r = await mprog('replay', '--target', 'emulator', file);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('unknown op "x\\u0000\\u001b[2J"');
    expect(r.stderr).not.toMatch(/[\u0000\u001b]/);
    expect(printable('a\u0000b\u009b\u202ec\n\td')).toBe('a\\u0000b\\u009b\\u202ec\n\td');
  });
});

describe('an interrupted run', () => {
  const plan: PlanRecord = {
    type: 'plan',
    format: 'mprog-conform/1',
    shard: null,
    profile: null,
    targets: [{ spec: 'host', kernel: 'host', arch: 'x86_64' }],
    sequences: ['a', 'b', 'c'].map((k) => ({ key: `${k}.json`, name: k, steps: 1, hash: k })),
  };
  const done: ResultRecord = {
    type: 'result',
    sequence: 'a.json',
    name: 'a',
    target: 'host',
    release: '6.12',
    profile: '6.12',
    outcome: 'pass',
    steps: 1,
    divergences: [],
    expectFailures: [],
    ms: 1,
  };
  const report = buildReport([plan], [done], [], { signal: 'SIGINT', resume: "npx mprog conform --host --out 'o u' --resume" });

  it('counts the pairs not run as not run: JUnit skipped, not failures or errors', () => {
    const text = junitXml(report);
    expect(XMLValidator.validate(text)).toBe(true);
    const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(text);
    expect(xml.testsuites).toMatchObject({ tests: '3', failures: '0', errors: '0', skipped: '2' });
    expect(text.match(/<skipped message="not run: the run was interrupted"\/>/g)).toHaveLength(2);
    expect(tap(report)).toMatch(/^ok 2 - b on host x86_64 # SKIP not run: the run was interrupted$/m);
  });

  it('summary.md says it was interrupted and how to resume, not "bad input"', () => {
    const md = markdown(report);
    expect(md).toMatch(/^## mprog conform: ⏸️ interrupted by SIGINT: 2 of 3 pairs not run$/m);
    expect(md).not.toContain('bad input');
    expect(md).toContain("```sh\nnpx mprog conform --host --out 'o u' --resume\n```");
  });
});

describe('the printed resume command', () => {
  const none = () => null;
  const base = { env: {}, argv: ['/usr/bin/node', '/src/mprog/bin/mprog.js'], cwd: '/src/mprog', ppid: 100 };

  it('is npx mprog when npm exec ran mprog (through its shell)', () => {
    const proc = (pid: number) =>
      pid === 100
        ? { argv: ['sh', '-c', "'mprog' conform --host"], parent: 99 }
        : pid === 99
          ? { argv: ['npm exec mprog conform --host'], parent: 1 }
          : null;
    expect(mprogCommand({ ...base, proc })).toEqual(['npx', 'mprog']);
  });

  it('is the path of bin/mprog.js when node ran it, relative to where the user is, every word quoted', () => {
    const proc = (pid: number) => (pid === 100 ? { argv: ['bash'], parent: 1 } : null);
    const dir = tmp();
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'mprog.js'), '', { mode: 0o755 });
    const inv = { ...base, argv: ['/usr/bin/node', join(dir, 'bin', 'mprog.js')], cwd: dir, proc };
    expect(resumeCommand(['--host', '--out', 'my out', "it's"], inv)).toBe(`./bin/mprog.js conform --host --out 'my out' 'it'\\''s' --resume`);
    expect(resumeCommand(['--out', 'o'], { ...inv, cwd: '/elsewhere' })).toBe(`${join(dir, 'bin', 'mprog.js')} conform --out o --resume`);
    expect(mprogCommand({ ...base, proc: none })).toEqual(['node', './bin/mprog.js']); // not executable (not there)
  });
});
