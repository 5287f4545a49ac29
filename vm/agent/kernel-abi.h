/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel ABI mprog's C programs speak: the bpf(2) commands of the mprog attach API, the
 * rtnetlink messages that make and delete device pairs, and the cgroup v2 directories cgroup
 * attach points are. Defined here rather than taken from the
 * linux uapi headers: the programs are built on machines whose headers may be older than the
 * kernels they talk to, and the layouts they need are fixed by the uapi (checked by the
 * _Static_asserts below).
 *
 * It opens with the few numbers and names that are the harness's own rather than the kernel's
 * (the closed-reference numbers, the ops of a step), defined here once for every C program.
 *
 * Used by the in-guest agent (every C file of it, through agent.h) and by the C reproducers' runtime
 * (reproducer.h); both this header and reproducer.h are pasted whole into every C reproducer that
 * `mprog fuzz` writes (harness/reproducers/c.ts), so a reproducer stays one standalone file: this
 * header includes no header of the project.
 */
#ifndef MPROG_KERNEL_ABI_H
#define MPROG_KERNEL_ABI_H

/* Helpers an includer does not use are fine (the agent includes this in every file). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * ---- the harness's own numbers (contract/closed-refs.ts has the same for TypeScript, checked by
 * test/unit/closed-refs.test.ts) ----
 */

/* The fd passed for a closed (or never opened) object: CLOSED_FD_BASE + its object index, a
 * number no open fd has. */
#define CLOSED_FD_BASE 1000000u
/* The fd passed for a cgroup name whose cgroup was never made: CLOSED_CGROUP_FD_BASE + its cgroup
 * index, a number no fd has. */
#define CLOSED_CGROUP_FD_BASE 2000000u
/* A name no device has resolves to an ifindex no device has (0 would mean "no device" to some
 * calls). */
#define MISSING_IFINDEX 0x7fffffffu

/*
 * ---- the ops of a step: mprog-seq/1's names, the agent protocol's STEP ops ----
 *
 * One list, X(ID, name) per op: enum mprog_op (OP_ID), MPROG_N_OPS and the names come from it.
 * The agent parses STEP lines with it and switches on the enum without a default case where an
 * op must be handled (built with -Wswitch-enum -Werror: a new op there is a compile error); a
 * reproducer's runtime prints its names and refuses a name that is not in it.
 */
#define MPROG_OPS(X)                        \
	X(PROG_ATTACH, prog_attach)         \
	X(PROG_DETACH, prog_detach)         \
	X(LINK_CREATE, link_create)         \
	X(LINK_UPDATE, link_update)         \
	X(LINK_DETACH, link_detach)         \
	X(LINK_CLOSE, link_close)           \
	X(PROG_CLOSE, prog_close)           \
	X(LINK_INFO, link_info)             \
	X(QUERY, query)                     \
	X(DEV_CREATE, dev_create)           \
	X(DEV_DELETE, dev_delete)           \
	X(QDISC_ADD, qdisc_add)             \
	X(QDISC_DELETE, qdisc_delete)       \
	X(CGROUP_CREATE, cgroup_create)     \
	X(CGROUP_DELETE, cgroup_delete)

enum mprog_op {
#define MPROG_OP_ENUMERATOR(id, name) OP_##id,
	MPROG_OPS(MPROG_OP_ENUMERATOR)
#undef MPROG_OP_ENUMERATOR
};

#define MPROG_OP_PLUS_ONE(id, name) +1
enum { MPROG_N_OPS = 0 MPROG_OPS(MPROG_OP_PLUS_ONE) };
#undef MPROG_OP_PLUS_ONE

/* The op's mprog-seq/1 name; NULL for a number that is no op. */
static const char *mprog_op_name(enum mprog_op op)
{
	switch (op) {
#define MPROG_OP_CASE(id, name) \
	case OP_##id:           \
		return #name;
	MPROG_OPS(MPROG_OP_CASE)
#undef MPROG_OP_CASE
	}
	return NULL;
}

/* The op named `name`, or -1. */
static int mprog_op_of(const char *name)
{
	for (int op = 0; op < MPROG_N_OPS; op++)
		if (strcmp(name, mprog_op_name((enum mprog_op)op)) == 0)
			return op;
	return -1;
}

/* ---- bpf(2) ABI (include/uapi/linux/bpf.h) ---- */

