/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The runtime of the C reproducers `mprog fuzz` writes (harness/fuzz/reproducer-c.ts): device
 * pairs and cgroups made and remembered, the programs loaded, each step's call made and printed
 * as one line, "step N op: RET ERRNO [key=value ...]", with kernel ids turned back into the
 * sequence's names. A reproducer is kernel-abi.h and this header pasted whole (so it stays one
 * standalone file), then its tables and main(). The agent build compiles this header on its own
 * with -Werror (vm/agent/build.mjs), so a mistake here fails there, not in a user's reproducer.
 * The numbers it passes for closed objects and cgroups never made, and the names of the ops it
 * prints, are kernel-abi.h's, which the agent uses too.
 */
#ifndef MPROG_REPRODUCER_H
#define MPROG_REPRODUCER_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
/* Helpers this sequence's steps do not use are fine. */
#pragma GCC diagnostic ignored "-Wunused-function"

#include "kernel-abi.h"

/* ---- the sequence's objects (programs, then links) and devices ---- */

struct object {
	const char *name;
	int is_link;
	uint32_t prog_type;
	int fd;
	uint32_t id;
	uint32_t expected_attach_type;
	int n_maps; /* a program's maps (indices into maps[]), in the order its body references them */
	int maps[PROG_MAPS_MAX];
};
struct map { const char *name; uint32_t type; int fd; };
struct cgroup { const char *name; int fd; uint64_t id; char path[PATH_MAX]; };

/* The reproducer's own tables, defined after this header: its programs then links, its cgroups
 * (n_cgroups 0 when it has none), and the names it prints for errnos and attach types. */
extern struct object objects[];
extern const int n_objects;
extern struct map maps[];
extern const int n_maps;
extern struct cgroup cgroups[];
extern const int n_cgroups;
extern const char *const errno_names[];
extern const int n_errno_names;
extern const char *const attach_type_names[];
extern const int n_attach_type_names;
/* The sequence's caller (mprog-seq/1 "Caller privileges"): its effective capabilities for the
 * loads and the steps, -1 for root's own (nothing changes); a step's own caps, for its call only,
 * are the argument of caller_begin(). */
extern const int64_t seq_caps;

/* ---- the caller's privileges: the effective set narrowed around a call, the permitted set kept ---- */

static uint64_t own_caps;
static int own_caps_known;

static void caller_begin(int64_t caps)
{
	uint64_t permitted;
	int ret;

	if (caps < 0)
		return;
	if (!own_caps_known) {
		ret = caps_get(&own_caps, &permitted);
		if (ret) {
			fprintf(stderr, "capget: %s\n", strerror(-ret));
			exit(2);
		}
		own_caps_known = 1;
	}
	ret = caps_set_effective((uint64_t)caps);
	if (ret) {
		fprintf(stderr, "capset(effective %#llx): %s (run as root)\n", (unsigned long long)caps, strerror(-ret));
		exit(2);
	}
}

static void caller_end(int64_t caps)
{
	if (caps >= 0 && caps_set_effective(own_caps)) {
		fprintf(stderr, "capset (back to %#llx): %s\n", (unsigned long long)own_caps, strerror(errno));
		exit(2);
	}
}

static struct { uint32_t ifindex; const char *name; } devices[64];
static int n_devices;

static void remember_pair(const char *name, const char *peer)
{
	const char *both[2] = { name, peer };

	for (int i = 0; i < 2 && n_devices < 64; i++) {
		devices[n_devices].ifindex = if_nametoindex(both[i]);
		devices[n_devices++].name = both[i];
	}
}

static const char *dev_name(uint32_t ifindex, char *buf)
{
	if (ifindex == 0)
		return "-";
	for (int i = n_devices - 1; i >= 0; i--)
		if (devices[i].ifindex == ifindex)
			return devices[i].name;
	sprintf(buf, "#%u", ifindex);
	return buf;
}

/* ---- cgroups: a private root below cgroup2, the sequence's cgroups below it ---- */

static char cgroup_root[128];

static void cgroups_setup(void)
{
	int fd, ret = cgroup2_setup();

	if (ret) {
		fprintf(stderr, "mounting cgroup2: %s\n", strerror(-ret));
		exit(2);
	}
	snprintf(cgroup_root, sizeof(cgroup_root), "%s/mprog-repro-%d", CGROUP2_DIR, (int)getpid());
	if (mkdir(cgroup_root, 0755) < 0) {
		fprintf(stderr, "mkdir %s: %s\n", cgroup_root, strerror(errno));
		exit(2);
	}
	fd = open(cgroup_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !cgroup_mprog_api(fd)) {
		fprintf(stderr, "this kernel's cgroup attach points have no mprog API (Linux 6.17, 6.12.110)\n");
		exit(2);
	}
	close(fd);
}

