// SPDX-License-Identifier: GPL-2.0-only
/*
 * mprog-agent: replays lowered mprog-seq/1 sequences with raw bpf(2) on the kernel it runs on
 * and answers in the line protocol of PROTOCOL.md.
 *
 * The bpf(2) and rtnetlink ABI is defined here rather than taken from the linux uapi headers: the agent is
 * built on machines whose headers may be older than the kernels it talks to, and the layouts it
 * needs are fixed by the uapi (checked by the _Static_asserts below).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROTOCOL_VERSION 1

/* The agent's own fds live at or above this, so a sequence's objects get fds from 3 up. */
#define CHANNEL_FD_MIN 100

#include "kernel-abi.h"

/* Moves an fd of the agent's own above the ones a sequence's objects get; -1 on failure. */
static int agent_fd(int fd)
{
	int high = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, CHANNEL_FD_MIN);

	if (fd >= 0)
		close(fd);
	return high;
}

/* ---- output: whole lines with write(2), so a forked child never inherits buffered text ---- */

static int out_fd = 1;

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_grow(struct sbuf *sb, size_t more)
{
	if (sb->len + more + 1 <= sb->cap)
		return;
	sb->cap = (sb->len + more + 1) * 2;
	sb->p = realloc(sb->p, sb->cap);
	if (!sb->p)
		_exit(3);
}

static void sb_add(struct sbuf *sb, const char *s, size_t len)
{
	sb_grow(sb, len);
	memcpy(sb->p + sb->len, s, len);
	sb->len += len;
	sb->p[sb->len] = 0;
}

