// Runs one job of a GitHub Actions workflow here, the way a hosted runner would run its steps:
// each `run:` script with bash -eo pipefail in a fresh workspace (a copy of the work tree), with
// `${{ }}` expressions evaluated from the given matrix, inputs and needs, GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY files, and step `if:`s; a reusable workflow's (workflow_call) inputs with
// their defaults. `uses:` steps are the few actions the project's workflows use, done with the
// same effect on the workspace (artifacts in a local directory; another repository's checkout
// from a given work tree; actions/cache refused in a Debian container before zstd is installed,
// where it would never restore), and local composite actions (`uses: ./path`), whose steps run here;
// any other action, or an expression this evaluator does not know, fails the run, so that a
// workflow this cannot check is noticed.

import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { execa, execaSync } from 'execa';
import { XMLValidator } from 'fast-xml-parser';
import { parse as parseYaml } from 'yaml';

export type Value = string | number | boolean | null | { [key: string]: Value } | Value[];
export type Context = Record<string, Value>;

interface Step {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string | number | boolean>;
  env?: Record<string, string>;
}

interface Job {
  'runs-on': string;
  container?: string | { image: string; options?: string };
  if?: string;
  needs?: string | string[];
  env?: Record<string, string>;
  outputs?: Record<string, string>;
  strategy?: { matrix: string | Record<string, unknown> };
  steps: Step[];
}

export interface Workflow {
  env?: Record<string, string>;
  defaults?: { run?: { shell?: string } };
  on: Record<string, { inputs?: Record<string, { default?: string }> } | null>;
  jobs: Record<string, Job>;
}

export function readWorkflow(file: string): Workflow {
  return parseYaml(readFileSync(file, 'utf8')) as Workflow;
}

// ---- expressions ----

export function truthy(v: Value): boolean {
  return !(v === '' || v === null || v === false || v === 0);
}

function str(v: Value): string {
  if (v === null) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** A recursive-descent evaluator of the expression subset the workflows use: || && == != ! ( ) . literals and calls. */
export class Expr {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly ctx: Context,
    private readonly fns: Record<string, (...args: Value[]) => Value>,
  ) {}

  static eval(text: string, ctx: Context, fns: Record<string, (...args: Value[]) => Value>): Value {
    const e = new Expr(text, ctx, fns);
    const v = e.or();
    e.ws();
    if (e.pos !== text.length) throw new Error(`expression "${text}": unexpected "${text.slice(e.pos)}"`);
    return v;
  }

  private ws(): void {
    while (/\s/.test(this.text[this.pos] ?? '')) this.pos++;
  }

  private eat(token: string): boolean {
    this.ws();
    if (this.text.startsWith(token, this.pos)) {
      this.pos += token.length;
      return true;
    }
    return false;
  }

  private or(): Value {
    return this.chain(
      '||',
      () => this.and(),
      (l, r) => (truthy(l) ? l : r),
    );
  }

  private and(): Value {
    return this.chain(
      '&&',
      () => this.cmp(),
      (l, r) => (truthy(l) ? r : l),
    );
  }

  /** `next (op next)*`, left to right; both sides are evaluated, as nothing here has side effects. */
  private chain(op: string, next: () => Value, combine: (l: Value, r: Value) => Value): Value {
    let v = next();
    while (this.eat(op)) v = combine(v, next());
    return v;
  }

  private cmp(): Value {
    const v = this.unary();
    if (this.eat('==')) return str(v) === str(this.unary());
    if (this.eat('!=')) return str(v) !== str(this.unary());
    return v;
  }

  private unary(): Value {
    if (this.eat('!')) return !truthy(this.unary());
    return this.primary();
  }

  private primary(): Value {
    this.ws();
    if (this.eat('(')) {
      const v = this.or();
      if (!this.eat(')')) throw new Error(`expression "${this.text}": missing )`);
      return v;
    }
    const rest = this.text.slice(this.pos);
    const lit = /^'((?:[^']|'')*)'/.exec(rest);
    if (lit) {
      this.pos += lit[0].length;
      return lit[1]!.replace(/''/g, "'");
    }
    const num = /^-?\d+(\.\d+)?/.exec(rest);
    if (num) {
      this.pos += num[0].length;
      return Number(num[0]);
    }
    const id = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(rest);
    if (!id) throw new Error(`expression "${this.text}": unexpected "${rest}"`);
    this.pos += id[0].length;
    const name = id[0];
    if (name === 'true' || name === 'false') return name === 'true';
    if (name === 'null') return null;
    if (this.eat('(')) {
      const fn = this.fns[name];
      if (!fn) throw new Error(`expression "${this.text}": function ${name}() is not supported here`);
      const args: Value[] = [];
      if (!this.eat(')')) {
        do args.push(this.or());
        while (this.eat(','));
        if (!this.eat(')')) throw new Error(`expression "${this.text}": missing )`);
      }
      return this.props(fn(...args));
    }
    if (!Object.hasOwn(this.ctx, name)) throw new Error(`expression "${this.text}": unknown context "${name}"`);
    return this.props(this.ctx[name]!);
  }

  /** `.a.b` after a value; a missing property is '' as on GitHub. */
  private props(v: Value): Value {
    let cur = v;
    while (this.eat('.')) {
      const id = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(this.text.slice(this.pos));
      if (!id) throw new Error(`expression "${this.text}": a property name must follow "."`);
      this.pos += id[0].length;
      cur = cur !== null && typeof cur === 'object' && !Array.isArray(cur) && Object.hasOwn(cur, id[0]) ? cur[id[0]]! : '';
    }
    return cur;
  }
}

