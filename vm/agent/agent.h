/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the agent's files expose to each other, one section per file (PROTOCOL.md is the agent's
 * contract with the host; kernel-abi.h the kernel ABI it speaks). Each file owns its state in one
 * struct of its own; the others go through the functions declared here. Every file includes this
 * header first.
 */
#ifndef MPROG_AGENT_H
#define MPROG_AGENT_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "kernel-abi.h"

#define PROTOCOL_VERSION 1

/* The agent's own fds live at or above this, so a sequence's objects get fds from 3 up. */
#define CHANNEL_FD_MIN 100

/* ---- channel.c: the protocol's lines in and out ---- */

/* Text being built into one reply line. */
struct sbuf {
	char *p;
	size_t len, cap;
};

void sb_add(struct sbuf *sb, const char *s, size_t len);
__attribute__((format(printf, 2, 3))) void sb_printf(struct sbuf *sb, const char *fmt, ...);
/* Sends sb as one line (adding the newline) and empties it. */
void sb_send(struct sbuf *sb);
/* One reply line. */
__attribute__((format(printf, 1, 2))) void reply(const char *fmt, ...);
/* Raw bytes to the channel (an answer a job wrote); the host gone, the process exits. */
void write_all(const char *p, size_t len);
/* Where replies go (the channel, or in a sequence's child its answer pipe). */
void channel_set_out(int fd);
int channel_out_fd(void);
/* From now on replies are held and written at once by channel_flush_held (a sequence's child). */
void channel_hold(void);
void channel_flush_held(void);
/* Moves an fd of the agent's own above the ones a sequence's objects get; -1 on failure. */
int agent_fd(int fd);

#define LINE_MAX_LEN 4096
#define MAX_TOKENS 24

/* The input side: lines read whole from one fd. */
struct lineio {
	int fd;
	int overlong; /* dropping the rest of a line longer than LINE_MAX_LEN */
	size_t len;
	char buf[LINE_MAX_LEN];
};

enum { LINE_EOF, LINE_OK, LINE_TOO_LONG, LINE_ERROR };

/* Whether a whole line is already buffered, so read_line will not block. */
int line_waiting(const struct lineio *in);
/* Reads one line into out (LINE_OK); a line too long for it is skipped whole (LINE_TOO_LONG). */
int read_line(struct lineio *in, char *out);
/* Splits line into space-separated tokens; returns how many, or -1 for more than MAX_TOKENS. */
int tokenize(char *line, char **tok);

/* ---- wire.c: a sequence, as the host lowers it (SEQ ... END) ---- */

#define NAME_LEN 16 /* IFNAMSIZ and BPF_OBJ_NAME_LEN, both with the NUL */

struct object {
	int is_link;
	uint32_t prog_type;
	uint32_t expected_attach_type; /* at load; 0: none */
	char name[NAME_LEN];
	int fd; /* -1: closed or never opened */
	uint32_t id; /* 0 until known */
	int n_maps; /* a program's maps, by map index, in the order its body references them */
	int maps[PROG_MAPS_MAX];
};

/* A map of the sequence (MAP line), made before the programs and open until the sequence ends. */
struct map_decl {
	uint32_t type;
	char name[NAME_LEN];
	int fd;
};

enum ref_kind { REF_NONE, REF_FD, REF_ID, REF_VALUE };

struct ref {
	enum ref_kind kind;
	int obj;
	uint32_t value;
};

struct dev_ref {
	int by_name;
	char name[NAME_LEN];
	uint32_t ifindex;
};

struct step {
	enum mprog_op op;
	int prog, link, old; /* object indices, -1: absent */
	int cg, parent; /* cgroup indices, -1: absent (cg: the target is dev; parent: the sequence's root) */
	uint32_t arrays; /* query arrays passed: 1 prog_ids, 2 prog_attach_flags, 4 link_ids, 8 link_attach_flags */
	struct dev_ref dev;
	uint32_t type, flags, count, qflags, aflags;
	struct ref rel, rep;
	uint64_t rev;
	char name[NAME_LEN], kind[8], peer[NAME_LEN];
	uint32_t asz; /* attr_size of a step with attr fields (PROTOCOL.md "attr"), 0: none */
	char *raw;    /* its raw bytes, "OFF:HEX,...", or NULL */
	int has_caps; /* caps= given: the caller's effective capabilities for this call alone */
	uint64_t caps;
	enum { NS_NONE, NS_SELF, NS_FD } ns; /* ns=: the target is the sequence's netns, or a raw fd */
	uint32_t ns_fd;                      /* ns=f:N's N */
};

