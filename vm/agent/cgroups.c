// SPDX-License-Identifier: GPL-2.0-only
/*
 * Cgroups (PROTOCOL.md "Cgroups"): cgroup2 mounted once in the agent's private mount namespace, a
 * private root per sequence with its cgroups below it, their removal (and the wait until the
 * kernel released their programs), the C lines of the world report, and the reaper (--reap): the
 * one host object a sequence makes that outlives every process is a cgroup directory with its
 * programs attached, so the roots are named by their owner (host pid and start time) and whatever
 * owner is gone has its tree removed: by the next cgroup sequence, by the agent when a sequence
 * process dies, and by the reaper when the run it serves has ended, however it ended.
 */
#include "agent.h"

#include <dirent.h>
#include <signal.h>

#define ROOT_PREFIX "mprog-seq-"

static struct {
	int mounted;          /* cgroup2 is on CGROUP2_DIR */
	char error[128];      /* why it is not, or empty */
	char root[PATH_MAX];  /* this sequence's private root (its child); empty until made */
	const char *tag;      /* --cgroup-tag: the reaper of this run (its pid), or NULL */
	int reaper_fd;        /* --reaper-fd, moved up: held by every process that may make a root */
} cg_state = { .reaper_fd = -1 };

void cgroups_set_tag(const char *tag)
{
	cg_state.tag = tag;
}

void cgroups_hold_reaper(int fd)
{
	cg_state.reaper_fd = agent_fd(fd);
	if (cg_state.reaper_fd < 0) {
		perror("mprog-agent: --reaper-fd");
		exit(1);
	}
}

int cgroups_reaper_fd(void)
{
	return cg_state.reaper_fd;
}

/* ---- owners: a process named by its pid in /proc's namespace and its start time ---- */

/* The start time (/proc/PID/stat field 22) of a running process, or 0 when it is gone (or a zombie). */
static unsigned long long start_time_of(long pid)
{
	char path[64], buf[1024];
	const char *p;
	unsigned long long start = 0;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* The command name (field 2) may hold spaces and parentheses: count from its closing one. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0;
	p += 2; /* field 3 */
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p)
		start = strtoull(p, NULL, 10);
	return start;
}

/* This process as /proc names it: the pid there (the host's, also inside the agent's PID
 * namespace, whose /proc is the host's) and its start time; getpid() and 0 without /proc. */
static void self_owner(long *pid, unsigned long long *start)
{
	char link[32];
	ssize_t n = readlink("/proc/self", link, sizeof(link) - 1);

	*pid = getpid();
	*start = 0;
	if (n > 0) {
		link[n] = 0;
		*pid = strtol(link, NULL, 10);
		*start = start_time_of(*pid);
	}
}

/* Whether the root named `name` (ROOT_PREFIX<pid>-<start>[-<tag>]) belongs to a process that is
 * gone; with `of_tag`, every root of that tag counts as gone too. A name of another form (an older
 * agent's ROOT_PREFIX<pid>, whose pid was its PID namespace's) is a leftover. */
static int owner_gone(const char *name, const char *of_tag)
{
	long pid;
	unsigned long long start, now;
	int end = 0;

	if (sscanf(name, ROOT_PREFIX "%ld-%llu%n", &pid, &start, &end) != 2 || pid <= 0)
		return 1;
	if (of_tag && name[end] == '-' && !strcmp(name + end + 1, of_tag))
		return 1;
	now = start_time_of(pid);
	return now == 0 || (start != 0 && now != start);
}

/* Removes every private root (deepest first) whose owner is gone, or that is of `of_tag`; not the
 * caller's own. How many it removed. */
