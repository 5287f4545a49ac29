// A conform run stopped by a signal (Ctrl-C, a CI cancel): the pairs it finished are in
// results.jsonl already; the reports are written for them (the rest "not run"), and the user is
// told how to go on, with a command that runs as printed.

import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, isAbsolute, join, relative } from 'node:path';
import { beforeSignalExit } from '../../vm/runtime/lifetime.js';
import { realPath } from '../../vm/runtime/input-files.js';
import { shellWord } from '../reproducers/shell-quote.js';
import { writeReports } from '../results/writers/files.js';
import { BadInput } from '../../contract/errors.js';
import { buildReport } from '../results/report.js';
import { readRun } from '../results/store.js';
import { printable } from '../errors.js';

/** What a process is, for telling how mprog was started: its argv (from /proc), or null. */
export type ProcessArgs = (pid: number) => { argv: string[]; parent: number } | null;

function procArgs(pid: number): { argv: string[]; parent: number } | null {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return { argv, parent: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) };
  } catch {
    return null;
  }
}

/** npm exec (npx), as its process shows: npm sets its title to "npm exec ...", or node runs npx-cli.js / npm-cli.js exec. */
function isNpmExec(argv: string[]): boolean {
  const [first = '', ...rest] = argv;
  if (/^(npm exec|npx)( |$)/.test(first)) return true;
  const script = rest.find((a) => /(npx|npm)-cli\.js$/.test(a));
  return script !== undefined && (/npx-cli\.js$/.test(script) || rest.includes('exec') || rest.includes('x'));
}

export interface Invocation {
  env: NodeJS.ProcessEnv;
  /** process.argv: node, the script, its arguments. */
  argv: readonly string[];
  cwd: string;
  ppid: number;
  proc: ProcessArgs;
}

function here(): Invocation {
  return { env: process.env, argv: process.argv, cwd: process.cwd(), ppid: process.ppid, proc: procArgs };
}

/** Whether `file` is what `mprog` on the user's PATH runs (npm's own node_modules/.bin entries, which only npm puts there, aside). */
function mprogOnPath(env: NodeJS.ProcessEnv, script: string): boolean {
  const target = realPath(script);
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir || !isAbsolute(dir) || /[/\\]node_modules[/\\]\.bin$/.test(dir)) continue;
    const candidate = join(dir, 'mprog');
    try {
      accessSync(candidate, constants.X_OK);
    } catch {
      continue;
    }
    return realPath(candidate) === target;
  }
  return false;
}

/**
 * The words that start mprog again the way the user started it: `npx mprog` when npm exec (npx)
 * ran it (mprog's parent, or the shell npm ran it in, is npm exec), `mprog` when that is what the
 * PATH runs, else the path of the script (bin/mprog.js), relative to the working directory when
 * below it, run by node when it is not executable.
 */
export function mprogCommand(inv: Invocation = here()): string[] {
  const ancestors: string[][] = [];
  for (let pid = inv.ppid, i = 0; i < 2 && pid > 1; i++) {
    const p = inv.proc(pid);
    if (!p) break;
    ancestors.push(p.argv);
    pid = p.parent;
  }
  // npm exec runs a bin through `sh -c`: the parent is that shell, npm exec its parent.
  const viaShell = ancestors[0] !== undefined && /(^|\/)(ba|da)?sh$/.test(ancestors[0][0] ?? '') && ancestors[0][1] === '-c';
  const npx = ancestors[0] !== undefined && (isNpmExec(ancestors[0]) || (viaShell && ancestors[1] !== undefined && isNpmExec(ancestors[1])));
  if (npx || (ancestors.length === 0 && inv.env.npm_command === 'exec' && inv.env.npm_lifecycle_event === 'npx')) return ['npx', 'mprog'];
  const script = inv.argv[1] ?? 'bin/mprog.js';
  if (mprogOnPath(inv.env, script)) return ['mprog'];
  const rel = relative(inv.cwd, script);
  const path = rel && !rel.startsWith('..') && !isAbsolute(rel) ? `./${rel}` : script;
  try {
    accessSync(script, constants.X_OK);
    return [path];
  } catch {
    return ['node', path];
  }
}

/**
 * The command line that continues the run: conform's `args` with `--resume`, after the words
 * that start mprog as the user did (mprogCommand), in the directory they ran it in (a `cd`
 * first when npm ran it elsewhere: INIT_CWD is where the user was).
 */
export function resumeCommand(args: readonly string[], inv: Invocation = here()): string {
  const words = [...mprogCommand(inv), 'conform', ...args.filter((a) => a !== '--resume'), '--resume'];
  const init = inv.env.INIT_CWD;
  const cd = init && realPath(init) !== realPath(inv.cwd) ? `cd ${shellWord(inv.cwd)} && ` : '';
  return cd + words.map(shellWord).join(' ');
}

/**
 * From now on, a signal ends the run after writing the reports of `outDir` (synchronously: the
 * process exits right after, so no pair can finish half-recorded) and saying how to resume.
 * `args` are the conform command's own arguments.
 */
export function stopCleanlyOnSignal(outDir: string, args: readonly string[], before: () => void): void {
  const resume = resumeCommand(args);
  beforeSignalExit((signal) => {
    before();
    let stored;
    try {
      stored = readRun(outDir);
    } catch (err) {
      if (!(err instanceof BadInput)) throw err;
      process.stderr.write(`mprog conform: stopped by ${signal} before any result\n`);
      return;
    }
    writeReports(outDir, buildReport([stored.plan], stored.records, [], { signal, resume }));
    const finished = stored.records.filter((r) => r.type === 'result').length;
    const total = stored.plan.sequences.length * stored.plan.targets.length;
    process.stderr.write(
      printable(`mprog conform: stopped by ${signal}: ${finished} of ${total} pairs finished; their reports are in ${outDir}\n`) +
        `continue with: ${resume}\n`,
    );
  });
}