#if defined(__x86_64__)
#define NR_bpf 321
#elif defined(__aarch64__)
#define NR_bpf 280
#else
#error "mprog-agent: add the bpf(2) syscall number of this architecture"
#endif

enum bpf_cmd {
	BPF_MAP_CREATE = 0,
	BPF_PROG_LOAD = 5,
	BPF_PROG_ATTACH = 8,
	BPF_PROG_DETACH = 9,
	BPF_PROG_GET_NEXT_ID = 11,
	BPF_PROG_GET_FD_BY_ID = 13,
	BPF_OBJ_GET_INFO_BY_FD = 15,
	BPF_PROG_QUERY = 16,
	BPF_LINK_CREATE = 28,
	BPF_LINK_UPDATE = 29,
	BPF_LINK_GET_FD_BY_ID = 30,
	BPF_LINK_GET_NEXT_ID = 31,
	BPF_LINK_DETACH = 34,
};

enum bpf_prog_type {
	BPF_PROG_TYPE_SCHED_CLS = 3,
	BPF_PROG_TYPE_XDP = 6,
	BPF_PROG_TYPE_CGROUP_SKB = 8,
	BPF_PROG_TYPE_CGROUP_SOCKOPT = 25,
	BPF_PROG_TYPE_FLOW_DISSECTOR = 22,
};

#define BPF_FLOW_DISSECTOR 17
#define BPF_TCX_INGRESS 46
#define BPF_TCX_EGRESS 47
#define BPF_NETKIT_PRIMARY 54
#define BPF_OBJ_NAME_LEN 16

struct bpf_insn {
	uint8_t code;
	uint8_t regs; /* dst_reg:4, src_reg:4 */
	int16_t off;
	int32_t imm;
};

/* Each command gets the subset of union bpf_attr it uses; the kernel zero-fills the rest. */
struct attr_map_create {
	uint32_t map_type;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t map_flags;
	uint32_t inner_map_fd;
	uint32_t numa_node;
	char map_name[BPF_OBJ_NAME_LEN];
};

/* The map types a sequence declares (mprog-seq/1 "Maps"), with the parameters the format fixes
 * for each (contract/seq.ts MAP_PARAMS): a cgroup storage keyed by struct bpf_cgroup_storage_key
 * (16 bytes) with max_entries 0, as cgroup_storage_map_alloc() requires; an array of one value. */
#define BPF_MAP_TYPE_ARRAY 2
#define BPF_MAP_TYPE_CGROUP_STORAGE 19
#define BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE 21
#define MAP_VALUE_SIZE 8

/* The most maps one program's body references (the format's limit; the verifier's is 64). */
#define PROG_MAPS_MAX 16

struct attr_prog_load {
	uint32_t prog_type;
	uint32_t insn_cnt;
	uint64_t insns;
	uint64_t license;
	uint32_t log_level;
	uint32_t log_size;
	uint64_t log_buf;
	uint32_t kern_version;
	uint32_t prog_flags;
	char prog_name[BPF_OBJ_NAME_LEN];
	uint32_t prog_ifindex;
	uint32_t expected_attach_type;
};

struct attr_prog_attach { /* BPF_PROG_ATTACH and BPF_PROG_DETACH */
	uint32_t target_ifindex;
	uint32_t attach_bpf_fd;
	uint32_t attach_type;
	uint32_t attach_flags;
	uint32_t replace_bpf_fd;
	uint32_t relative; /* relative_fd | relative_id */
	uint64_t expected_revision;
};

struct attr_prog_query {
	uint32_t target_ifindex;
	uint32_t attach_type;
	uint32_t query_flags;
	uint32_t attach_flags;
	uint64_t prog_ids;
	uint32_t count;
	uint32_t pad;
	uint64_t prog_attach_flags;
	uint64_t link_ids;
	uint64_t link_attach_flags;
	uint64_t revision;
};

struct attr_info {
	uint32_t bpf_fd;
	uint32_t info_len;
	uint64_t info;
};

struct attr_link_create { /* the tcx / netkit member of the link_create union */
	uint32_t prog_fd;
	uint32_t target_ifindex;
	uint32_t attach_type;
	uint32_t flags;
	uint32_t relative; /* relative_fd | relative_id */
	uint32_t pad;
	uint64_t expected_revision;
};

struct attr_get_id { /* BPF_*_GET_NEXT_ID (start_id, next_id) and BPF_*_GET_FD_BY_ID (id) */
	uint32_t id;
	uint32_t next_id;
	uint32_t open_flags;
};

