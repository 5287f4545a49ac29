// SPDX-License-Identifier: GPL-2.0-only
/*
 * The bpf(2) side of a step (PROTOCOL.md "One sequence", "Replies"): each op's call with the
 * sequence's objects, devices and cgroups turned into the numbers the kernel reads, and its R
 * line (a query's also its B line).
 */
#include "agent.h"

#include <net/if.h>

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

/* The attach target of a step: a cgroup's fd (a number no fd has for one never made), the netns
 * (BPF_PROG_ATTACH/DETACH act on the caller's own and take target_fd 0, the others an fd of it),
 * or a device. */
static uint32_t target_of(const struct sequence *s, const struct step *st)
{
	if (st->ns == NS_FD)
		return st->ns_fd;
	if (st->ns == NS_SELF)
		return st->op == OP_PROG_ATTACH || st->op == OP_PROG_DETACH ? 0 : (uint32_t)s->netns_fd;
	if (st->cg < 0)
		return dev_of(&st->dev);
	return s->cgroups[st->cg].fd >= 0 ? (uint32_t)s->cgroups[st->cg].fd : CLOSED_CGROUP_FD_BASE + (uint32_t)st->cg;
}

void netns_setup(struct sequence *s)
{
	struct stat st;

	if (!s->has_netns)
		return;
	s->netns_fd = open("/proc/self/ns/net", O_RDONLY);
	if (s->netns_fd < 0 || fstat(s->netns_fd, &st))
		child_fail("opening /proc/self/ns/net: %s", strerror(errno));
	reply("N %llu", (unsigned long long)st.st_ino);
}

void reply_devices(const char *name, const char *peer)
{
	reply("D %s %u", name, if_nametoindex(name));
	reply("D %s %u", peer, if_nametoindex(peer));
}

/* ---- the whole bpf(2) boundary: attr_size, raw and the canary (PROTOCOL.md "attr") ---- */

/* bpf(cmd) with the step's attr: `a` (`len` bytes, the agent's own fields) as a fresh attr of
 * st->asz bytes, the raw bytes over it, 0xa5 after it; a step without attr fields passes `a` as
 * before. The buffer's first `len` bytes are read back into `a` (where the kernel wrote the
 * outputs); *beyond: the kernel changed a byte past asz. */
static long sys_bpf_attr(const struct sequence *s, const struct step *st, int cmd, void *a, size_t len, int *beyond)
{
	long ret;

	*beyond = 0;
	caller_begin(s, st); /* the caller's privileges for the call alone (PROTOCOL.md "Caps") */
	if (!st->asz)
		ret = sys_bpf(cmd, a, (unsigned int)len);
	else
		ret = sys_bpf_sized(cmd, a, len, st->asz, st->raw, beyond);
	caller_end();
	return ret;
}

/* " beyond=1" after an R line's fields when the kernel wrote past attr_size. */
static void beyond_add(struct sbuf *sb, int beyond)
{
	if (beyond)
		sb_add(sb, " beyond=1", 9);
}

static void reply_ret(int i, long ret, int beyond)
{
	reply("R %d %ld%s", i, ret, beyond ? " beyond=1" : "");
}

/* ---- query ---- */

/* The most entries of an array a reply lists: no attach point holds more than 64 programs. */
#define QUERY_REPLY_MAX 1024

static void list_add(struct sbuf *sb, const char *key, const uint32_t *v, uint32_t n)
{
	sb_printf(sb, " %s=", key);
	if (n == 0)
		sb_add(sb, "-", 1);
	for (uint32_t i = 0; i < n; i++)
		sb_printf(sb, "%s%u", i ? "," : "", v[i]);
}

/* The arrays the step names (all four unless it says otherwise). */
static void query_pass_arrays(struct attr_prog_query *a, const struct step *st, const struct query_arrays *q)
{
	a->prog_ids = st->arrays & 1 ? ptr(q->ids) : 0;
	a->prog_attach_flags = st->arrays & 2 ? ptr(q->pfl) : 0;
	a->link_ids = st->arrays & 4 ? ptr(q->lids) : 0;
	a->link_attach_flags = st->arrays & 8 ? ptr(q->lfl) : 0;
}

/* R <i> <ret> count=... rev=... aflags=... ids=... lids=... pfl=... lfl=... */
static void reply_query(int i, long ret, const struct attr_prog_query *a, const struct step *st,
			const struct query_arrays *q, int beyond)
{
	struct sbuf sb = { 0 };

	sb_printf(&sb, "R %d %ld", i, ret);
	if (ret == 0 || ret == -ENOSPC) {
		uint32_t written = a->count < st->count ? a->count : st->count;

		if (written > QUERY_REPLY_MAX)
			written = QUERY_REPLY_MAX;
		sb_printf(&sb, " count=%u rev=%llu aflags=%u", a->count, (unsigned long long)a->revision, a->attach_flags);
		list_add(&sb, "ids", q->ids, written);
		list_add(&sb, "lids", q->lids, written);
		list_add(&sb, "pfl", q->pfl, written);
		list_add(&sb, "lfl", q->lfl, written);
	}
	beyond_add(&sb, beyond);
	sb_send(&sb);
}