struct device {
	char kind[8], name[NAME_LEN], peer[NAME_LEN];
};

/* A cgroup name of the sequence: made at setup (declared) or by cgroup_create. */
struct cgroup_name {
	char name[NAME_LEN];
	int parent;   /* cgroup index of a declared cgroup's parent, -1: the sequence's root */
	int declared; /* made before step 0 */
	int fd;       /* its directory, -1 until made; kept open after rmdir, as a model of the fd table says */
	char path[PATH_MAX];
};

struct sequence {
	int n_objects, n_steps, n_devices, n_cgroups, n_maps;
	struct cgroup_name *cgroups;
	struct map_decl *maps;
	struct object *objects;
	struct step *steps;
	struct device *devices;
	char error[256]; /* first lowering error; the sequence is answered with FAIL */
	int no_bpftool;  /* SEQ ... nobpftool: answer every B line with "-" */
	int has_caps;    /* CAPS line given: the effective capabilities of the loads and the steps */
	uint64_t caps;
	int has_netns;   /* NETNS line given: its /proc/self/ns/net is opened at setup */
	int netns_fd;    /* that fd, -1 until opened */
};

/* A decimal number of at most max (a leading '-': its two's complement within max); 0 or -1. */
int parse_num(const char *s, uint64_t max, uint64_t *out);
/* Reads the lines after the SEQ line `head` up to END. Returns -1 when the input ended or broke;
 * a bad sequence is 0 with s->error set. */
int read_sequence(struct lineio *in, char **head, int nhead, struct sequence *s);
void free_sequence(struct sequence *s);

/* ---- steps.c: the bpf(2) side of a step ---- */

/* NETNS: the sequence's /proc/self/ns/net, opened after its programs and cgroups (N line). */
void netns_setup(struct sequence *s);

void run_step(struct sequence *s, int i);
/* D lines: both ends of a device pair. */
void reply_devices(const char *name, const char *peer);

/* ---- cgroups.c: cgroup2, a private root per sequence, its cgroups below it ---- */

/* Mounts cgroup2 in the agent's private mount namespace; 0, or -errno (kept to say why later). */
int cgroups_init(void);
/* The private root and the declared cgroups of the sequence (its child, after the programs). */
void cgroups_setup(struct sequence *s);
/* Removes what is left of the sequence's cgroups and its root (the child, before the lock goes). */
void cgroups_teardown(void);
/* Removes the private roots whose owner is gone (the parent, when a sequence process died). */
void cgroups_remove_leftovers(void);
/* --cgroup-tag: put in every private root's name, for the reaper of the run (its pid). */
void cgroups_set_tag(const char *tag);
/* --reaper-fd: moved above the sequences' fds and held by every process (an outside fd); -1: none. */
void cgroups_hold_reaper(int fd);
int cgroups_reaper_fd(void);
/* --reap: the reaper's main (see cgroups.c); its exit status. */
int cgroups_reap(void);
/* cgroup_create and cgroup_delete of cgroup c: 0 or -errno. */
int cgroup_make(struct sequence *s, int c, int parent);
int cgroup_unmake(struct sequence *s, int c);
/* The G line of a cgroup made. */
void reply_cgroup(const struct cgroup_name *cg);
/* C lines: the lists of the cgroup above the sequence's root. */
void reply_cgroup_ancestors(void);

/* ---- bpftool.c: the bpftool zygote and the cross-check of queries ---- */

struct bpftool_options {
	const char *path;
	/* A bpftool built for another C library runs through its own dynamic loader (the host's case). */
	const char *loader, *libraries;
	const char *stdbuf;
	const char *zygote;
};