static void cgroups_teardown(void)
{
	cgroup_remove_below(cgroup_root);
	cgroup_wait_released(cgroup_root);
	rmdir(cgroup_root);
}

/* ---- the steps' helpers ---- */

static const char *cgroup_name(uint64_t id, char *buf);
static const char *netns_name(uint64_t ino, char *buf);

static uint32_t fd_of(int obj)
{
	return objects[obj].fd >= 0 ? (uint32_t)objects[obj].fd : CLOSED_FD_BASE + (uint32_t)obj;
}

static uint32_t id_of(int obj)
{
	return objects[obj].id;
}

static const char *name_of(int is_link, uint32_t id, char *buf)
{
	if (id == 0)
		return "-";
	for (int o = 0; o < n_objects; o++)
		if (objects[o].is_link == is_link && objects[o].id == id)
			return objects[o].name;
	sprintf(buf, "#%u", id);
	return buf;
}

static const char *errno_name(int e)
{
	static char buf[16];

	if (e > 0 && e < n_errno_names && errno_names[e])
		return errno_names[e];
	sprintf(buf, "E%d", e);
	return buf;
}

static const char *type_name(uint32_t type, char *buf)
{
	if (type < (uint32_t)n_attach_type_names && attach_type_names[type])
		return attach_type_names[type];
	sprintf(buf, "%u", type);
	return buf;
}

/* "step N op: RET ERRNO" for a call that returned ret (-errno on failure, as sys_bpf does); an op
 * that is not in kernel-abi.h's list is a generator bug, said at once. */
static void report(int step, const char *op, long ret)
{
	if (mprog_op_of(op) < 0) {
		fprintf(stderr, "step %d: %s is not an op of mprog-seq/1\n", step, op);
		exit(2);
	}
	printf("step %d %s: %ld %s\n", step, op, ret < 0 ? -1L : ret, ret < 0 ? errno_name((int)-ret) : "0");
}

/* The whole bpf(2) boundary: the next call's attr_size and raw bytes (0: the reproducer's own
 * attr, as the harness passes it), and whether the last call's kernel wrote past its size. */
static uint32_t next_asz;
static const char *next_raw;
static int last_beyond;

static void attr_next(uint32_t asz, const char *raw)
{
	next_asz = asz;
	next_raw = raw;
}

static long sys_bpf_r(int cmd, void *a, size_t len)
{
	uint32_t asz = next_asz;

	next_asz = 0;
	last_beyond = 0;
	if (!asz)
		return sys_bpf(cmd, a, (unsigned int)len);
	return sys_bpf_sized(cmd, a, len, asz, next_raw, &last_beyond);
}

/* "step N beyond_size: true": the kernel changed a byte of the caller's buffer past attr_size. */
static void report_beyond(int step)
{
	if (last_beyond)
		printf("step %d beyond_size: true\n", step);
}

/* The maps, before the programs and as root (the agent makes them itself): fds from 3 up. */
static void create_maps(void)
{
	for (int m = 0; m < n_maps; m++) {
		maps[m].fd = map_create(maps[m].type, maps[m].name);
		if (maps[m].fd < 0) {
			fprintf(stderr, "creating map %s: %s\n", maps[m].name, strerror(-maps[m].fd));
			exit(2);
		}
	}
}

static void load_programs(void)
{
	create_maps();
	for (int o = 0; o < n_objects; o++) {
		int map_fds[PROG_MAPS_MAX];

		if (objects[o].is_link)
			continue;
		for (int m = 0; m < objects[o].n_maps; m++)
			map_fds[m] = maps[objects[o].maps[m]].fd;
		caller_begin(seq_caps);
		objects[o].fd = prog_load_maps(objects[o].prog_type, objects[o].expected_attach_type, objects[o].name, map_fds,
					       objects[o].n_maps);
		caller_end(seq_caps);
		if (objects[o].fd < 0 && (seq_caps >= 0 || objects[o].n_maps)) {
			/* refused to this caller, or by the verifier for its maps: the name stays unopened, as the harness has it */
			fprintf(stderr, "program %s not loaded: %s\n", objects[o].name, strerror(-objects[o].fd));
			objects[o].fd = -1;
			objects[o].id = 0;
			continue;
		}
		if (objects[o].fd < 0) {
			fprintf(stderr, "loading program %s: %s\n", objects[o].name, strerror(-objects[o].fd));
			exit(2);
		}
		objects[o].id = prog_id(objects[o].fd);
	}
}