struct attr_link_update {
	uint32_t link_fd;
	uint32_t new_prog_fd;
	uint32_t flags;
	uint32_t old_prog_fd;
};

struct attr_link_detach {
	uint32_t link_fd;
};

struct prog_info_head { /* struct bpf_prog_info up to id */
	uint32_t type;
	uint32_t id;
};

struct link_info_net { /* struct bpf_link_info with its tcx / netkit member (same layout) */
	uint32_t type;
	uint32_t id;
	uint32_t prog_id;
	uint32_t pad;
	uint32_t ifindex;
	uint32_t attach_type;
};

#define BPF_LINK_TYPE_CGROUP 3
#define BPF_LINK_TYPE_NETNS 5

struct link_info_cgroup { /* struct bpf_link_info with its cgroup member */
	uint32_t type;
	uint32_t id;
	uint32_t prog_id;
	uint32_t pad;
	uint64_t cgroup_id;
	uint32_t attach_type;
	uint32_t pad2;
};

_Static_assert(offsetof(struct attr_map_create, map_name) == 28, "map_create.map_name");
_Static_assert(offsetof(struct attr_prog_load, prog_name) == 48, "prog_load.prog_name");
_Static_assert(sizeof(struct attr_prog_load) == 72, "prog_load size");

/* The whole bpf(2) boundary (PROTOCOL.md "attr"): the largest attr_size a step may name, and the
 * bytes of the caller's buffer past attr_size before the call. */
#define ATTR_SIZE_MAX 4096
#define ATTR_CANARY 0xa5
_Static_assert(offsetof(struct attr_prog_attach, expected_revision) == 24, "attach.expected_revision");
_Static_assert(offsetof(struct attr_prog_query, count) == 24, "query.count");
_Static_assert(offsetof(struct attr_prog_query, revision) == 56, "query.revision");
_Static_assert(offsetof(struct attr_link_create, relative) == 16, "link_create.tcx.relative_fd");
_Static_assert(offsetof(struct attr_link_create, expected_revision) == 24, "link_create.tcx.expected_revision");
_Static_assert(offsetof(struct link_info_net, ifindex) == 16, "bpf_link_info.tcx.ifindex");
_Static_assert(offsetof(struct link_info_cgroup, cgroup_id) == 16, "bpf_link_info.cgroup.cgroup_id");
_Static_assert(offsetof(struct link_info_cgroup, attach_type) == 24, "bpf_link_info.cgroup.attach_type");

static long sys_bpf(int cmd, void *attr, unsigned int size)
{
	long ret = syscall(NR_bpf, cmd, attr, size);

	return ret < 0 ? -errno : ret;
}

/*
 * ---- capabilities: capget(2)/capset(2), raw (no libcap), include/uapi/linux/capability.h ----
 *
 * A caller with fewer privileges (mprog-seq/1 "Caller privileges") is this process with a smaller
 * effective set: the permitted set stays whole, so the full effective set can come back.
 */
#define CAPS_VERSION_3 0x20080522u /* _LINUX_CAPABILITY_VERSION_3: two 32-bit words a set */

struct caps_header {
	uint32_t version;
	int pid;
};

struct caps_data {
	uint32_t effective, permitted, inheritable;
};

/* The process's effective and permitted sets (bit n: capability n); 0 or -errno. */
static int caps_get(uint64_t *effective, uint64_t *permitted)
{
	struct caps_header h = { CAPS_VERSION_3, 0 };
	struct caps_data d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	*effective = d[0].effective | (uint64_t)d[1].effective << 32;
	*permitted = d[0].permitted | (uint64_t)d[1].permitted << 32;
	return 0;
}

/* Sets the effective set to `effective` (within the permitted set, which is kept, as is the
 * inheritable set); 0 or -errno. */
static int caps_set_effective(uint64_t effective)
{
	struct caps_header h = { CAPS_VERSION_3, 0 };
	struct caps_data d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	d[0].effective = (uint32_t)effective;
	d[1].effective = (uint32_t)(effective >> 32);
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	return 0;
}

