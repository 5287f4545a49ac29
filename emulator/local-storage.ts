// kernel/bpf/local_storage.c: the cgroup storage maps' binding to programs. A program holds at
// most one map of each storage type (aux->cgroup_storage[stype]); attaching it to a cgroup looks
// up or allocates the storage of (cgroup, attach type) in that map (bpf_cgroup_storages_alloc(),
// kernel/bpf/cgroup.c), which only an allocation failure turns into an answer (ENOMEM, not
// modelled), so what a step can see is the binding itself: link_update compares it
// (cgroup.ts cgroupBpfStoragesCompatible).

import { EBUSY } from '../uapi/errno.js';
import { BPF_MAP_TYPE } from '../uapi/bpf.js';
import type { BpfMap } from './map.js';

/** enum bpf_cgroup_storage_type: BPF_CGROUP_STORAGE_SHARED, BPF_CGROUP_STORAGE_PERCPU. */
export type CgroupStorageType = 0 | 1;

/** A program's aux->cgroup_storage[]: the storage map of each type, or null. */
export type CgroupStorages = [BpfMap | null, BpfMap | null];

/** cgroup_storage_type(). */
export function cgroupStorageType(map: BpfMap): CgroupStorageType {
  return map.type === BPF_MAP_TYPE.PERCPU_CGROUP_STORAGE ? 1 : 0;
}

/** bpf_cgroup_storage_assign(): a second map of a type the program already has is EBUSY. */
export function bpfCgroupStorageAssign(storages: CgroupStorages, map: BpfMap): number {
  const stype = cgroupStorageType(map);
  const held = storages[stype];
  if (held && held !== map) return -EBUSY;
  storages[stype] = map;
  return 0;
}
