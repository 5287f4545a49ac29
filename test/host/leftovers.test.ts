// Nothing a sequence makes on the host outlives mprog, however it ends (issue 20, item 2: a run
// killed or timed out during a cgroup sequence left `…/mprog-seq-N/c0` with its program attached,
// for good). Real runs of the built CLI on the host target, ended at random points of a cgroup
// sequence, of a netns/device sequence and of a qdisc sequence by SIGKILL, SIGINT and SIGTERM of node, by a missed
// `--deadline`, and by SIGKILL of the agent itself; 1 s after mprog is gone: no cgroup tree of the
// run (nor any whose owner is gone) in the host's cgroup2 hierarchy, none of the sequences'
// programs in `bpftool prog show` (programs and links live only in the netns, devices and
// cgroups of a sequence, so none left means none of those left holding them), no process of the
// run alive. The qdisc sequence puts clsact qdiscs beside tcx programs (a qdisc holds the tcx
// entry: a qdisc left would keep its device's programs).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectBpftool } from '../../vm/debian/project-bpftool.js';
import { buildAgent } from '../../vm/agent/compile.js';
import { hostArch } from '../../vm/runtime/paths.js';
import { alive, descendants, waitFor } from '../processes.js';

const MINUTE = 60_000;
const ENDINGS = ['SIGKILL', 'SIGINT', 'SIGTERM', 'deadline', 'agent SIGKILL'] as const;
type Ending = (typeof ENDINGS)[number];

/** Program names no other test uses (15 characters at most). */
const NAMES = { cgroup: ['lvcga', 'lvcgb'], netns: ['lvnta', 'lvntb'], qdisc: ['lvqda', 'lvqdb'] } as const;
type Kind = keyof typeof NAMES;

/** Sequences that run for a minute or more, their objects made in the first steps. */
function sequence(kind: Kind): string {
  const [a, b] = NAMES[kind];
  const doc =
    kind === 'cgroup'
      ? {
          format: 'mprog-seq/1',
          name: 'leftovers-cgroup',
          cgroups: ['c0', { name: 'c1', parent: 'c0' }],
          programs: [
            { name: a, type: 'cgroup_skb' },
            { name: b, type: 'cgroup_skb' },
          ],
          steps: [
            { op: 'prog_attach', prog: a, cgroup: 'c0', attach_type: 'cgroup_inet_ingress', flags: ['BPF_F_ALLOW_MULTI'] },
            { op: 'link_create', link: 'l', prog: b, cgroup: 'c1', attach_type: 'cgroup_inet_egress' },
            ...Array.from({ length: 3000 }, () => [
              { op: 'cgroup_create', name: 'c2', parent: 'c1' },
              { op: 'prog_attach', prog: a, cgroup: 'c2', attach_type: 'cgroup_inet_ingress', flags: ['BPF_F_ALLOW_MULTI'] },
              { op: 'cgroup_delete', cgroup: 'c2' },
            ]).flat(),
          ],
        }
      : kind === 'qdisc'
        ? {
            format: 'mprog-seq/1',
            name: 'leftovers-qdisc',
            devices: ['v0'],
            programs: [a, b],
            steps: [
              { op: 'qdisc_add', dev: 'v0', kind: 'clsact' },
              { op: 'prog_attach', prog: a, dev: 'v0', attach_type: 'tcx_ingress' },
              { op: 'link_create', link: 'l', prog: b, dev: 'v0', attach_type: 'tcx_egress' },
              ...Array.from({ length: 1000 }, () => [
                { op: 'dev_create', name: 'v1' },
                { op: 'qdisc_add', dev: 'v1', kind: 'ingress' },
                { op: 'prog_attach', prog: a, dev: 'v1', attach_type: 'tcx_ingress' },
                { op: 'prog_detach', prog: a, dev: 'v1', attach_type: 'tcx_ingress' },
                { op: 'dev_delete', dev: 'v1' },
              ]).flat(),
            ],
          }
        : {
            format: 'mprog-seq/1',
            name: 'leftovers-netns',
            devices: ['v0'],
            programs: [a, b],
            steps: [
              { op: 'prog_attach', prog: a, dev: 'v0', attach_type: 'tcx_ingress' },
              { op: 'link_create', link: 'l', prog: b, dev: 'v0', attach_type: 'tcx_egress' },
              ...Array.from({ length: 1500 }, () => [
                { op: 'dev_create', name: 'v1' },
                { op: 'prog_attach', prog: a, dev: 'v1', attach_type: 'tcx_ingress' },
                { op: 'dev_delete', dev: 'v1' },
              ]).flat(),
            ],
          };
  const file = join(mkdtempSync(join(tmpdir(), 'mprog-leftovers-')), `${kind}.json`);
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

/** Where the host has its cgroup2 hierarchy (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host). */
function cgroup2Dir(): string {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [mount, fs] = line.split(' - ');
    if (fs?.startsWith('cgroup2 ')) return mount!.split(' ')[4]!;
  }
  throw new Error('no cgroup2 mounted on this host');
}

let bpftool: string;
let cgroup2: string;
beforeAll(async () => {
  bpftool = await projectBpftool(hostArch()!);
  cgroup2 = cgroup2Dir();
  await buildAgent(hostArch()!); // built before the timed kills
});