static uint64_t ptr(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* A map of a type the format declares, with its fixed parameters. Returns the fd or -errno. */
static int map_create(uint32_t type, const char *name)
{
	struct attr_map_create a = {
		.map_type = type,
		.key_size = type == BPF_MAP_TYPE_ARRAY ? 4 : 16,
		.value_size = MAP_VALUE_SIZE,
		.max_entries = type == BPF_MAP_TYPE_ARRAY ? 1 : 0,
	};

	memcpy(a.map_name, name, strnlen(name, sizeof(a.map_name) - 1));
	return (int)sys_bpf(BPF_MAP_CREATE, &a, sizeof(a));
}

/* The trivial program every sequence loads: r1 = <map> (a BPF_PSEUDO_MAP_FD ld_imm64, which binds
 * the map to the program) for each of its n_maps maps, then r0 = 0; exit; with an
 * expected_attach_type (0: none; cgroup_sockopt programs need theirs). Returns the fd or -errno. */
static int prog_load_maps(uint32_t type, uint32_t expected_attach_type, const char *name, const int *map_fds, int n_maps)
{
	struct bpf_insn insns[2 * PROG_MAPS_MAX + 2] = { 0 };
	int n = 0;
	struct attr_prog_load a = {
		.prog_type = type,
		.insns = ptr(insns),
		.license = ptr("GPL"),
		.expected_attach_type = expected_attach_type,
	};

	for (int m = 0; m < n_maps && m < PROG_MAPS_MAX; m++) {
		/* BPF_LD | BPF_DW | BPF_IMM, dst r1, src BPF_PSEUDO_MAP_FD (1); its second half all zero */
		insns[n++] = (struct bpf_insn){ .code = 0x18, .regs = 0x11, .imm = map_fds[m] };
		n++;
	}
	insns[n++] = (struct bpf_insn){ .code = 0xb7 }; /* BPF_ALU64 | BPF_MOV | BPF_K: r0 = 0 */
	insns[n++] = (struct bpf_insn){ .code = 0x95 }; /* BPF_JMP | BPF_EXIT */
	a.insn_cnt = (uint32_t)n;
	memcpy(a.prog_name, name, strnlen(name, sizeof(a.prog_name) - 1));
	return (int)sys_bpf(BPF_PROG_LOAD, &a, sizeof(a));
}

static int prog_load_expected(uint32_t type, uint32_t expected_attach_type, const char *name)
{
	return prog_load_maps(type, expected_attach_type, name, NULL, 0);
}

static int prog_load(uint32_t type, const char *name)
{
	return prog_load_expected(type, 0, name);
}

static uint32_t prog_id(int fd)
{
	struct prog_info_head info = { 0 };
	struct attr_info a = { .bpf_fd = (uint32_t)fd, .info_len = sizeof(info), .info = ptr(&info) };

	return sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)) ? 0 : info.id;
}

/* bpf_link_info with the cgroup member (a tcx / netkit link fills the same offsets as link_info_net). */
static long link_info_cg(int fd, struct link_info_cgroup *info)
{
	struct attr_info a = { .bpf_fd = (uint32_t)fd, .info_len = sizeof(*info), .info = ptr(info) };

	memset(info, 0, sizeof(*info));
	return sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a));
}

static long link_info(int fd, struct link_info_net *info)
{
	struct attr_info a = { .bpf_fd = (uint32_t)fd, .info_len = sizeof(*info), .info = ptr(info) };

	memset(info, 0, sizeof(*info));
	return sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a));
}

/* ---- the whole bpf(2) boundary (PROTOCOL.md "attr") ---- */

/* The caller's buffer: attr_size bytes, then canary bytes up to its end. */
static uint8_t attr_buf[2 * ATTR_SIZE_MAX];

