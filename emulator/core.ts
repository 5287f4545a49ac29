// The program array's copy to the caller (kernel/bpf/core.c).

import { EFAULT, ENOMEM, ENOSPC } from '../uapi/errno.js';
import { type QueryAttr, queryArraysHold } from './mprog.js';

/** KMALLOC_MAX_SIZE with 4 KiB pages and MAX_PAGE_ORDER 10 (the x86_64 and arm64 default): a
 * kmalloc() of more fails however much memory is free. */
export const KMALLOC_MAX_SIZE = 4 << 20;

/** bpf_prog_array_copy_to_user(): the ids of the first cnt programs go through a kcalloc()ed
 * buffer of cnt entries, all of it copied out (zeros past the programs). Returns the ids written,
 * or -ENOMEM (more than kmalloc() gives), -EFAULT (more than the caller's arrays hold); -ENOSPC
 * with the ids when the array holds more than cnt. */
export function bpfProgArrayCopyToUser(progIds: readonly number[], attr: QueryAttr, cnt: number): { ret: number; ids: number[] } | number {
  if (cnt * 4 > KMALLOC_MAX_SIZE) return -ENOMEM;
  if (!queryArraysHold(attr, cnt)) return -EFAULT;
  return { ret: progIds.length > cnt ? -ENOSPC : 0, ids: progIds.slice(0, cnt) };
}