const programNames = (): string[] =>
  (JSON.parse(execFileSync(bpftool, ['-j', 'prog', 'show'], { encoding: 'utf8' })) as { name?: string }[]).map((p) => p.name ?? '');

/** The private roots in the host's hierarchy: mprog-seq-<pid>-<start>[-<tag>]. */
const roots = (): string[] => readdirSync(cgroup2).filter((n) => n.startsWith('mprog-seq-'));

/** Whether a root's owner (pid and start time in its name) is gone. */
function ownerGone(root: string): boolean {
  const m = /^mprog-seq-(\d+)-(\d+)/.exec(root);
  if (!m) return true;
  try {
    const stat = readFileSync(`/proc/${m[1]}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' || fields[19] !== m[2];
  } catch {
    return true;
  }
}

interface Trial {
  kind: Kind;
  ending: Ending;
  /** ms after the sequence's programs show up; null: after the start of mprog (a point of its start-up too). */
  delayMs: number;
  fromStart: boolean;
}

/** Runs the sequence, ends it as `trial` says, and returns what is left 1 s after mprog is gone. */
async function runTrial(file: string, trial: Trial): Promise<{ exitCode: number | undefined; left: string[] }> {
  const deadline = trial.ending === 'deadline' ? ['--deadline', `${1500 + trial.delayMs},0,0`] : [];
  const run: ResultPromise = execa('node', ['bin/mprog.js', 'replay', '--target', 'host', ...deadline, file], { reject: false });
  const node = run.pid!;
  const seen = new Map<number, string>();
  const look = (): void => {
    for (const p of descendants(node)) seen.set(p.pid, p.cmd);
  };
  const watching = setInterval(look, 50);
  let ended: string | null = null;
  void run.then((r) => (ended = `mprog ended first (exit ${r.exitCode}): ${r.stderr}`));
  /** Fails at once, with why, when mprog ended before what the trial waits for. */
  const unlessEnded = <T>(got: T | undefined): T | undefined => {
    if (ended !== null && got === undefined) throw new Error(ended);
    return got;
  };
  try {
    if (trial.fromStart) {
      await sleep(trial.delayMs);
    } else {
      await waitFor("the sequence's programs", MINUTE, () => unlessEnded(programNames().includes(NAMES[trial.kind][0]) ? true : undefined));
      if (trial.ending !== 'deadline') await sleep(trial.delayMs);
    }
    look();
    if (trial.ending === 'agent SIGKILL') {
      // The agent itself: init of its PID namespace, a child of unshare.
      const agent = await waitFor('the agent', MINUTE, () => {
        const below = descendants(node);
        return unlessEnded(
          below.find((p) => /\/mprog-agent --bpftool/.test(p.cmd) && /^unshare /.test(below.find((q) => q.pid === parentOf(p.pid))?.cmd ?? '')),
        );
      });
      process.kill(agent.pid, 'SIGKILL');
    } else if (trial.ending !== 'deadline') {
      process.kill(node, trial.ending);
    }
    const { exitCode } = await run;
    clearInterval(watching);
    await sleep(1000);
    const reaper = [...seen].find(([, cmd]) => /mprog-agent --reap$/.test(cmd))?.[0];
    const left = [
      ...roots()
        .filter((r) => (reaper !== undefined && r.endsWith(`-${reaper}`)) || ownerGone(r))
        .map((r) => `cgroup ${join(cgroup2, r)}`),
      ...programNames()
        .filter((n) => (NAMES[trial.kind] as readonly string[]).includes(n))
        .map((n) => `program ${n}`),
      ...[...seen].filter(([pid]) => alive(pid)).map(([pid, cmd]) => `process ${pid} ${cmd.slice(0, 80)}`),
    ];
    return { exitCode, left };
  } finally {
    clearInterval(watching);
    run.kill('SIGKILL');
  }
}

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

/** What each ending gives (SIGKILL of node: killed, no status). */
const EXIT: Record<Ending, number | undefined> = { SIGKILL: undefined, SIGINT: 130, SIGTERM: 143, deadline: 2, 'agent SIGKILL': 2 };

describe('nothing a sequence makes on the host outlives mprog', () => {
  for (const kind of ['cgroup', 'netns', 'qdisc'] as const) {
    it(`${kind} sequences ended at random points, every way`, { timeout: 3 * MINUTE }, async () => {
      const file = sequence(kind);
      const trials: Trial[] = [
        ...ENDINGS.map((ending) => ({ kind, ending, delayMs: Math.floor(Math.random() * 1500), fromStart: false })),
        // Points of mprog's start-up too: the probe agent, the netns and devices, the loads.
        ...(['SIGKILL', 'SIGTERM'] as const).map((ending) => ({ kind, ending, delayMs: 200 + Math.floor(Math.random() * 1800), fromStart: true })),
      ];
      for (const trial of trials) {
        const { exitCode, left } = await runTrial(file, trial);
        const what = `${trial.ending} ${trial.delayMs} ms after ${trial.fromStart ? 'the start' : 'the loads'}`;
        expect(left, what).toEqual([]);
        if (!trial.fromStart) expect(exitCode, what).toBe(EXIT[trial.ending]);
      }
    });
  }
});