static int hex_nibble(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* The step's raw bytes (checked by the parser: inside asz) over the buffer. */
static void apply_raw(const char *p)
{
	while (p && *p) {
		char *end;
		unsigned long off = strtoul(p, &end, 10);

		for (p = end + 1; *p && *p != ','; p += 2)
			attr_buf[off++] = (uint8_t)(hex_nibble(p[0]) << 4 | hex_nibble(p[1]));
		if (*p)
			p++;
	}
}

/* bpf(cmd) with `a` (`len` bytes) as a fresh attr of `asz` bytes, the raw bytes ("OFF:HEX,...",
 * inside asz) over it, ATTR_CANARY after it; the buffer's first `len` bytes read back into `a`;
 * *beyond: the kernel changed a byte past asz. */
static long sys_bpf_sized(int cmd, void *a, size_t len, uint32_t asz, const char *raw, int *beyond)
{
	long ret;

	*beyond = 0;
	memset(attr_buf, 0, asz);
	memset(attr_buf + asz, ATTR_CANARY, sizeof(attr_buf) - asz);
	memcpy(attr_buf, a, len < asz ? len : asz);
	apply_raw(raw);
	ret = sys_bpf(cmd, attr_buf, asz);
	for (size_t i = asz; i < sizeof(attr_buf); i++)
		*beyond |= attr_buf[i] != ATTR_CANARY;
	memcpy(a, attr_buf, len);
	return ret;
}

/*
 * A query's four arrays (mprog-seq/1: "arrays of count"), as a caller whose buffers end their
 * mapping: each holds exactly `count` entries, zeroed, with an unmapped page after it, so that a
 * kernel writing past them (a count raised by raw bytes; the netns query writes all it is asked
 * for) gets EFAULT and no memory of ours. Reserved, not committed: the kernel touches what it
 * writes, never all of a count of 2^32 - 1.
 */
struct query_arrays {
	uint32_t *ids, *pfl, *lids, *lfl;
	void *map;
	size_t len;
};

/* 0, or -errno of mmap(2)/mprotect(2). */
static int query_arrays_map(struct query_arrays *q, uint32_t count)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), bytes = (size_t)count * 4;
	size_t data = (bytes + page - 1) / page * page, span = data + page;
	uint32_t **arrays[4] = { &q->ids, &q->pfl, &q->lids, &q->lfl };
	uint8_t *base;

	q->len = 4 * span;
	q->map = mmap(NULL, q->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (q->map == MAP_FAILED)
		return -errno;
	base = q->map;
	for (int i = 0; i < 4; i++) {
		*arrays[i] = (uint32_t *)(base + i * span + data - bytes);
		if (mprotect(base + i * span + data, page, PROT_NONE)) {
			int err = -errno;

			munmap(q->map, q->len);
			return err;
		}
	}
	return 0;
}

static void query_arrays_unmap(struct query_arrays *q)
{
	munmap(q->map, q->len);
}

/* ---- rtnetlink ABI (include/uapi/linux/netlink.h, rtnetlink.h, if_link.h, veth.h) ---- */

#define NETLINK_ROUTE 0
#define NLM_F_REQUEST 0x1
#define NLM_F_ACK 0x4
#define NLM_F_EXCL 0x200
#define NLM_F_CREATE 0x400
#define NLMSG_ERROR 0x2
#define RTM_NEWLINK 16
#define RTM_DELLINK 17
#define IFLA_IFNAME 3
#define IFLA_LINKINFO 18
#define IFLA_INFO_KIND 1
#define IFLA_INFO_DATA 2
#define VETH_INFO_PEER 1
#define IFLA_NETKIT_PEER_INFO 1
#define NLA_F_NESTED 0x8000

struct nlmsghdr {
	uint32_t nlmsg_len;
	uint16_t nlmsg_type;
	uint16_t nlmsg_flags;
	uint32_t nlmsg_seq;
	uint32_t nlmsg_pid;
};

struct nlmsgerr {
	int32_t error;
	struct nlmsghdr msg;
};

struct ifinfomsg {
	uint8_t ifi_family;
	uint8_t pad;
	uint16_t ifi_type;
	int32_t ifi_index;
	uint32_t ifi_flags;
	uint32_t ifi_change;
};

struct rtattr {
	uint16_t rta_len;
	uint16_t rta_type;
};

struct sockaddr_netlink {
	uint16_t nl_family;
	uint16_t pad;
	uint32_t nl_pid;
	uint32_t nl_groups;
};

#define NL_ALIGN(len) (((len) + 3u) & ~3u)

struct nlmsg {
	union {
		struct nlmsghdr hdr;
		char buf[1024];
	};
};

static void nl_init(struct nlmsg *m, uint16_t type, uint16_t flags, const struct ifinfomsg *ifi)
{
	memset(m, 0, sizeof(*m));
	m->hdr.nlmsg_len = NL_ALIGN(sizeof(m->hdr));
	m->hdr.nlmsg_type = type;
	m->hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	m->hdr.nlmsg_seq = 1;
	memcpy(m->buf + m->hdr.nlmsg_len, ifi, sizeof(*ifi));
	m->hdr.nlmsg_len += NL_ALIGN(sizeof(*ifi));
}

