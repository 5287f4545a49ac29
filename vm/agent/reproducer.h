/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The runtime of the C reproducers `mprog fuzz` writes (harness/fuzz/reproducer-c.ts): device
 * pairs and cgroups made and remembered, the programs loaded, each step's call made and printed
 * as one line, "step N op: RET ERRNO [key=value ...]", with kernel ids turned back into the
 * sequence's names. A reproducer is kernel-abi.h and this header pasted whole (so it stays one
 * standalone file), then its tables and main(). The agent build compiles this header on its own
 * with -Werror (vm/agent/build.mjs), so a mistake here fails there, not in a user's reproducer.
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

struct object { const char *name; int is_link; uint32_t prog_type; int fd; uint32_t id; uint32_t expected_attach_type; };
struct cgroup { const char *name; int fd; uint64_t id; char path[PATH_MAX]; };

/* The reproducer's own tables, defined after this header: its programs then links, its cgroups
 * (n_cgroups 0 when it has none), and the names it prints for errnos and attach types. */
extern struct object objects[];
extern const int n_objects;
extern struct cgroup cgroups[];
extern const int n_cgroups;
extern const char *const errno_names[];
extern const int n_errno_names;
extern const char *const attach_type_names[];
extern const int n_attach_type_names;

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

#define CLOSED_CGROUP_FD_BASE 2000000u

static char cgroup_root[128];

static void cgroups_setup(void)
{
	int fd, ret = cgroup2_setup();

	if (ret) {
		fprintf(stderr, "mounting cgroup2: %s\n", strerror(-ret));
		exit(2);
	}
	snprintf(cgroup_root, sizeof(cgroup_root), "%s/mprog-repro-%d", cgroup2_dir, (int)getpid());
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

/* "step N op: RET ERRNO" for a call that returned ret (-errno on failure, as sys_bpf does). */
static void report(int step, const char *op, long ret)
{
	printf("step %d %s: %ld %s\n", step, op, ret < 0 ? -1L : ret, ret < 0 ? errno_name((int)-ret) : "0");
}

static void load_programs(void)
{
	for (int o = 0; o < n_objects; o++) {
		if (objects[o].is_link)
			continue;
		objects[o].fd = prog_load_expected(objects[o].prog_type, objects[o].expected_attach_type, objects[o].name);
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
	uint32_t *ids = calloc(count + 1, 4), *lids = calloc(count + 1, 4), *pfl = calloc(count + 1, 4), *lfl = calloc(count + 1, 4);
	struct attr_prog_query a = { .target_ifindex = ifindex, .attach_type = type, .query_flags = qflags,
				     .attach_flags = aflags, .count = count };
	long ret;

	if (count) { /* arrays: 1 prog_ids, 2 prog_attach_flags, 4 link_ids, 8 link_attach_flags */
		a.prog_ids = arrays & 1 ? (uint64_t)(uintptr_t)ids : 0;
		a.prog_attach_flags = arrays & 2 ? (uint64_t)(uintptr_t)pfl : 0;
		a.link_ids = arrays & 4 ? (uint64_t)(uintptr_t)lids : 0;
		a.link_attach_flags = arrays & 8 ? (uint64_t)(uintptr_t)lfl : 0;
	}
	ret = sys_bpf(BPF_PROG_QUERY, &a, sizeof(a));
	printf("step %d query: %ld %s", step, ret < 0 ? -1L : ret, ret < 0 ? errno_name((int)-ret) : "0");
	if (ret == 0 || ret == -ENOSPC) {
		uint32_t n = a.count < count ? a.count : count;

		printf(" count=%u rev=%llu aflags=%u", a.count, (unsigned long long)a.revision, a.attach_flags);
		/* The arrays the step names, as the harness reports them. */
		if (arrays & 1)
			print_list("progs", ids, n, 1, 0);
		if (arrays & 4)
			print_list("links", lids, n, 1, 1);
		if (arrays & 2)
			print_list("pfl", pfl, n, 0, 0);
		if (arrays & 8)
			print_list("lfl", lfl, n, 0, 0);
	}
	printf("\n");
	free(ids);
	free(lids);
	free(pfl);
	free(lfl);
}

static void info(int step, int obj)
{
	struct link_info_cgroup li;
	struct link_info_net net;
	char b1[16], b2[32], b3[16];
	long ret = link_info_cg((int)fd_of(obj), &li);

	if (ret < 0) {
		report(step, "link_info", ret);
		return;
	}
	memcpy(&net, &li, sizeof(net));
	if (li.type == BPF_LINK_TYPE_CGROUP)
		printf("step %d link_info: %ld 0 prog=%s cgroup=%s type=%s\n", step, ret, name_of(0, li.prog_id, b1),
		       cgroup_name(li.cgroup_id, b2), type_name(li.attach_type, b3));
	else
		printf("step %d link_info: %ld 0 prog=%s dev=%s type=%s\n", step, ret, name_of(0, net.prog_id, b1),
		       dev_name(net.ifindex, b2), type_name(net.attach_type, b3));
}

static void link_create(int step, int obj, struct attr_link_create *a)
{
	struct link_info_net li;
	long ret = sys_bpf(BPF_LINK_CREATE, a, sizeof(*a));

	objects[obj].fd = ret >= 0 ? (int)ret : -1;
	objects[obj].id = ret >= 0 && link_info((int)ret, &li) == 0 ? li.id : 0;
	report(step, "link_create", ret);
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
	report(step, "dev_create", ret);
}

static void dev_delete(int step, const char *name)
{
	report(step, "dev_delete", dev_del(dev_index(name)));
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
	report(step, "cgroup_create", cgroup_make(c, parent));
}

/* rmdir, then the wait until the kernel released the cgroup's programs and links. */
static void cgroup_delete(int step, int c)
{
	long ret = cgroups[c].fd < 0 ? -ENOENT : rmdir(cgroups[c].path) < 0 ? -errno : 0;

	if (ret == 0)
		cgroup_wait_released(cgroup_root);
	report(step, "cgroup_delete", ret);
}

#endif /* MPROG_REPRODUCER_H */
