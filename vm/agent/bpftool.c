// SPDX-License-Identifier: GPL-2.0-only
/*
 * The bpftool cross-check: one `bpftool -j batch file -` per sequence, in its namespaces, fed a
 * `net show` (`cgroup show` for a cgroup) after every query. bpftool is Debian's, unmodified, loaded once per agent
 * (zygote_start) with two libraries preloaded. coreutils' libstdbuf (as `stdbuf -iL -oL` does)
 * makes its stdin and stdout line-buffered, and glibc flushes a line-buffered stdout before it
 * reads a line-buffered stdin: each command's element (one line of compact JSON) comes out in one
 * write, when bpftool goes to read the next command. bpftool-zygote.so forks the loaded bpftool,
 * before its main(), into each sequence's namespaces (bpftool_start): under TCG an exec of
 * bpftool costs about 50 ms, a fork (with its start and exit) about 6.
 */
#include "agent.h"

#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* This sequence's bpftool and the scan of its output for whole elements of its JSON array. */
struct bpftool_run {
	pid_t pid;       /* -1: none (not wanted, not available, or gone) */
	int in, out;     /* its stdin and stdout, on agent fds */
	struct sbuf buf; /* output not yet taken; buf.p[0..scanned) is scanned */
	size_t scanned, start; /* start: offset of the element being read */
	int depth, in_str, esc;
};

static struct {
	struct bpftool_options options;
	int zygote_fd;   /* the agent's end of the zygote's socket; -1: no bpftool */
	pid_t zygote_pid;
	struct bpftool_run run;
} bpftool = { .zygote_fd = -1, .zygote_pid = -1, .run = { .pid = -1, .in = -1, .out = -1 } };

void bpftool_configure(const struct bpftool_options *options)
{
	bpftool.options = *options;
}

/* ---- the zygote ---- */

/* The zygote's process: bpftool, with the zygote and libstdbuf preloaded, serving on sock_end. */
__attribute__((noreturn)) static void zygote_exec(int sock_end)
{
	const struct bpftool_options *o = &bpftool.options;
	/* Above stdio, without O_CLOEXEC: the zygote finds it by MPROG_ZYGOTE_FD. */
	int null = open("/dev/null", O_RDWR), sock = fcntl(sock_end, F_DUPFD, 3);
	char sock_text[16], preload[2 * PATH_MAX + 2];

	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	snprintf(sock_text, sizeof(sock_text), "%d", sock);
	snprintf(preload, sizeof(preload), "%s %s", o->zygote, o->stdbuf);
	setenv("MPROG_ZYGOTE_FD", sock_text, 1);
	setenv("LD_PRELOAD", preload, 1);
	setenv("_STDBUF_I", "L", 1);
	setenv("_STDBUF_O", "L", 1);
	/* Every symbol bound once, in the zygote, rather than lazily in each fork. */
	setenv("LD_BIND_NOW", "1", 1);
	if (o->loader)
		execl(o->loader, o->loader, "--library-path", o->libraries, o->path, "-j", "batch", "file", "-",
		      (char *)NULL);
	else
		execl(o->path, "bpftool", "-j", "batch", "file", "-", (char *)NULL);
	_exit(127);
}

void zygote_start(void)
{
	const struct bpftool_options *o = &bpftool.options;
	int sv[2];
	pid_t pid;

	if (!o->path || !o->stdbuf || !o->zygote || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	pid = fork();
	if (pid == 0)
		zygote_exec(sv[1]);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return;
	}
	bpftool.zygote_fd = agent_fd(sv[0]);
	bpftool.zygote_pid = pid;
}

/* A zygote that died (killed, out of memory) is started again: without it no query is checked. */
void zygote_keep(void)
{
	if (bpftool.zygote_pid > 0 && waitpid(bpftool.zygote_pid, NULL, WNOHANG) == bpftool.zygote_pid) {
		close(bpftool.zygote_fd);
		bpftool.zygote_fd = -1;
		bpftool.zygote_pid = -1;
		zygote_start();
	}
}

/* Sends the zygote a request: the four fds, one byte. Whether it went. */
static int zygote_request(const int fds[4])
{
	char byte = 0, control[CMSG_SPACE(4 * sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			      .msg_controllen = sizeof(control) };
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(4 * sizeof(int));
	memcpy(CMSG_DATA(cmsg), fds, 4 * sizeof(int));
	return sendmsg(bpftool.zygote_fd, &msg, 0) == 1;
}

/* The pid the zygote writes on the reply pipe; -1 when it does not. */
static pid_t read_pid(int fd)
{
	pid_t pid = -1;
	ssize_t n;

	do
		n = read(fd, &pid, sizeof(pid));
	while (n < 0 && errno == EINTR);
	return n == sizeof(pid) ? pid : -1;
}

/* Asks the zygote for a bpftool in this process's namespaces on the given pipes; its pid, or -1. */
static pid_t zygote_fork(int stdin_fd, int stdout_fd)
{
	int reply_pipe[2], pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	pid_t pid = -1;

	if (pidfd < 0 || pipe2(reply_pipe, O_CLOEXEC) < 0) {
		if (pidfd >= 0)
			close(pidfd);
		return -1;
	}
	if (zygote_request((const int[4]){ pidfd, stdin_fd, stdout_fd, reply_pipe[1] })) {
		close(reply_pipe[1]); /* so that a zygote gone before it answers reads as end of file */
		reply_pipe[1] = -1;
		pid = read_pid(reply_pipe[0]);
	}
	close(pidfd);
	close(reply_pipe[0]);
	if (reply_pipe[1] >= 0)
		close(reply_pipe[1]);
	return pid > 0 ? pid : -1;
}

/*
 * bpftool's `cgroup show` parses all of the kernel's BTF (/sys/kernel/btf/vmlinux: ~100 ms under
 * TCG) on every call, only to name LSM programs, which no sequence attaches. In the agent's
 * private mount namespace (cgroups_init), which each sequence's bpftool enters, an empty tmpfs
 * hides it; nothing else the agent or bpftool does reads it.
 */
void bpftool_hide_kernel_btf(void)
{
	/* A kernel without tmpfs keeps it visible: bpftool is then only slower. */
	if (access("/sys/kernel/btf/vmlinux", F_OK) == 0)
		mount("none", "/sys/kernel/btf", "tmpfs", MS_RDONLY, "size=4k");
}

/* ---- a sequence's bpftool ---- */

void bpftool_start(void)
{
	struct bpftool_run *bt = &bpftool.run;
	int in[2], out[2];

	if (bpftool.zygote_fd < 0 || pipe2(in, O_CLOEXEC) < 0)
		return;
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return;
	}
	bt->pid = zygote_fork(in[0], out[1]);
	close(in[0]);
	close(out[1]);
	if (bt->pid < 0) {
		close(in[1]);
		close(out[0]);
		return;
	}
	bt->in = agent_fd(in[1]);
	bt->out = agent_fd(out[0]);
}

