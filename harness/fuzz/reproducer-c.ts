// A standalone C reproducer for one sequence: raw bpf(2) and rtnetlink with the ABI defined in
// the file itself (no <linux/*.h>, so it builds against any libc with `gcc -static`), in a
// network namespace of its own. It prints one line per step,
//   step N op: RET ERRNO [key=value ...]
// (RET as the call returned it, -1 on failure; ERRNO the symbolic name, 0 on success; queries
// and link infos add their fields with kernel ids turned into the sequence's names), so its
// output can be pasted into a report and compared with the harness's results (parseCOutput).

import { errnoName } from '../../emulator/errno.js';
import { ATTACH_TYPE_NAMES } from '../../emulator/uapi.js';
import type { DevRef, ProgramType, Ref, Sequence, Step, StepResult } from '../seq/types.js';

const PROG_TYPE_NUMBERS: Record<ProgramType, number> = { sched_cls: 3, xdp: 6, cgroup_skb: 8 };
/** errno numbers whose names the reproducer prints: the emulator's own table. */
const ERRNO_MAX = 600;

function cString(s: string): string {
  return JSON.stringify(s); // names are [A-Za-z0-9_] and interface names: no escapes beyond JSON's
}

function errnoTable(): string {
  const rows: string[] = [];
  for (let e = 1; e <= ERRNO_MAX; e++) {
    const name = errnoName(e);
    if (name !== `E${e}`) rows.push(`\t[${e}] = "${name}",`);
  }
  return rows.join('\n');
}

function attachTypeTable(): string {
  return Object.entries(ATTACH_TYPE_NAMES)
    .map(([name, value]) => `\t[${value}] = "${name}",`)
    .join('\n');
}

