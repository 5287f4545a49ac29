// SPDX-License-Identifier: GPL-2.0-only
/*
 * Preloaded into Debian's bpftool (LD_PRELOAD) by the agent: a fork server, so that a sequence's
 * bpftool costs a fork instead of an exec. Under TCG an exec of bpftool (the dynamic loader mapping
 * and relocating libelf, zlib, libzstd, libcap and libc) costs about 50 ms, several times a
 * sequence's own work; a fork of the loaded process, with bpftool's start and exit, about 6 ms.
 *
 * Only where MPROG_ZYGOTE_FD names a socket does anything happen; the constructor then never
 * returns in the loaded process: it serves requests on that socket. (The agent runs bpftool
 * itself, or through the dynamic loader; a wrapper script would be the zygote instead, and each
 * fork of it would run the script, and its exec, from the start: correct, only not faster.) A request carries four fds:
 * a pidfd of the requesting process, the new bpftool's stdin and stdout, and a pipe to write its
 * pid to. For each, it forks; the child enters the requester's network and mount namespaces,
 * takes the two pipes as fds 0 and 1 and returns, into bpftool's own main(), which runs from its
 * start, unmodified, with the command line the agent gave (`-j batch file -`).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

enum { REQ_PIDFD, REQ_STDIN, REQ_STDOUT, REQ_REPLY, REQ_FDS };

/* 1: a request's fds; 0: a message without them (skipped); -1: end of file, the agent is gone. */
static int receive_request(int sock, int fds[REQ_FDS])
{
	char byte, control[CMSG_SPACE(sizeof(int) * REQ_FDS)];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			      .msg_controllen = sizeof(control) };
	struct cmsghdr *cmsg;
	ssize_t n;

	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS ||
	    cmsg->cmsg_len != CMSG_LEN(sizeof(int) * REQ_FDS)) {
		/* Whatever fds came are not ours to keep. */
		if (cmsg && cmsg->cmsg_type == SCM_RIGHTS)
			for (size_t i = 0; i < (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
				close(((int *)CMSG_DATA(cmsg))[i]);
		return 0;
	}
	memcpy(fds, CMSG_DATA(cmsg), sizeof(int) * REQ_FDS);
	return 1;
}

/* In the forked child: becomes the requester's bpftool, or exits. */
static void become_bpftool(int sock, const int fds[REQ_FDS])
{
	close(sock);
	signal(SIGCHLD, SIG_DFL);
	if (setns(fds[REQ_PIDFD], CLONE_NEWNET | CLONE_NEWNS) < 0 ||
	    dup2(fds[REQ_STDIN], 0) < 0 || dup2(fds[REQ_STDOUT], 1) < 0)
		_exit(127);
	for (int i = 0; i < REQ_FDS; i++)
		close(fds[i]);
}

__attribute__((constructor)) static void bpftool_zygote(void)
{
	const char *sock_text = getenv("MPROG_ZYGOTE_FD");
	int sock, fds[REQ_FDS], got;

	if (!sock_text)
		return;
	sock = atoi(sock_text);
	unsetenv("MPROG_ZYGOTE_FD");
	/* Children are reaped by the kernel; the agent stops one by closing its stdin or killing it. */
	signal(SIGCHLD, SIG_IGN);
	while ((got = receive_request(sock, fds)) >= 0) {
		pid_t pid;
		ssize_t told;

		if (!got)
			continue;
		pid = fork();
		if (pid == 0) {
			/* A bpftool whose zygote is gone is of no use to anyone. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			become_bpftool(sock, fds);
			return;
		}
		/* A requester that is gone reads no pid; its bpftool ends when the pipes close. */
		told = write(fds[REQ_REPLY], &pid, sizeof(pid));
		(void)told;
		for (int i = 0; i < REQ_FDS; i++)
			close(fds[i]);
	}
	_exit(0);
}
