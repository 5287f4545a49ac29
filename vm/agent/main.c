// SPDX-License-Identifier: GPL-2.0-only
/*
 * mprog-agent: replays lowered mprog-seq/1 sequences with raw bpf(2) on the kernel it runs on and
 * answers in the line protocol of PROTOCOL.md. The kernel ABI it speaks is kernel-abi.h's; what
 * each of its files holds, agent.h says. This file: the command line, the channel's setup, and
 * the loop that reads the host's commands and hands each to the file that answers it.
 */
#include "agent.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/utsname.h>

struct options {
	const char *dev;
	struct bpftool_options bpftool;
	int hold_keys;
	int reaper_fd; /* -1: none */
};

static void usage(void)
{
	fprintf(stderr, "usage: mprog-agent [--dev PATH] [--bpftool PATH [--bpftool-loader LD_SO LIBRARY_PATH] --stdbuf LIBSTDBUF --bpftool-zygote LIB] [--hold-tcx-keys] [--jobs N (1-%d)] [--reaper-fd FD --cgroup-tag TAG]\n"
			"       mprog-agent --reap\n", JOBS_MAX);
	exit(2);
}

static struct options parse_args(int argc, char **argv)
{
	struct options o = { .reaper_fd = -1 };
	uint64_t jobs_arg, fd_arg;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--reaper-fd") && i + 1 < argc && parse_num(argv[++i], CHANNEL_FD_MIN - 1, &fd_arg) == 0 && fd_arg > 2)
			o.reaper_fd = (int)fd_arg;
		else if (!strcmp(argv[i], "--cgroup-tag") && i + 1 < argc && argv[i + 1][0] && !strpbrk(argv[i + 1], "/ \n"))
			cgroups_set_tag(argv[++i]);
		else if (!strcmp(argv[i], "--dev") && i + 1 < argc)
			o.dev = argv[++i];
		else if (!strcmp(argv[i], "--bpftool") && i + 1 < argc)
			o.bpftool.path = argv[++i];
		else if (!strcmp(argv[i], "--stdbuf") && i + 1 < argc)
			o.bpftool.stdbuf = argv[++i];
		else if (!strcmp(argv[i], "--bpftool-zygote") && i + 1 < argc)
			o.bpftool.zygote = argv[++i];
		else if (!strcmp(argv[i], "--bpftool-loader") && i + 2 < argc) {
			o.bpftool.loader = argv[++i];
			o.bpftool.libraries = argv[++i];
		} else if (!strcmp(argv[i], "--hold-tcx-keys"))
			o.hold_keys = 1;
		else if (!strcmp(argv[i], "--jobs") && i + 1 < argc && parse_num(argv[++i], JOBS_MAX, &jobs_arg) == 0 && jobs_arg)
			jobs_set_max((int)jobs_arg);
		else
			usage();
	}
	return o;
}

/* ---- the channel ---- */

/* The protocol channel lives on a high fd, so object fds in a sequence start at 3. */
static int channel_fd(int fd)
{
	int high = fcntl(fd, F_DUPFD_CLOEXEC, CHANNEL_FD_MIN);

	if (high < 0) {
		perror("mprog-agent: dup");
		exit(1);
	}
	return high;
}

/* Whatever the agent inherited below the channel would shift the fds objects get. */
static void close_inherited(void)
{
	for (int fd = 3; fd < CHANNEL_FD_MIN; fd++)
		close(fd);
}

/* With the channel on stdio, fds 0 and 1 become /dev/null so they stay taken as in a guest. */
static void stdio_to_null(void)
{
	int null = open("/dev/null", O_RDWR);

	if (null < 0) {
		perror("mprog-agent: /dev/null");
		exit(1);
	}
	dup2(null, 0);
	dup2(null, 1);
	if (null > 2)
		close(null);
}

/* The channel: the device `dev` both ways, or stdin and stdout; its input side into in. */
static void open_channel(const char *dev, struct lineio *in)
{
	if (dev) {
		int fd = open(dev, O_RDWR | O_NOCTTY);

		if (fd < 0) {
			fprintf(stderr, "mprog-agent: %s: %s\n", dev, strerror(errno));
			exit(1);
		}
		in->fd = channel_fd(fd);
		channel_set_out(in->fd);
		close(fd);
	} else {
		in->fd = channel_fd(0);
		channel_set_out(channel_fd(1));
		stdio_to_null();
	}
}

/*
 * Every program and link of a sequence is an fd of its process: the soft limit on them is raised
 * to the most the kernel allows (fs.nr_open; a guest's init has 1024 of at most 4096, which ended
 * a sequence of more than about 1,000 programs with EMFILE), or, where the hard limit cannot be
 * raised (no CAP_SYS_RESOURCE), to the hard limit.
 */
static void raise_nofile(void)
{
	struct rlimit r;
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");
	unsigned long long nr_open = 0;

	if (f) {
		if (fscanf(f, "%llu", &nr_open) != 1)
			nr_open = 0;
		fclose(f);
	}
	if (getrlimit(RLIMIT_NOFILE, &r) < 0)
		return;
	if (nr_open > r.rlim_max) {
		struct rlimit want = { .rlim_cur = (rlim_t)nr_open, .rlim_max = (rlim_t)nr_open };

		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			return;
	}
	r.rlim_cur = r.rlim_max;
	setrlimit(RLIMIT_NOFILE, &r);
}

