// SPDX-License-Identifier: GPL-2.0-only
/*
 * The request parser: a SEQ block (PROTOCOL.md "One sequence") read into a struct sequence. A
 * block that is wrong is still read to its END, with the first error kept for the FAIL answer.
 */
#include "agent.h"

#include <ctype.h>

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

/* ---- values ---- */

int parse_num(const char *s, uint64_t max, uint64_t *out)
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
	/* device kinds (dev_create) and qdisc kinds (qdisc_add/qdisc_delete); step_missing pairs them */
	if (strcmp(v, "veth") && strcmp(v, "netkit") && strcmp(v, "clsact") && strcmp(v, "ingress"))
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
	else if (strcmp(v, "flow_dissector") == 0)
		*out = BPF_PROG_TYPE_FLOW_DISSECTOR;
	else
		return -1;
	return 0;
}

static int parse_map_type(const char *v, uint32_t *out)
{
	if (strcmp(v, "cgroup_storage") == 0)
		*out = BPF_MAP_TYPE_CGROUP_STORAGE;
	else if (strcmp(v, "percpu_cgroup_storage") == 0)
		*out = BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
	else if (strcmp(v, "array") == 0)
		*out = BPF_MAP_TYPE_ARRAY;
	else
		return -1;
	return 0;
}

/* maps=<m>,<m>...: map indices of maps declared before, at most PROG_MAPS_MAX. */
static int parse_prog_maps(const struct sequence *s, const char *v, struct object *o)
{
	char buf[LINE_MAX_LEN], *save = NULL;

	if (strncmp(v, "maps=", 5) || strlen(v + 5) >= sizeof(buf))
		return -1;
	strcpy(buf, v + 5);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		uint32_t m;

		if (o->n_maps == PROG_MAPS_MAX || parse_u32(t, &m) || m >= (uint32_t)s->n_maps)
			return -1;
		o->maps[o->n_maps++] = (int)m;
	}
	return o->n_maps ? 0 : -1;
}

static int parse_cgroup_index(const struct sequence *s, const char *v, int *out)
{
	uint32_t c;

	if (parse_u32(v, &c) || c >= (uint32_t)s->n_cgroups)
		return -1;
	*out = (int)c;
	return 0;
}

/* ---- STEP lines ---- */

/* raw=OFF:HEX,OFF:HEX...: every byte inside asz (which comes first); kept for the call. */
static int parse_raw(struct step *st, const char *v)
{
	const char *p = v;

	if (st->asz == 0 || st->raw)
		return -1;
	while (*p) {
		char *end;
		unsigned long off = strtoul(p, &end, 10);
		size_t n = 0;

		if (end == p || *end != ':')
			return -1;
		for (p = end + 1; isxdigit((unsigned char)p[0]) && isxdigit((unsigned char)p[1]); p += 2)
			n++;
		if (n == 0 || off + n > st->asz || (*p && *p != ','))
			return -1;
		if (*p)
			p++;
	}
	st->raw = strdup(v);
	return st->raw ? 0 : -1;
}

/* ns=s (the sequence's netns, which needs its NETNS line) or ns=f:<fd>. */
static int parse_ns(const struct sequence *s, const char *v, struct step *st)
{
	if (!strcmp(v, "s")) {
		st->ns = NS_SELF;
		return s->has_netns ? 0 : -1;
	}
	st->ns = NS_FD;
	return strncmp(v, "f:", 2) ? -1 : parse_u32(v + 2, &st->ns_fd);
}

/* The keys that name objects, cgroups, devices and the netns; 1 when `key` is none of them. */
static int parse_step_target_key(struct sequence *s, struct step *st, const char *key, const char *v)
{
	if (!strcmp(key, "ns"))
		return parse_ns(s, v, st);
	if (!strcmp(key, "cg"))
		return parse_cgroup_index(s, v, &st->cg);
	if (!strcmp(key, "parent"))
		return parse_cgroup_index(s, v, &st->parent);
	if (!strcmp(key, "prog"))
		return parse_obj(s, v, &st->prog);
	if (!strcmp(key, "link"))
		return parse_obj(s, v, &st->link);
	if (!strcmp(key, "old"))
		return parse_obj(s, v, &st->old);
	if (!strcmp(key, "dev"))
		return parse_dev(v, &st->dev);
	if (!strcmp(key, "rel"))
		return parse_ref(s, v, &st->rel);
	if (!strcmp(key, "rep"))
		return parse_ref(s, v, &st->rep);
	return 1;
}

