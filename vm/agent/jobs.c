// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sequences in flight. Up to max sequences run at once, each in its own child (own netns, own
 * fds): a sequence spends a fifth of its time under TCG waiting for RCU grace periods (a device's
 * deletion, a netns's teardown), and another sequence's work fills that wait. Answers still leave
 * in request order: a child writes its answer into a pipe of its own, and the parent forwards it
 * once every earlier answer is out. Prog and link ids are global to the kernel, so concurrent
 * sequences get interleaved ids; the host names ids per sequence, which hides that.
 */
#include "agent.h"

#include <poll.h>
#include <sys/wait.h>

struct job {
	pid_t pid;
	int answer_fd; /* read end of the child's answer pipe; -1 once the child is done */
	struct sbuf answer;
};

static struct {
	struct job ring[JOBS_MAX]; /* in request order from ring[first] */
	int first, n, max;
	/* RAWRUN: answers are not sent but counted, those that did not end in DONE apart. */
	int discard;
	uint64_t n_discarded_failed;
} jobs = { .max = 1 };

void jobs_set_max(int max)
{
	jobs.max = max;
}

int jobs_full(void)
{
	return jobs.n == jobs.max;
}

int jobs_busy(void)
{
	return jobs.n != 0;
}

static struct job *job_at(int k)
{
	return &jobs.ring[(jobs.first + k) % JOBS_MAX];
}

static void job_reap(struct job *job)
{
	int status;

	while (waitpid(job->pid, &status, 0) < 0)
		if (errno != EINTR) {
			sb_printf(&job->answer, "FAIL waitpid: %s\n", strerror(errno));
			return;
		}
	if (WIFSIGNALED(status)) {
		/* It could not remove its cgroups: what is left of them goes now. */
		cgroups_remove_leftovers();
		sb_printf(&job->answer, "FAIL sequence process killed by signal %d\n", WTERMSIG(status));
	} else if (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != CHILD_REPORTED) {
		sb_printf(&job->answer, "FAIL sequence process exited with status %d\n", WEXITSTATUS(status));
	}
}

/* Takes what the child wrote; at EOF the child has ended: reaps it. */
static void job_read(struct job *job)
{
	char buf[16384];
	ssize_t n = read(job->answer_fd, buf, sizeof(buf));

	if (n < 0 && errno == EINTR)
		return;
	if (n > 0) {
		sb_add(&job->answer, buf, (size_t)n);
		return;
	}
	close(job->answer_fd);
	job->answer_fd = -1;
	job_reap(job);
}

/* Forwards the answers of the finished jobs at the head of the ring. */
static void forward_finished(void)
{
	while (jobs.n && job_at(0)->answer_fd < 0) {
		struct job *job = job_at(0);

		if (!jobs.discard)
			write_all(job->answer.p, job->answer.len);
		else if (job->answer.len < 5 || strcmp(job->answer.p + job->answer.len - 5, "DONE\n"))
			jobs.n_discarded_failed++;
		free(job->answer.p);
		jobs.first = (jobs.first + 1) % JOBS_MAX;
		jobs.n--;
	}
}

int jobs_wait(int input_fd)
{
	struct pollfd p[JOBS_MAX + 1];
	int n = jobs.n; /* forward_finished below changes jobs.n */

	for (int k = 0; k < n; k++)
		p[k] = (struct pollfd){ .fd = job_at(k)->answer_fd, .events = POLLIN }; /* poll skips fd -1 */
	p[n] = (struct pollfd){ .fd = input_fd, .events = POLLIN };
	if (poll(p, (nfds_t)n + 1, -1) < 0)
		return 0; /* EINTR: the caller waits again */
	for (int k = 0; k < n; k++)
		if (p[k].revents)
			job_read(job_at(k));
	forward_finished();
	return p[n].revents != 0;
}

void jobs_finish(void)
{
	while (jobs.n)
		jobs_wait(-1);
}

/* The job's two pipes, on agent fds: ready (the child's netns is made) and answer. 0 or -1. */
static int job_pipes(int ready[2], int answer[2])
{
	if (pipe2(ready, O_CLOEXEC) < 0 || (ready[0] = agent_fd(ready[0])) < 0 || (ready[1] = agent_fd(ready[1])) < 0 ||
	    pipe2(answer, O_CLOEXEC) < 0 || (answer[0] = agent_fd(answer[0])) < 0 || (answer[1] = agent_fd(answer[1])) < 0)
		return -1;
	return 0;
}

/* The child's side: answers into its pipe, tells the parent about its netns on the other. */
__attribute__((noreturn)) static void job_child(void (*fn)(void *), void *arg, int ready[2], int answer[2])
{
	close(ready[0]);
	close(answer[0]);
	child_set_netns_ready(ready[1]);
	channel_set_out(answer[1]);
	fn(arg);
	_exit(0); /* fn ends the child itself */
}

static void close_pipes(int ready[2], int answer[2])
{
	for (int i = 0; i < 2; i++) {
		if (ready[i] >= 0)
			close(ready[i]);
		if (answer[i] >= 0)
			close(answer[i]);
	}
}

/* Runs fn(arg) in a child, as the next job; a child that died without answering is answered FAIL for. */
void jobs_start(void (*fn)(void *), void *arg)
{
	struct job *job;
	int ready[2] = { -1, -1 }, answer[2] = { -1, -1 };

	if (world_netns_full()) {
		jobs_finish();
		world_release_netns();
	}
	zygote_keep();
	job = job_at(jobs.n++);
	*job = (struct job){ .answer_fd = -1 };
	if (job_pipes(ready, answer) < 0) {
		sb_printf(&job->answer, "FAIL pipe: %s\n", strerror(errno));
	} else if ((job->pid = fork()) < 0) {
		sb_printf(&job->answer, "FAIL fork: %s\n", strerror(errno));
	} else {
		if (job->pid == 0)
			job_child(fn, arg, ready, answer);
		job->answer_fd = answer[0];
		answer[0] = -1;
		close(ready[1]);
		ready[1] = -1;
		world_hold_netns(job->pid, ready[0]);
	}
	close_pipes(ready, answer);
}

void jobs_discard_begin(void)
{
	jobs.discard = 1;
	jobs.n_discarded_failed = 0;
}

uint64_t jobs_discard_end(void)
{
	jobs.discard = 0;
	return jobs.n_discarded_failed;
}
