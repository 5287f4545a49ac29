// The agent and its host side against the kernel of this machine (needs root): raw results are
// checked against what /work/shared/spec/kernel-semantics.md §9 recorded on a live kernel.

import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EACCES, EBADF, EBADFD, EBUSY, EEXIST, EINVAL, ENODEV, ENOENT, ENOLINK, ENOSPC, EPERM, ERANGE, ESTALE } from '../../uapi/errno.js';
import {
  BPF_F_AFTER,
  BPF_F_ALLOW_MULTI,
  BPF_F_BEFORE,
  BPF_F_ID,
  BPF_F_LINK,
  BPF_F_REPLACE,
  BPF_NETKIT_PEER,
  BPF_NETKIT_PRIMARY,
  BPF_TCX_EGRESS,
  BPF_TCX_INGRESS,
} from '../../uapi/bpf.js';
import { AgentClient } from '../../vm/agent/client.js';
import { buildAgent } from '../../vm/agent/compile.js';
import { setNoticeSink } from '../../vm/runtime/notices.js';
import { hostArch } from '../../vm/runtime/paths.js';
import { LIBSTDBUF } from '../../vm/debian/guest-userland.js';
import { HostTarget } from '../../harness/targets/host.js';
import { TargetError } from '../../contract/target.js';
import type {
  DevRef,
  LinkCreateStep,
  ProgAttachStep,
  ProgDetachStep,
  ProgramDecl,
  QueryStep,
  RawLinkInfo,
  RawSequenceResult,
  Ref,
  Sequence,
  Step,
} from '../../contract/seq.js';

const AGENT_DIR = join(import.meta.dirname, '../../vm/agent');

/** This machine's agent binary, built if needed. */
const agentBinary = async (): Promise<string> => (await buildAgent(hostArch()!)).agent;