// ---- a job ----

export interface JobResult {
  ok: boolean;
  workspace: string;
  /** Each step by its name (or uses/run), with its wall time (for the README's cost estimate, never asserted). */
  steps: { name: string; outcome: 'success' | 'failure' | 'skipped'; log: string; seconds: number }[];
  outputs: Record<string, string>;
  summary: string;
}

export interface RunJobOptions {
  /** Where the job's workspace and the runner's files go (a directory per job is made in it). */
  root: string;
  /** The work tree the workspace is copied from (a checkout of it). */
  repo: string;
  /** Where uploaded artifacts go, one directory per name, shared by the jobs of one run. */
  artifacts: string;
  /** The directory actions/cache restores .cache from. */
  cache: string;
  /** The work trees actions/checkout gives for `repository: owner/name` (another repository's checkout). */
  repositories?: Record<string, string>;
  inputs: Record<string, string>;
  matrix?: Record<string, Value>;
  needs?: Record<string, { result: string; outputs: Record<string, string> }>;
}

/** What actions/checkout would give: the tracked and new (not ignored) files of the work tree. */
function copyWorkTree(repo: string, to: string): void {
  const listed = execaSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repo }).stdout.split('\0');
  for (const f of listed.filter((f) => f !== '' && existsSync(join(repo, f)))) {
    const dest = join(to, f);
    mkdirSync(dirname(dest), { recursive: true });
    cpSync(join(repo, f), dest);
  }
}

export function parseOutputs(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(file)) return out;
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) body.push(lines[i]!);
      out[heredoc[1]!] = body.join('\n');
    } else if (line.includes('=')) {
      out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return out;
}

/** A clean environment: the runner's own variables, none of npm's or vitest's (npm_config_* would point npm at this repo). */
function baseEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'USER', 'LANG', 'TMPDIR'];
  return Object.fromEntries(keep.flatMap((k) => (process.env[k] === undefined ? [] : [[k, process.env[k]!]])));
}

