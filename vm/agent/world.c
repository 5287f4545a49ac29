// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sequence's world (PROTOCOL.md "World"). Prog and link ids are the kernel's, global to it, and
 * a sequence may name any number: what the kernel answers then depends on which objects exist and
 * on the ids it hands out. A sequence runs its programs' loads and its steps holding the world
 * lock, so no other sequence (of this agent, or of another on the same kernel) makes or frees a
 * bpf object meanwhile, and it reports what exists outside it when it starts (the W and O lines).
 * Sequences still build their netns and devices side by side. The lock is the agent's own robust
 * mutex, then a flock() of WORLD_LOCK for the other agents of the kernel; a kernel without
 * CONFIG_FILE_LOCKING (a tinyconfig build) has no flock(), and in a guest this agent is the only
 * one. Also here: the namespaces of finished sequences, held and let go in batches, and the
 * programs that hold the tcx static keys on.
 */
#include "agent.h"

#include <pthread.h>
#include <sys/file.h>
#include <sys/mman.h>

#define WORLD_IDS_MAX 4096

/*
 * The network namespaces of finished sequences, held open and let go NETNS_BATCH at a time: the
 * kernel tears dead namespaces down in batches (cleanup_net), sharing the RCU waits and device
 * unregistration work that a namespace at a time would pay for each.
 */
#define NETNS_BATCH 16

/* Shared by the agent and its sequences' processes. */
struct world_shared {
	pthread_mutex_t lock; /* robust: a sequence that dies holding it does not stop the others */
	/* The programs of sequences whose netns is held (see world_hold_netns): they may still be
	 * attached there, and go when that netns is torn down. Their types are known, so reply_world
	 * need not ask the kernel for them. */
	uint32_t n_held;
	struct { uint32_t id, type; } held[WORLD_IDS_MAX];
};

static struct {
	struct world_shared *shared;
	/* The agent's flow dissector program: a netns link of it shows the id the link idr gives next. */
	int probe_prog_fd;
	/* CONFIG_NETKIT, as the kernel answers for it (see probe_netkit). */
	int netkit_built;
	/* init_net holds a flow dissector (the probe link was EEXIST): the sequence's netns may not. */
	int init_net_flow_dissector;
	/* Whether this process holds the world, and its flock()ed WORLD_LOCK (-1: none). */
	int locked;
	int lock_fd;
	/* The agent's: the held namespaces of finished sequences. */
	int held_netns[NETNS_BATCH];
	int n_held_netns;
} world = { .probe_prog_fd = -1, .lock_fd = -1 };

/* link_create of netkit on lo: ENXIO (not a netkit device) with netkit built, EINVAL from its stub without. */
static int probe_netkit(void)
{
	int fd = prog_load(BPF_PROG_TYPE_SCHED_CLS, "netkitprobe");
	struct attr_link_create a = { .prog_fd = (uint32_t)fd, .target_ifindex = 1, .attach_type = BPF_NETKIT_PRIMARY };
	long ret = fd < 0 ? fd : sys_bpf(BPF_LINK_CREATE, &a, sizeof(a));

	if (ret >= 0)
		close((int)ret);
	if (fd >= 0)
		close(fd);
	return ret == -ENXIO;
}

void world_init(void)
{
	pthread_mutexattr_t attr;

	world.shared = mmap(NULL, sizeof(*world.shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (world.shared == MAP_FAILED) {
		perror("mprog-agent: mmap");
		exit(1);
	}
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&world.shared->lock, &attr);
	mkdir(WORLD_LOCK_DIR, 0755); /* a guest's rootfs may lack it */
	world.probe_prog_fd = agent_fd(prog_load(BPF_PROG_TYPE_FLOW_DISSECTOR, "linkidprobe"));
	world.netkit_built = probe_netkit();
}

/*
 * The first tcx program on any device flips the kernel's ingress/egress static keys and the last
 * one flips them back: each flip patches kernel text, which under TCG costs more than the rest
 * of an attach. Programs on the guest's own lo (init netns, which sequences never see) hold both
 * keys on, so sequences only ever move a counter. Best effort: a kernel without tcx says EINVAL.
 */
void world_hold_tcx_keys(void)
{
	static const uint32_t types[] = { BPF_TCX_INGRESS, BPF_TCX_EGRESS };
	int fd = prog_load(BPF_PROG_TYPE_SCHED_CLS, "keyholder");

	if (fd < 0)
		return;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct attr_prog_attach a = { .target_ifindex = 1, .attach_bpf_fd = (uint32_t)fd, .attach_type = types[i] };

		sys_bpf(BPF_PROG_ATTACH, &a, sizeof(a)); /* the attachment holds the program: the fd may go */
	}
	close(fd);
}

/* ---- the lock ---- */

