// Real guests under QEMU (no mocks): boot, handshake, replay, and the fault kinds a user sees.
// Slow by nature (TCG); the first run also downloads the Debian kernels and userland.

import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import type { Sequence } from '../../contract/seq.js';
import { outcomeOfFault } from '../../harness/results/records.js';
import { QemuTarget } from '../../harness/targets/qemu.js';
import { TargetError } from '../../contract/target.js';
import { privateCache } from '../private-cache.js';
import { besidesProgress } from '../stderr.js';

const MINUTE = 60_000;
const TCX_INGRESS = 46;

/** prog_attach a, link_create l1 with b, query: what every tcx kernel answers the same way. */
function smallSequence(): Sequence {
  return {
    format: 'mprog-seq/1',
    name: 'qemu-smoke',
    file: 'test/qemu/qemu.test.ts',
    devices: [{ name: 'v0', kind: 'veth', peer: 'v0p' }],
    programs: [
      { name: 'a', type: 'sched_cls' },
      { name: 'b', type: 'sched_cls' },
    ],
    steps: [
      { op: 'prog_attach', prog: 'a', dev: { name: 'v0' }, attach_type: TCX_INGRESS, flags: 0, relative: null, replace: null, expected_revision: 0 },
      { op: 'link_create', link: 'l1', prog: 'b', dev: { name: 'v0' }, attach_type: TCX_INGRESS, flags: 0, relative: null, expected_revision: 0 },
      { op: 'prog_attach', prog: 'a', dev: { name: 'v0' }, attach_type: TCX_INGRESS, flags: 0, relative: null, replace: null, expected_revision: 0 },
      { op: 'query', dev: { name: 'v0' }, attach_type: TCX_INGRESS, count: 8, query_flags: 0, attach_flags: 0 },
    ],
    expects: [undefined, undefined, undefined, undefined],
    links: ['l1'],
  };
}

/** The TargetError a promise rejects with, and how long that took. */
async function fault(p: Promise<unknown>): Promise<{ err: TargetError; ms: number }> {
  const start = Date.now();
  const err = await p.then(
    () => {
      throw new Error('expected a TargetError, got an answer');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TargetError);
  return { err: err as TargetError, ms: Date.now() - start };
}

/** The QEMU processes this test process started (other tests' guests may still be up). */
function ourGuests(): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        return stat.startsWith(`${p} (qemu-system-`) && stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] === String(process.pid);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

const targets: QemuTarget[] = [];
function target(spec: string, opts?: ConstructorParameters<typeof QemuTarget>[1]): QemuTarget {
  const t = new QemuTarget(spec, opts);
  targets.push(t);
  return t;
}

afterAll(async () => {
  await Promise.all(targets.map((t) => t.close()));
});

describe.each(['x86_64', 'arm64'])('debian-6.12 on %s', (arch) => {
  it('boots, shakes hands and replays sequences on one VM', { timeout: 10 * MINUTE }, async () => {
    const t = target(`qemu:debian-6.12:${arch}`);
    expect(await t.kernel()).toMatch(/^6\.12\.\d+.*-cloud-(amd64|arm64)$/);
    const firstIds: number[] = [];
    for (let round = 0; round < 2; round++) {
      const r = await t.run(smallSequence());
      // Every sequence runs in a fresh netns, but ids keep counting within a boot: one VM, not one per run.
      firstIds.push(r.progIds['a']!);
      expect(r.kernel).toMatch(/^6\.12\./);
      expect(r.steps.map((s) => s.ret)).toEqual([0, expect.any(Number), -17, 0]); // EEXIST: a is attached already
      expect(r.steps[1]!.ret).toBeGreaterThan(2); // a link fd
      expect(r.linkIds['l1']).toBeGreaterThan(0);
      expect(r.steps[3]!.query).toMatchObject({
        count: 2,
        revision: 3,
        prog_ids: [r.progIds['a'], r.progIds['b']],
        link_ids: [0, r.linkIds['l1']],
      });
    }
    expect(firstIds[1]).toBeGreaterThan(firstIds[0]!);
    // The agent ran the loop (it echoes the iteration count) and timed it.
    expect((await t.rawBench(100, MINUTE)).elapsedNs).toBeGreaterThan(0);
  });
});