const PREAMBLE = String.raw`#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Helpers this sequence's steps do not use are fine. */
#pragma GCC diagnostic ignored "-Wunused-function"

/* ---- bpf(2) ABI (include/uapi/linux/bpf.h), the subsets of union bpf_attr each command uses ---- */

#if defined(__x86_64__)
#define NR_bpf 321
#elif defined(__aarch64__)
#define NR_bpf 280
#else
#error "add the bpf(2) syscall number of this architecture"
#endif

#define BPF_PROG_LOAD 5
#define BPF_PROG_ATTACH 8
#define BPF_PROG_DETACH 9
#define BPF_OBJ_GET_INFO_BY_FD 15
#define BPF_PROG_QUERY 16
#define BPF_LINK_CREATE 28
#define BPF_LINK_UPDATE 29
#define BPF_LINK_DETACH 34

struct bpf_insn { uint8_t code, regs; int16_t off; int32_t imm; };

struct attr_prog_load {
	uint32_t prog_type, insn_cnt;
	uint64_t insns, license;
	uint32_t log_level, log_size;
	uint64_t log_buf;
	uint32_t kern_version, prog_flags;
	char prog_name[16];
	uint32_t prog_ifindex, expected_attach_type;
};

struct attr_prog_attach { /* BPF_PROG_ATTACH, BPF_PROG_DETACH */
	uint32_t target_ifindex, attach_bpf_fd, attach_type, attach_flags, replace_bpf_fd;
	uint32_t relative; /* relative_fd | relative_id */
	uint64_t expected_revision;
};

struct attr_prog_query {
	uint32_t target_ifindex, attach_type, query_flags, attach_flags;
	uint64_t prog_ids;
	uint32_t count, pad;
	uint64_t prog_attach_flags, link_ids, link_attach_flags, revision;
};

struct attr_link_create { /* the tcx / netkit member */
	uint32_t prog_fd, target_ifindex, attach_type, flags;
	uint32_t relative; /* relative_fd | relative_id */
	uint32_t pad;
	uint64_t expected_revision;
};

struct attr_link_update { uint32_t link_fd, new_prog_fd, flags, old_prog_fd; };
struct attr_link_detach { uint32_t link_fd; };
struct attr_info { uint32_t bpf_fd, info_len; uint64_t info; };
struct prog_info_head { uint32_t type, id; };
struct link_info_net { uint32_t type, id, prog_id, pad, ifindex, attach_type; };

_Static_assert(sizeof(struct attr_prog_load) == 72, "prog_load");
_Static_assert(sizeof(struct attr_prog_attach) == 32, "prog_attach");
_Static_assert(__builtin_offsetof(struct attr_prog_query, revision) == 56, "query.revision");
_Static_assert(__builtin_offsetof(struct attr_link_create, expected_revision) == 24, "link_create");
_Static_assert(__builtin_offsetof(struct link_info_net, ifindex) == 16, "link_info.tcx.ifindex");

static long sys_bpf(int cmd, void *attr, unsigned int size)
{
	return syscall(NR_bpf, cmd, attr, size);
}

/* ---- rtnetlink ABI (linux/netlink.h, rtnetlink.h, if_link.h, veth.h) ---- */

#define NLM_F_REQUEST 0x1
#define NLM_F_ACK 0x4
#define NLM_F_EXCL 0x200
#define NLM_F_CREATE 0x400
#define NLMSG_ERROR 0x2
#define RTM_NEWLINK 16
#define RTM_DELLINK 17
#define IFLA_IFNAME 3
#define IFLA_LINKINFO 18
#define IFLA_INFO_KIND 1
#define IFLA_INFO_DATA 2
#define VETH_INFO_PEER 1
#define IFLA_NETKIT_PEER_INFO 1
#define NLA_F_NESTED 0x8000

struct nlhdr { uint32_t len; uint16_t type, flags; uint32_t seq, pid; };
struct ifinfo { uint8_t family, pad; uint16_t type; int32_t index; uint32_t flags, change; };
struct rtattr_hdr { uint16_t len, type; };
struct nlmsg { union { struct nlhdr hdr; char buf[1024]; }; };
struct sockaddr_netlink { uint16_t family, pad; uint32_t pid, groups; };

#define NL_ALIGN(len) (((len) + 3u) & ~3u)

static void nl_init(struct nlmsg *m, uint16_t type, uint16_t flags, const struct ifinfo *ifi)
{
	memset(m, 0, sizeof(*m));
	m->hdr.len = NL_ALIGN(sizeof(m->hdr));
	m->hdr.type = type;
	m->hdr.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	m->hdr.seq = 1;
	memcpy(m->buf + m->hdr.len, ifi, sizeof(*ifi));
	m->hdr.len += NL_ALIGN(sizeof(*ifi));
}

static size_t nl_attr(struct nlmsg *m, uint16_t type, const void *data, size_t len)
{
	size_t off = m->hdr.len;
	struct rtattr_hdr rta = { .len = (uint16_t)(sizeof(rta) + len), .type = type };

	memcpy(m->buf + off, &rta, sizeof(rta));
	if (len)
		memcpy(m->buf + off + sizeof(rta), data, len);
	m->hdr.len = NL_ALIGN(off + rta.len);
	return off;
}

static void nl_nest_end(struct nlmsg *m, size_t off)
{
	uint16_t len = (uint16_t)(m->hdr.len - off);

	memcpy(m->buf + off, &len, sizeof(len));
}

/* Sends one request; returns the kernel's ack: 0 or -errno. The socket is closed again, so it
 * never takes an fd number a bpf object would get. */
static int nl_talk(struct nlmsg *m)
{
	struct sockaddr_netlink sa = { .family = AF_NETLINK };
	char reply[4096];
	struct nlhdr hdr;
	int32_t err = -EPROTO;
	ssize_t n;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (sendto(fd, m->buf, m->hdr.len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
	} else if ((n = recv(fd, reply, sizeof(reply), 0)) < 0) {
		err = -errno;
	} else if ((size_t)n >= sizeof(hdr) + sizeof(err)) {
		memcpy(&hdr, reply, sizeof(hdr));
		if (hdr.type == NLMSG_ERROR)
			memcpy(&err, reply + NL_ALIGN(sizeof(hdr)), sizeof(err));
	}
	close(fd);
	return err;
}

static int dev_add(const char *kind, const char *name, const char *peer)
{
	struct ifinfo ifi = { .family = AF_UNSPEC };
	size_t linkinfo, data, peerinfo;
	struct nlmsg m;

	nl_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi);
	nl_attr(&m, IFLA_IFNAME, name, strlen(name) + 1);
	linkinfo = nl_attr(&m, IFLA_LINKINFO | NLA_F_NESTED, NULL, 0);
	nl_attr(&m, IFLA_INFO_KIND, kind, strlen(kind));
	data = nl_attr(&m, IFLA_INFO_DATA | NLA_F_NESTED, NULL, 0);
	peerinfo = nl_attr(&m, strcmp(kind, "netkit") ? VETH_INFO_PEER : IFLA_NETKIT_PEER_INFO, &ifi, sizeof(ifi));
	nl_attr(&m, IFLA_IFNAME, peer, strlen(peer) + 1);
	nl_nest_end(&m, peerinfo);
	nl_nest_end(&m, data);
	nl_nest_end(&m, linkinfo);
	return nl_talk(&m);
}

static int dev_del(uint32_t ifindex)
{
	struct ifinfo ifi = { .family = AF_UNSPEC, .index = (int32_t)ifindex };
	struct nlmsg m;

	nl_init(&m, RTM_DELLINK, 0, &ifi);
	return nl_talk(&m);
}

static int dev_up(uint32_t ifindex)
{
	struct ifinfo ifi = { .family = AF_UNSPEC, .index = (int32_t)ifindex, .flags = IFF_UP, .change = IFF_UP };
	struct nlmsg m;

	nl_init(&m, RTM_NEWLINK, 0, &ifi);
	return nl_talk(&m);
}

/* A device name that names no device resolves to an ifindex no device has (0 means "none" to
 * some calls, so it is not used for this). */
#define IFINDEX_MISSING 0x7fffffffu
/* The fd of a closed (or never opened) object: a number no open fd has. */
#define CLOSED_FD_BASE 1000000u

static uint32_t dev(const char *name)
{
	unsigned int ifindex = if_nametoindex(name);

	return ifindex ? ifindex : IFINDEX_MISSING;
}

/* ---- the sequence's objects (programs, then links) and devices ---- */

struct object { const char *name; int is_link; uint32_t prog_type; int fd; uint32_t id; };

static struct { uint32_t ifindex; const char *name; } devices[64];
static int n_devices;

static void remember_pair(const char *name, const char *peer)
{
	const char *both[2] = { name, peer };

	for (int i = 0; i < 2 && n_devices < 64; i++) {
		devices[n_devices].ifindex = if_nametoindex(both[i]);
		devices[n_devices++].name = both[i];
	}
}

static const char *dev_name(uint32_t ifindex, char *buf)
{
	if (ifindex == 0)
		return "-";
	for (int i = n_devices - 1; i >= 0; i--)
		if (devices[i].ifindex == ifindex)
			return devices[i].name;
	sprintf(buf, "#%u", ifindex);
	return buf;
}
`;