/* Both locks go with the process: a sequence that dies holding the world lets it go. */
int world_lock(void)
{
	int ret = pthread_mutex_lock(&world.shared->lock);

	if (ret == EOWNERDEAD) /* that sequence's objects went with its process */
		ret = pthread_mutex_consistent(&world.shared->lock);
	if (ret)
		return -ret;
	world.locked = 1;
	world.lock_fd = agent_fd(open(WORLD_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600));
	if (world.lock_fd < 0)
		return -errno;
	while (flock(world.lock_fd, LOCK_EX) < 0) {
		if (errno == ENOSYS) { /* no CONFIG_FILE_LOCKING: no other agent can share the lock either */
			close(world.lock_fd);
			world.lock_fd = -1;
			return 0;
		}
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

static void world_lock_release(void)
{
	if (world.lock_fd >= 0)
		close(world.lock_fd);
	world.lock_fd = -1;
	if (world.locked)
		pthread_mutex_unlock(&world.shared->lock);
	world.locked = 0;
}

/* The fds a sequence's process holds besides its objects: its answer pipe, the world lock,
 * bpftool's pipes, the reaper's pipe (on the host). */
static int outside_fds(int *fds)
{
	int n = 0;

	fds[n++] = channel_out_fd();
	if (world.lock_fd >= 0)
		fds[n++] = world.lock_fd;
	n += bpftool_fds(fds + n);
	if (cgroups_reaper_fd() >= 0)
		fds[n++] = cgroups_reaper_fd();
	return n;
}

static void sort_fds(int *fds, int n)
{
	for (int i = 1; i < n; i++) /* ascending */
		for (int j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
			int t = fds[j];

			fds[j] = fds[j - 1];
			fds[j - 1] = t;
		}
}

void close_fds_but_outside(void)
{
	int keep[OUTSIDE_FDS_MAX], n = outside_fds(keep);
	unsigned from = 3;

	sort_fds(keep, n);
	for (int i = 0; i < n; i++) {
		if ((unsigned)keep[i] > from)
			close_range(from, (unsigned)keep[i] - 1, 0);
		from = (unsigned)keep[i] + 1;
	}
	close_range(from, ~0u, 0);
}

/* The end of a sequence's turn: its objects are freed (their fds closed) before the next one looks. */
void world_unlock(void)
{
	bpftool_stop();
	close_fds_but_outside();
	world_lock_release();
}

/* ---- what the world holds ---- */

/* One past the id of a link made and dropped at once: the id the next link gets (idr_alloc_cyclic); 0 if unknown.
 * The link is a flow dissector's in the sequence's netns: EEXIST says init_net holds one (the
 * world's, which bars every other netns from attaching one). */
uint32_t probe_next_link_id(void)
{
	int ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	struct attr_link_create a = { .prog_fd = (uint32_t)world.probe_prog_fd, .target_ifindex = (uint32_t)ns,
				      .attach_type = BPF_FLOW_DISSECTOR };
	long fd = ns >= 0 && world.probe_prog_fd >= 0 ? sys_bpf(BPF_LINK_CREATE, &a, sizeof(a)) : -1;
	struct link_info_net info;
	uint32_t next = fd >= 0 && link_info((int)fd, &info) == 0 ? info.id + 1 : 0;

	world.init_net_flow_dissector = fd == -EEXIST;
	if (fd >= 0)
		close((int)fd);
	if (ns >= 0)
		close(ns);
	return next;
}

/* The next existing prog or link id after `id` (BPF_*_GET_NEXT_ID); 0 at the end. */
static uint32_t next_id(int cmd, uint32_t id)
{
	struct attr_get_id a = { .id = id };

	return sys_bpf(cmd, &a, sizeof(a)) ? 0 : a.next_id;
}

static int fd_by_id(int cmd, uint32_t id)
{
	struct attr_get_id a = { .id = id };

	return (int)sys_bpf(cmd, &a, sizeof(a));
}

static int own_prog(const struct sequence *s, uint32_t id)
{
	for (int o = 0; o < s->n_objects; o++)
		if (!s->objects[o].is_link && s->objects[o].id == id)
			return 1;
	return 0;
}

/* The type of a held program (ids ascend in held[]: a binary search), or -1. */
static int held_type(uint32_t id)
{
	const struct world_shared *w = world.shared;
	uint32_t lo = 0, hi = w->n_held;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (w->held[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < w->n_held && w->held[lo].id == id ? (int)w->held[lo].type : -1;
}

/* kernel.unprivileged_bpf_disabled (0, 1 or 2), read, never written; -1 when it cannot be read. */
static int unprivileged_bpf_disabled(void)
{
	char buf[16] = { 0 };
	int fd = open("/proc/sys/kernel/unprivileged_bpf_disabled", O_RDONLY | O_CLOEXEC), v = -1;
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0 && buf[0] >= '0' && buf[0] <= '9')
		v = atoi(buf);
	return v;
}

/* W next_link=... netkit=... fds=... [cgdepth=1] [unpriv_bpf=N] [fdinit=1] */
static void reply_world_line(const struct sequence *s, uint32_t next_link_id)
{
	struct sbuf sb = { 0 };
	int fds[OUTSIDE_FDS_MAX], n = outside_fds(fds), unpriv = unprivileged_bpf_disabled();

	sb_printf(&sb, "W next_link=%u netkit=%d fds=", next_link_id, world.netkit_built);
	for (int i = 0; i < n; i++)
		sb_printf(&sb, "%s%d", i ? "," : "", fds[i]);
	if (s->n_cgroups)
		sb_printf(&sb, " cgdepth=1");
	if (unpriv >= 0)
		sb_printf(&sb, " unpriv_bpf=%d", unpriv);
	if (world.init_net_flow_dissector)
		sb_printf(&sb, " fdinit=1");
	sb_send(&sb);
}

/* O prog lines: every program outside the sequence. */
static void reply_outside_progs(const struct sequence *s)
{
	for (uint32_t id = next_id(BPF_PROG_GET_NEXT_ID, 0); id; id = next_id(BPF_PROG_GET_NEXT_ID, id)) {
		struct prog_info_head info = { 0 };
		struct attr_info a = { .info_len = sizeof(info), .info = ptr(&info) };
		int type = held_type(id), fd;

		if (own_prog(s, id))
			continue;
		if (type >= 0) {
			reply("O prog %u %d", id, type);
			continue;
		}
		fd = fd_by_id(BPF_PROG_GET_FD_BY_ID, id);
		if (fd < 0)
			continue;
		a.bpf_fd = (uint32_t)fd;
		if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)) == 0)
			reply("O prog %u %u", id, info.type);
		close(fd);
	}
}