/* The keys that carry numbers and dev_create's names; -1 for an unknown key. */
static int parse_step_value_key(struct step *st, const char *key, const char *v)
{
	if (!strcmp(key, "arrays"))
		return parse_u32(v, &st->arrays) || st->arrays > 15 ? -1 : 0;
	if (!strcmp(key, "type"))
		return parse_u32(v, &st->type);
	if (!strcmp(key, "flags"))
		return parse_u32(v, &st->flags);
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
	if (!strcmp(key, "asz"))
		return parse_u32(v, &st->asz) || st->asz == 0 || st->asz > ATTR_SIZE_MAX ? -1 : 0;
	if (!strcmp(key, "raw"))
		return parse_raw(st, v);
	if (!strcmp(key, "caps")) {
		st->has_caps = 1;
		return parse_num(v, UINT64_MAX, &st->caps);
	}
	return -1;
}

static int parse_step_key(struct sequence *s, struct step *st, const char *key, const char *v)
{
	int ret = parse_step_target_key(s, st, key, v);

	return ret == 1 ? parse_step_value_key(st, key, v) : ret;
}

static int is_dev_kind(const char *kind)
{
	return !strcmp(kind, "veth") || !strcmp(kind, "netkit");
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
		return !st->name[0] ? "name=" : !is_dev_kind(st->kind) ? "kind=veth|netkit" : !st->peer[0] ? "peer=" : NULL;
	case OP_DEV_DELETE:
		return !st->dev.by_name ? "dev=n:<name>" : NULL;
	case OP_QDISC_ADD:
	case OP_QDISC_DELETE:
		return !st->dev.by_name ? "dev=n:<name>" : is_dev_kind(st->kind) || !st->kind[0] ? "kind=clsact|ingress" : NULL;
	case OP_CGROUP_CREATE:
	case OP_CGROUP_DELETE:
		return st->cg < 0 ? "cg=" : NULL;
	case OP_PROG_DETACH:
	case OP_QUERY:
		return NULL;
	}
	return NULL;
}

/* The key=value tokens of step i; 0, or -1 with the error recorded. */
static int parse_step_keys(struct sequence *s, struct step *st, uint32_t i, char **tok, int ntok)
{
	for (int t = 3; t < ntok; t++) {
		char *eq = strchr(tok[t], '=');

		if (!eq) {
			seq_error(s, "step %u: %s is not key=value", i, tok[t]);
			return -1;
		}
		*eq = 0;
		if (parse_step_key(s, st, tok[t], eq + 1)) {
			seq_error(s, "step %u: bad %s=%s", i, tok[t], eq + 1);
			return -1;
		}
	}
	return 0;
}

/* STEP <i> <op> key=value ... */
static void parse_step(struct sequence *s, char **tok, int ntok)
{
	uint32_t i;
	struct step *st;
	const char *missing;
	int op;

	if (ntok < 3 || parse_u32(tok[1], &i) || i >= (uint32_t)s->n_steps) {
		seq_error(s, "bad STEP line (index out of range or missing op)");
		return;
	}
	st = &s->steps[i];
	*st = (struct step){ .prog = -1, .link = -1, .old = -1, .cg = -1, .parent = -1, .arrays = 15 };
	op = mprog_op_of(tok[2]);
	if (op < 0) {
		seq_error(s, "step %u: unknown op %s", i, tok[2]);
		return;
	}
	st->op = (enum mprog_op)op;
	if (parse_step_keys(s, st, i, tok, ntok))
		return;
	missing = step_missing(st);
	if (missing)
		seq_error(s, "step %u: %s needs %s", i, tok[2], missing);
}

/* ---- the other lines of a SEQ block ---- */

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

/* DEV <kind> <name> <peer> */
static void parse_dev_line(struct sequence *s, char **tok, int ntok)
{
	struct device d = { 0 }, *nd;

	if (ntok != 4 || parse_kind(tok[1], d.kind) || parse_name(tok[2], d.name) || parse_name(tok[3], d.peer)) {
		seq_error(s, "bad DEV line");
		return;
	}
	nd = realloc(s->devices, (size_t)(s->n_devices + 1) * sizeof(*nd));
	if (!nd) {
		seq_error(s, "out of memory");
		return;
	}
	s->devices = nd;
	s->devices[s->n_devices++] = d;
}

/* PROG <obj> <type> <name> [<expected>] [maps=<m>,...] and LINK <obj> <name> */
static void parse_object_line(struct sequence *s, char **tok, int ntok)
{
	int is_link = tok[0][0] == 'L', obj, has_maps = !is_link && ntok > 4 && !strncmp(tok[ntok - 1], "maps=", 5);
	int n_fields = ntok - has_maps;
	struct object *o;

	if ((is_link ? ntok != 3 : n_fields != 4 && n_fields != 5) || parse_obj(s, tok[1], &obj)) {
		seq_error(s, "bad %s line", tok[0]);
		return;
	}
	o = &s->objects[obj];
	o->is_link = is_link;
	if (parse_name(tok[is_link ? 2 : 3], o->name) || (!is_link && parse_prog_type(tok[2], &o->prog_type)) ||
	    (!is_link && n_fields == 5 && parse_u32(tok[4], &o->expected_attach_type)) ||
	    (has_maps && parse_prog_maps(s, tok[ntok - 1], o)))
		seq_error(s, "bad %s line for object %d", tok[0], obj);
}