/** fn with a client of a fresh agent run with `args` over stdio (and the agent's pid); says BYE after it. */
async function withAgent<T>(args: string[], fn: (client: AgentClient, agentPid: number) => Promise<T>): Promise<T> {
  const agent = spawn(await agentBinary(), args, { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const client = await AgentClient.connect({ input: agent.stdout, output: agent.stdin }, { deadlineMs: 10_000 });
    const result = await fn(client, agent.pid!);
    await client.bye();
    return result;
  } finally {
    agent.kill();
  }
}
const ENOSYS = 38; // qemu user mode's answer to a syscall it does not emulate
const V0: DevRef = { name: 'v0' };

// ---- building sequences ----

function sequence(name: string, programs: (string | ProgramDecl)[], steps: Step[]): Sequence {
  const links = [...new Set(steps.flatMap((s) => (s.op === 'link_create' ? [s.link] : [])))];
  return {
    format: 'mprog-seq/1',
    name,
    file: `test/host/agent.test.ts#${name}`,
    devices: [{ name: 'v0', kind: 'veth', peer: 'v0p' }],
    programs: programs.map((p) => (typeof p === 'string' ? { name: p, type: 'sched_cls' } : p)),
    steps,
    expects: steps.map(() => undefined),
    links,
  };
}

const attach = (prog: string, o: Partial<ProgAttachStep> = {}): ProgAttachStep => ({
  op: 'prog_attach',
  prog,
  dev: V0,
  attach_type: BPF_TCX_INGRESS,
  flags: 0,
  relative: null,
  replace: null,
  expected_revision: 0,
  ...o,
});
const detach = (prog: string | null, o: Partial<ProgDetachStep> = {}): ProgDetachStep => ({
  op: 'prog_detach',
  prog,
  dev: V0,
  attach_type: BPF_TCX_INGRESS,
  flags: 0,
  relative: null,
  expected_revision: 0,
  ...o,
});
const linkCreate = (link: string, prog: string, o: Partial<LinkCreateStep> = {}): LinkCreateStep => ({
  op: 'link_create',
  link,
  prog,
  dev: V0,
  attach_type: BPF_TCX_INGRESS,
  flags: 0,
  relative: null,
  expected_revision: 0,
  ...o,
});
const query = (o: Partial<QueryStep> = {}): QueryStep => ({
  op: 'query',
  dev: V0,
  attach_type: BPF_TCX_INGRESS,
  count: 64,
  query_flags: 0,
  attach_flags: 0,
  ...o,
});
const update = (link: string, prog: string, flags = 0, old_prog: string | null = null): Step => ({
  op: 'link_update',
  link,
  prog,
  old_prog,
  flags,
});
const fd = (name: string): Ref => ({ fd: name });
const id = (name: string): Ref => ({ id: name });

// ---- reading raw results ----

/** Names of kernel ids, as the normaliser would give them (0 → null). */
function named(raw: RawSequenceResult, ids: number[]): (string | null)[] {
  const byId = new Map<number, string>();
  for (const [name, i] of Object.entries(raw.progIds)) byId.set(i, name);
  for (const [name, i] of Object.entries(raw.linkIds)) if (i !== 0) byId.set(i, name);
  return ids.map((i) => (i === 0 ? null : (byId.get(i) ?? `#${i}`)));
}

const rets = (raw: RawSequenceResult): number[] => raw.steps.map((s) => s.ret);

/** The device of a tcx or netkit link's info (a cgroup link's has none). */
function ifindexOf(info: RawLinkInfo | undefined): number {
  if (info === undefined || !('ifindex' in info)) throw new Error(`not a device link's info: ${JSON.stringify(info)}`);
  return info.ifindex;
}

function list(raw: RawSequenceResult, step: number): { count: number; revision: number; progs: unknown[]; links: unknown[] } {
  const q = raw.steps[step]!.query;
  if (q === undefined) throw new Error(`step ${step} has no query result (ret ${raw.steps[step]!.ret})`);
  return { count: q.count, revision: q.revision, progs: named(raw, q.prog_ids), links: named(raw, q.link_ids) };
}

// ---- the running kernel ----

describe("host target (this machine's kernel)", () => {
  const host = new HostTarget();
  beforeAll(async () => {
    await host.start();
  }, 120_000);
  afterAll(async () => {
    await host.close();
  });

  it('reports uname -r as its kernel', async () => {
    const { stdout } = await execa('uname', ['-r']);
    expect(await host.kernel()).toBe(stdout.trim());
  });

  it('attach with revisions, BEFORE by fd, AFTER|ID by id; detach all resets the revision', async () => {
    const raw = await host.run(
      sequence(
        'attach-before-after',
        ['a', 'b', 'c', 'd'],
        [
          query(), // 0
          attach('a', { expected_revision: 2 }), // 1
          query(), // 2
          attach('a', { expected_revision: 1 }), // 3
          attach('a'), // 4
          attach('a', { expected_revision: 1 }), // 5
          attach('b'), // 6
          attach('c', { flags: BPF_F_BEFORE, relative: fd('b') }), // 7
          attach('d', { flags: BPF_F_AFTER | BPF_F_ID, relative: id('a') }), // 8
          query(), // 9
          detach('a'),
          detach('b'),
          detach('c'),
          detach('d'), // 10-13
          query(), // 14
        ],
      ),
    );
    expect(rets(raw)).toEqual([0, -ESTALE, 0, 0, -EEXIST, -ESTALE, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(list(raw, 0)).toMatchObject({ count: 0, revision: 1, progs: [] });
    expect(list(raw, 2)).toMatchObject({ count: 0, revision: 1 });
    expect(list(raw, 9)).toEqual({ count: 4, revision: 5, progs: ['a', 'd', 'c', 'b'], links: [null, null, null, null] });
    expect(raw.steps[9]!.query!.prog_attach_flags).toEqual([0, 0, 0, 0]);
    expect(list(raw, 14)).toMatchObject({ count: 0, revision: 1 });
  });

  it('positional detach: fd 0 forms, BEFORE/AFTER without relative, REPLACE and unknown flags', async () => {
    const raw = await host.run(
      sequence(
        'detach-positions',
        ['p1', 'p2', 'p3'],
        [
          attach('p1'),
          attach('p2'),
          attach('p3', { flags: BPF_F_BEFORE }), // [p3 p1 p2]
          detach('p1', { flags: BPF_F_BEFORE }), // 3 ERANGE
          detach('p3', { flags: BPF_F_BEFORE }), // 4 ERANGE
          detach('p2', { flags: BPF_F_AFTER }), // 5 ERANGE
          detach('p1', { flags: BPF_F_REPLACE }), // 6 EINVAL
          detach('p1', { flags: BPF_F_ALLOW_MULTI }), // 7 EINVAL
          detach(null, { relative: fd('p3') }), // 8 EINVAL
          detach('p1', { relative: fd('p3') }), // 9 ok: [p3 p2]
          detach(null, { flags: BPF_F_BEFORE, relative: fd('p3') }), // 10 removes p3 itself
          query(), // 11
          detach(null), // 12 removes the last
          detach(null, { flags: BPF_F_BEFORE }), // 13 ENOENT: no entry
        ],
      ),
    );
    expect(rets(raw)).toEqual([0, 0, 0, -ERANGE, -ERANGE, -ERANGE, -EINVAL, -EINVAL, -EINVAL, 0, 0, 0, 0, -ENOENT]);
    expect(list(raw, 11)).toMatchObject({ count: 1, revision: 6, progs: ['p2'] });
  });

  it('links: BEFORE|LINK|ID, update (same prog, EEXIST, EPERM, EINVAL), detach twice, ENOLINK, close', async () => {
    const raw = await host.run(
      sequence(
        'links',
        ['a', 'b', 'c', { name: 'x', type: 'xdp' }],
        [
          linkCreate('l1', 'a'), // 0
          linkCreate('l2', 'b', { flags: BPF_F_BEFORE | BPF_F_LINK | BPF_F_ID, relative: id('l1') }), // 1
          query(), // 2
          update('l1', 'c'), // 3
          update('l1', 'c'), // 4 same: ok
          update('l1', 'b'), // 5 EEXIST
          update('l1', 'a', BPF_F_REPLACE, 'b'), // 6 EPERM
          update('l1', 'a', 0, 'c'), // 7 EINVAL
          update('l1', 'a', BPF_F_BEFORE), // 8 EINVAL
          update('l1', 'x'), // 9 EINVAL
          query(), // 10
          attach('c'), // 11 EEXIST
          detach('c'), // 12 EBUSY
          { op: 'link_detach', link: 'l2' }, // 13
          { op: 'link_detach', link: 'l2' }, // 14
          update('l2', 'a'), // 15 ENOLINK
          linkCreate('l3', 'a', { flags: BPF_F_ALLOW_MULTI }), // 16 EINVAL
          linkCreate('l4', 'a', { flags: BPF_F_BEFORE | BPF_F_ALLOW_MULTI, relative: fd('c') }), // 17 ok
          linkCreate('l5', 'b', { flags: BPF_F_REPLACE }), // 18 ENOENT
          query(), // 19
          { op: 'link_close', link: 'l1' }, // 20
          { op: 'link_close', link: 'l4' }, // 21
          query(), // 22
        ],
      ),
    );
    expect(rets(raw)).toEqual([
      expect.any(Number),
      expect.any(Number),
      0,
      0,
      0,
      -EEXIST,
      -EPERM,
      -EINVAL,
      -EINVAL,
      -EINVAL,
      0,
      -EEXIST,
      -EBUSY,
      0,
      0,
      -ENOLINK,
      -EINVAL,
      expect.any(Number),
      -ENOENT,
      0,
      0,
      0,
      0,
    ]);
    for (const step of [0, 1, 17]) expect(raw.steps[step]!.ret).toBeGreaterThan(2);
    expect(list(raw, 2)).toEqual({ count: 2, revision: 3, progs: ['b', 'a'], links: ['l2', 'l1'] });
    expect(list(raw, 10)).toEqual({ count: 2, revision: 4, progs: ['b', 'c'], links: ['l2', 'l1'] });
    expect(list(raw, 19)).toEqual({ count: 2, revision: 6, progs: ['a', 'c'], links: ['l4', 'l1'] });
    expect(list(raw, 22)).toMatchObject({ count: 0, revision: 1 });
    expect(raw.linkIds['l3']).toBe(0);
  });

  it('query: ENOSPC keeps the full count, count 0 writes nothing, flags and missing devices', async () => {
    const raw = await host.run(
      sequence(
        'query',
        ['a', 'b', 'c', 'd'],
        [
          attach('a'),
          attach('b'),
          attach('c'),
          attach('d'),
          query({ count: 2 }), // 4
          query({ count: 0 }), // 5
          query({ count: 1, attach_type: BPF_TCX_EGRESS }), // 6
          query({ query_flags: 1 }), // 7
          query({ attach_flags: 1 }), // 8
          query({ dev: { name: 'nope' } }), // 9
          query({ dev: { ifindex: 0 } }), // 10
        ],
      ),
    );
    expect(rets(raw)).toEqual([0, 0, 0, 0, -ENOSPC, 0, 0, -EINVAL, -EINVAL, -ENODEV, -ENODEV]);
    expect(list(raw, 4)).toEqual({ count: 4, revision: 5, progs: ['a', 'b'], links: [null, null] });
    expect(list(raw, 5)).toEqual({ count: 4, revision: 5, progs: [], links: [] });
    expect(list(raw, 6)).toEqual({ count: 0, revision: 1, progs: [], links: [] });
    expect(raw.steps[9]!.query).toBeUndefined();
  });

  it('link_info after dev_delete: ifindex 0, prog and attach type kept; detach 0, update ENOLINK', async () => {
    const raw = await host.run(
      sequence(
        'dev-delete',
        ['a', 'b'],
        [
          linkCreate('l1', 'a', { attach_type: BPF_TCX_EGRESS }), // 0
          { op: 'link_info', link: 'l1' }, // 1
          attach('b'), // 2
          { op: 'dev_delete', dev: 'v0' }, // 3
          { op: 'link_info', link: 'l1' }, // 4
          { op: 'link_detach', link: 'l1' }, // 5
          update('l1', 'b'), // 6
          query(), // 7
          { op: 'dev_create', name: 'v0', kind: 'veth', peer: 'v0p' }, // 8
          query(), // 9
          { op: 'link_close', link: 'l1' }, // 10
        ],
      ),
    );
    expect(rets(raw)).toEqual([expect.any(Number), 0, 0, 0, 0, 0, -ENOLINK, -ENODEV, 0, 0, 0]);
    const v0Before = Number(Object.entries(raw.devNames).find(([, n]) => n === 'v0')![0]);
    expect(raw.steps[1]!.link_info).toEqual({ prog_id: raw.progIds['a'], ifindex: expect.any(Number), attach_type: BPF_TCX_EGRESS });
    expect(raw.devNames[ifindexOf(raw.steps[1]!.link_info)]).toBe('v0');
    expect(raw.steps[4]!.link_info).toEqual({ prog_id: raw.progIds['a'], ifindex: 0, attach_type: BPF_TCX_EGRESS });
    expect(list(raw, 9)).toMatchObject({ count: 0, revision: 1 });
    expect(v0Before).toBeGreaterThan(1);
  });

  it('a failed link_create consumes a link id', async () => {
    const seq = sequence(
      'link-ids',
      ['a', 'b', 'c'],
      [
        linkCreate('l1', 'a'),
        linkCreate('l2', 'b'),
        linkCreate('l3', 'a'), // EEXIST, after the id was reserved
        linkCreate('l4', 'c'),
        { op: 'link_info', link: 'l3' },
      ],
    );
    // Link ids are machine-wide: a link made by another process in between widens the gaps, so
    // such a run is repeated. A missing gap (no id consumed) is never retried.
    let raw = await host.run(seq);
    for (let tries = 1; tries < 5 && (raw.linkIds['l2']! - raw.linkIds['l1']! !== 1 || raw.linkIds['l4']! - raw.linkIds['l2']! > 2); tries++) {
      raw = await host.run(seq);
    }
    expect(rets(raw).slice(2)).toEqual([-EEXIST, expect.any(Number), -EBADFD]);
    expect(raw.linkIds['l3']).toBe(0);
    expect(raw.linkIds['l2']).toBe(raw.linkIds['l1']! + 1);
    expect(raw.linkIds['l4']).toBe(raw.linkIds['l2']! + 2);
  });

  it('bad references: closed fds, BPF_F_LINK with fd 0, wrong program types, missing devices', async () => {
    const raw = await host.run(
      sequence(
        'bad-refs',
        ['a', 'b', 'c', { name: 'x', type: 'xdp' }],
        [
          { op: 'prog_close', prog: 'b' }, // 0
          attach('a', { flags: BPF_F_BEFORE, relative: fd('b') }), // 1 EBADF (closed)
          attach('a', { flags: BPF_F_BEFORE | BPF_F_ID, relative: id('b') }), // 2 ENOENT (freed)
          attach('a', { flags: BPF_F_BEFORE | BPF_F_LINK, relative: { value: 0 } }), // 3 EINVAL
          attach('x'), // 4 EINVAL
          attach('a', { flags: BPF_F_BEFORE, relative: fd('x') }), // 5 EINVAL
          attach('a', { dev: { ifindex: 0 } }), // 6 ENODEV
          attach('b'), // 7 EBADF
          { op: 'prog_close', prog: 'b' }, // 8 EBADF
          attach('a', { flags: BPF_F_ALLOW_MULTI }), // 9 EINVAL
          attach('c'), // 10
          { op: 'prog_close', prog: 'c' }, // 11: stays attached
          attach('a', { flags: BPF_F_AFTER | BPF_F_ID, relative: id('c') }), // 12
          query(), // 13
        ],
      ),
    );
    expect(rets(raw)).toEqual([0, -EBADF, -ENOENT, -EINVAL, -EINVAL, -EINVAL, -ENODEV, -EBADF, -EBADF, -EINVAL, 0, 0, 0, 0]);
    expect(list(raw, 13)).toMatchObject({ count: 2, revision: 3, progs: ['c', 'a'] });
  });

  it('a setup failure is a FAIL answer (agent-error) and leaves the connection usable', async () => {
    const bad = sequence('dup-device', ['a'], [query()]);
    bad.devices.push({ name: 'v0', kind: 'veth', peer: 'v1p' });
    await expect(host.run(bad)).rejects.toMatchObject({ kind: 'agent-error', message: expect.stringMatching(/dup-device.*v0/) });
    const raw = await host.run(sequence('after-fail', ['a'], [attach('a'), query()]));
    expect(list(raw, 1)).toMatchObject({ count: 1, progs: ['a'] });
  });

  it('netkit: unsupported without netkit in the kernel, else primary/peer resolution', async () => {
    const seq = sequence(
      'netkit',
      ['a', 'b'],
      [
        linkCreate('l1', 'a', { dev: { name: 'nk0' }, attach_type: BPF_NETKIT_PRIMARY }),
        linkCreate('l2', 'b', { dev: { name: 'nk0' }, attach_type: BPF_NETKIT_PEER }),
        query({ dev: { name: 'nk0' }, attach_type: BPF_NETKIT_PRIMARY }),
        query({ dev: { name: 'nk0p' }, attach_type: BPF_NETKIT_PRIMARY }),
        { op: 'link_info', link: 'l2' },
      ],
    );
    seq.devices = [{ name: 'nk0', kind: 'netkit', peer: 'nk0p' }];
    const got = await host.run(seq).catch((e: unknown) => e);
    if (got instanceof TargetError) {
      expect(got).toMatchObject({ kind: 'unsupported', message: expect.stringMatching(/netkit/) });
      return;
    }
    const raw = got as RawSequenceResult;
    expect(rets(raw).slice(2)).toEqual([0, -EACCES, 0]);
    expect(list(raw, 2)).toEqual({ count: 1, revision: 2, progs: ['a'], links: ['l1'] });
    // A peer link records the peer device.
    expect(raw.devNames[ifindexOf(raw.steps[4]!.link_info)]).toBe('nk0p');
  });

  it('an agent that died is replaced for the next sequence', async () => {
    const { agent } = await host.start();
    agent.kill('SIGKILL');
    await expect(host.run(sequence('dead-agent', ['a'], [query()]))).rejects.toMatchObject({ kind: 'agent-lost' });
    const raw = await host.run(sequence('new-agent', ['a'], [attach('a'), query()]));
    expect(list(raw, 1)).toMatchObject({ count: 1, progs: ['a'] });
  });

  it('raw rate loop', async () => {
    const bench = await host.rawBench(5, 30_000);
    expect(bench.calls).toBe(10);
    expect(bench.elapsedNs).toBeGreaterThan(0);
  });
});

// ---- the bpftool cross-check, with a bpftool that lies ----

describe('bpftool cross-check', () => {
  it('throws harness-fault when bpftool disagrees with a full query, and passes when it agrees', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mprog-agent-test-'));
    const fake = join(dir, 'bpftool');
    // Speaks `bpftool -j batch file -`: one array element per command, the same empty view each time.
    writeFileSync(
      fake,
      [
        '#!/bin/sh',
        "printf '['",
        'sep=',
        'while read -r line; do',
        '  case "$line" in',
        '  "net show"*) printf \'%s{"command":["net","show"],"output":[{"xdp":[],"tc":[],"flow_dissector":[],"netfilter":[]}]}\' "$sep" ;;',
        '  *) printf \'%s{"command":["version"],"output":{}}\' "$sep" ;;',
        '  esac',
        '  sep=,',
        'done',
        "printf ']\\n'",
        '',
      ].join('\n'),
    );
    chmodSync(fake, 0o755);
    const zygote = (await buildAgent(hostArch()!)).bpftoolZygote;
    const lies = async (client: AgentClient): Promise<void> => {
      const err = await client.run(sequence('lying-bpftool', ['a'], [attach('a'), query()])).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TargetError);
      expect(err).toMatchObject({ kind: 'harness-fault', message: expect.stringMatching(/lying-bpftool.*step 1.*bpftool says/) });
    };
    await withAgent(['--bpftool', fake, '--stdbuf', LIBSTDBUF, '--bpftool-zygote', zygote], async (client, agentPid) => {
      // Nothing attached: bpftool's empty list is right.
      await client.run(sequence('empty', ['a'], [query()]));
      // A partial answer (ENOSPC) is not compared.
      await client.run(sequence('partial', ['a', 'b'], [attach('a'), attach('b'), query({ count: 1 })]));
      await lies(client);
      // The zygote every sequence's bpftool is forked from (here the fake's shell) killed: the
      // agent starts another, and the check goes on.
      const zygotes = (): number[] =>
        childrenOf(agentPid).filter(
          (pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(fake) && !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')),
        );
      const [first] = zygotes();
      expect(first).toBeDefined();
      process.kill(first!, 'SIGKILL');
      // Dead (a zombie the agent has yet to reap) before the next sequence starts.
      while (zygotes().includes(first!)) await sleep(10);
      await lies(client);
      expect(zygotes()).toHaveLength(1);
      expect(zygotes()[0]).not.toBe(first);
    });
  });
});

/** The pids whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] === String(pid);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

// ---- sequences in flight at once (--jobs) and RAWRUN ----

describe('agent with --jobs', () => {
  // Each a different shape (1 to 24 programs), so an answer given to the wrong request would differ.
  const batch = (): Sequence[] =>
    Array.from({ length: 24 }, (_, i) => {
      const progs = Array.from({ length: 1 + i }, (_, k) => `p${k}`);
      return sequence(`jobs-${i}`, progs, [...progs.map((p) => attach(p)), query(), detach(null), query()]);
    });
  const shape = (raw: RawSequenceResult) => ({ rets: rets(raw), first: list(raw, raw.steps.length - 3), last: list(raw, raw.steps.length - 1) });
  /** A sequence the agent answers FAIL for: its veth pair cannot be created (peer named as itself). */
  const broken = (name: string): Sequence => ({ ...sequence(name, ['a'], [query()]), devices: [{ name: 'v0', kind: 'veth', peer: 'v0' }] });

  it('answers sequences in flight at once in request order, as one at a time does', async () => {
    const seqs = batch();
    // Many in flight: answers finishing together once sent the agent to wait for input it had not been sent.
    const all = [...seqs.slice(0, 4), broken('jobs-broken'), ...seqs.slice(4)];
    const run = (client: AgentClient) => Promise.all(all.map((seq) => client.run(seq, { crossCheck: false }).then(shape, (e: unknown) => e)));
    const alone = await withAgent([], run);
    const together = await withAgent(['--jobs', '4'], run);
    expect(together).toEqual(alone);
    expect(together[4]).toMatchObject({ kind: 'agent-error', message: expect.stringMatching(/jobs-broken.*creating veth pair v0\/v0/) });
    expect(together[3]).toMatchObject({ first: { count: 4, progs: ['p0', 'p1', 'p2', 'p3'] }, last: { count: 3 } });
  });

  it('RAWRUN runs the sequences inside the agent, times them and counts the ones that failed', async () => {
    const seqs = batch();
    await withAgent(['--jobs', '3'], async (client) => {
      const ok = await client.rawRun(seqs, 30_000);
      expect(ok.failed).toBe(0);
      expect(ok.elapsedNs).toBeGreaterThan(0);
      expect((await client.rawRun([...seqs, broken('rawrun-broken')], 30_000)).failed).toBe(1);
      // No answers of the run are left behind: the next request gets its own.
      expect(shape(await client.run(seqs[1]!, { crossCheck: false }))).toMatchObject({
        rets: [0, 0, 0, 0, 0],
        first: { count: 2 },
        last: { count: 1 },
      });
    });
  });

  it('refuses a --jobs outside 1..8 with its usage', async () => {
    for (const n of ['0', '9']) {
      const r = await execa(await agentBinary(), ['--jobs', n], { reject: false });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/--jobs N \(1-8\)/);
    }
  });
});