const HELPERS = String.raw`
static uint32_t fd_of(int obj)
{
	return objects[obj].fd >= 0 ? (uint32_t)objects[obj].fd : CLOSED_FD_BASE + (uint32_t)obj;
}

static uint32_t id_of(int obj)
{
	return objects[obj].id;
}

static const char *name_of(int is_link, uint32_t id, char *buf)
{
	if (id == 0)
		return "-";
	for (int o = 0; o < N_OBJECTS; o++)
		if (objects[o].is_link == is_link && objects[o].id == id)
			return objects[o].name;
	sprintf(buf, "#%u", id);
	return buf;
}

static const char *errno_name(int e)
{
	static char buf[16];

	if (e > 0 && e < (int)(sizeof(errno_names) / sizeof(errno_names[0])) && errno_names[e])
		return errno_names[e];
	sprintf(buf, "E%d", e);
	return buf;
}

static const char *type_name(uint32_t type, char *buf)
{
	if (type < sizeof(attach_type_names) / sizeof(attach_type_names[0]) && attach_type_names[type])
		return attach_type_names[type];
	sprintf(buf, "%u", type);
	return buf;
}

/* "step N op: RET ERRNO" for a call that returned ret (and set errno when ret < 0). */
static void report(int step, const char *op, long ret)
{
	printf("step %d %s: %ld %s\n", step, op, ret < 0 ? -1L : ret, ret < 0 ? errno_name(errno) : "0");
}

static long link_info(int fd, struct link_info_net *info)
{
	struct attr_info a = { .bpf_fd = (uint32_t)fd, .info_len = sizeof(*info), .info = (uint64_t)(uintptr_t)info };

	memset(info, 0, sizeof(*info));
	return sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a));
}

static void load_programs(void)
{
	static const struct bpf_insn insns[] = { { .code = 0xb7 } /* r0 = 0 */, { .code = 0x95 } /* exit */ };

	for (int o = 0; o < N_OBJECTS; o++) {
		struct attr_prog_load a = { .prog_type = objects[o].prog_type, .insn_cnt = 2,
					    .insns = (uint64_t)(uintptr_t)insns, .license = (uint64_t)(uintptr_t)"GPL" };
		struct prog_info_head info = { 0 };
		struct attr_info ia = { .info_len = sizeof(info), .info = (uint64_t)(uintptr_t)&info };

		if (objects[o].is_link)
			continue;
		strncpy(a.prog_name, objects[o].name, sizeof(a.prog_name) - 1);
		objects[o].fd = (int)sys_bpf(BPF_PROG_LOAD, &a, sizeof(a));
		if (objects[o].fd < 0) {
			fprintf(stderr, "loading program %s: %s\n", objects[o].name, strerror(errno));
			exit(2);
		}
		ia.bpf_fd = (uint32_t)objects[o].fd;
		objects[o].id = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &ia, sizeof(ia)) ? 0 : info.id;
	}
}

static void setup(void)
{
	/* Inherited fds would shift the numbers the objects get: start from 3 like the harness. */
	for (int fd = 3; fd < 100; fd++)
		close(fd);
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s (run as root)\n", strerror(errno));
		exit(2);
	}
	dev_up(if_nametoindex("lo"));
}

static void initial_pair(const char *kind, const char *name, const char *peer)
{
	int ret = dev_add(kind, name, peer);

	if (ret) {
		fprintf(stderr, "creating %s pair %s/%s: %s\n", kind, name, peer, strerror(-ret));
		exit(2);
	}
	remember_pair(name, peer);
}

static void print_list(const char *key, const uint32_t *v, uint32_t n, int ids, int is_link)
{
	char buf[16];

	printf(" %s=", key);
	for (uint32_t i = 0; i < n; i++) {
		if (ids)
			printf("%s%s", i ? "," : "", name_of(is_link, v[i], buf));
		else
			printf("%s%u", i ? "," : "", v[i]);
	}
}

static void query(int step, uint32_t ifindex, uint32_t type, uint32_t count, uint32_t qflags, uint32_t aflags)
{
	uint32_t *ids = calloc(count + 1, 4), *lids = calloc(count + 1, 4), *pfl = calloc(count + 1, 4), *lfl = calloc(count + 1, 4);
	struct attr_prog_query a = { .target_ifindex = ifindex, .attach_type = type, .query_flags = qflags,
				     .attach_flags = aflags, .count = count };
	long ret;

	if (count) {
		a.prog_ids = (uint64_t)(uintptr_t)ids;
		a.link_ids = (uint64_t)(uintptr_t)lids;
		a.prog_attach_flags = (uint64_t)(uintptr_t)pfl;
		a.link_attach_flags = (uint64_t)(uintptr_t)lfl;
	}
	ret = sys_bpf(BPF_PROG_QUERY, &a, sizeof(a));
	printf("step %d query: %ld %s", step, ret < 0 ? -1L : ret, ret < 0 ? errno_name(errno) : "0");
	if (ret == 0 || errno == ENOSPC) {
		uint32_t n = a.count < count ? a.count : count;

		printf(" count=%u rev=%llu aflags=%u", a.count, (unsigned long long)a.revision, a.attach_flags);
		print_list("progs", ids, n, 1, 0);
		print_list("links", lids, n, 1, 1);
		print_list("pfl", pfl, n, 0, 0);
		print_list("lfl", lfl, n, 0, 0);
	}
	printf("\n");
	free(ids);
	free(lids);
	free(pfl);
	free(lfl);
}

static void info(int step, int obj)
{
	struct link_info_net li;
	char b1[16], b2[16], b3[16];
	long ret = link_info((int)fd_of(obj), &li);

	if (ret < 0) {
		report(step, "link_info", ret);
		return;
	}
	printf("step %d link_info: %ld 0 prog=%s dev=%s type=%s\n", step, ret, name_of(0, li.prog_id, b1),
	       dev_name(li.ifindex, b2), type_name(li.attach_type, b3));
}

static void link_create(int step, int obj, struct attr_link_create *a)
{
	struct link_info_net li;
	long ret = sys_bpf(BPF_LINK_CREATE, a, sizeof(*a));
	int saved = errno;

	objects[obj].fd = ret >= 0 ? (int)ret : -1;
	objects[obj].id = ret >= 0 && link_info((int)ret, &li) == 0 ? li.id : 0;
	errno = saved;
	report(step, "link_create", ret);
}

static void close_object(int step, const char *op, int obj)
{
	long ret = close((int)fd_of(obj));

	objects[obj].fd = -1;
	report(step, op, ret);
}

static void dev_create(int step, const char *kind, const char *name, const char *peer)
{
	int ret = dev_add(kind, name, peer);

	if (ret == 0)
		remember_pair(name, peer);
	errno = -ret;
	report(step, "dev_create", ret ? -1 : 0);
}

static void dev_delete(int step, const char *name)
{
	int ret = dev_del(dev(name));

	errno = -ret;
	report(step, "dev_delete", ret ? -1 : 0);
}
`;

