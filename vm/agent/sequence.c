// SPDX-License-Identifier: GPL-2.0-only
/*
 * The per-sequence child (PROTOCOL.md "One sequence"): its own netns and devices, bpftool, then
 * under the world lock its programs, cgroups and world report, its steps, and its teardown; its
 * answer held and written at once when it ends. A failure answers FAIL and ends it the same way.
 */
#include "agent.h"

#include <sched.h>

static struct {
	/* Written once the child is in its own netns, so the parent can hold that netns. */
	int netns_ready_fd;
	/* The process's own effective set, given back after each call of a caller with caps. */
	int caps_known, caps_changed;
	uint64_t own_caps;
} child = { .netns_ready_fd = -1 };

void child_set_netns_ready(int fd)
{
	child.netns_ready_fd = fd;
}

void child_fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (child.caps_changed && caps_set_effective(child.own_caps) == 0)
		child.caps_changed = 0; /* the teardown as the agent itself */
	cgroups_teardown();
	world_unlock();
	reply("FAIL %s", msg);
	channel_flush_held();
	_exit(CHILD_REPORTED);
}

/* A private netns (lo down, as unshare leaves it): every sequence starts with no devices and nothing attached. */
void child_netns(void)
{
	if (unshare(CLONE_NEWNET) < 0)
		child_fail("unshare(CLONE_NEWNET): %s (needs CAP_SYS_ADMIN)", strerror(errno));
	if (child.netns_ready_fd >= 0 && write(child.netns_ready_fd, "", 1) < 0)
		child_fail("telling the parent about the netns: %s", strerror(errno));
}

void child_devices(const char *kind, const char *name, const char *peer)
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

/* The netns and its initial devices (D lines), side by side with other sequences. */
static void make_devices(const struct sequence *s)
{
	child_netns();
	for (int d = 0; d < s->n_devices; d++) {
		child_devices(s->devices[d].kind, s->devices[d].name, s->devices[d].peer);
		reply_devices(s->devices[d].name, s->devices[d].peer);
	}
}

/* The world lock, and the id the next link gets, seen before the sequence makes any. */
static uint32_t enter_world(void)
{
	uint32_t next_link_id;
	int ret = world_lock();

	if (ret)
		child_fail("locking %s: %s", WORLD_LOCK, strerror(-ret));
	next_link_id = probe_next_link_id();
	close_fds_but_outside(); /* the agent's fds: a sequence's numbers must not find them */
	return next_link_id;
}

void caller_begin(const struct sequence *s, const struct step *st)
{
	uint64_t want, permitted;
	int ret;

	if (!(st && st->has_caps) && !s->has_caps)
		return;
	want = st && st->has_caps ? st->caps : s->caps;
	if (!child.caps_known) {
		ret = caps_get(&child.own_caps, &permitted);
		if (ret)
			child_fail("capget: %s", strerror(-ret));
		child.caps_known = 1;
	}
	if (want & ~child.own_caps)
		child_fail("caps: the agent lacks capabilities the sequence names (has %#llx, wants %#llx)",
			   (unsigned long long)child.own_caps, (unsigned long long)want);
	ret = caps_set_effective(want);
	if (ret)
		child_fail("capset(effective %#llx): %s", (unsigned long long)want, strerror(-ret));
	child.caps_changed = 1;
}

void caller_end(void)
{
	int ret;

	if (!child.caps_changed)
		return;
	ret = caps_set_effective(child.own_caps);
	if (ret)
		child_fail("capset (back to %#llx): %s", (unsigned long long)child.own_caps, strerror(-ret));
	child.caps_changed = 0;
}

/* The maps, fds from 3 up in declaration order, made by the agent itself (not the sequence's
 * caller, as its devices and cgroups are); they stay open until the sequence ends. */
static void create_maps(struct sequence *s)
{
	for (int m = 0; m < s->n_maps; m++) {
		int fd = map_create(s->maps[m].type, s->maps[m].name);

		if (fd < 0)
			child_fail("creating map %s: %s", s->maps[m].name, strerror(-fd));
		s->maps[m].fd = fd;
	}
}

/* The programs, fds after the maps' in declaration order (P lines). A sequence with caps loads
 * them as its caller, a program with maps has the verifier's rules for them: a load the kernel
 * refuses leaves the program unopened (P <obj> 0 <-errno>). */
static void load_programs(struct sequence *s)
{
	for (int o = 0; o < s->n_objects; o++) {
		struct object *obj = &s->objects[o];
		int map_fds[PROG_MAPS_MAX], fd;

		if (obj->is_link)
			continue;
		for (int m = 0; m < obj->n_maps; m++)
			map_fds[m] = s->maps[obj->maps[m]].fd;
		caller_begin(s, NULL);
		fd = prog_load_maps(obj->prog_type, obj->expected_attach_type, obj->name, map_fds, obj->n_maps);
		caller_end();
		if (fd < 0 && (s->has_caps || obj->n_maps)) {
			obj->fd = -1;
			obj->id = 0;
			reply("P %d 0 %d", o, fd);
			continue;
		}
		if (fd < 0)
			child_fail("loading program %s: %s", obj->name, strerror(-fd));
		obj->fd = fd;
		obj->id = prog_id(fd);
		reply("P %d %u", o, obj->id);
	}
}

__attribute__((noreturn)) static void run_sequence(struct sequence *s)
{
	uint32_t next_link_id;

	channel_hold();
	make_devices(s);
	if (!s->no_bpftool && has_query(s))
		bpftool_start();
	next_link_id = enter_world();
	create_maps(s);
	load_programs(s);
	cgroups_setup(s);
	netns_setup(s);
	world_hold_ids(s);
	reply_world(s, next_link_id);
	for (int i = 0; i < s->n_steps; i++)
		run_step(s, i);
	cgroups_teardown();
	world_unlock();
	reply("DONE");
	channel_flush_held();
	_exit(0);
}

void sequence_job(void *arg)
{
	run_sequence(arg);
}
