// SPDX-License-Identifier: GPL-2.0-only
/*
 * The raw rates (PROTOCOL.md "Raw rates"): RAWBENCH, attach + detach of one program in a loop,
 * and RAWRUN, k sequences run as replay runs them with their answers dropped, timed in the agent.
 */
#include "agent.h"

static long long elapsed_ns(const struct timespec *t0, const struct timespec *t1)
{
	return (long long)(t1->tv_sec - t0->tv_sec) * 1000000000LL + (t1->tv_nsec - t0->tv_nsec);
}

/* The RAWBENCH child: a fresh netns with one veth and one program, n attach + detach pairs. */
__attribute__((noreturn)) static void rawbench_child(uint64_t n)
{
	struct attr_prog_attach a = { .attach_type = BPF_TCX_INGRESS };
	struct timespec t0, t1;
	int fd;

	child_netns();
	child_devices("veth", "mb0", "mb0p");
	fd = prog_load(BPF_PROG_TYPE_SCHED_CLS, "rawbench");
	if (fd < 0)
		child_fail("loading program rawbench: %s", strerror(-fd));
	a.target_ifindex = dev_index("mb0");
	a.attach_bpf_fd = (uint32_t)fd;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint64_t k = 0; k < n; k++) {
		long ret = sys_bpf(BPF_PROG_ATTACH, &a, sizeof(a));

		if (ret == 0)
			ret = sys_bpf(BPF_PROG_DETACH, &a, sizeof(a));
		if (ret)
			child_fail("rawbench iteration %llu: %s", (unsigned long long)k, strerror((int)-ret));
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	reply("RAWBENCH %llu %lld", (unsigned long long)n, elapsed_ns(&t0, &t1));
	_exit(0);
}

static void rawbench_job(void *arg)
{
	rawbench_child(*(uint64_t *)arg);
}

void bench_rawbench(uint64_t n)
{
	jobs_start(rawbench_job, &n);
	jobs_finish();
}

/* The k SEQ blocks that follow; NULL when the input is not that (then out of step for good). */
static struct sequence *read_sequences(struct lineio *in, uint64_t k)
{
	struct sequence *seqs = calloc(k ? k : 1, sizeof(*seqs));
	char line[LINE_MAX_LEN], *tok[MAX_TOKENS];

	if (!seqs)
		_exit(3); /* out of memory, as in sb_grow */
	for (uint64_t i = 0; i < k; i++) {
		int ntok = read_line(in, line) == LINE_OK ? tokenize(line, tok) : -1;

		if (ntok <= 0 || strcmp(tok[0], "SEQ") || read_sequence(in, tok, ntok, &seqs[i]) < 0)
			return NULL;
	}
	return seqs;
}

/* Runs the k sequences, their answers counted instead of sent; RAWRUN <k> <elapsed_ns> <failed>. */
static void run_discarded(struct sequence *seqs, uint64_t k)
{
	struct timespec t0, t1;
	uint64_t failed;

	jobs_discard_begin();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint64_t i = 0; i < k; i++) {
		while (jobs_full())
			jobs_wait(-1);
		jobs_start(sequence_job, &seqs[i]);
	}
	jobs_finish();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	failed = jobs_discard_end();
	reply("RAWRUN %llu %lld %llu", (unsigned long long)k, elapsed_ns(&t0, &t1), (unsigned long long)failed);
}

/*
 * RAWRUN: the k sequences that follow, run as replay runs them but with their answers dropped and
 * the whole batch timed inside the guest: the rate the kernel allows the same calls, against
 * which the host measures what the channel and the harness cost.
 */
int bench_rawrun(struct lineio *in, uint64_t k)
{
	struct sequence *seqs = read_sequences(in, k);
	const char *error = NULL;

	if (!seqs)
		return -1;
	for (uint64_t i = 0; i < k && !error; i++)
		if (seqs[i].error[0])
			error = seqs[i].error;
	if (error)
		reply("FAIL %s", error);
	else
		run_discarded(seqs, k);
	for (uint64_t i = 0; i < k; i++)
		free_sequence(&seqs[i]);
	free(seqs);
	return 0;
}