export function hashFiles(workspace: string, ...patterns: Value[]): string {
  const h = createHash('sha256');
  for (const p of patterns) {
    // Plain paths and dir/** are all the nightly workflow uses.
    const pattern = str(p).replace(/\/\*\*$/, '');
    if (/[*?[]/.test(pattern)) throw new Error(`hashFiles('${str(p)}'): only paths and dir/** are supported here`);
    const path = join(workspace, pattern);
    if (!existsSync(path)) continue;
    const files = statSync(path).isDirectory() ? readdirSync(path, { recursive: true, encoding: 'utf8' }).map((f) => join(path, f)) : [path];
    for (const f of files.filter((f) => statSync(f).isFile()).sort()) h.update(readFileSync(f));
  }
  return h.digest('hex');
}

/** Every `${{ }}` in `text`, evaluated. */
export function interpolate(text: string, ctx: Context, fns: Record<string, (...args: Value[]) => Value>): string {
  return text.replace(/\$\{\{(.*?)\}\}/gs, (_, e: string) => str(Expr.eval(e, ctx, fns)));
}

/** An `if:` (with or without ${{ }}); none means success(). */
export function condition(text: string | undefined, ctx: Context, fns: Record<string, (...args: Value[]) => Value>): boolean {
  if (text === undefined) return truthy(fns['success']!());
  const inner = /^\s*\$\{\{(.*)\}\}\s*$/s.exec(text)?.[1] ?? text;
  return truthy(Expr.eval(inner, ctx, fns));
}

export function artifactName(name: string): string {
  if (!/^[^"/:<>|*?\\\r\n]+$/.test(name)) throw new Error(`artifact name "${name}" has a character GitHub refuses`);
  return name;
}

/** What the job's container has installed so far, as far as actions care: zstd (actions/cache compresses with it when it is there). */
interface ContainerState {
  /** The image, or null when the job runs on the runner itself (which has zstd). */
  image: string | null;
  /** The `run:` scripts of the steps before this one. */
  ran: string[];
}

/** Whether zstd is there when a step runs: on the runner, or once an earlier step installed it in a Debian container. */
function hasZstd(c: ContainerState): boolean {
  return c.image === null || !c.image.startsWith('debian') || c.ran.some((r) => /apt-get install[^\n]*\bzstd\b/.test(r));
}

/** The actions the workflows use, done here with the same effect; `saves` gets their post-job steps. */
function doAction(
  uses: string,
  args: Record<string, string>,
  ws: string,
  opts: RunJobOptions,
  saves: (() => void)[],
  container: ContainerState,
): string {
  const action = uses.replace(/@.*$/, '');
  switch (action) {
    case 'actions/checkout': {
      if (!args['repository']) return 'the workspace is a copy of the work tree';
      const tree = opts.repositories?.[args['repository']];
      if (!tree) throw new Error(`checkout of ${args['repository']}: not a repository this run was given`);
      copyWorkTree(tree, resolve(ws, args['path'] ?? '.'));
      return `checked out ${args['repository']} into ${args['path'] ?? '.'}`;
    }
    case 'actions/setup-node': {
      const have = Number(process.versions.node.split('.')[0]);
      if (have < Number(args['node-version'])) throw new Error(`setup-node ${args['node-version']}: this machine has Node ${process.versions.node}`);
      return `node ${process.versions.node}`;
    }
    case 'actions/cache': {
      if (!args['key'] || !args['path']) throw new Error('actions/cache needs key and path');
      // Without zstd it restores looking for a gzip archive, and never finds the zstd one the
      // post-job save makes once a later step has installed zstd: the cache never restores.
      if (!hasZstd(container))
        throw new Error(
          `actions/cache in ${container.image} before zstd is installed: it would look for a gzip archive and never restore the zstd one it saves`,
        );
      const paths = args['path']
        .split('\n')
        .map((p) => p.trim())
        .filter(Boolean);
      const excluded = paths.filter((p) => p.startsWith('!')).map((p) => p.slice(1));
      if (paths.filter((p) => !p.startsWith('!')).join() !== '.cache' || excluded.some((p) => !/^\.cache\/[^/]+$/.test(p))) {
        throw new Error(`actions/cache path ${paths.join(' ')}: this runner restores .cache less some of its entries`);
      }
      // Restored: what this machine's cache holds, less what the workflow leaves out of it; what
      // the job adds beside that is saved at its end (saveCache).
      mkdirSync(join(ws, '.cache'));
      mkdirSync(opts.cache, { recursive: true });
      for (const entry of readdirSync(opts.cache).filter((e) => !excluded.includes(`.cache/${e}`)))
        symlinkSync(join(opts.cache, entry), join(ws, '.cache', entry));
      saves.push(() => {
        for (const e of readdirSync(join(ws, '.cache'), { withFileTypes: true })) {
          if (!e.isSymbolicLink() && !excluded.includes(`.cache/${e.name}`) && !existsSync(join(opts.cache, e.name)))
            cpSync(join(ws, '.cache', e.name), join(opts.cache, e.name), { recursive: true });
        }
      });
      return `restored ${opts.cache} less ${excluded.join(', ')} for key ${args['key']}`;
    }
    case 'actions/upload-artifact': {
      const name = artifactName(args['name'] ?? 'artifact');
      const from = resolve(ws, args['path'] ?? '');
      const to = join(opts.artifacts, name);
      if (existsSync(to)) throw new Error(`artifact ${name} uploaded twice in one run (GitHub refuses the second)`);
      if (!existsSync(from)) {
        if ((args['if-no-files-found'] ?? 'warn') === 'error') throw new Error(`upload-artifact: no files at ${args['path']}`);
        return `no files at ${args['path']}`;
      }
      cpSync(from, to, { recursive: true });
      return `uploaded ${args['path']} as ${name}`;
    }
    case 'actions/download-artifact': {
      const pattern = new RegExp(
        `^${(args['pattern'] ?? args['name'] ?? '*')
          .replace(/[.+^$()[\]{}|\\]/g, '\\$&')
          .replace(/\*/g, '.*')
          .replace(/\?/g, '.')}$`,
      );
      const names = readdirSync(opts.artifacts).filter((n) => pattern.test(n));
      if (args['name'] && names.length === 0) throw new Error(`download-artifact: no artifact ${args['name']}`);
      // One artifact by name goes into path itself; several each into a directory of its name.
      for (const n of names)
        cpSync(join(opts.artifacts, n), args['name'] ? resolve(ws, args['path'] ?? '.') : join(ws, args['path'] ?? '.', n), { recursive: true });
      return `downloaded ${names.join(', ')}`;
    }
    case 'mikepenz/action-junit-report': {
      const file = resolve(ws, args['report_paths'] ?? '');
      if (!existsSync(file)) throw new Error(`action-junit-report: no ${args['report_paths']}`);
      const valid = XMLValidator.validate(readFileSync(file, 'utf8'));
      if (valid !== true) throw new Error(`action-junit-report: ${args['report_paths']} is not XML: ${JSON.stringify(valid)}`);
      return `published ${args['report_paths']}`;
    }
    default:
      throw new Error(`action ${uses} is not one this runner can do: teach test/workflow-runner.ts what it does`);
  }
}

const STEP_KEYS = ['id', 'name', 'if', 'uses', 'run', 'with', 'env'];

/** Where a step's script runs: the job's runner directory and workspace, its summary file, and a tag for its files. */
interface ShellRun {
  runner: string;
  ws: string;
  summaryFile: string;
  tag: string;
}

/** A `run:` script with bash -eo pipefail, as the runner runs it: its log, exit and GITHUB_OUTPUT. */
async function runScript(
  at: ShellRun,
  script: string,
  env: Record<string, string>,
): Promise<{ ok: boolean; log: string; outputs: Record<string, string> }> {
  const file = join(at.runner, `step-${at.tag}.sh`);
  const outputFile = join(at.runner, `output-${at.tag}`);
  writeFileSync(file, script);
  writeFileSync(outputFile, '');
  const r = await execa('bash', ['--noprofile', '--norc', '-eo', 'pipefail', file], {
    cwd: at.ws,
    env: {
      ...baseEnv(),
      ...env,
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKSPACE: at.ws,
      GITHUB_OUTPUT: outputFile,
      GITHUB_STEP_SUMMARY: at.summaryFile,
      RUNNER_TEMP: at.runner,
    },
    extendEnv: false,
    reject: false,
    all: true,
    stdin: 'ignore',
  });
  return { ok: r.exitCode === 0, log: r.all ?? '', outputs: parseOutputs(outputFile) };
}

interface CompositeAction {
  inputs?: Record<string, { default?: string; required?: boolean }>;
  outputs?: Record<string, { value: string }>;
  runs: { using: string; steps: (Step & { shell?: string })[] };
}

/**
 * A local composite action (`uses: ./path`), as the runner runs one: its `inputs` from `with:`
 * and their defaults, each step in turn (bash `run:` steps, each with `shell: bash`, and the
 * actions this runner does) with GITHUB_ACTION_PATH, its `steps` context, then its outputs.
 */
async function runComposite(
  dir: string,
  args: Record<string, string>,
  ctx: Context,
  fns: Record<string, (...args: Value[]) => Value>,
  at: ShellRun,
  action: (uses: string, args: Record<string, string>) => string,
): Promise<{ ok: boolean; log: string; outputs: Record<string, string> }> {
  const file = join(dir, 'action.yml');
  if (!existsSync(file)) throw new Error(`${dir}: no action.yml`);
  const def = parseYaml(readFileSync(file, 'utf8')) as CompositeAction;
  if (def.runs.using !== 'composite') throw new Error(`${file}: runs.using ${def.runs.using}: only composite actions are run here`);
  const unknown = Object.keys(args).find((k) => !Object.hasOwn(def.inputs ?? {}, k));
  if (unknown) throw new Error(`${file}: input ${unknown} is not declared`);
  const inputs: Context = {};
  for (const [name, decl] of Object.entries(def.inputs ?? {})) {
    if (decl.required && args[name] === undefined) throw new Error(`${file}: input ${name} is required`);
    inputs[name] = args[name] ?? decl.default ?? '';
  }
  const steps: Context = {};
  const inner: Context = { ...ctx, inputs, steps };
  const logs: string[] = [];
  for (const [i, step] of def.runs.steps.entries()) {
    const unknownKey = Object.keys(step).find((k) => k !== 'shell' && !STEP_KEYS.includes(k));
    if (unknownKey) throw new Error(`${file} step ${i}: "${unknownKey}" is not one this runner does`);
    if (!condition(step.if, inner, fns)) continue;
    const env = {
      ...(ctx['env'] as Record<string, string>),
      ...Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, interpolate(String(v), inner, fns)])),
      GITHUB_ACTION_PATH: dir,
    };
    let r: { ok: boolean; log: string; outputs: Record<string, string> };
    if (step.run !== undefined) {
      if (step.shell !== 'bash') throw new Error(`${file} step ${i}: a composite run step needs shell: bash here (got ${step.shell ?? 'none'})`);
      r = await runScript({ ...at, tag: `${at.tag}-${i}` }, interpolate(step.run, { ...inner, env }, fns), env);
    } else {
      const a = Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, interpolate(String(v), inner, fns)]));
      r = { ok: true, log: action(step.uses!, a), outputs: {} };
    }
    logs.push(r.log);
    if (step.id) steps[step.id] = { outcome: r.ok ? 'success' : 'failure', outputs: r.outputs };
    if (!r.ok) return { ok: false, log: logs.join('\n'), outputs: {} };
  }
  const outputs = Object.fromEntries(Object.entries(def.outputs ?? {}).map(([k, o]) => [k, interpolate(o.value, inner, fns)]));
  return { ok: true, log: logs.join('\n'), outputs };
}

