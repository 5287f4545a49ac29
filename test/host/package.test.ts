// mprog as a user gets it: `npm pack`, installed into a prefix, run from an unrelated directory
// with a fresh HOME (so a fresh npm cache and a fresh per-user mprog cache). The main job on the
// host kernel, the emulator as a library (its types too), and nothing written into the package.

import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../vm/runtime/paths.js';

const MINUTE = 60_000;

/** Every file under `dir` with its size and mtime: what "nothing written into it" compares. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${relative(dir, p)} ${statSync(p).size} ${statSync(p).mtimeMs}`);
    }
  };
  walk(dir);
  return out.sort();
}

describe('the packed package', () => {
  const root = mkdtempSync(join(tmpdir(), 'mprog-package-'));
  const home = join(root, 'home');
  const prefix = join(root, 'prefix');
  const elsewhere = join(root, 'elsewhere');
  const pkg = join(prefix, 'node_modules', 'mprog');
  // No MPROG_CACHE or XDG_CACHE_HOME from the environment: the defaults are what is tested.
  const env = { HOME: home, PATH: process.env['PATH']!, NO_COLOR: '1' };
  const mprog = (...args: string[]) =>
    execa(join(prefix, 'node_modules', '.bin', 'mprog'), args, { cwd: elsewhere, env, extendEnv: false, reject: false });
  let install: { stdout: string; stderr: string };
  let files: string[];

  beforeAll(async () => {
    for (const d of [home, prefix, elsewhere]) mkdirSync(d, { recursive: true });
    const pack = await execa('npm', ['pack', '--pack-destination', root, '--json'], { cwd: repoRoot() });
    const tarball = (JSON.parse(pack.stdout) as { filename: string }[])[0]!.filename;
    install = await execa('npm', ['install', '--no-audit', '--no-fund', '--prefix', prefix, join(root, tarball)], {
      env: { ...process.env, HOME: home },
    });
    files = snapshot(pkg);
  }, 10 * MINUTE);

  it('installs without install scripts, with its build and what it needs at run time, and no tests', () => {
    expect(`${install.stdout}\n${install.stderr}`).not.toMatch(/install-scripts|prepare/);
    const names = files.map((f) => f.split(' ')[0]!);
    for (const f of [
      'LICENSE',
      'README.md',
      'bin/mprog.js',
      'dist/harness/cli/main.js',
      'dist/api/index.d.ts',
      'vm/agent/build.mjs',
      'vm/agent/main.c',
      'kernel-configs/mprog.fragment',
    ])
      expect(names).toContain(f);
    expect(names.some((f) => f.startsWith('corpus/tcx/'))).toBe(true);
    expect(names.some((f) => f.startsWith('test/sequences/'))).toBe(true);
    expect(names.filter((f) => /^test\/(unit|host|qemu|kbuild)\/|^\.ci\/|^\.github\//.test(f))).toEqual([]);
  });

  it(
    'runs the main job on the host from another directory, its cache in the user cache directory, nothing written into the package',
    async () => {
      const version = await mprog('--version');
      expect(version.stdout).toMatch(/^mprog \d+\.\d+\.\d+/);
      const r = await mprog('conform', '--host', join(pkg, 'corpus', 'tcx'));
      expect(r.stderr).not.toMatch(/\n\s+at /);
      // A fresh cache: the agent's first build is said, with where it goes.
      expect(r.stderr).toMatch(/^mprog: agent build: compiling the agent \(x86_64\) into .*\.cache\/mprog\/agent\/x86_64: no build of it yet$/m);
      expect(r.stdout).toMatch(/result: all agree \(exit 0\)/);
      expect(r.exitCode).toBe(0);
      expect(readdirSync(join(home, '.cache', 'mprog'))).toContain('agent');
      expect(readdirSync(join(elsewhere, 'out', 'conform'))).toContain('results.jsonl');
      expect(snapshot(pkg)).toEqual(files);
    },
    10 * MINUTE,
  );

  it("is a library: import { emulate } from 'mprog' replays a sequence at a profile, with types", async () => {
    // The same program type-checked (.mts, against the package's declarations) and run (.mjs).
    const program = (typed: boolean) =>
      [
        `import { BadInput, emulate, loadSequence, parseSequence, profileFor${typed ? ', type Emulated' : ''} } from 'mprog';`,
        `const seq = loadSequence(${JSON.stringify(join(pkg, 'corpus', 'tcx', 'revision.json'))});`,
        `const run${typed ? ': Emulated' : ''} = await emulate(seq, { profile: profileFor('6.12.117+deb13-cloud-amd64') });`,
        "let refused = '';",
        'try { parseSequence(\'{"format": "mprog-seq/1"}\', \'x.json\'); } catch (err) { if (err instanceof BadInput) refused = err.message; }',
        'console.log(JSON.stringify({ profile: run.profile, steps: run.results.length, failed: run.failedExpects.length, refused }));',
      ].join('\n');
    writeFileSync(join(prefix, 'use.mts'), program(true));
    writeFileSync(join(prefix, 'use.mjs'), program(false));
    const tsc = join(repoRoot(), 'node_modules', 'typescript', 'bin', 'tsc');
    const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node'];
    const types = await execa('node', [tsc, ...flags, '--typeRoots', join(repoRoot(), 'node_modules', '@types'), 'use.mts'], {
      cwd: prefix,
      reject: false,
    });
    expect(types.stdout + types.stderr).toBe('');
    const run = await execa('node', ['use.mjs'], { cwd: prefix, env, extendEnv: false });
    const out = JSON.parse(run.stdout) as { profile: string; steps: number; failed: number; refused: string };
    expect(out.profile).toBe('6.12.114');
    expect(out.steps).toBeGreaterThan(5);
    expect(out.failed).toBe(0);
    expect(out.refused).toMatch(/^x\.json: \$\.name: /);
  });
});