/* What every sequence finds ready: bpftool, the tcx keys held, the world, cgroup2. */
static void setup(const struct options *o)
{
	bpftool_configure(&o->bpftool);
	zygote_start();
	if (o->hold_keys)
		world_hold_tcx_keys();
	world_init();
	if (cgroups_init() == 0)
		bpftool_hide_kernel_btf();
}

/* ---- the commands ---- */

/* SEQ ... END: a job, or FAIL after those in flight. -1: the input broke. */
static int command_seq(struct lineio *in, char **tok, int ntok)
{
	struct sequence s;

	if (read_sequence(in, tok, ntok, &s) < 0) {
		jobs_finish();
		return -1;
	}
	if (s.error[0]) {
		jobs_finish();
		reply("FAIL %s", s.error);
	} else {
		jobs_start(sequence_job, &s);
	}
	free_sequence(&s);
	return 0;
}

static void command_rawbench(char **tok, int ntok)
{
	uint64_t n;

	if (ntok != 2 || parse_num(tok[1], UINT64_MAX, &n))
		reply("FAIL bad RAWBENCH line");
	else
		bench_rawbench(n);
}

/* -1: out of step with the host (the agent ends). */
static int command_rawrun(struct lineio *in, char **tok, int ntok)
{
	uint64_t k;

	if (ntok != 2 || parse_num(tok[1], 100000, &k)) {
		reply("FAIL bad RAWRUN line");
	} else if (bench_rawrun(in, k) < 0) {
		reply("FAIL RAWRUN: expected %llu SEQ blocks", (unsigned long long)k);
		return -1;
	}
	return 0;
}

enum { GO_ON, EXIT_OK, EXIT_FAIL };

/* The connection with the host. */
struct session {
	struct lineio in;
	struct utsname uts; /* for HELLO */
	int hello;          /* the handshake was made */
};

/* A command line after the handshake, other than SEQ (ntok -1: too long). */
static int command(struct session *c, char **tok, int ntok)
{
	if (ntok < 0)
		reply("FAIL line too long or with more than %d tokens", MAX_TOKENS);
	else if (!strcmp(tok[0], "RAWBENCH"))
		command_rawbench(tok, ntok);
	else if (!strcmp(tok[0], "RAWRUN"))
		return command_rawrun(&c->in, tok, ntok) < 0 ? EXIT_FAIL : GO_ON;
	else if (!strcmp(tok[0], "SETTLE") && ntok == 1)
		reply("SETTLE %d", world_release_netns());
	else if (!strcmp(tok[0], "GCOV_RESET") && ntok == 1)
		gcov_reset();
	else if (!strcmp(tok[0], "GCOV_DUMP") && ntok == 1)
		gcov_dump();
	else if (!strcmp(tok[0], "BYE"))
		return EXIT_OK;
	else
		reply("FAIL unknown command %s", tok[0]);
	return GO_ON;
}

/* One line (ntok -1: too long): before the handshake only HELLO counts (console noise may be
 * anything); a SEQ starts a job; any other answer goes out after those of the jobs in flight. */
static int handle_line(struct session *c, char **tok, int ntok)
{
	if (ntok == 0 || (ntok < 0 && !c->hello))
		return GO_ON;
	if (ntok > 0 && c->hello && !strcmp(tok[0], "SEQ"))
		return command_seq(&c->in, tok, ntok) < 0 ? EXIT_FAIL : GO_ON;
	jobs_finish();
	if (ntok > 0 && !strcmp(tok[0], "HELLO")) {
		c->hello = 1;
		reply("HELLO mprog-agent %d %s %s", PROTOCOL_VERSION, c->uts.release, c->uts.machine);
		return GO_ON;
	}
	return c->hello ? command(c, tok, ntok) : GO_ON;
}

/* A command is taken when a job may start; until it comes, finished answers go out. Whether a
 * line may be read now. */
static int ready_for_line(const struct lineio *in)
{
	if (jobs_full() || (jobs_busy() && !line_waiting(in)))
		return jobs_wait(jobs_full() ? -1 : in->fd);
	return 1;
}

/* The loop: READY, then every line until BYE or the end of input. The exit status. */
static int serve(struct session *c)
{
	char line[LINE_MAX_LEN], *tok[MAX_TOKENS];

	reply("READY");
	for (;;) {
		int r, ntok, next;

		if (!ready_for_line(&c->in))
			continue;
		r = read_line(&c->in, line);
		if (r == LINE_EOF)
			break;
		if (r == LINE_ERROR) {
			perror("mprog-agent: read");
			return 1;
		}
		ntok = r == LINE_OK ? tokenize(line, tok) : -1;
		next = handle_line(c, tok, ntok);
		if (next != GO_ON)
			return next == EXIT_OK ? 0 : 1;
	}
	jobs_finish();
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	struct session *c;

	if (argc == 2 && !strcmp(argv[1], "--reap"))
		return cgroups_reap();
	o = parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	c = calloc(1, sizeof(*c));
	if (!c || uname(&c->uts) < 0) {
		perror("mprog-agent");
		return 1;
	}
	open_channel(o.dev, &c->in);
	if (o.reaper_fd >= 0)
		cgroups_hold_reaper(o.reaper_fd);
	close_inherited();
	setup(&o);
	return serve(c);
}
