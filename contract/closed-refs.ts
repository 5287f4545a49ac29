// The numbers a sequence step carries for a name that refers to nothing now: the harness's own
// convention (not the kernel's), the same in the emulator target (harness/targets/emulator.ts) and
// in the agent and the C reproducers (vm/agent/kernel-abi.h defines them for C under the same
// names; test/unit/closed-refs.test.ts checks that the two agree).

/** A reference to an object whose fd is closed or was never opened: CLOSED_FD_BASE + its object
 * index, a number no fd has. */
export const CLOSED_FD_BASE = 1000000;
/** A device name that names no device now: an ifindex no device has (kernel-abi.h: MISSING_IFINDEX). */
export const MISSING_IFINDEX = 0x7fffffff;
/** A cgroup name whose cgroup was never made: a number no fd has, CLOSED_CGROUP_FD_BASE + its
 * index among the sequence's cgroup names (declared, then made by cgroup_create, in file order). */
export const CLOSED_CGROUP_FD_BASE = 2000000;