/* Appends an attribute; returns its offset so nested ones can be closed with nl_nest_end. */
static size_t nl_attr(struct nlmsg *m, uint16_t type, const void *data, size_t len)
{
	size_t off = m->hdr.nlmsg_len;
	struct rtattr rta = { .rta_len = (uint16_t)(sizeof(rta) + len), .rta_type = type };

	memcpy(m->buf + off, &rta, sizeof(rta));
	if (len)
		memcpy(m->buf + off + sizeof(rta), data, len);
	m->hdr.nlmsg_len = NL_ALIGN(off + rta.rta_len);
	return off;
}

static void nl_nest_end(struct nlmsg *m, size_t off)
{
	struct rtattr rta;

	memcpy(&rta, m->buf + off, sizeof(rta));
	rta.rta_len = (uint16_t)(m->hdr.nlmsg_len - off);
	memcpy(m->buf + off, &rta, sizeof(rta));
}

/* Sends one request and returns the kernel's ack: 0 or -errno. */
static int nl_talk(struct nlmsg *m)
{
	struct sockaddr_netlink sa = { .nl_family = AF_NETLINK };
	char reply[4096];
	struct nlmsghdr hdr;
	struct nlmsgerr err;
	ssize_t n;
	int fd, ret;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (sendto(fd, m->buf, m->hdr.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		goto out;
	}
	n = recv(fd, reply, sizeof(reply), 0);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	ret = -EPROTO;
	if ((size_t)n < NL_ALIGN(sizeof(hdr)) + sizeof(err))
		goto out;
	memcpy(&hdr, reply, sizeof(hdr));
	if (hdr.nlmsg_type != NLMSG_ERROR)
		goto out;
	memcpy(&err, reply + NL_ALIGN(sizeof(hdr)), sizeof(err));
	ret = err.error;
out:
	close(fd);
	return ret;
}

/* A veth or netkit pair; netkit gets the kernel's default mode and policies. */
static int dev_add(const char *kind, const char *name, const char *peer)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	uint16_t peer_attr = strcmp(kind, "netkit") == 0 ? IFLA_NETKIT_PEER_INFO : VETH_INFO_PEER;
	size_t linkinfo, data, peerinfo;
	struct nlmsg m;

	nl_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi);
	nl_attr(&m, IFLA_IFNAME, name, strlen(name) + 1);
	linkinfo = nl_attr(&m, IFLA_LINKINFO | NLA_F_NESTED, NULL, 0);
	nl_attr(&m, IFLA_INFO_KIND, kind, strlen(kind));
	data = nl_attr(&m, IFLA_INFO_DATA | NLA_F_NESTED, NULL, 0);
	peerinfo = nl_attr(&m, peer_attr, &ifi, sizeof(ifi));
	nl_attr(&m, IFLA_IFNAME, peer, strlen(peer) + 1);
	nl_nest_end(&m, peerinfo);
	nl_nest_end(&m, data);
	nl_nest_end(&m, linkinfo);
	return nl_talk(&m);
}

static int dev_del(uint32_t ifindex)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = (int32_t)ifindex };
	struct nlmsg m;

	nl_init(&m, RTM_DELLINK, 0, &ifi);
	return nl_talk(&m);
}

/* ---- qdiscs (include/uapi/linux/rtnetlink.h, pkt_sched.h): what `tc qdisc add|del dev DEV
 * clsact|ingress` sends: parent TC_H_CLSACT (= TC_H_INGRESS), handle ffff:, TCA_KIND with its NUL ---- */

#define RTM_NEWQDISC 36
#define RTM_DELQDISC 37
#define TCA_KIND 1
#define TC_H_INGRESS 0xFFFFFFF1u
#define TC_H_CLSACT TC_H_INGRESS
#define TC_H_INGRESS_HANDLE 0xFFFF0000u

struct tcmsg {
	uint8_t tcm_family;
	uint8_t tcm__pad1;
	uint16_t tcm__pad2;
	int32_t tcm_ifindex;
	uint32_t tcm_handle;
	uint32_t tcm_parent;
	uint32_t tcm_info;
};

/* RTM_NEWQDISC (NLM_F_CREATE | NLM_F_EXCL, as `tc qdisc add`) or RTM_DELQDISC of a clsact or
 * ingress qdisc; 0 or -errno. */