void bpftool_configure(const struct bpftool_options *options);
/* Loads bpftool once, as the zygote every sequence's bpftool is forked from. */
void zygote_start(void);
/* A zygote that died is started again. */
void zygote_keep(void);
/* The agent's private mount namespace hides the kernel's BTF from `cgroup show`. */
void bpftool_hide_kernel_btf(void);
/* This sequence's bpftool, in its namespaces; stopped (gone) when bpftool_stop returns. */
void bpftool_start(void);
void bpftool_stop(void);
/* Its two pipes while it runs (for the outside fds): how many, 0 or 2. */
int bpftool_fds(int *fds);
/* B lines: bpftool's element for the query step, "-" when bpftool fails. */
void bpftool_check_dev(int step, const struct dev_ref *dev);
void bpftool_check_cgroup(int step, const struct sequence *s, const struct step *st);

/* ---- world.c: the world lock, the world report, the held namespaces ---- */

#define WORLD_LOCK_DIR "/run"
#define WORLD_LOCK WORLD_LOCK_DIR "/mprog-agent.lock"

void world_init(void);
/* Programs on the init netns's lo that hold the tcx static keys on (--hold-tcx-keys). */
void world_hold_tcx_keys(void);
/* A sequence's turn: 0 or -errno. world_unlock ends it, closing the sequence's fds. */
int world_lock(void);
void world_unlock(void);
/* The most outside fds a sequence's process holds: answer pipe, lock, bpftool's two, reaper pipe. */
#define OUTSIDE_FDS_MAX 5
/* Closes every fd from 3 up but the outside ones. */
void close_fds_but_outside(void);
/* The id the next link gets; 0 if unknown. */
uint32_t probe_next_link_id(void);
/* W, C and O lines. */
void reply_world(const struct sequence *s, uint32_t next_link_id);
/* Records the sequence's programs as held (they live on in its held netns). */
void world_hold_ids(const struct sequence *s);
/* The parent: holds the netns of the child `pid` once it reports it over `ready`. */
void world_hold_netns(pid_t pid, int ready);
/* Whether the held namespaces are a batch (then: finish the jobs and world_release_netns). */
int world_netns_full(void);
/* Lets the held namespaces go and waits for their programs; how many went. */
int world_release_netns(void);

/* ---- sequence.c: the per-sequence child ---- */

/* Exit status of a child that already answered FAIL itself. */
#define CHILD_REPORTED 2

/* Answers FAIL and ends the child, leaving nothing of its own behind. */
__attribute__((format(printf, 1, 2), noreturn)) void child_fail(const char *fmt, ...);
/* The fd the child writes to once it is in its own netns (set in the child by the job ring). */
void child_set_netns_ready(int fd);
/* A private netns; a device pair in it (FAIL when that cannot be). */
void child_netns(void);
void child_devices(const char *kind, const char *name, const char *peer);
/* The caller's privileges (PROTOCOL.md "Caps") around one call of the sequence's caller (a program
 * load, a step's call): the step's caps, else the sequence's, else the agent's own (nothing
 * changes); caller_end gives the agent its whole effective set back. st may be NULL (a load). */
void caller_begin(const struct sequence *s, const struct step *st);
void caller_end(void);
/* A job's function: runs the struct sequence *arg and exits. */
void sequence_job(void *arg);

/* ---- jobs.c: the children in flight, their answers in request order ---- */

#define JOBS_MAX 8

void jobs_set_max(int max);
/* Whether no job may start now; whether any is in flight. */
int jobs_full(void);
int jobs_busy(void);
/* Waits for a child's answer or, given input_fd >= 0, for input; returns whether input came. */
int jobs_wait(int input_fd);
void jobs_finish(void);
/* Runs fn(arg) in a child, as the next job. */
void jobs_start(void (*fn)(void *), void *arg);
/* RAWRUN: from jobs_discard_begin, answers are counted instead of sent; jobs_discard_end returns
 * how many did not end in DONE. */
void jobs_discard_begin(void);
uint64_t jobs_discard_end(void);

/* ---- gcov.c: a coverage kernel's counters (GCOV_RESET, GCOV_DUMP) ---- */

/* Zeroes every gcov counter (debugfs mounted if needed): GCOV_RESET ok, or FAIL. */
void gcov_reset(void);
/* Sends every .gcda of debugfs's gcov directory (GCDA lines, then GCOV_DUMP), or FAIL. */
void gcov_dump(void);

/* ---- bench.c: RAWBENCH and RAWRUN ---- */

void bench_rawbench(uint64_t n);
/* -1: the input was not k SEQ blocks (out of step). */
int bench_rawrun(struct lineio *in, uint64_t k);

#endif /* MPROG_AGENT_H */