/** Lowers a sequence's names to the C program's object indices. */
class Lowering {
  private readonly index = new Map<string, number>();

  constructor(readonly seq: Sequence) {
    [...seq.programs.map((p) => p.name), ...seq.links].forEach((name, i) => this.index.set(name, i));
  }

  obj(name: string): number {
    return this.index.get(name)!;
  }

  fd(name: string | null): string {
    return name === null ? '0' : `fd_of(${this.obj(name)})`;
  }

  ref(ref: Ref | null): string {
    if (!ref) return '0';
    if ('fd' in ref) return this.fd(ref.fd);
    if ('id' in ref) return `id_of(${this.obj(ref.id)})`;
    return `${ref.value >>> 0}u`;
  }

  dev(d: DevRef): string {
    return 'name' in d ? `dev(${cString(d.name)})` : `${d.ifindex >>> 0}u`;
  }

  objects(): string {
    const rows = [
      ...this.seq.programs.map((p) => `\t{ ${cString(p.name)}, 0, ${PROG_TYPE_NUMBERS[p.type]}, -1, 0 },`),
      ...this.seq.links.map((l) => `\t{ ${cString(l)}, 1, 0, -1, 0 },`),
    ];
    return `#define N_OBJECTS ${rows.length}\nstatic struct object objects[N_OBJECTS + 1] = {\n${rows.join('\n')}\n};\n`;
  }