static void step_query(const struct sequence *s, int i, const struct step *st)
{
	struct query_arrays q = { 0 };
	struct attr_prog_query a = {
		.target_ifindex = target_of(s, st),
		.attach_type = st->type,
		.query_flags = st->qflags,
		.attach_flags = st->aflags,
		.count = st->count,
	};
	long ret;
	int beyond;

	if (st->count) {
		int err = query_arrays_map(&q, st->count);

		if (err)
			child_fail("step %d: mapping query arrays of %u entries: %s", i, st->count, strerror(-err));
		query_pass_arrays(&a, st, &q);
	}
	ret = sys_bpf_attr(s, st, BPF_PROG_QUERY, &a, sizeof(a), &beyond);
	reply_query(i, ret, &a, st, &q, beyond);
	if (st->count)
		query_arrays_unmap(&q);
	/* The host compares only a full answer (every attached entry written) with bpftool's, of a
	 * query with the agent's own attr (attr_size or raw may hide the arrays from the kernel). */
	if (st->asz || st->ns != NS_NONE) /* bpftool's net show dev has no flow dissector */
		reply("B %d -", i);
	else if (ret == 0 && a.count <= st->count && (st->arrays & 1) && st->cg >= 0)
		bpftool_check_cgroup(i, s, st);
	else if (ret == 0 && a.count <= st->count && (st->arrays & 1))
		bpftool_check_dev(i, &st->dev);
	else
		reply("B %d -", i);
}

/* ---- the other ops ---- */

static void step_prog_attach_detach(const struct sequence *s, int i, const struct step *st)
{
	struct attr_prog_attach a = {
		.target_ifindex = target_of(s, st),
		.attach_bpf_fd = fd_of(s, st->prog),
		.attach_type = st->type,
		.attach_flags = st->flags,
		.replace_bpf_fd = ref_value(s, &st->rep),
		.relative = ref_value(s, &st->rel),
		.expected_revision = st->rev,
	};
	int beyond;
	long ret = sys_bpf_attr(s, st, st->op == OP_PROG_ATTACH ? BPF_PROG_ATTACH : BPF_PROG_DETACH, &a, sizeof(a), &beyond);

	reply_ret(i, ret, beyond);
}

static void step_link_create(struct sequence *s, int i, const struct step *st)
{
	struct object *link = &s->objects[st->link];
	struct attr_link_create a = {
		.prog_fd = fd_of(s, st->prog),
		.target_ifindex = target_of(s, st),
		.attach_type = st->type,
		.flags = st->flags,
		.relative = ref_value(s, &st->rel),
		.expected_revision = st->rev,
	};
	struct link_info_net info;
	int beyond;
	long ret = sys_bpf_attr(s, st, BPF_LINK_CREATE, &a, sizeof(a), &beyond);

	/* The name now means the new link; an fd it named before stays open (and attached). */
	link->fd = ret >= 0 ? (int)ret : -1;
	link->id = ret >= 0 && link_info((int)ret, &info) == 0 ? info.id : 0;
	reply("R %d %ld id=%u%s", i, ret, link->id, beyond ? " beyond=1" : "");
}

static void step_link_update(const struct sequence *s, int i, const struct step *st)
{
	struct attr_link_update a = {
		.link_fd = fd_of(s, st->link),
		.new_prog_fd = fd_of(s, st->prog),
		.flags = st->flags,
		.old_prog_fd = fd_of(s, st->old),
	};
	int beyond;
	long ret = sys_bpf_attr(s, st, BPF_LINK_UPDATE, &a, sizeof(a), &beyond);

	reply_ret(i, ret, beyond);
}

static void step_link_detach(const struct sequence *s, int i, const struct step *st)
{
	struct attr_link_detach a = { .link_fd = fd_of(s, st->link) };
	int beyond;
	long ret = sys_bpf_attr(s, st, BPF_LINK_DETACH, &a, sizeof(a), &beyond);

	reply_ret(i, ret, beyond);
}

/* link_close and prog_close: close(2) of the object's fd (1000000 + obj when it has none). */
static void step_close(struct sequence *s, int i, const struct step *st, int obj)
{
	long ret;

	caller_begin(s, st);
	ret = close((int)fd_of(s, obj)) ? -errno : 0;
	caller_end();

	s->objects[obj].fd = -1;
	reply("R %d %ld", i, ret);
}