/** Runs job `jobId` of `wf` as a hosted runner would, with the given matrix entry and needs. */
export async function runJob(wf: Workflow, jobId: string, opts: RunJobOptions): Promise<JobResult> {
  const job = wf.jobs[jobId];
  if (!job) throw new Error(`no job ${jobId}`);
  const runner = mkdtempSync(join(opts.root, `${jobId}-`));
  const ws = join(runner, 'workspace');
  copyWorkTree(opts.repo, ws);
  const summaryFile = join(runner, 'summary.md');
  writeFileSync(summaryFile, '');

  // A reusable workflow's inputs (workflow_call) have their defaults; workflow_dispatch's come as given.
  const called = wf.on['workflow_call'];
  const trigger = called ? 'workflow_call' : 'workflow_dispatch';
  const declaredInputs = Object.entries(wf.on[trigger]?.inputs ?? {});
  const unknownInput = Object.keys(opts.inputs).find((k) => !declaredInputs.some(([name]) => name === k));
  if (unknownInput) throw new Error(`input ${unknownInput} is not declared by ${trigger}`);
  const inputs = Object.fromEntries(declaredInputs.map(([name, decl]) => [name, opts.inputs[name] ?? (called ? String(decl.default ?? '') : '')]));
  const steps: Context = {};
  const needs: Context = Object.fromEntries(Object.entries(opts.needs ?? {}).map(([k, v]) => [k, { result: v.result, outputs: v.outputs }]));
  const ctx: Context = { inputs, matrix: opts.matrix ?? {}, needs, steps, env: {}, github: { workspace: ws, event_name: trigger } };
  let failed = false;
  const fns: Record<string, (...args: Value[]) => Value> = {
    always: () => true,
    success: () => !failed,
    failure: () => failed,
    fromJSON: (s) => JSON.parse(str(s)) as Value,
    hashFiles: (...p) => hashFiles(ws, ...p),
  };

  const declared = Array.isArray(job.needs) ? job.needs : job.needs ? [job.needs] : [];
  const missing = declared.find((n) => !opts.needs?.[n]);
  if (missing) throw new Error(`job ${jobId} needs ${missing}: run it first and pass its result`);
  // A matrix job's entry must be one its strategy yields.
  if (job.strategy) {
    const m =
      typeof job.strategy.matrix === 'string'
        ? Expr.eval(/\$\{\{(.*)\}\}/s.exec(job.strategy.matrix)![1]!, ctx, fns)
        : (job.strategy.matrix as Value);
    const include = (m as { include?: Value[] }).include ?? [];
    if (!include.some((e) => JSON.stringify(e) === JSON.stringify(opts.matrix)))
      throw new Error(`job ${jobId}: ${JSON.stringify(opts.matrix)} is not in its matrix`);
  }

  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...wf.env, ...job.env })) env[k] = interpolate(String(v), ctx, fns);
  ctx['env'] = env;
  const result: JobResult = { ok: true, workspace: ws, steps: [], outputs: {}, summary: '' };
  if (!condition(job.if, ctx, fns)) {
    return { ...result, steps: [] };
  }
  const shell = wf.defaults?.run?.shell ?? 'bash';
  if (shell !== 'bash') throw new Error(`default shell ${shell}: only bash is run here`);

  /** The post-job steps of the actions (cache saves). */
  const saves: (() => void)[] = [];
  const image = typeof job.container === 'string' ? job.container : (job.container?.image ?? null);
  const container: ContainerState = { image, ran: [] };
  for (const [i, step] of job.steps.entries()) {
    const name = step.name ?? step.uses ?? step.run!.split('\n')[0]!;
    // A key this runner would ignore (shell, working-directory, continue-on-error...) changes what the step does.
    const unknown = Object.keys(step).find((k) => !STEP_KEYS.includes(k));
    if (unknown) throw new Error(`step "${name}" of job ${jobId}: "${unknown}" is not one this runner does`);
    if (!condition(step.if, ctx, fns)) {
      result.steps.push({ name, outcome: 'skipped', log: '', seconds: 0 });
      continue;
    }
    const stepEnv = {
      ...env,
      ...Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, interpolate(String(v), { ...ctx, env }, fns)])),
    };
    let outcome: 'success' | 'failure' = 'success';
    let log: string;
    let outputs: Record<string, string> = {};
    const started = Date.now();
    const shellRun = { runner, ws, summaryFile, tag: String(i) };
    if (step.run !== undefined) {
      const script = interpolate(step.run, { ...ctx, env: stepEnv }, fns);
      container.ran.push(script);
      const r = await runScript(shellRun, script, stepEnv);
      ({ log, outputs } = r);
      if (!r.ok) outcome = 'failure';
    } else {
      const args = Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, interpolate(String(v), { ...ctx, env: stepEnv }, fns)]));
      try {
        if (step.uses!.startsWith('./')) {
          const r = await runComposite(join(ws, step.uses!), args, { ...ctx, env: stepEnv }, fns, shellRun, (uses, a) =>
            doAction(uses, a, ws, opts, saves, container),
          );
          ({ log, outputs } = r);
          if (!r.ok) outcome = 'failure';
        } else {
          log = doAction(step.uses!, args, ws, opts, saves, container);
        }
      } catch (err) {
        log = (err as Error).message;
        outcome = 'failure';
      }
    }
    if (step.id) steps[step.id] = { outcome, outputs };
    result.steps.push({ name, outcome, log, seconds: (Date.now() - started) / 1000 });
    if (outcome === 'failure') failed = true;
  }
  // actions/cache saves only after a successful job.
  if (!failed) for (const save of saves) save();
  result.ok = !failed;
  result.outputs = Object.fromEntries(Object.entries(job.outputs ?? {}).map(([k, v]) => [k, interpolate(v, ctx, fns)]));
  result.summary = readFileSync(summaryFile, 'utf8');
  return result;
}