  step(step: Step, i: number): string {
    switch (step.op) {
      case 'prog_attach':
      case 'prog_detach': {
        const cmd = step.op === 'prog_attach' ? 'BPF_PROG_ATTACH' : 'BPF_PROG_DETACH';
        const replace = step.op === 'prog_attach' ? this.ref(step.replace) : '0';
        return block([
          `struct attr_prog_attach a = { .target_ifindex = ${this.dev(step.dev)}, .attach_bpf_fd = ${this.fd(step.prog)},`,
          `\t.attach_type = ${step.attach_type}, .attach_flags = ${hex(step.flags)}, .replace_bpf_fd = ${replace},`,
          `\t.relative = ${this.ref(step.relative)}, .expected_revision = ${step.expected_revision}ULL };`,
          `report(${i}, "${step.op}", sys_bpf(${cmd}, &a, sizeof(a)));`,
        ]);
      }
      case 'link_create':
        return block([
          `struct attr_link_create a = { .prog_fd = ${this.fd(step.prog)}, .target_ifindex = ${this.dev(step.dev)},`,
          `\t.attach_type = ${step.attach_type}, .flags = ${hex(step.flags)}, .relative = ${this.ref(step.relative)},`,
          `\t.expected_revision = ${step.expected_revision}ULL };`,
          `link_create(${i}, ${this.obj(step.link)}, &a);`,
        ]);
      case 'link_update':
        return block([
          `struct attr_link_update a = { .link_fd = ${this.fd(step.link)}, .new_prog_fd = ${this.fd(step.prog)},`,
          `\t.flags = ${hex(step.flags)}, .old_prog_fd = ${this.fd(step.old_prog)} };`,
          `report(${i}, "link_update", sys_bpf(BPF_LINK_UPDATE, &a, sizeof(a)));`,
        ]);
      case 'link_detach':
        return block([
          `struct attr_link_detach a = { .link_fd = ${this.fd(step.link)} };`,
          `report(${i}, "link_detach", sys_bpf(BPF_LINK_DETACH, &a, sizeof(a)));`,
        ]);
      case 'link_close':
        return `\tclose_object(${i}, "link_close", ${this.obj(step.link)});\n`;
      case 'prog_close':
        return `\tclose_object(${i}, "prog_close", ${this.obj(step.prog)});\n`;
      case 'link_info':
        return `\tinfo(${i}, ${this.obj(step.link)});\n`;
      case 'query':
        return `\tquery(${i}, ${this.dev(step.dev)}, ${step.attach_type}, ${step.count}, ${hex(step.query_flags)}, ${hex(step.attach_flags)});\n`;
      case 'dev_create':
        return `\tdev_create(${i}, "${step.kind}", ${cString(step.name)}, ${cString(step.peer)});\n`;
      case 'dev_delete':
        return `\tdev_delete(${i}, ${cString(step.dev)});\n`;
    }
  }
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}u`;
}

function block(lines: string[]): string {
  return `\t{\n${lines.map((l) => `\t\t${l}`).join('\n')}\n\t}\n`;
}

/** A one-line description of a step for the comment above its code. */
function describe(step: Step): string {
  return JSON.stringify(step).replace(/\*\//g, '* /');
}

/** The C source of a reproducer for `seq`. */
export function cReproducer(seq: Sequence): string {
  const lower = new Lowering(seq);
  const steps = seq.steps.map((step, i) => `\t/* step ${i}: ${describe(step)} */\n${lower.step(step, i)}`).join('');
  const devices = seq.devices.map((d) => `\tinitial_pair("${d.kind}", ${cString(d.name)}, ${cString(d.peer)});\n`).join('');
  return [
    '// SPDX-License-Identifier: GPL-2.0-only',
    `/*`,
    ` * Reproducer for the bpf_mprog sequence "${seq.name}", generated by \`mprog fuzz\`.`,
    ` * Build: gcc -static -O2 -o repro repro.c     Run as root: ./repro`,
    ` * It makes its own network namespace, creates the devices, loads trivial programs`,
    ` * (r0 = 0; exit) and prints one line per step: "step N op: RET ERRNO [fields]".`,
    ` */`,
    PREAMBLE,
    lower.objects(),
    `static const char *const errno_names[] = {\n${errnoTable()}\n};\n`,
    `static const char *const attach_type_names[] = {\n${attachTypeTable()}\n};\n`,
    HELPERS,
    'int main(void)',
    '{',
    '\tsetvbuf(stdout, NULL, _IOLBF, 0);',
    '\tsetup();',
    devices + '\tload_programs();',
    steps + '\treturn 0;',
    '}',
    '',
  ].join('\n');
}

// ---- reading a reproducer's output back ----

function splitList(value: string): string[] {
  return value === '' ? [] : value.split(',');
}

function nameOrNull(s: string): string | null {
  return s === '-' ? null : s;
}

/**
 * The results a reproducer printed, in the harness's normalised form (so diffResults can compare
 * them with a target's). Lines that are not step lines are ignored.
 */
export function parseCOutput(output: string): StepResult[] {
  const results: StepResult[] = [];
  for (const line of output.split('\n')) {
    const m = /^step (\d+) (\w+): (-?\d+) (\S+)(.*)$/.exec(line);
    if (!m) continue;
    const [, step, op, ret, errno, rest] = m;
    const result: StepResult = { step: Number(step), op: op as Step['op'], ok: Number(ret) >= 0 };
    if (!result.ok) result.errno = errno!;
    const fields = Object.fromEntries(rest!.trim().split(' ').filter(Boolean).map((kv) => {
      const eq = kv.indexOf('=');
      return [kv.slice(0, eq), kv.slice(eq + 1)];
    }));
    if (fields['count'] !== undefined) {
      result.query = {
        count: Number(fields['count']),
        revision: Number(fields['rev']),
        attach_flags: Number(fields['aflags']),
        prog_ids: splitList(fields['progs']!).map(nameOrNull),
        link_ids: splitList(fields['links']!).map(nameOrNull),
        prog_attach_flags: splitList(fields['pfl']!).map(Number),
        link_attach_flags: splitList(fields['lfl']!).map(Number),
      };
    }
    if (fields['prog'] !== undefined) {
      const type = fields['type']!;
      result.link_info = { prog: nameOrNull(fields['prog']), dev: nameOrNull(fields['dev']!), attach_type: /^\d+$/.test(type) ? Number(type) : type };
    }
    results.push(result);
  }
  return results;
}