static int qdisc_change(int add, uint32_t ifindex, const char *kind)
{
	struct tcmsg tcm = { .tcm_family = AF_UNSPEC, .tcm_ifindex = (int32_t)ifindex,
			     .tcm_handle = TC_H_INGRESS_HANDLE, .tcm_parent = TC_H_CLSACT };
	struct nlmsg m;

	memset(&m, 0, sizeof(m));
	m.hdr.nlmsg_len = NL_ALIGN(sizeof(m.hdr));
	m.hdr.nlmsg_type = add ? RTM_NEWQDISC : RTM_DELQDISC;
	m.hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	m.hdr.nlmsg_seq = 1;
	memcpy(m.buf + m.hdr.nlmsg_len, &tcm, sizeof(tcm));
	m.hdr.nlmsg_len += NL_ALIGN(sizeof(tcm));
	nl_attr(&m, TCA_KIND, kind, strlen(kind) + 1);
	return nl_talk(&m);
}

static uint32_t dev_index(const char *name)
{
	unsigned int ifindex = if_nametoindex(name);

	return ifindex ? ifindex : MISSING_IFINDEX;
}

/* ---- cgroup v2 (Documentation/admin-guide/cgroup-v2.rst) ---- */

/* Where cgroup2_setup mounts cgroup2 (valid once it answered 0). */
#define CGROUP2_DIR "/sys/fs/cgroup"

/*
 * cgroup2 on CGROUP2_DIR in a mount namespace of the process's own: the one hierarchy every
 * mount of cgroup2 shows, whatever the machine mounted where (a hybrid host has it on
 * /sys/fs/cgroup/unified, a guest nowhere). 0 or -errno.
 */
static int cgroup2_setup(void)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("cgroup2", CGROUP2_DIR, "cgroup2", 0, NULL) < 0)
		return -errno;
	return 0;
}

/* mkdir of `dir`/`name` and an fd of it; the path into path (PATH_MAX). The fd, or -errno. */
static int cgroup_mkdir_open(const char *dir, const char *name, char *path)
{
	char made[PATH_MAX];
	int fd;

	/* Checked, so that every includer stays -Wall -Werror clean (-Wformat-truncation). */
	if (snprintf(made, sizeof(made), "%s/%s", dir, name) >= (int)sizeof(made))
		return -ENAMETOOLONG;
	if (mkdir(made, 0755) < 0)
		return -errno;
	fd = open(made, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	strcpy(path, made);
	return fd;
}

/* A cgroup's id (what bpf_link_info reports): its directory's inode number. */
static uint64_t cgroup_id_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : (uint64_t)st.st_ino;
}

/*
 * Waits (10 s at most) until no cgroup below `dir` is dying. A removed cgroup's programs and
 * links are released from a workqueue once its last reference goes (cgroup_bpf_release), and the
 * cgroup stops counting as dying only after that. 0, -ETIMEDOUT or -errno.
 */
static int cgroup_wait_released(const char *dir)
{
	const struct timespec ms = { .tv_nsec = 1000000 };
	char path[PATH_MAX + 16], buf[512];

	snprintf(path, sizeof(path), "%s/cgroup.stat", dir);
	for (int k = 0; k < 10000; k++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		const char *dying;

		if (fd >= 0)
			close(fd);
		if (n < 0)
			return -errno;
		buf[n] = 0;
		dying = strstr(buf, "nr_dying_descendants ");
		if (!dying || atoi(dying + strlen("nr_dying_descendants ")) == 0)
			return 0;
		nanosleep(&ms, NULL);
	}
	return -ETIMEDOUT;
}

static void cgroup_remove_tree(const char *dir);

/* rmdir of every cgroup below `dir`, deepest first: best effort. */
static void cgroup_remove_below(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char sub[PATH_MAX];

		if (e->d_type != DT_DIR || e->d_name[0] == '.' ||
		    snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name) >= (int)sizeof(sub))
			continue;
		cgroup_remove_tree(sub);
	}
	if (d)
		closedir(d);
}

/* rmdir of every cgroup below `dir`, then of `dir`: best effort. */
static void cgroup_remove_tree(const char *dir)
{
	cgroup_remove_below(dir);
	rmdir(dir);
}

/* Whether the kernel's cgroup code has the mprog API: its query writes a revision (1 or more). */
static int cgroup_mprog_api(int cgroup_fd)
{
	struct attr_prog_query a = { .target_ifindex = (uint32_t)cgroup_fd, .attach_type = 0 /* BPF_CGROUP_INET_INGRESS */ };

	return sys_bpf(BPF_PROG_QUERY, &a, sizeof(a)) == 0 && a.revision != 0;
}

#pragma GCC diagnostic pop

#endif /* MPROG_KERNEL_ABI_H */