describe('faults', () => {
  it('reports a kernel panic as panic, with the console, promptly', { timeout: 10 * MINUTE }, async () => {
    // No /init in the initramfs to run: the kernel tries a root fs, finds none and panics.
    const t = target('qemu:debian-6.12:x86_64', { extraCmdline: 'rdinit=/nonexistent', bootDeadlineMs: 6 * MINUTE });
    await t.prepare(); // kernel and initramfs: not part of "promptly"
    const { err, ms } = await fault(t.run(smallSequence()));
    expect(err.kind).toBe('panic');
    expect(err.message).toMatch(/Kernel panic/);
    expect(err.console).toMatch(/Kernel panic - not syncing/);
    expect(ms).toBeLessThan(3 * MINUTE); // the boot deadline is 6 minutes: the panic must not wait for it
  });

  it('reports a guest that never answers as timeout within its deadline', { timeout: 5 * MINUTE }, async () => {
    // A shell instead of /init: the guest is up but no agent ever says READY.
    const deadline = 15_000;
    const t = target('qemu:debian-6.12:x86_64', { extraCmdline: 'rdinit=/bin/sh', bootDeadlineMs: deadline });
    await t.prepare();
    const { err, ms } = await fault(t.run(smallSequence()));
    expect(err.kind).toBe('timeout');
    expect(err.message).toMatch(/15000 ms/);
    expect(err.console).toMatch(/BusyBox/);
    expect(ms).toBeGreaterThanOrEqual(deadline - 1000);
    expect(ms).toBeLessThan(deadline + 10_000);
  });

  it('answers a sequence that overruns its deadline with timeout, then replays the next on a fresh VM', { timeout: 5 * MINUTE }, async () => {
    // Each query step also runs bpftool's net show in the guest: 3000 of them take about 15 s under
    // TCG, far longer than the 2 s deadline, which the small sequences keep well within.
    const slow = smallSequence();
    const query = slow.steps[3]!;
    slow.steps = [...slow.steps, ...Array.from({ length: 3000 }, () => query)];
    slow.expects = slow.steps.map(() => undefined);
    const t = target('qemu:debian-6.12:x86_64', { deadline: { baseMs: 2_000, perStepMs: 0, perQueryMs: 0 } });
    const fresh = await t.run(smallSequence());
    const { err } = await fault(t.run(slow));
    // The guest was busy with the queries: slow, not hung, so not a crash.
    expect(err.kind).toBe('timeout');
    expect(err.message).toMatch(/deadline 2000 ms\); the guest is still working \(.+\): give it more time with --deadline/);
    expect(outcomeOfFault(err.kind)).toBe('error');
    expect(err.console).toBeTruthy();
    const r = await t.run(smallSequence());
    expect(r.kernel).toBe(fresh.kernel);
    // Ids start again where a fresh guest starts them: this is a new guest, not the one that timed out.
    expect(r.progIds['a']).toBe(fresh.progIds['a']);
  });

  /** Sends `signal` to t's QEMU while it works on a long sequence; the fault that sequence ends in. */
  async function signalMidSequence(t: QemuTarget, signal: NodeJS.Signals): Promise<TargetError> {
    const slow = smallSequence();
    slow.steps = [...slow.steps, ...Array.from({ length: 3000 }, () => slow.steps[3]!)];
    slow.expects = slow.steps.map(() => undefined);
    const before = ourGuests();
    await t.run(smallSequence());
    const guest = ourGuests().filter((pid) => !before.includes(pid));
    expect(guest).toHaveLength(1);
    const running = fault(t.run(slow));
    process.kill(guest[0]!, signal);
    return (await running).err;
  }

  it('calls a guest that stops working with a sequence pending hung (a crash), with its console', { timeout: 5 * MINUTE }, async () => {
    const t = target('qemu:debian-6.12:x86_64', { deadline: { baseMs: 8_000, perStepMs: 0, perQueryMs: 0 } });
    // SIGSTOP: QEMU (and with it the guest) stops dead, as a deadlocked guest would sit.
    const err = await signalMidSequence(t, 'SIGSTOP');
    expect(err.kind).toBe('hung');
    expect(err.message).toMatch(/deadline 8000 ms\); the guest stopped working \(QEMU used 0\.00 s of CPU in 3\.\d s, and the agent sent nothing\)/);
    expect(outcomeOfFault(err.kind)).toBe('crash');
    expect(err.console).toBeTruthy();
  });

  it('calls a guest that went away with a sequence pending agent-lost (a crash), and the next sequence gets a fresh guest', {
    timeout: 5 * MINUTE,
  }, async () => {
    const t = target('qemu:debian-6.12:x86_64');
    const err = await signalMidSequence(t, 'SIGKILL');
    expect(err.kind).toBe('agent-lost');
    expect(err.message).toMatch(/closed the connection.*QEMU killed by SIGKILL/);
    expect(outcomeOfFault(err.kind)).toBe('crash');
    expect((await t.run(smallSequence())).steps).toHaveLength(4);
  });

  it('says debian-6.1 has no tcx', { timeout: 10 * MINUTE }, async () => {
    const t = target('qemu:debian-6.1:x86_64');
    const { err } = await fault(t.run(smallSequence()));
    expect(err.kind).toBe('unsupported');
    expect(err.message).toMatch(/^debian-6\.1 \(6\.1\.\d+.*\): no tcx \(BPF_TCX_INGRESS needs Linux 6\.6\+\)$/);
    // The guest stays up (a cgroup sequence still gets the agent's own reason), and a tcx
    // sequence is refused again at once.
    expect(await t.kernel()).toMatch(/^6\.1\./);
    expect((await fault(t.run(smallSequence()))).err.message).toMatch(/no tcx/);
  });

  it("reports a kernel QEMU cannot boot as boot-fail, with QEMU's reason", { timeout: 5 * MINUTE }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mprog-test-'));
    const image = join(dir, 'not-a-kernel');
    writeFileSync(image, Buffer.alloc(4096, 0x5a));
    try {
      const { err } = await fault(target(`qemu:${image}:x86_64`).run(smallSequence()));
      expect(err.kind).toBe('boot-fail');
      expect(err.message).toContain(image);
      expect(err.message).toMatch(/QEMU exit status 1: .+/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('mprog-X.Y kernels', () => {
  it('says which source is missing for a series Debian has no linux-source of', { timeout: 5 * MINUTE }, async () => {
    const { err } = await fault(target('qemu:mprog-9.99:x86_64').run(smallSequence()));
    expect(err.kind).toBe('unusable');
    expect(err.message).toMatch(/mprog-9\.99.*: the Debian mirror has no linux-source-9\.99/);
  });
});

describe('saved guests', () => {
  it('resumes the guest saved at its first boot, and boots again when the saved state is damaged', { timeout: 15 * MINUTE }, async () => {
    const cache = await privateCache(['apt', 'userland']); // kernels and initramfs are made again from these
    try {
      const replay = () =>
        execa('node', ['bin/mprog.js', 'replay', '--json', '--target', 'qemu:debian-6.12:x86_64', 'test/sequences/tc_opts/basic.json'], {
          reject: false,
          env: { MPROG_CACHE: cache },
        });
      const states = () => (existsSync(join(cache, 'snapshots')) ? readdirSync(join(cache, 'snapshots')).filter((f) => f.endsWith('.state')) : []);
      const booted = await replay();
      expect(booted.exitCode).toBe(0);
      expect(states()).toHaveLength(1);
      const state = join(cache, 'snapshots', states()[0]!);
      const saved = statSync(state).ino;

      const resumed = await replay();
      expect(resumed.exitCode).toBe(0);
      expect(besidesProgress(resumed.stderr)).toBe('');
      expect(JSON.parse(resumed.stdout)[0].results).toEqual(JSON.parse(booted.stdout)[0].results);
      expect(statSync(state).ino).toBe(saved); // resumed from it, not saved again (a save renames a new file in)

      writeFileSync(state, readFileSync(state).subarray(0, 4096));
      const repaired = await replay();
      expect(repaired.exitCode).toBe(0);
      expect(repaired.stderr).toContain(`${state}: is 4096 bytes; `);
      expect(repaired.stderr).toContain('were saved; making it again');
      expect(statSync(state).size).toBeGreaterThan(4096);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