// ---- builds ----

describe('agent builds', () => {
  it('builds static x86_64 and arm64 binaries', async () => {
    await execa('node', [join(AGENT_DIR, 'build.mjs'), 'x86_64', 'arm64']);
    const x86 = await execa('file', ['-b', join(AGENT_DIR, 'build/x86_64/mprog-agent')]);
    expect(x86.stdout).toMatch(/x86-64.*statically linked/);
    const arm = await execa('file', ['-b', join(AGENT_DIR, 'build/arm64/mprog-agent')]);
    expect(arm.stdout).toMatch(/ARM aarch64.*statically linked/);
  }, 120_000);

  it('says before it compiles that it does, and why: no build yet, an output missing, inputs changed; nothing when up to date', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'mprog-agent-cache-'));
    const previous = process.env['MPROG_CACHE'];
    process.env['MPROG_CACHE'] = cache;
    const made = [cache];
    const said: string[] = [];
    const sink = setNoticeSink((text) => said.push(text));
    // Each build in a fresh memo (a cache path not built before in this process): a copy of the cache.
    const buildFrom = async (from: string, change: (dir: string) => void): Promise<string[]> => {
      const dir = mkdtempSync(join(tmpdir(), 'mprog-agent-cache-'));
      made.push(dir);
      cpSync(from, dir, { recursive: true });
      change(join(dir, 'agent', 'x86_64'));
      process.env['MPROG_CACHE'] = dir;
      said.length = 0;
      await buildAgent('x86_64');
      return said.map((l) => l.replaceAll(dir, 'CACHE'));
    };
    try {
      await buildAgent('x86_64');
      expect(said).toEqual([`agent build: compiling the agent (x86_64) into ${cache}/agent/x86_64: no build of it yet`]);
      expect(await buildFrom(cache, () => {})).toEqual([]);
      expect(await buildFrom(cache, (out) => rmSync(join(out, 'bpftool-zygote.so')))).toEqual([
        'agent build: compiling the agent (x86_64) into CACHE/agent/x86_64: bpftool-zygote.so is missing',
      ]);
      // What a changed source, build.mjs or compiler makes of the stamp: another digest on its first line.
      const stamp = (out: string) => join(out, '.stamp');
      expect(
        await buildFrom(cache, (out) => writeFileSync(stamp(out), readFileSync(stamp(out), 'utf8').replace(/^[0-9a-f]{8}/, '00000000'))),
      ).toEqual([
        'agent build: compiling the agent (x86_64) into CACHE/agent/x86_64: its sources, build.mjs or the compiler changed since the last build',
      ]);
    } finally {
      setNoticeSink(sink);
      if (previous === undefined) delete process.env['MPROG_CACHE'];
      else process.env['MPROG_CACHE'] = previous;
      for (const dir of made) rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  const qemu = ['/usr/bin/qemu-aarch64-static', '/usr/bin/qemu-aarch64'].find((p) => existsSync(p));
  it.skipIf(qemu === undefined)(
    'the arm64 binary answers the handshake under qemu user mode',
    async () => {
      await execa('node', [join(AGENT_DIR, 'build.mjs'), 'arm64']);
      const agent = spawn(qemu!, [join(AGENT_DIR, 'build/arm64/mprog-agent')], { stdio: ['pipe', 'pipe', 'inherit'] });
      try {
        const client = await AgentClient.connect({ input: agent.stdout, output: agent.stdin }, { deadlineMs: 20_000, waitReady: true });
        expect(client.machine).toBe('aarch64');
        // rtnetlink goes through qemu user mode; bpf(2) may not (qemu 7.2 answers ENOSYS).
        const raw = await client.run(
          sequence(
            'arm64-netlink',
            [],
            [query(), { op: 'dev_create', name: 'v1', kind: 'veth', peer: 'v1p' }, { op: 'dev_delete', dev: 'v0' }, { op: 'dev_delete', dev: 'v0' }],
          ),
        );
        expect([0, -ENOSYS]).toContain(raw.steps[0]!.ret);
        expect(rets(raw).slice(1)).toEqual([0, 0, -ENODEV]);
        expect(Object.values(raw.devNames).sort()).toEqual(['v0', 'v0p', 'v1', 'v1p']);
        await client.bye();
      } finally {
        agent.kill();
      }
    },
    60_000,
  );
});
