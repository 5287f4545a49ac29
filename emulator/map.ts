// BPF maps as a sequence makes them (kernel/bpf/syscall.c map_create()): an object behind an fd,
// of a type. A sequence's maps have fixed parameters that every map_alloc() accepts
// (contract/seq.ts MAP_PARAMS), so creation cannot fail and only the fd is modelled; the map's id
// is not (no answer of the format shows one).

import { BPF_MAP_TYPE, type BpfMapType } from '../uapi/bpf.js';
import type { FdTable } from './fdtable.js';

export class BpfMap {
  constructor(
    readonly type: BpfMapType,
    readonly name: string,
  ) {}
}

/** map_create(): an fd for the new map. */
export function mapCreate(k: { files: FdTable }, map: BpfMap): number {
  return k.files.install({ kind: 'map', map });
}

/** bpf_map_is_cgroup_storage() (kernel/bpf/verifier.c). */
export function bpfMapIsCgroupStorage(map: BpfMap): boolean {
  return map.type === BPF_MAP_TYPE.CGROUP_STORAGE || map.type === BPF_MAP_TYPE.PERCPU_CGROUP_STORAGE;
}