static void setup(void)
{
	/* Inherited fds would shift the numbers the objects get: start from 3 like the harness. */
	for (int fd = 3; fd < 100; fd++)
		close(fd);
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s (run as root)\n", strerror(errno));
		exit(2);
	}
}

static void initial_pair(const char *kind, const char *name, const char *peer)
{
	int ret = dev_add(kind, name, peer);

	if (ret) {
		fprintf(stderr, "creating %s pair %s/%s: %s\n", kind, name, peer, strerror(-ret));
		exit(2);
	}
	remember_pair(name, peer);
}

static void print_list(const char *key, const uint32_t *v, uint32_t n, int ids, int is_link)
{
	char buf[16];

	printf(" %s=", key);
	for (uint32_t i = 0; i < n; i++) {
		if (ids)
			printf("%s%s", i ? "," : "", name_of(is_link, v[i], buf));
		else
			printf("%s%u", i ? "," : "", v[i]);
	}
}

static void query(int step, uint32_t ifindex, uint32_t type, uint32_t count, uint32_t qflags, uint32_t aflags, uint32_t arrays)
{
	struct query_arrays q = { 0 };
	struct attr_prog_query a = { .target_ifindex = ifindex, .attach_type = type, .query_flags = qflags,
				     .attach_flags = aflags, .count = count };
	long ret;

	if (count) { /* arrays: 1 prog_ids, 2 prog_attach_flags, 4 link_ids, 8 link_attach_flags */
		int err = query_arrays_map(&q, count);

		if (err) {
			fprintf(stderr, "step %d: mapping query arrays of %u entries: %s\n", step, count, strerror(-err));
			exit(1);
		}
		a.prog_ids = arrays & 1 ? (uint64_t)(uintptr_t)q.ids : 0;
		a.prog_attach_flags = arrays & 2 ? (uint64_t)(uintptr_t)q.pfl : 0;
		a.link_ids = arrays & 4 ? (uint64_t)(uintptr_t)q.lids : 0;
		a.link_attach_flags = arrays & 8 ? (uint64_t)(uintptr_t)q.lfl : 0;
	}
	ret = sys_bpf_r(BPF_PROG_QUERY, &a, sizeof(a));
	printf("step %d %s: %ld %s", step, mprog_op_name(OP_QUERY), ret < 0 ? -1L : ret, ret < 0 ? errno_name((int)-ret) : "0");
	if (ret == 0 || ret == -ENOSPC) {
		uint32_t n = a.count < count ? a.count : count;

		printf(" count=%u rev=%llu aflags=%u", a.count, (unsigned long long)a.revision, a.attach_flags);
		/* The arrays the step names, as the harness reports them. */
		if (arrays & 1)
			print_list("progs", q.ids, n, 1, 0);
		if (arrays & 4)
			print_list("links", q.lids, n, 1, 1);
		if (arrays & 2)
			print_list("pfl", q.pfl, n, 0, 0);
		if (arrays & 8)
			print_list("lfl", q.lfl, n, 0, 0);
	}
	printf("\n");
	if (count)
		query_arrays_unmap(&q);
}

static void info(int step, int obj)
{
	struct link_info_cgroup li;
	struct link_info_net net;
	char b1[16], b2[32], b3[16];
	struct attr_info a = { .bpf_fd = fd_of(obj), .info_len = sizeof(li), .info = ptr(&li) };
	long ret;

	memset(&li, 0, sizeof(li));
	ret = sys_bpf_r(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a));

	if (ret < 0) {
		report(step, mprog_op_name(OP_LINK_INFO), ret);
		return;
	}
	memcpy(&net, &li, sizeof(net));
	if (li.type == BPF_LINK_TYPE_CGROUP)
		printf("step %d %s: %ld 0 prog=%s cgroup=%s type=%s\n", step, mprog_op_name(OP_LINK_INFO), ret, name_of(0, li.prog_id, b1),
		       cgroup_name(li.cgroup_id, b2), type_name(li.attach_type, b3));
	else if (li.type == BPF_LINK_TYPE_NETNS) /* netns_ino where tcx has its ifindex */
		printf("step %d %s: %ld 0 prog=%s netns=%s type=%s\n", step, mprog_op_name(OP_LINK_INFO), ret, name_of(0, net.prog_id, b1),
		       netns_name(net.ifindex, b2), type_name(net.attach_type, b3));
	else
		printf("step %d %s: %ld 0 prog=%s dev=%s type=%s\n", step, mprog_op_name(OP_LINK_INFO), ret, name_of(0, net.prog_id, b1),
		       dev_name(net.ifindex, b2), type_name(net.attach_type, b3));
}