/* Gone when this returns (the zygote reaps it); its pipes close with the sequence's other fds. */
void bpftool_stop(void)
{
	struct bpftool_run *bt = &bpftool.run;
	int pidfd = bt->pid > 0 ? (int)syscall(SYS_pidfd_open, bt->pid, 0) : -1;
	struct pollfd exited = { .fd = pidfd, .events = POLLIN };

	if (bt->pid > 0)
		kill(bt->pid, SIGKILL);
	while (pidfd >= 0 && poll(&exited, 1, -1) < 0 && errno == EINTR)
		;
	if (pidfd >= 0)
		close(pidfd);
	bt->pid = -1;
}

int bpftool_fds(int *fds)
{
	if (bpftool.run.pid <= 0)
		return 0;
	fds[0] = bpftool.run.in;
	fds[1] = bpftool.run.out;
	return 2;
}

/* Scans what arrived; returns 1 when the next element of the output array is complete (it then
 * starts at bt->start and ends at bt->scanned). */
static int bpftool_scan(struct bpftool_run *bt)
{
	while (bt->scanned < bt->buf.len) {
		char c = bt->buf.p[bt->scanned++];

		if (bt->in_str) {
			if (bt->esc)
				bt->esc = 0;
			else if (c == '\\')
				bt->esc = 1;
			else if (c == '"')
				bt->in_str = 0;
			continue;
		}
		if (c == '"') {
			bt->in_str = 1;
			bt->esc = 0;
		} else if (c == '[' || c == '{') {
			if (++bt->depth == 2)
				bt->start = bt->scanned - 1;
		} else if ((c == ']' || c == '}') && --bt->depth == 1) {
			return 1;
		}
	}
	return 0;
}

/* Reads bpftool's output until the next element is whole; -1 when bpftool is gone. */
static int bpftool_read_element(struct bpftool_run *bt)
{
	char buf[4096];
	ssize_t n;

	while (!bpftool_scan(bt)) {
		n = read(bt->out, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		sb_add(&bt->buf, buf, (size_t)n);
	}
	return 0;
}

/* Feeds one batch command to bpftool and forwards its element as `B <step> <json>`. */
static void bpftool_command(int step, const char *cmd, int len)
{
	struct bpftool_run *bt = &bpftool.run;
	struct sbuf line = { 0 };

	if (bt->pid < 0 || write(bt->in, cmd, (size_t)len) != len || bpftool_read_element(bt) < 0) {
		bpftool_stop();
		reply("B %d -", step);
		return;
	}
	sb_printf(&line, "B %d ", step);
	sb_add(&line, bt->buf.p + bt->start, bt->scanned - bt->start);
	sb_send(&line);
	/* Whatever follows the element stays for the next scan. */
	memmove(bt->buf.p, bt->buf.p + bt->scanned, bt->buf.len - bt->scanned);
	bt->buf.len -= bt->scanned;
	bt->scanned = 0;
}

/*
 * bpftool's batch element for `net show dev <the queried device>` (plain `net show` for a name a
 * batch line cannot carry: bpftool cuts a line at '#' and reads quotes and backslashes), or "-"
 * when bpftool fails.
 */
void bpftool_check_dev(int step, const struct dev_ref *dev)
{
	char cmd[IF_NAMESIZE + 16], name_buf[IF_NAMESIZE];
	const char *name = dev->by_name ? dev->name : if_indextoname(dev->ifindex, name_buf);
	int len = !name || strpbrk(name, "#'\"\\") ? snprintf(cmd, sizeof(cmd), "net show\n")
						    : snprintf(cmd, sizeof(cmd), "net show dev %s\n", name);

	bpftool_command(step, cmd, len);
}

/* bpftool's element for `cgroup show <the queried cgroup> [effective]`; "-" for a raw target fd
 * or a cgroup never made. */
void bpftool_check_cgroup(int step, const struct sequence *s, const struct step *st)
{
	char cmd[PATH_MAX + 32];
	int len;

	if (st->cg < 0 || s->cgroups[st->cg].fd < 0) {
		reply("B %d -", step);
		return;
	}
	len = snprintf(cmd, sizeof(cmd), "cgroup show %s%s\n", s->cgroups[st->cg].path, st->qflags & 1 ? " effective" : "");
	bpftool_command(step, cmd, len);
}