/* MAP <m> <type> <name>: the maps, in index order, before the programs that name them. */
static void parse_map_line(struct sequence *s, char **tok, int ntok)
{
	struct map_decl m = { .fd = -1 }, *nm;
	uint32_t index;

	if (ntok != 4 || parse_u32(tok[1], &index) || index != (uint32_t)s->n_maps || parse_map_type(tok[2], &m.type) ||
	    parse_name(tok[3], m.name)) {
		seq_error(s, "bad MAP line");
		return;
	}
	nm = realloc(s->maps, (size_t)(s->n_maps + 1) * sizeof(*nm));
	if (!nm) {
		seq_error(s, "out of memory");
		return;
	}
	s->maps = nm;
	s->maps[s->n_maps++] = m;
}

/* CAPS <mask>: the effective capabilities of the sequence's caller (bit n: capability n). */
static void parse_caps_line(struct sequence *s, char **tok, int ntok)
{
	if (ntok != 2 || s->has_caps || parse_num(tok[1], UINT64_MAX, &s->caps)) {
		seq_error(s, "bad CAPS line");
		return;
	}
	s->has_caps = 1;
}

/* One line of the block but END. */
static void parse_block_line(struct sequence *s, char **tok, int ntok)
{
	if (!strcmp(tok[0], "CAPS"))
		parse_caps_line(s, tok, ntok);
	else if (!strcmp(tok[0], "NETNS") && ntok == 1 && !s->has_netns)
		s->has_netns = 1;
	else if (!strcmp(tok[0], "DEV"))
		parse_dev_line(s, tok, ntok);
	else if (!strcmp(tok[0], "MAP"))
		parse_map_line(s, tok, ntok);
	else if (!strcmp(tok[0], "PROG") || !strcmp(tok[0], "LINK"))
		parse_object_line(s, tok, ntok);
	else if (!strcmp(tok[0], "CGROUP"))
		parse_cgroup_line(s, tok, ntok);
	else if (!strcmp(tok[0], "STEP"))
		parse_step(s, tok, ntok);
	else
		seq_error(s, "unexpected %s inside SEQ", tok[0]);
}

/* ---- the block ---- */

/* SEQ <n_objects> <n_steps> [nobpftool]: the sequence's tables, every entry not yet declared. */
static void start_sequence(struct sequence *s, char **head, int nhead)
{
	uint32_t n_objects, n_steps;

	*s = (struct sequence){ 0 };
	if ((nhead != 3 && (nhead != 4 || strcmp(head[3], "nobpftool"))) || parse_u32(head[1], &n_objects) ||
	    parse_u32(head[2], &n_steps) || n_objects > 100000 || n_steps > 1000000) {
		seq_error(s, "bad SEQ line");
		n_objects = n_steps = 0;
	}
	s->n_objects = (int)n_objects;
	s->n_steps = (int)n_steps;
	s->no_bpftool = nhead == 4;
	s->netns_fd = -1;
	s->objects = calloc(n_objects + 1, sizeof(*s->objects));
	s->steps = calloc(n_steps + 1, sizeof(*s->steps));
	s->devices = calloc(1, sizeof(*s->devices));
	if (!s->objects || !s->steps || !s->devices)
		seq_error(s, "out of memory");
	for (uint32_t o = 0; s->objects && o < n_objects; o++)
		s->objects[o] = (struct object){ .fd = -1, .is_link = -1 };
	for (uint32_t i = 0; s->steps && i < n_steps; i++)
		s->steps[i].op = (enum mprog_op)-1; /* no STEP line yet */
}

/* Every object and step declared: the block's last check. */
static void check_complete(struct sequence *s)
{
	for (int o = 0; o < s->n_objects && !s->error[0]; o++)
		if (s->objects[o].is_link < 0)
			seq_error(s, "object %d has no PROG or LINK line", o);
	for (int i = 0; i < s->n_steps && !s->error[0]; i++)
		if ((int)s->steps[i].op < 0)
			seq_error(s, "step %d has no STEP line", i);
}

int read_sequence(struct lineio *in, char **head, int nhead, struct sequence *s)
{
	char line[LINE_MAX_LEN], *tok[MAX_TOKENS];
	int ntok, r;

	start_sequence(s, head, nhead);
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
		if (!strcmp(tok[0], "END"))
			break;
		parse_block_line(s, tok, ntok);
	}
	if (r != LINE_OK && r != LINE_TOO_LONG)
		return -1;
	check_complete(s);
	return 0;
}

void free_sequence(struct sequence *s)
{
	for (int i = 0; s->steps && i < s->n_steps; i++)
		free(s->steps[i].raw);
	free(s->cgroups);
	free(s->maps);
	free(s->objects);
	free(s->steps);
	free(s->devices);
}