static void link_create(int step, int obj, struct attr_link_create *a)
{
	struct link_info_net li;
	long ret = sys_bpf_r(BPF_LINK_CREATE, a, sizeof(*a));

	objects[obj].fd = ret >= 0 ? (int)ret : -1;
	objects[obj].id = ret >= 0 && link_info((int)ret, &li) == 0 ? li.id : 0;
	report(step, mprog_op_name(OP_LINK_CREATE), ret);
}

static void close_object(int step, const char *op, int obj)
{
	long ret = close((int)fd_of(obj)) < 0 ? -errno : 0;

	objects[obj].fd = -1;
	report(step, op, ret);
}

static void dev_create(int step, const char *kind, const char *name, const char *peer)
{
	int ret = dev_add(kind, name, peer);

	if (ret == 0)
		remember_pair(name, peer);
	report(step, mprog_op_name(OP_DEV_CREATE), ret);
}

static void dev_delete(int step, const char *name)
{
	report(step, mprog_op_name(OP_DEV_DELETE), dev_del(dev_index(name)));
}

/* `tc qdisc add|del dev NAME clsact|ingress` (kernel-abi.h qdisc_change). */
static void qdisc_add(int step, const char *name, const char *kind)
{
	report(step, mprog_op_name(OP_QDISC_ADD), qdisc_change(1, dev_index(name), kind));
}

static void qdisc_delete(int step, const char *name, const char *kind)
{
	report(step, mprog_op_name(OP_QDISC_DELETE), qdisc_change(0, dev_index(name), kind));
}

/* ---- the netns (a sequence that reaches the flow dissector): its fd after the programs and cgroups ---- */

static int netns_fd = -1;
static uint64_t netns_ino;

static void netns_open(void)
{
	struct stat st;

	netns_fd = open("/proc/self/ns/net", O_RDONLY);
	if (netns_fd < 0 || fstat(netns_fd, &st)) {
		fprintf(stderr, "opening /proc/self/ns/net: %s\n", strerror(errno));
		exit(2);
	}
	netns_ino = st.st_ino;
}

static const char *netns_name(uint64_t ino, char *buf)
{
	if (ino == 0)
		return "-";
	if (ino == netns_ino)
		return "self";
	sprintf(buf, "#%llu", (unsigned long long)ino);
	return buf;
}

/* ---- cgroups (used when the sequence has some) ---- */

static uint32_t cgroup_fd(int c)
{
	return cgroups[c].fd >= 0 ? (uint32_t)cgroups[c].fd : CLOSED_CGROUP_FD_BASE + (uint32_t)c;
}

static const char *cgroup_name(uint64_t id, char *buf)
{
	if (id == 0)
		return "-";
	for (int c = 0; c < n_cgroups; c++)
		if (cgroups[c].fd >= 0 && cgroups[c].id == id)
			return cgroups[c].name;
	sprintf(buf, "#%llu", (unsigned long long)id);
	return buf;
}

/* mkdir and open of cgroup c below cgroup parent (-1: the root); 0 or -errno. */
static int cgroup_make(int c, int parent)
{
	int fd;

	if (parent >= 0 && cgroups[parent].fd < 0)
		return -ENOENT;
	fd = cgroup_mkdir_open(parent < 0 ? cgroup_root : cgroups[parent].path, cgroups[c].name, cgroups[c].path);
	if (fd < 0)
		return fd;
	cgroups[c].fd = fd;
	cgroups[c].id = cgroup_id_of(fd);
	return 0;
}

static void initial_cgroup(int c, int parent)
{
	int ret = cgroup_make(c, parent);

	if (ret) {
		fprintf(stderr, "creating cgroup %s: %s\n", cgroups[c].name, strerror(-ret));
		exit(2);
	}
}

static void cgroup_create(int step, int c, int parent)
{
	report(step, mprog_op_name(OP_CGROUP_CREATE), cgroup_make(c, parent));
}

/* rmdir, then the wait until the kernel released the cgroup's programs and links. */
static void cgroup_delete(int step, int c)
{
	long ret = cgroups[c].fd < 0 ? -ENOENT : rmdir(cgroups[c].path) < 0 ? -errno : 0;

	if (ret == 0)
		cgroup_wait_released(cgroup_root);
	report(step, mprog_op_name(OP_CGROUP_DELETE), ret);
}

#endif /* MPROG_REPRODUCER_H */