static void step_link_info(const struct sequence *s, int i, const struct step *st)
{
	struct link_info_cgroup any; /* a tcx / netkit link fills the link_info_net part of it */
	struct link_info_net info;
	struct attr_info a = { .bpf_fd = fd_of(s, st->link), .info_len = sizeof(any), .info = ptr(&any) };
	int beyond;
	long ret;
	const char *b;

	memset(&any, 0, sizeof(any));
	ret = sys_bpf_attr(s, st, BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a), &beyond);
	b = beyond ? " beyond=1" : "";
	memcpy(&info, &any, sizeof(info));
	if (ret)
		reply("R %d %ld%s", i, ret, b);
	else if (any.type == BPF_LINK_TYPE_CGROUP)
		reply("R %d %ld prog=%u cgid=%llu atype=%u%s", i, ret, any.prog_id, (unsigned long long)any.cgroup_id,
		      any.attach_type, b);
	else if (any.type == BPF_LINK_TYPE_NETNS) /* netns_ino and attach_type where tcx has ifindex's */
		reply("R %d %ld prog=%u netns=%u atype=%u%s", i, ret, info.prog_id, info.ifindex, info.attach_type, b);
	else
		reply("R %d %ld prog=%u ifindex=%u atype=%u%s", i, ret, info.prog_id, info.ifindex, info.attach_type, b);
}

static void step_dev_create(const struct sequence *s, int i, const struct step *st)
{
	long ret;

	caller_begin(s, st);
	ret = dev_add(st->kind, st->name, st->peer);
	caller_end();

	reply("R %d %ld", i, ret);
	if (ret == 0)
		reply_devices(st->name, st->peer);
}

/* rtnetlink's answers without CONFIG_NET_SCHED (no RTM_*QDISC handler: EOPNOTSUPP) and without
 * the clsact/ingress qdisc (qdisc_create finds no such kind: ENOENT, the only ENOENT an exclusive
 * create on the ingress parent can give) say the kernel cannot run the sequence. */
static void step_qdisc(const struct sequence *s, int i, const struct step *st)
{
	int add = st->op == OP_QDISC_ADD;
	uint32_t ifindex = dev_of(&st->dev);
	int ret;

	caller_begin(s, st);
	ret = qdisc_change(add, ifindex, st->kind);
	caller_end();

	if (ret == -EOPNOTSUPP)
		child_fail("unsupported: this kernel has no qdiscs (CONFIG_NET_SCHED; rtnetlink answered %s to %s %s)",
			   strerror(-ret), mprog_op_name(st->op), st->kind);
	if (add && ret == -ENOENT)
		child_fail("unsupported: this kernel has no %s qdisc (CONFIG_NET_SCH_INGRESS)", st->kind);
	reply("R %d %d", i, ret);
}

static void step_cgroup_create(struct sequence *s, int i, const struct step *st)
{
	long ret;

	caller_begin(s, st);
	ret = cgroup_make(s, st->cg, st->parent);
	caller_end();

	reply("R %d %ld", i, ret);
	if (ret == 0)
		reply_cgroup(&s->cgroups[st->cg]);
}

static void step_dev_delete(const struct sequence *s, int i, const struct step *st)
{
	uint32_t ifindex = dev_of(&st->dev);
	int ret;

	caller_begin(s, st);
	ret = dev_del(ifindex);
	caller_end();
	reply("R %d %d", i, ret);
}

/* rmdir(2) as the caller; the wait for the kernel's release of the cgroup (cgroup_unmake's) too,
 * which reads cgroup.stat, as anyone may. */
static void step_cgroup_delete(struct sequence *s, int i, const struct step *st)
{
	int ret;

	caller_begin(s, st);
	ret = cgroup_unmake(s, st->cg);
	caller_end();
	reply("R %d %d", i, ret);
}

/* Every op has its case (-Wswitch-enum); a number that is no op cannot come from the parser. */
void run_step(struct sequence *s, int i)
{
	const struct step *st = &s->steps[i];

	switch (st->op) {
	case OP_PROG_ATTACH:
	case OP_PROG_DETACH:
		step_prog_attach_detach(s, i, st);
		break;
	case OP_LINK_CREATE:
		step_link_create(s, i, st);
		break;
	case OP_LINK_UPDATE:
		step_link_update(s, i, st);
		break;
	case OP_LINK_DETACH:
		step_link_detach(s, i, st);
		break;
	case OP_LINK_CLOSE:
		step_close(s, i, st, st->link);
		break;
	case OP_PROG_CLOSE:
		step_close(s, i, st, st->prog);
		break;
	case OP_LINK_INFO:
		step_link_info(s, i, st);
		break;
	case OP_QUERY:
		step_query(s, i, st);
		break;
	case OP_DEV_CREATE:
		step_dev_create(s, i, st);
		break;
	case OP_DEV_DELETE:
		step_dev_delete(s, i, st);
		break;
	case OP_QDISC_ADD:
	case OP_QDISC_DELETE:
		step_qdisc(s, i, st);
		break;
	case OP_CGROUP_CREATE:
		step_cgroup_create(s, i, st);
		break;
	case OP_CGROUP_DELETE:
		step_cgroup_delete(s, i, st);
		break;
	default:
		child_fail("step %d: op %d has no implementation in the agent", i, (int)st->op);
	}
}
