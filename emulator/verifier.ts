// kernel/bpf/verifier.c, the part a sequence's trivial program reaches: resolve_pseudo_ldimm64()
// binding the maps its ld_imm64 instructions name. check_map_prog_compatibility() refuses nothing
// here (no BTF records, no offload, no struct_ops map, no sleepable program), and the body calls
// no helper, so check_map_func_compatibility() is never reached.

import { bpfCgroupStorageAssign, type CgroupStorages } from './local-storage.js';
import { type BpfMap, bpfMapIsCgroupStorage } from './map.js';

/** resolve_pseudo_ldimm64() for `maps` in instruction order: a map seen before is reused (no
 * further checks); a new cgroup storage is assigned to the program ("only one cgroup storage of
 * each type is allowed": EBUSY). */
export function resolvePseudoLdimm64(storages: CgroupStorages, maps: readonly BpfMap[]): number {
  const used: BpfMap[] = [];
  for (const map of maps) {
    if (used.includes(map)) continue; // add_used_map_from_fd(): reused
    used.push(map);
    if (bpfMapIsCgroupStorage(map)) {
      const err = bpfCgroupStorageAssign(storages, map);
      if (err) return err;
    }
  }
  return 0;
}