static int sweep(const char *of_tag)
{
	DIR *d = cg_state.mounted ? opendir(CGROUP2_DIR) : NULL;
	struct dirent *e;
	int removed = 0;

	while (d && (e = readdir(d))) {
		char path[PATH_MAX];

		if (e->d_type != DT_DIR || strncmp(e->d_name, ROOT_PREFIX, strlen(ROOT_PREFIX)) ||
		    snprintf(path, sizeof(path), "%s/%s", CGROUP2_DIR, e->d_name) >= (int)sizeof(path) ||
		    !strcmp(path, cg_state.root) || !owner_gone(e->d_name, of_tag))
			continue;
		cgroup_remove_tree(path);
		removed++;
	}
	if (d)
		closedir(d);
	return removed;
}

int cgroups_init(void)
{
	int ret = cgroup2_setup();

	if (ret < 0) /* sequences with cgroups then answer "unsupported" */
		snprintf(cg_state.error, sizeof(cg_state.error), "mounting cgroup2 in a private mount namespace: %s",
			 strerror(-ret));
	else
		cg_state.mounted = 1;
	return ret;
}

/* <CGROUP2_DIR>/mprog-seq-<pid>-<start>[-<tag>]: the private root of this sequence process. */
static void own_root(char *out, size_t len)
{
	long pid;
	unsigned long long start;

	self_owner(&pid, &start);
	snprintf(out, len, "%s/" ROOT_PREFIX "%ld-%llu%s%s", CGROUP2_DIR, pid, start, cg_state.tag ? "-" : "",
		 cg_state.tag ? cg_state.tag : "");
}

void cgroups_remove_leftovers(void)
{
	sweep(NULL);
}

/* mkdir and open of cgroup c under cgroup `parent` (-1: the root); a parent never made has no
 * directory (ENOENT). An fd the name had before stays open. 0 or -errno. */
int cgroup_make(struct sequence *s, int c, int parent)
{
	struct cgroup_name *cg = &s->cgroups[c];
	int fd;

	if (parent >= 0 && s->cgroups[parent].fd < 0)
		return -ENOENT;
	fd = cgroup_mkdir_open(parent < 0 ? cg_state.root : s->cgroups[parent].path, cg->name, cg->path);
	if (fd < 0)
		return fd;
	cg->fd = fd;
	return 0;
}

void reply_cgroup(const struct cgroup_name *cg)
{
	reply("G %s %llu", cg->name, (unsigned long long)cgroup_id_of(cg->fd));
}

/* rmdir of cgroup c, then the wait until the kernel has released its programs and links (it does
 * so asynchronously): no later step's answer depends on timing. Its fd stays open. */
int cgroup_unmake(struct sequence *s, int c)
{
	struct cgroup_name *cg = &s->cgroups[c];
	int ret;

	if (cg->fd < 0)
		return -ENOENT;
	if (rmdir(cg->path) < 0)
		return -errno;
	ret = cgroup_wait_released(cg_state.root);
	if (ret)
		child_fail("waiting for the kernel to release cgroup %s: %s", cg->name, strerror(-ret));
	return 0;
}

/* The sequence's private root, made; a kernel whose cgroup query writes no revision has no cgroup
 * mprog API: the sequence is unsupported. */
