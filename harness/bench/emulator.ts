// The emulator alone on a fixed mix of calls: attach, detach with and without relatives, link
// create/update/detach/close, query. Each round leaves the entry empty, so rounds are alike.

import { Kernel } from '../../emulator/kernel.js';
import { ALL_QUERY_ARRAYS } from '../../emulator/mprog.js';
import { findProfile } from '../../emulator/profiles.js';
import { bpfProgLoad } from '../../emulator/prog.js';
import { devPairCreate } from '../../emulator/rtnetlink.js';
import { bpfProgAttach, bpfProgDetach, bpfProgQuery, closeFd, linkCreate, linkDetach, linkUpdate } from '../../emulator/syscall.js';
import { BPF_F_AFTER, BPF_F_BEFORE, BPF_F_ID, BPF_PROG_TYPE, BPF_TCX_INGRESS } from '../../uapi/bpf.js';

export interface EmulatorBench {
  ops: number;
  seconds: number;
  opsPerSecond: number;
}

function setup() {
  const k = new Kernel(findProfile('6.12')!);
  devPairCreate(k, 'veth', 'v0', 'v0p');
  const ifindex = k.net.getByName('v0')!.ifindex;
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((name) => bpfProgLoad(k, BPF_PROG_TYPE.SCHED_CLS, name)) as [number, number, number, number];
  const idOf = (fd: number) => {
    const file = k.files.get(fd);
    return file?.kind === 'prog' ? file.prog.id : 0;
  };
  return { k, ifindex, a, b, c, d, idB: idOf(b) };
}

/** One round: 13 calls. Throws if the emulator stops answering as the mix expects. */
function round(s: ReturnType<typeof setup>): number {
  const { k, ifindex, a, b, c, d, idB } = s;
  const attr = (fd: number, flags = 0, rel = 0) => ({
    target_ifindex: ifindex,
    attach_type: BPF_TCX_INGRESS,
    attach_bpf_fd: fd,
    attach_flags: flags,
    replace_bpf_fd: 0,
    relative_fd: rel,
    expected_revision: 0,
  });
  const query = {
    target_ifindex: ifindex,
    attach_type: BPF_TCX_INGRESS,
    query_flags: 0,
    attach_flags: 0,
    count: 8,
    arrays: ALL_QUERY_ARRAYS,
    userArrayEntries: 8,
  };
  let bad = 0;
  bad |= bpfProgAttach(k, attr(a));
  bad |= bpfProgAttach(k, attr(b, BPF_F_BEFORE, a));
  bad |= bpfProgAttach(k, attr(c, BPF_F_AFTER | BPF_F_ID, idB));
  const q1 = bpfProgQuery(k, query);
  const link = linkCreate(k, {
    prog_fd: d,
    target_ifindex: ifindex,
    attach_type: BPF_TCX_INGRESS,
    flags: BPF_F_BEFORE,
    relative_fd: 0,
    expected_revision: 0,
  });
  bad |= bpfProgDetach(k, attr(b, BPF_F_BEFORE, c));
  bad |= linkUpdate(k, { link_fd: link, new_prog_fd: b, flags: 0, old_prog_fd: 0 });
  bad |= bpfProgDetach(k, attr(0, BPF_F_AFTER));
  const q2 = bpfProgQuery(k, query);
  bad |= linkDetach(k, link);
  bad |= closeFd(k, link);
  bad |= bpfProgDetach(k, attr(0));
  const q3 = bpfProgQuery(k, query);
  if (bad || link < 0 || typeof q1 === 'number' || typeof q2 === 'number' || typeof q3 === 'number' || q3.count !== 0) {
    throw new Error('emulator bench: the fixed mix did not run as expected');
  }
  return 13;
}

export function benchEmulator(seconds: number): EmulatorBench {
  const s = setup();
  for (let i = 0; i < 20000; i++) round(s); // warm up the JIT
  let ops = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < end) {
    for (let i = 0; i < 1000; i++) ops += round(s);
    now = process.hrtime.bigint();
  }
  const elapsed = Number(now - start) / 1e9;
  return { ops, seconds: elapsed, opsPerSecond: ops / elapsed };
}