/* O link lines: every link outside the sequence (it has none yet). */
static void reply_outside_links(void)
{
	for (uint32_t id = next_id(BPF_LINK_GET_NEXT_ID, 0); id; id = next_id(BPF_LINK_GET_NEXT_ID, id)) {
		struct link_info_net info;
		int fd = fd_by_id(BPF_LINK_GET_FD_BY_ID, id);

		if (fd < 0)
			continue;
		if (link_info(fd, &info) == 0)
			reply("O link %u %u %u", id, info.type, info.prog_id);
		close(fd);
	}
}

/* W, C and O lines: the ids and objects of the kernel this sequence runs in, outside the sequence. */
void reply_world(const struct sequence *s, uint32_t next_link_id)
{
	reply_world_line(s, next_link_id);
	if (s->n_cgroups)
		reply_cgroup_ancestors();
	reply_outside_progs(s);
	reply_outside_links();
}

/* This sequence's programs stay alive while attached in its netns, which the parent holds. Its
 * ids are above every held one (ids count up, and sequences load one at a time). */
void world_hold_ids(const struct sequence *s)
{
	struct world_shared *w = world.shared;

	for (int o = 0; o < s->n_objects && w->n_held < WORLD_IDS_MAX; o++)
		if (!s->objects[o].is_link && s->objects[o].id)
			w->held[w->n_held++] = (typeof(w->held[0])){ s->objects[o].id, s->objects[o].prog_type };
}

/* ---- the held namespaces ---- */

void world_hold_netns(pid_t pid, int ready)
{
	char path[64], byte;

	if (read(ready, &byte, 1) != 1)
		return; /* the child failed before it had a netns */
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	world.held_netns[world.n_held_netns] = agent_fd(open(path, O_RDONLY | O_CLOEXEC));
	if (world.held_netns[world.n_held_netns] >= 0)
		world.n_held_netns++;
}

int world_netns_full(void)
{
	return world.n_held_netns == NETNS_BATCH;
}

/* Waits (10 s at most) until no program has `id`. */
static void wait_prog_gone(uint32_t id)
{
	const struct timespec ms = { .tv_nsec = 1000000 };

	for (int k = 0; k < 10000; k++) {
		int fd = fd_by_id(BPF_PROG_GET_FD_BY_ID, id);

		if (fd < 0)
			return;
		close(fd);
		nanosleep(&ms, NULL);
	}
}

/*
 * Lets the held namespaces go and waits until the kernel has torn them down, so that their
 * programs do not vanish while a later sequence runs: every sequence sees a world that changes
 * only through its own calls. No sequence of this agent runs meanwhile (the caller finished them
 * all), and the world lock keeps other agents' sequences out. How many namespaces went.
 */
int world_release_netns(void)
{
	int released = world.n_held_netns;

	world_lock(); /* best effort: the wait below matters most to this agent's own sequences */
	while (world.n_held_netns)
		close(world.held_netns[--world.n_held_netns]);
	for (uint32_t i = 0; i < world.shared->n_held; i++)
		wait_prog_gone(world.shared->held[i].id);
	world.shared->n_held = 0;
	world_lock_release();
	return released;
}