__attribute__((format(printf, 2, 3)))
static void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	sb_grow(sb, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(sb->p + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

/* The host is gone when the line cannot be written: nothing left to answer to. */
static void write_all(const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(out_fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(1);
		p += n;
		len -= (size_t)n;
	}
}

/*
 * A sequence's child holds its reply lines and writes them into its answer pipe at once when it
 * ends: a write per line would wake the parent (and, under TCG, switch address spaces) for each of
 * a sequence's lines. A child that dies before flushing is reported FAIL by the parent anyway.
 */
#define HELD_MAX (64 * 1024)
static struct sbuf held;
static int holding;

static void flush_held(void)
{
	if (held.len)
		write_all(held.p, held.len);
	held.len = 0;
}

static void sb_send(struct sbuf *sb)
{
	sb_add(sb, "\n", 1);
	if (holding) {
		sb_add(&held, sb->p, sb->len);
		if (held.len >= HELD_MAX)
			flush_held();
	} else {
		write_all(sb->p, sb->len);
	}
	free(sb->p);
	*sb = (struct sbuf){ 0 };
}

__attribute__((format(printf, 1, 2)))
static void reply(const char *fmt, ...)
{
	struct sbuf sb = { 0 };
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	sb_grow(&sb, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(sb.p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb.len = (size_t)n;
	sb_send(&sb);
}

/* ---- input ---- */

#define LINE_MAX_LEN 4096

struct lineio {
	int fd;
	int overlong; /* dropping the rest of a line longer than LINE_MAX_LEN */
	size_t len;
	char buf[LINE_MAX_LEN];
};

enum { LINE_EOF, LINE_OK, LINE_TOO_LONG, LINE_ERROR };

/* Whether a whole line is already buffered, so read_line will not block. */
static int line_waiting(const struct lineio *in)
{
	return memchr(in->buf, '\n', in->len) != NULL;
}

/* Reads one line into out (LINE_OK); a line too long for it is skipped whole (LINE_TOO_LONG). */
static int read_line(struct lineio *in, char *out)
{
	for (;;) {
		char *nl = memchr(in->buf, '\n', in->len);
		ssize_t n;

		if (nl) {
			size_t len = (size_t)(nl - in->buf);
			int overlong = in->overlong;

			memcpy(out, in->buf, len);
			out[len] = 0;
			if (len && out[len - 1] == '\r')
				out[len - 1] = 0;
			memmove(in->buf, nl + 1, in->len - len - 1);
			in->len -= len + 1;
			in->overlong = 0;
			return overlong ? LINE_TOO_LONG : LINE_OK;
		}
		if (in->len == sizeof(in->buf)) {
			in->overlong = 1;
			in->len = 0;
		}
		n = read(in->fd, in->buf + in->len, sizeof(in->buf) - in->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return LINE_ERROR;
		if (n == 0)
			return LINE_EOF;
		in->len += (size_t)n;
	}
}

/* ---- a sequence, as lowered by the host ---- */

#define NAME_LEN 16 /* IFNAMSIZ and BPF_OBJ_NAME_LEN, both with the NUL */

enum op {
	OP_PROG_ATTACH, OP_PROG_DETACH, OP_LINK_CREATE, OP_LINK_UPDATE, OP_LINK_DETACH,
	OP_LINK_CLOSE, OP_PROG_CLOSE, OP_LINK_INFO, OP_QUERY, OP_DEV_CREATE, OP_DEV_DELETE,
	OP_CGROUP_CREATE, OP_CGROUP_DELETE,
};
#define OP_LAST OP_CGROUP_DELETE

static const char *const op_names[] = {
	[OP_PROG_ATTACH] = "prog_attach", [OP_PROG_DETACH] = "prog_detach",
	[OP_LINK_CREATE] = "link_create", [OP_LINK_UPDATE] = "link_update",
	[OP_LINK_DETACH] = "link_detach", [OP_LINK_CLOSE] = "link_close",
	[OP_PROG_CLOSE] = "prog_close", [OP_LINK_INFO] = "link_info", [OP_QUERY] = "query",
	[OP_DEV_CREATE] = "dev_create", [OP_DEV_DELETE] = "dev_delete",
	[OP_CGROUP_CREATE] = "cgroup_create", [OP_CGROUP_DELETE] = "cgroup_delete",
};

struct object {
	int is_link;
	uint32_t prog_type;
	uint32_t expected_attach_type; /* at load; 0: none */
	char name[NAME_LEN];
	int fd; /* -1: closed or never opened */
	uint32_t id; /* 0 until known */
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
	enum op op;
	int prog, link, old; /* object indices, -1: absent */
	int cg, parent; /* cgroup indices, -1: absent (cg: the target is dev; parent: the sequence's root) */
	uint32_t arrays; /* query arrays passed: 1 prog_ids, 2 prog_attach_flags, 4 link_ids, 8 link_attach_flags */
	struct dev_ref dev;
	uint32_t type, flags, count, qflags, aflags;
	struct ref rel, rep;
	uint64_t rev;
	char name[NAME_LEN], kind[8], peer[NAME_LEN];
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
	int n_objects, n_steps, n_devices, n_cgroups;
	struct cgroup_name *cgroups;
	struct object *objects;
	struct step *steps;
	struct device *devices;
	char error[256]; /* first lowering error; the sequence is answered with FAIL */
	int no_bpftool;  /* SEQ ... nobpftool: answer every B line with "-" */
};

__attribute__((format(printf, 2, 3)))
static void seq_error(struct sequence *s, const char *fmt, ...)
{
	va_list ap;

	if (s->error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
}

static int parse_num(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	int neg = *s == '-';
	uint64_t v;

	if (!*(s + neg))
		return -1;
	errno = 0;
	v = strtoull(s + neg, &end, 10);
	if (errno || *end || s[neg] < '0' || s[neg] > '9')
		return -1;
	/* Negative numbers are the two's complement of their field, as C would pass them. */
	if (neg) {
		if (v > (max >> 1) + 1)
			return -1;
		v = (~v + 1) & max;
	} else if (v > max) {
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;

	if (parse_num(s, UINT32_MAX, &v))
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_name(const char *s, char *out)
{
	size_t len = strlen(s);

	if (len == 0 || len >= NAME_LEN)
		return -1;
	memcpy(out, s, len + 1);
	return 0;
}

static int parse_obj(const struct sequence *s, const char *v, int *out)
{
	uint32_t obj;

	if (parse_u32(v, &obj) || obj >= (uint32_t)s->n_objects)
		return -1;
	*out = (int)obj;
	return 0;
}

static int parse_ref(const struct sequence *s, const char *v, struct ref *r)
{
	if (v[0] && v[1] == ':') {
		switch (v[0]) {
		case 'f':
			r->kind = REF_FD;
			return parse_obj(s, v + 2, &r->obj);
		case 'd':
			r->kind = REF_ID;
			return parse_obj(s, v + 2, &r->obj);
		case 'v':
			r->kind = REF_VALUE;
			return parse_u32(v + 2, &r->value);
		}
	}
	return -1;
}

static int parse_dev(const char *v, struct dev_ref *d)
{
	if (strncmp(v, "n:", 2) == 0) {
		d->by_name = 1;
		return parse_name(v + 2, d->name);
	}
	if (strncmp(v, "i:", 2) == 0) {
		d->by_name = 0;
		return parse_u32(v + 2, &d->ifindex);
	}
	return -1;
}

static int parse_kind(const char *v, char *out)
{
	if (strcmp(v, "veth") && strcmp(v, "netkit"))
		return -1;
	strcpy(out, v);
	return 0;
}

static int parse_prog_type(const char *v, uint32_t *out)
{
	if (strcmp(v, "sched_cls") == 0)
		*out = BPF_PROG_TYPE_SCHED_CLS;
	else if (strcmp(v, "xdp") == 0)
		*out = BPF_PROG_TYPE_XDP;
	else if (strcmp(v, "cgroup_skb") == 0)
		*out = BPF_PROG_TYPE_CGROUP_SKB;
	else if (strcmp(v, "cgroup_sockopt") == 0)
		*out = BPF_PROG_TYPE_CGROUP_SOCKOPT;
	else
		return -1;
	return 0;
}

#define MAX_TOKENS 24

/* Splits line into space-separated tokens; returns how many, or -1 for more than MAX_TOKENS. */
static int tokenize(char *line, char **tok)
{
	int n = 0;
	char *save, *t;

	for (t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		if (n == MAX_TOKENS)
			return -1;
		tok[n++] = t;
	}
	return n;
}

static int parse_cgroup_index(const struct sequence *s, const char *v, int *out)
{
	uint32_t c;

	if (parse_u32(v, &c) || c >= (uint32_t)s->n_cgroups)
		return -1;
	*out = (int)c;
	return 0;
}

static int parse_step_key(struct sequence *s, struct step *st, const char *key, const char *v)
{
	if (!strcmp(key, "cg"))
		return parse_cgroup_index(s, v, &st->cg);
	if (!strcmp(key, "parent"))
		return parse_cgroup_index(s, v, &st->parent);
	if (!strcmp(key, "arrays"))
		return parse_u32(v, &st->arrays) || st->arrays > 15 ? -1 : 0;
	if (!strcmp(key, "prog"))
		return parse_obj(s, v, &st->prog);
	if (!strcmp(key, "link"))
		return parse_obj(s, v, &st->link);
	if (!strcmp(key, "old"))
		return parse_obj(s, v, &st->old);
	if (!strcmp(key, "dev"))
		return parse_dev(v, &st->dev);
	if (!strcmp(key, "type"))
		return parse_u32(v, &st->type);
	if (!strcmp(key, "flags"))
		return parse_u32(v, &st->flags);
	if (!strcmp(key, "rel"))
		return parse_ref(s, v, &st->rel);
	if (!strcmp(key, "rep"))
		return parse_ref(s, v, &st->rep);
	if (!strcmp(key, "rev"))
		return parse_num(v, UINT64_MAX, &st->rev);
	if (!strcmp(key, "count"))
		return parse_u32(v, &st->count);
	if (!strcmp(key, "qflags"))
		return parse_u32(v, &st->qflags);
	if (!strcmp(key, "aflags"))
		return parse_u32(v, &st->aflags);
	if (!strcmp(key, "name"))
		return parse_name(v, st->name);
	if (!strcmp(key, "kind"))
		return parse_kind(v, st->kind);
	if (!strcmp(key, "peer"))
		return parse_name(v, st->peer);
	return -1;
}

/* Which object each op needs; a lowering that forgets it is a host bug, not a kernel answer. */
static const char *step_missing(const struct step *st)
{
	switch (st->op) {
	case OP_LINK_CREATE:
	case OP_LINK_UPDATE:
		return st->link < 0 ? "link=" : st->prog < 0 ? "prog=" : NULL;
	case OP_LINK_DETACH:
	case OP_LINK_CLOSE:
	case OP_LINK_INFO:
		return st->link < 0 ? "link=" : NULL;
	case OP_PROG_ATTACH:
	case OP_PROG_CLOSE:
		return st->prog < 0 ? "prog=" : NULL;
	case OP_DEV_CREATE:
		return !st->name[0] ? "name=" : !st->kind[0] ? "kind=" : !st->peer[0] ? "peer=" : NULL;
	case OP_DEV_DELETE:
		return !st->dev.by_name ? "dev=n:<name>" : NULL;
	case OP_CGROUP_CREATE:
	case OP_CGROUP_DELETE:
		return st->cg < 0 ? "cg=" : NULL;
	case OP_PROG_DETACH:
	case OP_QUERY:
		return NULL;
	}
	return NULL;
}

/* CGROUP <c> <name> <parent|-> <declared>: the cgroup names, in index order, before the steps. */
static void parse_cgroup_line(struct sequence *s, char **tok, int ntok)
{
	struct cgroup_name c = { .parent = -1, .fd = -1 }, *nc;
	uint32_t index, declared;

	if (ntok != 5 || parse_u32(tok[1], &index) || index != (uint32_t)s->n_cgroups || parse_name(tok[2], c.name) ||
	    (strcmp(tok[3], "-") && parse_cgroup_index(s, tok[3], &c.parent)) || parse_u32(tok[4], &declared) || declared > 1) {
		seq_error(s, "bad CGROUP line");
		return;
	}
	c.declared = (int)declared;
	nc = realloc(s->cgroups, (size_t)(s->n_cgroups + 1) * sizeof(*nc));
	if (!nc) {
		seq_error(s, "out of memory");
		return;
	}
	s->cgroups = nc;
	s->cgroups[s->n_cgroups++] = c;
}

static void parse_step(struct sequence *s, char **tok, int ntok)
{
	uint32_t i;
	struct step *st;
	const char *missing;
	int t;

	if (ntok < 3 || parse_u32(tok[1], &i) || i >= (uint32_t)s->n_steps) {
		seq_error(s, "bad STEP line (index out of range or missing op)");
		return;
	}
	st = &s->steps[i];
	*st = (struct step){ .prog = -1, .link = -1, .old = -1, .cg = -1, .parent = -1, .arrays = 15 };
	for (t = 0; t <= OP_LAST; t++)
		if (!strcmp(tok[2], op_names[t]))
			break;
	if (t > OP_LAST) {
		seq_error(s, "step %u: unknown op %s", i, tok[2]);
		return;
	}
	st->op = (enum op)t;
	for (t = 3; t < ntok; t++) {
		char *eq = strchr(tok[t], '=');

		if (!eq) {
			seq_error(s, "step %u: %s is not key=value", i, tok[t]);
			return;
		}
		*eq = 0;
		if (parse_step_key(s, st, tok[t], eq + 1)) {
			seq_error(s, "step %u: bad %s=%s", i, tok[t], eq + 1);
			return;
		}
	}
	missing = step_missing(st);
	if (missing)
		seq_error(s, "step %u: %s needs %s", i, tok[2], missing);
}

/* Reads the lines after SEQ up to END. Returns -1 when the input ended or broke. */
static int read_sequence(struct lineio *in, char **head, int nhead, struct sequence *s)
{
	char line[LINE_MAX_LEN], *tok[MAX_TOKENS];
	uint32_t n_objects, n_steps;
	int ntok, r;

	*s = (struct sequence){ 0 };
	if ((nhead != 3 && (nhead != 4 || strcmp(head[3], "nobpftool"))) || parse_u32(head[1], &n_objects) ||
	    parse_u32(head[2], &n_steps) || n_objects > 100000 || n_steps > 1000000) {
		seq_error(s, "bad SEQ line");
		n_objects = n_steps = 0;
	}
	s->n_objects = (int)n_objects;
	s->n_steps = (int)n_steps;
	s->no_bpftool = nhead == 4;
	s->objects = calloc(n_objects + 1, sizeof(*s->objects));
	s->steps = calloc(n_steps + 1, sizeof(*s->steps));
	s->devices = calloc(1, sizeof(*s->devices));
	if (!s->objects || !s->steps || !s->devices)
		seq_error(s, "out of memory");
	for (uint32_t o = 0; s->objects && o < n_objects; o++)
		s->objects[o] = (struct object){ .fd = -1, .is_link = -1 };
	for (uint32_t i = 0; s->steps && i < n_steps; i++)
		s->steps[i].op = (enum op)-1;

	while ((r = read_line(in, line)) == LINE_OK || r == LINE_TOO_LONG) {
		ntok = r == LINE_OK ? tokenize(line, tok) : -1;
		if (ntok < 0) {
			seq_error(s, "line too long or with more than %d tokens", MAX_TOKENS);
			continue;
		}
		if (ntok == 0 || s->error[0]) {
			if (ntok == 1 && !strcmp(tok[0], "END"))
				break;
			continue;
		}
		if (!strcmp(tok[0], "END")) {
			break;
		} else if (!strcmp(tok[0], "DEV")) {
			struct device d = { 0 }, *nd;

			if (ntok != 4 || parse_kind(tok[1], d.kind) || parse_name(tok[2], d.name) ||
			    parse_name(tok[3], d.peer)) {
				seq_error(s, "bad DEV line");
				continue;
			}
			nd = realloc(s->devices, (size_t)(s->n_devices + 1) * sizeof(*nd));
			if (!nd) {
				seq_error(s, "out of memory");
				continue;
			}
			s->devices = nd;
			s->devices[s->n_devices++] = d;
		} else if (!strcmp(tok[0], "PROG") || !strcmp(tok[0], "LINK")) {
			int is_link = tok[0][0] == 'L', obj;
			struct object *o;

			if ((is_link ? ntok != 3 : ntok != 4 && ntok != 5) || parse_obj(s, tok[1], &obj)) {
				seq_error(s, "bad %s line", tok[0]);
				continue;
			}
			o = &s->objects[obj];
			o->is_link = is_link;
			if (parse_name(tok[is_link ? 2 : 3], o->name) ||
			    (!is_link && parse_prog_type(tok[2], &o->prog_type)) ||
			    (!is_link && ntok == 5 && parse_u32(tok[4], &o->expected_attach_type)))
				seq_error(s, "bad %s line for object %d", tok[0], obj);
		} else if (!strcmp(tok[0], "CGROUP")) {
			parse_cgroup_line(s, tok, ntok);
		} else if (!strcmp(tok[0], "STEP")) {
			parse_step(s, tok, ntok);
		} else {
			seq_error(s, "unexpected %s inside SEQ", tok[0]);
		}
	}
	if (r != LINE_OK && r != LINE_TOO_LONG)
		return -1;
	for (int o = 0; o < s->n_objects && !s->error[0]; o++)
		if (s->objects[o].is_link < 0)
			seq_error(s, "object %d has no PROG or LINK line", o);
	for (int i = 0; i < s->n_steps && !s->error[0]; i++)
		if ((int)s->steps[i].op < 0)
			seq_error(s, "step %d has no STEP line", i);
	return 0;
}

static void free_sequence(struct sequence *s)
{
	free(s->cgroups);
	free(s->objects);
	free(s->steps);
	free(s->devices);
}

/* ---- the bpf(2) side of a step ---- */

static uint32_t fd_of(const struct sequence *s, int obj)
{
	if (obj < 0)
		return 0;
	return s->objects[obj].fd >= 0 ? (uint32_t)s->objects[obj].fd : CLOSED_FD_BASE + (uint32_t)obj;
}

static uint32_t ref_value(const struct sequence *s, const struct ref *r)
{
	switch (r->kind) {
	case REF_FD:
		return fd_of(s, r->obj);
	case REF_ID:
		return s->objects[r->obj].id;
	case REF_VALUE:
		return r->value;
	case REF_NONE:
		break;
	}
	return 0;
}

static uint32_t dev_of(const struct dev_ref *d)
{
	return d->by_name ? dev_index(d->name) : d->ifindex;
}

/* ---- cgroups (PROTOCOL.md "Cgroups"): a private root per sequence, below it its cgroups ---- */

/* A cgroup name whose cgroup was never made: a number no fd has. */
#define CLOSED_CGROUP_FD_BASE 2000000u

/* Why cgroup2 could not be mounted (main), or empty. */
static char cgroup_error[128];
/* This sequence's private root, <cgroup2_dir>/mprog-seq-<pid>; empty until made. */
static char cgroup_root[PATH_MAX];

__attribute__((format(printf, 1, 2), noreturn)) static void child_fail(const char *fmt, ...);

static void cgroup_root_of(pid_t pid, char *out, size_t len)
{
	snprintf(out, len, "%s/mprog-seq-%d", cgroup2_dir, (int)pid);
}

/* The attach target of a step: a cgroup's fd (a number no fd has for one never made), or a device. */
static uint32_t target_of(const struct sequence *s, const struct step *st)
{
	if (st->cg < 0)
		return dev_of(&st->dev);
	return s->cgroups[st->cg].fd >= 0 ? (uint32_t)s->cgroups[st->cg].fd : CLOSED_CGROUP_FD_BASE + (uint32_t)st->cg;
}

/* mkdir and open of cgroup c under cgroup `parent` (-1: the root); a parent never made has no
 * directory (ENOENT). An fd the name had before stays open. 0 or -errno. */
static int cgroup_make(struct sequence *s, int c, int parent)
{
	struct cgroup_name *cg = &s->cgroups[c];
	int fd;

	if (parent >= 0 && s->cgroups[parent].fd < 0)
		return -ENOENT;
	fd = cgroup_mkdir_open(parent < 0 ? cgroup_root : s->cgroups[parent].path, cg->name, cg->path);
	if (fd < 0)
		return fd;
	cg->fd = fd;
	return 0;
}

static void reply_cgroup(const struct cgroup_name *cg)
{
	reply("G %s %llu", cg->name, (unsigned long long)cgroup_id_of(cg->fd));
}

/* rmdir of cgroup c, then the wait until the kernel has released its programs and links (it does
 * so asynchronously): no later step's answer depends on timing. Its fd stays open. */
static int cgroup_unmake(struct sequence *s, int c)
{
	struct cgroup_name *cg = &s->cgroups[c];
	int ret;

	if (cg->fd < 0)
		return -ENOENT;
	if (rmdir(cg->path) < 0)
		return -errno;
	ret = cgroup_wait_released(cgroup_root);
	if (ret)
		child_fail("waiting for the kernel to release cgroup %s: %s", cg->name, strerror(-ret));
	return 0;
}

/* The private root and the declared cgroups, after the programs (their fds come next). A kernel
 * whose cgroup query writes no revision has no cgroup mprog API: the sequence is unsupported. */
static void child_cgroups(struct sequence *s)
{
	int fd, api;

	if (!s->n_cgroups)
		return;
	if (!cgroup2_dir[0])
		child_fail("unsupported: no cgroup v2 here (%s)", cgroup_error);
	cgroup_root_of(getpid(), cgroup_root, sizeof(cgroup_root));
	cgroup_remove_tree(cgroup_root); /* left by an agent that died with this pid */
	if (mkdir(cgroup_root, 0755) < 0) {
		int err = errno;

		cgroup_root[0] = 0;
		child_fail("mkdir %s/mprog-seq-%d: %s", cgroup2_dir, (int)getpid(), strerror(err));
	}
	fd = open(cgroup_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	api = fd >= 0 && cgroup_mprog_api(fd);
	if (fd >= 0)
		close(fd);
	if (!api)
		child_fail("unsupported: this kernel's cgroup attach points have no mprog API (their query writes no "
			   "revision; it came with Linux 6.17 and 6.12.110)");
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

/* C lines: the programs the cgroup above the sequence's root holds (the hierarchy's root, the only
 * ancestor; a kernel that does not know a type answers EINVAL for it). */
static void reply_cgroup_ancestors(void)
{
	int fd = open(cgroup2_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	for (size_t t = 0; fd >= 0 && t < sizeof(cgroup_attach_types) / sizeof(cgroup_attach_types[0]); t++) {
		static uint32_t ids[64];
		struct attr_prog_query a = { .target_ifindex = (uint32_t)fd, .attach_type = cgroup_attach_types[t],
					     .count = 64, .prog_ids = ptr(ids) };
		struct sbuf sb = { 0 };

		if (sys_bpf(BPF_PROG_QUERY, &a, sizeof(a)) != 0 || a.count == 0)
			continue;
		sb_printf(&sb, "C 0 %u %u ", a.attach_type, a.attach_flags);
		for (uint32_t i = 0; i < a.count && i < 64; i++)
			sb_printf(&sb, "%s%u", i ? "," : "", ids[i]);
		sb_send(&sb);
	}
	if (fd >= 0)
		close(fd);
}

/* The sequence's cgroups go (deepest first), the kernel releases their programs and links, then
 * the root goes: nothing of the sequence is left attached when the next one looks. */
static void cgroup_teardown(void)
{
	if (!cgroup_root[0])
		return;
	cgroup_remove_below(cgroup_root);
	cgroup_wait_released(cgroup_root);
	rmdir(cgroup_root);
	cgroup_root[0] = 0;
}

static void reply_devices(const char *name, const char *peer)
{
	reply("D %s %u", name, if_nametoindex(name));
	reply("D %s %u", peer, if_nametoindex(peer));
}

static void list_add(struct sbuf *sb, const char *key, const uint32_t *v, uint32_t n)
{
	sb_printf(sb, " %s=", key);
	if (n == 0)
		sb_add(sb, "-", 1);
	for (uint32_t i = 0; i < n; i++)
		sb_printf(sb, "%s%u", i ? "," : "", v[i]);
}

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
static const char *bpftool_path;
/* A bpftool built for another C library runs through its own dynamic loader (the host's case). */
static const char *bpftool_loader, *bpftool_libraries;
static const char *stdbuf_path;
static const char *zygote_path;
/* The agent's end of the zygote's socket; -1: no bpftool. */
static int zygote_fd = -1;
static pid_t zygote_pid = -1;
/* Whether this sequence's queries run bpftool (set in the sequence's child). */
static int bpftool_wanted = 1;

struct bpftool {
	pid_t pid;       /* -1: none (not wanted, not available, or gone) */
	int in, out;     /* its stdin and stdout, on agent fds */
	struct sbuf buf; /* output not yet taken; buf.p[0..scanned) is scanned */
	size_t scanned, start; /* start: offset of the element being read */
	int depth, in_str, esc;
};

static struct bpftool bt = { .pid = -1, .in = -1, .out = -1 };

/* Loads bpftool once, as the zygote every sequence's bpftool is forked from. */
static void zygote_start(void)
{
	int sv[2];
	pid_t pid;

	if (!bpftool_path || !stdbuf_path || !zygote_path ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		/* Above stdio, without O_CLOEXEC: the zygote finds it by MPROG_ZYGOTE_FD. */
		int null = open("/dev/null", O_RDWR), sock = fcntl(sv[1], F_DUPFD, 3);
		char sock_text[16], preload[2 * PATH_MAX + 2];

		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		snprintf(sock_text, sizeof(sock_text), "%d", sock);
		snprintf(preload, sizeof(preload), "%s %s", zygote_path, stdbuf_path);
		setenv("MPROG_ZYGOTE_FD", sock_text, 1);
		setenv("LD_PRELOAD", preload, 1);
		setenv("_STDBUF_I", "L", 1);
		setenv("_STDBUF_O", "L", 1);
		/* Every symbol bound once, in the zygote, rather than lazily in each fork. */
		setenv("LD_BIND_NOW", "1", 1);
		if (bpftool_loader)
			execl(bpftool_loader, bpftool_loader, "--library-path", bpftool_libraries,
			      bpftool_path, "-j", "batch", "file", "-", (char *)NULL);
		else
			execl(bpftool_path, "bpftool", "-j", "batch", "file", "-", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return;
	}
	zygote_fd = agent_fd(sv[0]);
	zygote_pid = pid;
}

/* A zygote that died (killed, out of memory) is started again: without it no query is checked. */
static void zygote_keep(void)
{
	if (zygote_pid > 0 && waitpid(zygote_pid, NULL, WNOHANG) == zygote_pid) {
		close(zygote_fd);
		zygote_fd = -1;
		zygote_pid = -1;
		zygote_start();
	}
}

/* Asks the zygote for a bpftool in this process's namespaces on the given pipes; its pid, or -1. */
static pid_t zygote_fork(int stdin_fd, int stdout_fd)
{
	int reply[2], pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	int fds[4] = { pidfd, stdin_fd, stdout_fd, -1 };
	char byte = 0, control[CMSG_SPACE(sizeof(fds))] = { 0 };
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			      .msg_controllen = sizeof(control) };
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	pid_t pid = -1;

	if (pidfd < 0 || pipe2(reply, O_CLOEXEC) < 0) {
		if (pidfd >= 0)
			close(pidfd);
		return -1;
	}
	fds[3] = reply[1];
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cmsg), fds, sizeof(fds));
	if (sendmsg(zygote_fd, &msg, 0) == 1) {
		ssize_t n;

		close(reply[1]); /* so that a zygote gone before it answers reads as end of file */
		reply[1] = -1;
		do
			n = read(reply[0], &pid, sizeof(pid));
		while (n < 0 && errno == EINTR);
		if (n != sizeof(pid))
			pid = -1;
	}
	close(pidfd);
	close(reply[0]);
	if (reply[1] >= 0)
		close(reply[1]);
	return pid > 0 ? pid : -1;
}

/*
 * bpftool's `cgroup show` parses all of the kernel's BTF (/sys/kernel/btf/vmlinux: ~100 ms under
 * TCG) on every call, only to name LSM programs, which no sequence attaches. In the agent's
 * private mount namespace (cgroup2_setup), which each sequence's bpftool enters, an empty tmpfs
 * hides it; nothing else the agent or bpftool does reads it.
 */
static void hide_kernel_btf(void)
{
	/* A kernel without tmpfs keeps it visible: bpftool is then only slower. */
	if (access("/sys/kernel/btf/vmlinux", F_OK) == 0)
		mount("none", "/sys/kernel/btf", "tmpfs", MS_RDONLY, "size=4k");
}

static void bpftool_start(void)
{
	int in[2], out[2];

	if (zygote_fd < 0 || pipe2(in, O_CLOEXEC) < 0)
		return;
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return;
	}
	bt.pid = zygote_fork(in[0], out[1]);
	close(in[0]);
	close(out[1]);
	if (bt.pid < 0) {
		close(in[1]);
		close(out[0]);
		return;
	}
	bt.in = agent_fd(in[1]);
	bt.out = agent_fd(out[0]);
}

/* Gone when this returns (the zygote reaps it); its pipes close with the sequence's other fds. */
static void bpftool_stop(void)
{
	int pidfd = bt.pid > 0 ? (int)syscall(SYS_pidfd_open, bt.pid, 0) : -1;
	struct pollfd exited = { .fd = pidfd, .events = POLLIN };

	if (bt.pid > 0)
		kill(bt.pid, SIGKILL);
	while (pidfd >= 0 && poll(&exited, 1, -1) < 0 && errno == EINTR)
		;
	if (pidfd >= 0)
		close(pidfd);
	bt.pid = -1;
}

/* Scans what arrived; returns 1 when the next element of the output array is complete (it then
 * starts at bt.start and ends at bt.scanned). */
static int bpftool_scan(void)
{
	while (bt.scanned < bt.buf.len) {
		char c = bt.buf.p[bt.scanned++];

		if (bt.in_str) {
			if (bt.esc)
				bt.esc = 0;
			else if (c == '\\')
				bt.esc = 1;
			else if (c == '"')
				bt.in_str = 0;
			continue;
		}
		if (c == '"') {
			bt.in_str = 1;
			bt.esc = 0;
		} else if (c == '[' || c == '{') {
			if (++bt.depth == 2)
				bt.start = bt.scanned - 1;
		} else if ((c == ']' || c == '}') && --bt.depth == 1) {
			return 1;
		}
	}
	return 0;
}

/*
 * bpftool's batch element for `net show dev <the queried device>` (plain `net show` for a name a
 * batch line cannot carry: bpftool cuts a line at '#' and reads quotes and backslashes), or "-"
 * when bpftool fails.
 */
static void bpftool_command(int step, const char *cmd, int len);

static void reply_bpftool(int step, const struct dev_ref *dev)
{
	char cmd[IF_NAMESIZE + 16], name_buf[IF_NAMESIZE];
	const char *name = dev->by_name ? dev->name : if_indextoname(dev->ifindex, name_buf);
	int len = !name || strpbrk(name, "#'\"\\") ? snprintf(cmd, sizeof(cmd), "net show\n")
						    : snprintf(cmd, sizeof(cmd), "net show dev %s\n", name);

	bpftool_command(step, cmd, len);
}

/* bpftool's element for `cgroup show <the queried cgroup> [effective]`; "-" for a raw target fd
 * or a cgroup never made. */
static void reply_bpftool_cgroup(int step, const struct sequence *s, const struct step *st)
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

/* Feeds one batch command to bpftool and forwards its element as `B <step> <json>`. */
static void bpftool_command(int step, const char *cmd, int len)
{
	char buf[4096];
	ssize_t n;

	if (bt.pid < 0 || write(bt.in, cmd, (size_t)len) != len) {
		bpftool_stop();
		reply("B %d -", step);
		return;
	}
	while (!bpftool_scan()) {
		n = read(bt.out, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			bpftool_stop();
			reply("B %d -", step);
			return;
		}
		sb_add(&bt.buf, buf, (size_t)n);
	}
	{
		struct sbuf line = { 0 };

		sb_printf(&line, "B %d ", step);
		sb_add(&line, bt.buf.p + bt.start, bt.scanned - bt.start);
		sb_send(&line);
	}
	/* Whatever follows the element stays for the next scan. */
	memmove(bt.buf.p, bt.buf.p + bt.scanned, bt.buf.len - bt.scanned);
	bt.buf.len -= bt.scanned;
	bt.scanned = 0;
}

/* Query arrays: the kernel never writes more than the attached count (at most 64 per point). */
#define QUERY_ARRAY_MAX 1024

static void step_query(const struct sequence *s, int i, const struct step *st)
{
	uint32_t n = st->count < QUERY_ARRAY_MAX ? st->count : QUERY_ARRAY_MAX;
	static uint32_t ids[QUERY_ARRAY_MAX], lids[QUERY_ARRAY_MAX], pfl[QUERY_ARRAY_MAX],
		lfl[QUERY_ARRAY_MAX];
	struct attr_prog_query a = {
		.target_ifindex = target_of(s, st),
		.attach_type = st->type,
		.query_flags = st->qflags,
		.attach_flags = st->aflags,
		.count = st->count,
	};
	struct sbuf sb = { 0 };
	long ret;

	if (st->count) {
		memset(ids, 0, n * sizeof(ids[0]));
		memset(lids, 0, n * sizeof(lids[0]));
		memset(pfl, 0, n * sizeof(pfl[0]));
		memset(lfl, 0, n * sizeof(lfl[0]));
		/* The arrays the step names (all four unless it says otherwise). */
		a.prog_ids = st->arrays & 1 ? ptr(ids) : 0;
		a.prog_attach_flags = st->arrays & 2 ? ptr(pfl) : 0;
		a.link_ids = st->arrays & 4 ? ptr(lids) : 0;
		a.link_attach_flags = st->arrays & 8 ? ptr(lfl) : 0;
	}
	ret = sys_bpf(BPF_PROG_QUERY, &a, sizeof(a));
	sb_printf(&sb, "R %d %ld", i, ret);
	if (ret == 0 || ret == -ENOSPC) {
		uint32_t written = a.count < st->count ? a.count : st->count;

		if (written > n)
			written = n;
		sb_printf(&sb, " count=%u rev=%llu aflags=%u", a.count,
			  (unsigned long long)a.revision, a.attach_flags);
		list_add(&sb, "ids", ids, written);
		list_add(&sb, "lids", lids, written);
		list_add(&sb, "pfl", pfl, written);
		list_add(&sb, "lfl", lfl, written);
	}
	sb_send(&sb);
	/* The host compares only a full answer (every attached entry written) with bpftool's. */
	if (ret == 0 && a.count <= st->count && (st->arrays & 1) && st->cg >= 0)
		reply_bpftool_cgroup(i, s, st);
	else if (ret == 0 && a.count <= st->count && (st->arrays & 1))
		reply_bpftool(i, &st->dev);
	else
		reply("B %d -", i);
}

static void run_step(struct sequence *s, int i)
{
	struct step *st = &s->steps[i];
	struct object *link = st->link >= 0 ? &s->objects[st->link] : NULL;
	struct object *prog = st->prog >= 0 ? &s->objects[st->prog] : NULL;
	struct link_info_net info;
	long ret;

	switch (st->op) {
	case OP_PROG_ATTACH:
	case OP_PROG_DETACH: {
		struct attr_prog_attach a = {
			.target_ifindex = target_of(s, st),
			.attach_bpf_fd = fd_of(s, st->prog),
			.attach_type = st->type,
			.attach_flags = st->flags,
			.replace_bpf_fd = ref_value(s, &st->rep),
			.relative = ref_value(s, &st->rel),
			.expected_revision = st->rev,
		};

		ret = sys_bpf(st->op == OP_PROG_ATTACH ? BPF_PROG_ATTACH : BPF_PROG_DETACH, &a, sizeof(a));
		reply("R %d %ld", i, ret);
		return;
	}
	case OP_LINK_CREATE: {
		struct attr_link_create a = {
			.prog_fd = fd_of(s, st->prog),
			.target_ifindex = target_of(s, st),
			.attach_type = st->type,
			.flags = st->flags,
			.relative = ref_value(s, &st->rel),
			.expected_revision = st->rev,
		};

		ret = sys_bpf(BPF_LINK_CREATE, &a, sizeof(a));
		/* The name now means the new link; an fd it named before stays open (and attached). */
		link->fd = ret >= 0 ? (int)ret : -1;
		link->id = ret >= 0 && link_info((int)ret, &info) == 0 ? info.id : 0;
		reply("R %d %ld id=%u", i, ret, link->id);
		return;
	}
	case OP_LINK_UPDATE: {
		struct attr_link_update a = {
			.link_fd = fd_of(s, st->link),
			.new_prog_fd = fd_of(s, st->prog),
			.flags = st->flags,
			.old_prog_fd = fd_of(s, st->old),
		};

		reply("R %d %ld", i, sys_bpf(BPF_LINK_UPDATE, &a, sizeof(a)));
		return;
	}
	case OP_LINK_DETACH: {
		struct attr_link_detach a = { .link_fd = fd_of(s, st->link) };

		reply("R %d %ld", i, sys_bpf(BPF_LINK_DETACH, &a, sizeof(a)));
		return;
	}
	case OP_LINK_CLOSE:
	case OP_PROG_CLOSE: {
		struct object *o = st->op == OP_LINK_CLOSE ? link : prog;

		ret = close((int)fd_of(s, st->op == OP_LINK_CLOSE ? st->link : st->prog)) ? -errno : 0;
		o->fd = -1;
		reply("R %d %ld", i, ret);
		return;
	}
	case OP_LINK_INFO: {
		struct link_info_cgroup any; /* a tcx / netkit link fills the link_info_net part of it */

		ret = link_info_cg((int)fd_of(s, st->link), &any);
		memcpy(&info, &any, sizeof(info));
		if (ret)
			reply("R %d %ld", i, ret);
		else if (any.type == BPF_LINK_TYPE_CGROUP)
			reply("R %d %ld prog=%u cgid=%llu atype=%u", i, ret, any.prog_id,
			      (unsigned long long)any.cgroup_id, any.attach_type);
		else
			reply("R %d %ld prog=%u ifindex=%u atype=%u", i, ret, info.prog_id, info.ifindex,
			      info.attach_type);
		return;
	}
	case OP_QUERY:
		step_query(s, i, st);
		return;
	case OP_DEV_CREATE:
		ret = dev_add(st->kind, st->name, st->peer);
		reply("R %d %ld", i, ret);
		if (ret == 0)
			reply_devices(st->name, st->peer);
		return;
	case OP_DEV_DELETE:
		reply("R %d %d", i, dev_del(dev_of(&st->dev)));
		return;
	case OP_CGROUP_CREATE:
		ret = cgroup_make(s, st->cg, st->parent);
		reply("R %d %ld", i, ret);
		if (ret == 0)
			reply_cgroup(&s->cgroups[st->cg]);
		return;
	case OP_CGROUP_DELETE:
		reply("R %d %d", i, cgroup_unmake(s, st->cg));
		return;
	}
}

/* ---- the sequence's world (PROTOCOL.md "World") ---- */


/*
 * Prog and link ids are the kernel's, global to it, and a sequence may name any number: what the
 * kernel answers then depends on which objects exist and on the ids it hands out. A sequence runs
 * its programs' loads and its steps holding the world lock, so no other sequence (of this agent,
 * or of another on the same kernel) makes or frees a bpf object meanwhile, and it reports what
 * exists outside it when it starts. Sequences still build their netns and devices side by side.
 * The lock is the agent's own robust mutex, then a flock() of WORLD_LOCK for the other agents of
 * the kernel; a kernel without CONFIG_FILE_LOCKING (a tinyconfig build) has no flock(), and in a
 * guest this agent is the only one.
 */
#define WORLD_LOCK_DIR "/run"
#define WORLD_LOCK WORLD_LOCK_DIR "/mprog-agent.lock"
#define WORLD_IDS_MAX 4096

/* Shared by the agent and its sequences' processes. */
struct world {
	pthread_mutex_t lock; /* robust: a sequence that dies holding it does not stop the others */
	/* The programs of sequences whose netns is held (see hold_netns): they may still be attached
	 * there, and go when that netns is torn down. Their types are known, so reply_world need not
	 * ask the kernel for them. */
	uint32_t n_held;
	struct { uint32_t id, type; } held[WORLD_IDS_MAX];
};

static struct world *world;
/* The agent's flow dissector program: a netns link of it shows the id the link idr gives next. */
static int probe_prog_fd = -1;
/* CONFIG_NETKIT, as the kernel answers for it (see probe_netkit). */
static int netkit_built;
/* Whether this process holds the world, and its flock()ed WORLD_LOCK (-1: none). */
static int world_locked;
static int world_lock_fd = -1;

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

static void world_init(void)
{
	pthread_mutexattr_t attr;

	world = mmap(NULL, sizeof(*world), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (world == MAP_FAILED) {
		perror("mprog-agent: mmap");
		exit(1);
	}
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&world->lock, &attr);
	mkdir(WORLD_LOCK_DIR, 0755); /* a guest's rootfs may lack it */
	probe_prog_fd = agent_fd(prog_load(BPF_PROG_TYPE_FLOW_DISSECTOR, "linkidprobe"));
	netkit_built = probe_netkit();
}

/* Both locks go with the process: a sequence that dies holding the world lets it go. */
static int world_lock(void)
{
	int ret = pthread_mutex_lock(&world->lock);

	if (ret == EOWNERDEAD) /* that sequence's objects went with its process */
		ret = pthread_mutex_consistent(&world->lock);
	if (ret)
		return -ret;
	world_locked = 1;
	world_lock_fd = agent_fd(open(WORLD_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600));
	if (world_lock_fd < 0)
		return -errno;
	while (flock(world_lock_fd, LOCK_EX) < 0) {
		if (errno == ENOSYS) { /* no CONFIG_FILE_LOCKING: no other agent can share the lock either */
			close(world_lock_fd);
			world_lock_fd = -1;
			return 0;
		}
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

static void world_lock_release(void)
{
	if (world_lock_fd >= 0)
		close(world_lock_fd);
	world_lock_fd = -1;
	if (world_locked)
		pthread_mutex_unlock(&world->lock);
	world_locked = 0;
}

/* The fds a sequence's process holds besides its objects: its answer pipe, the world lock,
 * bpftool's pipes. */
static int outside_fds(int *fds)
{
	int n = 0;

	fds[n++] = out_fd;
	if (world_lock_fd >= 0)
		fds[n++] = world_lock_fd;
	if (bt.pid > 0) {
		fds[n++] = bt.in;
		fds[n++] = bt.out;
	}
	return n;
}

/* Closes every fd from 3 up but the outside ones. */
static void close_fds_but_outside(void)
{
	int keep[4], n = outside_fds(keep);
	unsigned from = 3;

	for (int i = 1; i < n; i++) /* ascending */
		for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (int i = 0; i < n; i++) {
		if ((unsigned)keep[i] > from)
			close_range(from, (unsigned)keep[i] - 1, 0);
		from = (unsigned)keep[i] + 1;
	}
	close_range(from, ~0u, 0);
}

/* The end of a sequence's turn: its objects are freed (their fds closed) before the next one looks. */
static void world_unlock(void)
{
	bpftool_stop();
	close_fds_but_outside();
	world_lock_release();
}

/* One past the id of a link made and dropped at once: the id the next link gets (idr_alloc_cyclic); 0 if unknown. */
static uint32_t probe_next_link_id(void)
{
	int ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	struct attr_link_create a = { .prog_fd = (uint32_t)probe_prog_fd, .target_ifindex = (uint32_t)ns, .attach_type = BPF_FLOW_DISSECTOR };
	long fd = ns >= 0 && probe_prog_fd >= 0 ? sys_bpf(BPF_LINK_CREATE, &a, sizeof(a)) : -1;
	struct link_info_net info;
	uint32_t next = fd >= 0 && link_info((int)fd, &info) == 0 ? info.id + 1 : 0;

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
	uint32_t lo = 0, hi = world->n_held;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (world->held[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < world->n_held && world->held[lo].id == id ? (int)world->held[lo].type : -1;
}

/* W and O lines: the ids and objects of the kernel this sequence runs in, outside the sequence. */
static void reply_world(const struct sequence *s, uint32_t next_link_id)
{
	struct sbuf sb = { 0 };
	int fds[4], n = outside_fds(fds);

	sb_printf(&sb, "W next_link=%u netkit=%d fds=", next_link_id, netkit_built);
	for (int i = 0; i < n; i++)
		sb_printf(&sb, "%s%d", i ? "," : "", fds[i]);
	if (s->n_cgroups)
		sb_printf(&sb, " cgdepth=1");
	sb_send(&sb);
	if (s->n_cgroups)
		reply_cgroup_ancestors();
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

/* This sequence's programs stay alive while attached in its netns, which the parent holds. Its
 * ids are above every held one (ids count up, and sequences load one at a time). */
static void world_hold_ids(const struct sequence *s)
{
	for (int o = 0; o < s->n_objects && world->n_held < WORLD_IDS_MAX; o++)
		if (!s->objects[o].is_link && s->objects[o].id)
			world->held[world->n_held++] = (typeof(world->held[0])){ s->objects[o].id, s->objects[o].prog_type };
}

/* ---- per-sequence child ---- */

/* Exit status of a child that already answered FAIL itself. */
#define CHILD_REPORTED 2

__attribute__((format(printf, 1, 2), noreturn))
static void child_fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cgroup_teardown();
	world_unlock();
	reply("FAIL %s", msg);
	flush_held();
	_exit(CHILD_REPORTED);
}

/* Written once the child is in its own netns, so the parent can hold that netns (see start_job). */
static int netns_ready_fd = -1;

/* A private netns (lo down, as unshare leaves it): every sequence starts with no devices and nothing attached. */
static void child_netns(void)
{
	if (unshare(CLONE_NEWNET) < 0)
		child_fail("unshare(CLONE_NEWNET): %s (needs CAP_SYS_ADMIN)", strerror(errno));
	if (netns_ready_fd >= 0 && write(netns_ready_fd, "", 1) < 0)
		child_fail("telling the parent about the netns: %s", strerror(errno));
}

static void child_devices(const char *kind, const char *name, const char *peer)
{
	int ret = dev_add(kind, name, peer);

	/* rtnetlink's answer for a link kind the kernel does not have (e.g. netkit before 6.7). */
	if (ret == -EOPNOTSUPP)
		child_fail("unsupported: this kernel cannot create %s devices (creating %s/%s: %s)", kind,
			   name, peer, strerror(-ret));
	if (ret)
		child_fail("creating %s pair %s/%s: %s", kind, name, peer, strerror(-ret));
}

static int has_query(const struct sequence *s)
{
	for (int i = 0; i < s->n_steps; i++)
		if (s->steps[i].op == OP_QUERY)
			return 1;
	return 0;
}

static void child_sequence(struct sequence *s)
{
	uint32_t next_link_id;
	int ret;

	bpftool_wanted = !s->no_bpftool;
	holding = 1;
	child_netns();
	for (int d = 0; d < s->n_devices; d++) {
		child_devices(s->devices[d].kind, s->devices[d].name, s->devices[d].peer);
		reply_devices(s->devices[d].name, s->devices[d].peer);
	}
	if (bpftool_wanted && has_query(s))
		bpftool_start();
	ret = world_lock();
	if (ret)
		child_fail("locking %s: %s", WORLD_LOCK, strerror(-ret));
	next_link_id = probe_next_link_id();
	close_fds_but_outside(); /* the agent's fds: a sequence's numbers must not find them */
	for (int o = 0; o < s->n_objects; o++) {
		struct object *obj = &s->objects[o];
		int fd;

		if (obj->is_link)
			continue;
		fd = prog_load_expected(obj->prog_type, obj->expected_attach_type, obj->name);
		if (fd < 0)
			child_fail("loading program %s: %s", obj->name, strerror(-fd));
		obj->fd = fd;
		obj->id = prog_id(fd);
		reply("P %d %u", o, obj->id);
	}
	child_cgroups(s);
	world_hold_ids(s);
	reply_world(s, next_link_id);
	for (int i = 0; i < s->n_steps; i++)
		run_step(s, i);
	cgroup_teardown();
	world_unlock();
	reply("DONE");
	flush_held();
	_exit(0);
}

static void child_rawbench(uint64_t n)
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
	reply("RAWBENCH %llu %lld", (unsigned long long)n,
	      (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
	_exit(0);
}

/*
 * The network namespaces of finished sequences, held open and let go NETNS_BATCH at a time: the
 * kernel tears dead namespaces down in batches (cleanup_net), sharing the RCU waits and device
 * unregistration work that a namespace at a time would pay for each.
 */
#define NETNS_BATCH 16
static int held_netns[NETNS_BATCH];
static int n_held_netns;

static void hold_netns(pid_t pid, int ready)
{
	char path[64], byte;

	if (read(ready, &byte, 1) != 1)
		return; /* the child failed before it had a netns */
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	held_netns[n_held_netns] = agent_fd(open(path, O_RDONLY | O_CLOEXEC));
	if (held_netns[n_held_netns] >= 0)
		n_held_netns++;
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
 * all), and the world lock keeps other agents' sequences out.
 */
static void release_held_netns(void)
{
	world_lock(); /* best effort: the wait below matters most to this agent's own sequences */
	while (n_held_netns)
		close(held_netns[--n_held_netns]);
	for (uint32_t i = 0; i < world->n_held; i++)
		wait_prog_gone(world->held[i].id);
	world->n_held = 0;
	world_lock_release();
}

/*
 * Sequences in flight. Up to max_jobs sequences run at once, each in its own child (own netns, own
 * fds): a sequence spends a fifth of its time under TCG waiting for RCU grace periods (a device's
 * deletion, a netns's teardown), and another sequence's work fills that wait. Answers still leave
 * in request order: a child writes its answer into a pipe of its own, and the parent forwards it
 * once every earlier answer is out. Prog and link ids are global to the kernel, so concurrent
 * sequences get interleaved ids; the host names ids per sequence, which hides that.
 */
#define JOBS_MAX 8

struct job {
	pid_t pid;
	int answer_fd; /* read end of the child's answer pipe; -1 once the child is done */
	struct sbuf answer;
};

static struct job jobs[JOBS_MAX]; /* a ring, in request order from jobs[first_job] */
static int first_job, n_jobs, max_jobs = 1;

static struct job *job_at(int k)
{
	return &jobs[(first_job + k) % JOBS_MAX];
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
		char root[PATH_MAX];

		/* It could not remove its cgroups: what is left of them goes now. */
		cgroup_root_of(job->pid, root, sizeof(root));
		if (cgroup2_dir[0])
			cgroup_remove_tree(root);
		sb_printf(&job->answer, "FAIL sequence process killed by signal %d\n", WTERMSIG(status));
	}
	else if (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != CHILD_REPORTED)
		sb_printf(&job->answer, "FAIL sequence process exited with status %d\n", WEXITSTATUS(status));
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

/* RAWRUN: answers are not sent but counted, those that did not end in DONE apart. */
static int discard_answers;
static uint64_t n_discarded_failed;

/* Forwards the answers of the finished jobs at the head of the ring. */
static void forward_finished(void)
{
	while (n_jobs && job_at(0)->answer_fd < 0) {
		struct job *job = job_at(0);

		if (!discard_answers) {
			write_all(job->answer.p, job->answer.len);
		} else {
			if (job->answer.len < 5 || strcmp(job->answer.p + job->answer.len - 5, "DONE\n"))
				n_discarded_failed++;
		}
		free(job->answer.p);
		first_job = (first_job + 1) % JOBS_MAX;
		n_jobs--;
	}
}

/* Waits for a child's answer or, given input_fd >= 0, for input; returns whether input came. */
static int wait_jobs(int input_fd)
{
	struct pollfd p[JOBS_MAX + 1];
	int n = n_jobs; /* forward_finished below changes n_jobs */

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

static void finish_jobs(void)
{
	while (n_jobs)
		wait_jobs(-1);
}

/* Runs fn(arg) in a child, as the next job; a child that died without answering is answered FAIL for. */
static void start_job(void (*fn)(void *), void *arg)
{
	struct job *job;
	int ready[2] = { -1, -1 }, answer[2] = { -1, -1 };

	if (n_held_netns == NETNS_BATCH) {
		finish_jobs();
		release_held_netns();
	}
	zygote_keep();
	job = job_at(n_jobs++);
	*job = (struct job){ .answer_fd = -1 };
	if (pipe2(ready, O_CLOEXEC) < 0 || (ready[0] = agent_fd(ready[0])) < 0 || (ready[1] = agent_fd(ready[1])) < 0 ||
	    pipe2(answer, O_CLOEXEC) < 0 || (answer[0] = agent_fd(answer[0])) < 0 || (answer[1] = agent_fd(answer[1])) < 0) {
		sb_printf(&job->answer, "FAIL pipe: %s\n", strerror(errno));
		goto out;
	}
	job->pid = fork();
	if (job->pid < 0) {
		sb_printf(&job->answer, "FAIL fork: %s\n", strerror(errno));
		goto out;
	}
	if (job->pid == 0) {
		close(ready[0]);
		close(answer[0]);
		netns_ready_fd = ready[1];
		out_fd = answer[1];
		fn(arg);
	}
	job->answer_fd = answer[0];
	answer[0] = -1;
	close(ready[1]);
	ready[1] = -1;
	hold_netns(job->pid, ready[0]);
out:
	for (int i = 0; i < 2; i++) {
		if (ready[i] >= 0)
			close(ready[i]);
		if (answer[i] >= 0)
			close(answer[i]);
	}
}

static void run_sequence(void *arg)
{
	child_sequence(arg);
}

static void run_rawbench(void *arg)
{
	child_rawbench(*(uint64_t *)arg);
}

/*
 * The first tcx program on any device flips the kernel's ingress/egress static keys and the last
 * one flips them back: each flip patches kernel text, which under TCG costs more than the rest
 * of an attach. Programs on the guest's own lo (init netns, which sequences never see) hold both
 * keys on, so sequences only ever move a counter. Best effort: a kernel without tcx says EINVAL.
 */
static void hold_tcx_keys(void)
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

/*
 * RAWRUN: the k sequences that follow, run as replay runs them but with their answers dropped and
 * the whole batch timed inside the guest: the rate the kernel allows the same calls, against
 * which the host measures what the channel and the harness cost.
 */
static int rawrun(struct lineio *in, uint64_t k)
{
	struct sequence *seqs = calloc(k ? k : 1, sizeof(*seqs));
	char line[LINE_MAX_LEN], *tok[MAX_TOKENS];
	const char *error = NULL;
	struct timespec t0, t1;
	uint64_t i;

	if (!seqs)
		_exit(3); /* out of memory, as in sb_grow */
	for (i = 0; i < k; i++) {
		int ntok = read_line(in, line) == LINE_OK ? tokenize(line, tok) : -1;

		if (ntok <= 0 || strcmp(tok[0], "SEQ") || read_sequence(in, tok, ntok, &seqs[i]) < 0)
			return -1; /* the input is not what the host promised: out of step for good */
		if (seqs[i].error[0] && !error)
			error = seqs[i].error;
	}
	if (error) {
		reply("FAIL %s", error);
	} else {
		discard_answers = 1;
		n_discarded_failed = 0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (i = 0; i < k; i++) {
			while (n_jobs == max_jobs)
				wait_jobs(-1);
			start_job(run_sequence, &seqs[i]);
		}
		finish_jobs();
		clock_gettime(CLOCK_MONOTONIC, &t1);
		discard_answers = 0;
		reply("RAWRUN %llu %lld %llu", (unsigned long long)k,
		      (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec),
		      (unsigned long long)n_discarded_failed);
	}
	for (i = 0; i < k; i++)
		free_sequence(&seqs[i]);
	free(seqs);
	return 0;
}

/* ---- main loop ---- */

static void usage(void)
{
	fprintf(stderr, "usage: mprog-agent [--dev PATH] [--bpftool PATH [--bpftool-loader LD_SO LIBRARY_PATH] --stdbuf LIBSTDBUF --bpftool-zygote LIB] [--hold-tcx-keys] [--jobs N (1-%d)]\n", JOBS_MAX);
	exit(2);
}

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

int main(int argc, char **argv)
{
	const char *dev = NULL;
	char line[LINE_MAX_LEN], *tok[MAX_TOKENS];
	struct lineio *in;
	struct utsname uts;
	int hello = 0, hold_keys = 0, r;
	uint64_t jobs_arg;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dev") && i + 1 < argc)
			dev = argv[++i];
		else if (!strcmp(argv[i], "--bpftool") && i + 1 < argc)
			bpftool_path = argv[++i];
		else if (!strcmp(argv[i], "--stdbuf") && i + 1 < argc)
			stdbuf_path = argv[++i];
		else if (!strcmp(argv[i], "--bpftool-zygote") && i + 1 < argc)
			zygote_path = argv[++i];
		else if (!strcmp(argv[i], "--bpftool-loader") && i + 2 < argc) {
			bpftool_loader = argv[++i];
			bpftool_libraries = argv[++i];
		}
		else if (!strcmp(argv[i], "--hold-tcx-keys"))
			hold_keys = 1;
		else if (!strcmp(argv[i], "--jobs") && i + 1 < argc && parse_num(argv[++i], JOBS_MAX, &jobs_arg) == 0 && jobs_arg)
			max_jobs = (int)jobs_arg;
		else
			usage();
	}
	signal(SIGPIPE, SIG_IGN);
	in = calloc(1, sizeof(*in));
	if (!in || uname(&uts) < 0) {
		perror("mprog-agent");
		return 1;
	}
	if (dev) {
		int fd = open(dev, O_RDWR | O_NOCTTY);

		if (fd < 0) {
			fprintf(stderr, "mprog-agent: %s: %s\n", dev, strerror(errno));
			return 1;
		}
		in->fd = out_fd = channel_fd(fd);
		close(fd);
	} else {
		in->fd = channel_fd(0);
		out_fd = channel_fd(1);
		stdio_to_null();
	}
	close_inherited();
	zygote_start();
	if (hold_keys)
		hold_tcx_keys();
	world_init();
	if (cgroup2_setup() < 0) /* sequences with cgroups then answer "unsupported" */
		snprintf(cgroup_error, sizeof(cgroup_error), "mounting cgroup2 in a private mount namespace: %s", strerror(errno));
	else
		hide_kernel_btf();

	reply("READY");
	for (;;) {
		int ntok;

		/* A command is taken when a job may start; until it comes, finished answers go out. */
		if ((n_jobs == max_jobs || (n_jobs && !line_waiting(in))) && !wait_jobs(n_jobs < max_jobs ? in->fd : -1))
			continue;
		r = read_line(in, line);
		if (r == LINE_EOF)
			break;
		if (r == LINE_ERROR) {
			perror("mprog-agent: read");
			return 1;
		}
		ntok = r == LINE_OK ? tokenize(line, tok) : -1;
		if (ntok == 0 || (ntok < 0 && !hello))
			continue; /* console noise before the handshake may be anything */
		if (ntok > 0 && hello && !strcmp(tok[0], "SEQ")) {
			struct sequence s;

			if (read_sequence(in, tok, ntok, &s) < 0) {
				finish_jobs();
				return 1;
			}
			if (s.error[0]) {
				finish_jobs();
				reply("FAIL %s", s.error);
			} else {
				start_job(run_sequence, &s);
			}
			free_sequence(&s);
			continue;
		}
		finish_jobs(); /* any other answer goes out after those of the sequences in flight */
		if (ntok < 0) {
			reply("FAIL line too long or with more than %d tokens", MAX_TOKENS);
		} else if (!strcmp(tok[0], "HELLO")) {
			hello = 1;
			reply("HELLO mprog-agent %d %s %s", PROTOCOL_VERSION, uts.release, uts.machine);
		} else if (!hello) {
			continue; /* console noise before the handshake */
		} else if (!strcmp(tok[0], "RAWBENCH")) {
			uint64_t n;

			if (ntok != 2 || parse_num(tok[1], UINT64_MAX, &n)) {
				reply("FAIL bad RAWBENCH line");
			} else {
				start_job(run_rawbench, &n);
				finish_jobs();
			}
		} else if (!strcmp(tok[0], "RAWRUN")) {
			uint64_t k;

			if (ntok != 2 || parse_num(tok[1], 100000, &k)) {
				reply("FAIL bad RAWRUN line");
			} else if (rawrun(in, k) < 0) {
				reply("FAIL RAWRUN: expected %llu SEQ blocks", (unsigned long long)k);
				return 1;
			}
		} else if (!strcmp(tok[0], "BYE")) {
			return 0;
		} else {
			reply("FAIL unknown command %s", tok[0]);
		}
	}
	finish_jobs();
	return 0;
}