static void make_private_root(void)
{
	int fd, api;

	if (!cg_state.mounted)
		child_fail("unsupported: no cgroup v2 here (%s)", cg_state.error);
	own_root(cg_state.root, sizeof(cg_state.root));
	sweep(NULL); /* what sequences whose process is gone left (under the world lock: none is in use) */
	if (mkdir(cg_state.root, 0755) < 0) {
		char root[PATH_MAX];
		int err = errno;

		strcpy(root, cg_state.root);
		cg_state.root[0] = 0; /* not ours to remove */
		child_fail("mkdir %s: %s", root, strerror(err));
	}
	fd = open(cg_state.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	api = fd >= 0 && cgroup_mprog_api(fd);
	if (fd >= 0)
		close(fd);
	if (!api)
		child_fail("unsupported: this kernel's cgroup attach points have no mprog API (their query writes no "
			   "revision; it came with Linux 6.17 and 6.12.110)");
}

/* The private root and the declared cgroups, after the programs (their fds come next). */
void cgroups_setup(struct sequence *s)
{
	if (!s->n_cgroups)
		return;
	make_private_root();
	for (int c = 0; c < s->n_cgroups; c++) {
		int ret;

		if (!s->cgroups[c].declared)
			continue;
		ret = cgroup_make(s, c, s->cgroups[c].parent);
		if (ret)
			child_fail("creating cgroup %s: %s", s->cgroups[c].name, strerror(-ret));
		reply_cgroup(&s->cgroups[c]);
	}
}

/* The cgroup attach types (to_cgroup_bpf_attach_type()), whose lists the world reports. */
static const uint32_t cgroup_attach_types[] = { 0, 1, 2, 3, 6, 8, 9, 10, 11, 12, 13, 14, 15, 18,
						19, 20, 21, 22, 29, 30, 31, 32, 34, 49, 50, 51, 52, 53 };

/* The C line of one attach type of the hierarchy's root, if its list is not empty. */
static void reply_root_list(int fd, uint32_t attach_type)
{
	static uint32_t ids[64];
	struct attr_prog_query a = { .target_ifindex = (uint32_t)fd, .attach_type = attach_type, .count = 64,
				     .prog_ids = ptr(ids) };
	struct sbuf sb = { 0 };

	if (sys_bpf(BPF_PROG_QUERY, &a, sizeof(a)) != 0 || a.count == 0)
		return;
	sb_printf(&sb, "C 0 %u %u ", a.attach_type, a.attach_flags);
	for (uint32_t i = 0; i < a.count && i < 64; i++)
		sb_printf(&sb, "%s%u", i ? "," : "", ids[i]);
	sb_send(&sb);
}

/* C lines: the programs the cgroup above the sequence's root holds (the hierarchy's root, the only
 * ancestor; a kernel that does not know a type answers EINVAL for it). */
void reply_cgroup_ancestors(void)
{
	int fd = cg_state.mounted ? open(CGROUP2_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

	for (size_t t = 0; fd >= 0 && t < sizeof(cgroup_attach_types) / sizeof(cgroup_attach_types[0]); t++)
		reply_root_list(fd, cgroup_attach_types[t]);
	if (fd >= 0)
		close(fd);
}

/* The sequence's cgroups go (deepest first), the kernel releases their programs and links, then
 * the root goes: nothing of the sequence is left attached when the next one looks. */
void cgroups_teardown(void)
{
	if (!cg_state.root[0])
		return;
	cgroup_remove_below(cg_state.root);
	cgroup_wait_released(cg_state.root);
	rmdir(cg_state.root);
	cg_state.root[0] = 0;
}

/* ---- the reaper (mprog-agent --reap) ---- */

/*
 * The host target's reaper: not tied to mprog's life, started in a session of its own, it holds
 * the read end of a pipe whose write end mprog, every agent of the run and every sequence process
 * hold (--reaper-fd). "SWEEP" lines (mprog sends one when an agent of its ended) remove the roots
 * whose owner is gone; at EOF every process of the run that could make a root has ended (or is
 * past closing its files), however it ended: the run's roots (its tag, this process's pid) and
 * every other whose owner is gone are removed, and the reaper exits. cgroup2 is mounted in a
 * mount namespace of its own, as the agent does: the same hierarchy.
 */
int cgroups_reap(void)
{
	char tag[32], buf[4096];
	int null;

	signal(SIGINT, SIG_IGN); /* a terminal's signals are mprog's to act on, not the reaper's */
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	snprintf(tag, sizeof(tag), "%d", (int)getpid());
	cg_state.mounted = cgroup2_setup() == 0;
	sweep(NULL); /* what killed runs before this one left */
	for (;;) {
		ssize_t n = read(0, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (memmem(buf, (size_t)n, "SWEEP", 5))
			sweep(NULL);
	}
	/* Nobody is left to tell: stderr may be a pipe someone waits on to close. */
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0)
		dup2(null, 2);
	/* A process past closing its files may not be a zombie yet: its roots go by the tag. */
	sweep(tag);
	return 0;
}
