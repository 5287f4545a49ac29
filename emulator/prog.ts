// BPF programs: ids, references and lookups (kernel/bpf/syscall.c).
// Lookups take no reference: every call in this model runs to completion, so nothing can free the
// object in between. References are counted only for holders that outlive a call (fds, attached
// slots, links), because those decide when a program is freed and its id stops resolving.

import { EBADF, EINVAL, ENOENT } from './errno.js';
import type { FdTable } from './fdtable.js';
import type { CyclicIdr } from './idr.js';
import type { BpfProgType } from './uapi.js';

export class BpfProg {
  id = 0;
  refcnt = 1;
  constructor(
    readonly type: BpfProgType,
    readonly name: string,
    /** expected_attach_type given at load (0 when none was). */
    readonly expectedAttachType = 0,
  ) {}
}

export interface ProgTables {
  files: FdTable;
  progIdr: CyclicIdr<BpfProg>;
}

/** bpf_prog_load(): a new program with the next id, and an fd for it. */
export function bpfProgLoad(k: ProgTables, type: BpfProgType, name: string, expectedAttachType = 0): number {
  const prog = new BpfProg(type, name, expectedAttachType);
  prog.id = k.progIdr.alloc(prog);
  return k.files.install({ kind: 'prog', prog });
}

/** bpf_prog_get(): the program behind an fd. */
export function bpfProgGet(k: ProgTables, fd: number): BpfProg | number {
  const file = k.files.get(fd);
  if (!file) return -EBADF;
  if (file.kind !== 'prog') return -EINVAL;
  return file.prog;
}

/** bpf_prog_get_type(): bpf_prog_get() and the program must be of `type`. */
export function bpfProgGetType(k: ProgTables, fd: number, type: BpfProgType): BpfProg | number {
  const prog = bpfProgGet(k, fd);
  if (typeof prog === 'number') return prog;
  return prog.type === type ? prog : -EINVAL;
}

/** bpf_prog_by_id(): id 0 and unknown (or freed) ids are ENOENT. */
export function bpfProgById(k: ProgTables, id: number): BpfProg | number {
  if (!id) return -ENOENT;
  return k.progIdr.find(id) ?? -ENOENT;
}

/** bpf_prog_inc(): a holder that outlives the call. */
export function bpfProgInc(prog: BpfProg): void {
  prog.refcnt++;
}

/** bpf_prog_put(): the last reference frees the id at once (bpf_prog_free_id). */
export function bpfProgPut(k: ProgTables, prog: BpfProg): void {
  if (--prog.refcnt === 0) k.progIdr.remove(prog.id);
}
