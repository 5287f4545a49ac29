// A standalone C reproducer for one sequence: raw bpf(2) and rtnetlink with the ABI defined in
// the file itself (no <linux/*.h>, so it builds against any libc with `gcc -static`), in a
// network namespace of its own. It prints one line per step,
//   step N op: RET ERRNO [key=value ...]
// (RET as the call returned it, -1 on failure; ERRNO the symbolic name, 0 on success; queries
// and link infos add their fields with kernel ids turned into the sequence's names), so its
// output can be pasted into a report and compared with the harness's results (parseCOutput).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERRNO_NAMES } from '../../emulator/errno.js';
import { PROG_TYPES } from '../targets/emulator.js';
import { repoRoot } from '../../vm/paths.js';
import { ATTACH_TYPE_NAMES } from '../../emulator/uapi.js';
import { type DevRef, QUERY_ARRAY_NAMES, type Ref, type Sequence, type Step, type StepResult, usesCgroups } from '../../contract/seq.js';
import { cgroupIndex, arraysMask } from '../../vm/agent/agent-codec.js';


function cString(s: string): string {
  return JSON.stringify(s); // names are [A-Za-z0-9_] and interface names: no escapes beyond JSON's
}

/** The errno names the reproducer prints: the emulator's own table. */
function errnoTable(): string {
  return Object.entries(ERRNO_NAMES)
    .map(([e, name]) => `\t[${e}] = "${name}",`)
    .join('\n');
}

/** The agent's kernel ABI header, pasted whole so the reproducer stays one standalone file. */
function kernelAbi(): string {
  return readFileSync(join(repoRoot(), 'vm/agent/kernel-abi.h'), 'utf8').trim();
}

function attachTypeTable(): string {
  return Object.entries(ATTACH_TYPE_NAMES)
    .map(([name, value]) => `\t[${value}] = "${name}",`)
    .join('\n');
}

const preamble = () => String.raw`#define _GNU_SOURCE
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

${kernelAbi()}

/* ---- the sequence's objects (programs, then links) and devices ---- */

struct object { const char *name; int is_link; uint32_t prog_type; int fd; uint32_t id; uint32_t expected_attach_type; };

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

/* ---- cgroups: a private root below cgroup2, the sequence's cgroups below it ---- */

#define CLOSED_CGROUP_FD_BASE 2000000u

struct cgroup { const char *name; int fd; uint64_t id; char path[PATH_MAX]; };

static char cgroup_root[128];

static void cgroups_setup(void)
{
	int fd, ret = cgroup2_setup();

	if (ret) {
		fprintf(stderr, "mounting cgroup2: %s\n", strerror(-ret));
		exit(2);
	}
	snprintf(cgroup_root, sizeof(cgroup_root), "%s/mprog-repro-%d", cgroup2_dir, (int)getpid());
	if (mkdir(cgroup_root, 0755) < 0) {
		fprintf(stderr, "mkdir %s: %s\n", cgroup_root, strerror(errno));
		exit(2);
	}
	fd = open(cgroup_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !cgroup_mprog_api(fd)) {
		fprintf(stderr, "this kernel's cgroup attach points have no mprog API (Linux 6.17, 6.12.110)\n");
		exit(2);
	}
	close(fd);
}

static void cgroups_teardown(void)
{
	cgroup_remove_below(cgroup_root);
	cgroup_wait_released(cgroup_root);
	rmdir(cgroup_root);
}
`;

const HELPERS = String.raw`
static const char *cgroup_name(uint64_t id, char *buf);
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

/* "step N op: RET ERRNO" for a call that returned ret (-errno on failure, as sys_bpf does). */
static void report(int step, const char *op, long ret)
{
	printf("step %d %s: %ld %s\n", step, op, ret < 0 ? -1L : ret, ret < 0 ? errno_name((int)-ret) : "0");
}

static void load_programs(void)
{
	for (int o = 0; o < N_OBJECTS; o++) {
		if (objects[o].is_link)
			continue;
		objects[o].fd = prog_load_expected(objects[o].prog_type, objects[o].expected_attach_type, objects[o].name);
		if (objects[o].fd < 0) {
			fprintf(stderr, "loading program %s: %s\n", objects[o].name, strerror(-objects[o].fd));
			exit(2);
		}
		objects[o].id = prog_id(objects[o].fd);
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

static void query(int step, uint32_t ifindex, uint32_t type, uint32_t count, uint32_t qflags, uint32_t aflags, uint32_t arrays)
{
	uint32_t *ids = calloc(count + 1, 4), *lids = calloc(count + 1, 4), *pfl = calloc(count + 1, 4), *lfl = calloc(count + 1, 4);
	struct attr_prog_query a = { .target_ifindex = ifindex, .attach_type = type, .query_flags = qflags,
				     .attach_flags = aflags, .count = count };
	long ret;

	if (count) { /* arrays: 1 prog_ids, 2 prog_attach_flags, 4 link_ids, 8 link_attach_flags */
		a.prog_ids = arrays & 1 ? (uint64_t)(uintptr_t)ids : 0;
		a.prog_attach_flags = arrays & 2 ? (uint64_t)(uintptr_t)pfl : 0;
		a.link_ids = arrays & 4 ? (uint64_t)(uintptr_t)lids : 0;
		a.link_attach_flags = arrays & 8 ? (uint64_t)(uintptr_t)lfl : 0;
	}
	ret = sys_bpf(BPF_PROG_QUERY, &a, sizeof(a));
	printf("step %d query: %ld %s", step, ret < 0 ? -1L : ret, ret < 0 ? errno_name((int)-ret) : "0");
	if (ret == 0 || ret == -ENOSPC) {
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
	struct link_info_cgroup li;
	struct link_info_net net;
	char b1[16], b2[32], b3[16];
	long ret = link_info_cg((int)fd_of(obj), &li);

	if (ret < 0) {
		report(step, "link_info", ret);
		return;
	}
	memcpy(&net, &li, sizeof(net));
	if (li.type == BPF_LINK_TYPE_CGROUP)
		printf("step %d link_info: %ld 0 prog=%s cgroup=%s type=%s\n", step, ret, name_of(0, li.prog_id, b1),
		       cgroup_name(li.cgroup_id, b2), type_name(li.attach_type, b3));
	else
		printf("step %d link_info: %ld 0 prog=%s dev=%s type=%s\n", step, ret, name_of(0, net.prog_id, b1),
		       dev_name(net.ifindex, b2), type_name(net.attach_type, b3));
}

static void link_create(int step, int obj, struct attr_link_create *a)
{
	struct link_info_net li;
	long ret = sys_bpf(BPF_LINK_CREATE, a, sizeof(*a));

	objects[obj].fd = ret >= 0 ? (int)ret : -1;
	objects[obj].id = ret >= 0 && link_info((int)ret, &li) == 0 ? li.id : 0;
	report(step, "link_create", ret);
}

static void close_object(int step, const char *op, int obj)
{
	long ret = close((int)fd_of(obj)) < 0 ? -errno : 0;

	objects[obj].fd = -1;
	report(step, op, ret);
}

static void dev_create(int step, const char *kind, const char *name, const char *peer)
{
	int ret = dev_add(kind, name, peer);

	if (ret == 0)
		remember_pair(name, peer);
	report(step, "dev_create", ret);
}

static void dev_delete(int step, const char *name)
{
	report(step, "dev_delete", dev_del(dev_index(name)));
}

#ifdef N_CGROUPS
static uint32_t cgroup_fd(int c)
{
	return cgroups[c].fd >= 0 ? (uint32_t)cgroups[c].fd : CLOSED_CGROUP_FD_BASE + (uint32_t)c;
}

static const char *cgroup_name(uint64_t id, char *buf)
{
	if (id == 0)
		return "-";
	for (int c = 0; c < N_CGROUPS; c++)
		if (cgroups[c].fd >= 0 && cgroups[c].id == id)
			return cgroups[c].name;
	sprintf(buf, "#%llu", (unsigned long long)id);
	return buf;
}

/* mkdir and open of cgroup c below cgroup parent (-1: the root); 0 or -errno. */
static int cgroup_make(int c, int parent)
{
	char path[PATH_MAX];
	int fd;

	if (parent >= 0 && cgroups[parent].fd < 0)
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/%s", parent < 0 ? cgroup_root : cgroups[parent].path, cgroups[c].name);
	if (mkdir(path, 0755) < 0)
		return -errno;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	cgroups[c].fd = fd;
	cgroups[c].id = cgroup_id_of(fd);
	strcpy(cgroups[c].path, path);
	return 0;
}

static void initial_cgroup(int c, int parent)
{
	int ret = cgroup_make(c, parent);

	if (ret) {
		fprintf(stderr, "creating cgroup %s: %s\n", cgroups[c].name, strerror(-ret));
		exit(2);
	}
}

static void cgroup_create(int step, int c, int parent)
{
	report(step, "cgroup_create", cgroup_make(c, parent));
}

/* rmdir, then the wait until the kernel released the cgroup's programs and links. */
static void cgroup_delete(int step, int c)
{
	long ret = cgroups[c].fd < 0 ? -ENOENT : rmdir(cgroups[c].path) < 0 ? -errno : 0;

	if (ret == 0)
		cgroup_wait_released(cgroup_root);
	report(step, "cgroup_delete", ret);
}
#else
static const char *cgroup_name(uint64_t id, char *buf)
{
	sprintf(buf, "#%llu", (unsigned long long)id);
	return buf;
}
#endif
`;

/** Lowers a sequence's names to the C program's object indices. */
class Lowering {
  private readonly index = new Map<string, number>();
  readonly cgroups: Map<string, number>;

  constructor(readonly seq: Sequence) {
    this.cgroups = cgroupIndex(seq);
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
    if ('name' in d) return `dev_index(${cString(d.name)})`;
    if ('cgroup' in d) return `cgroup_fd(${this.cgroups.get(d.cgroup)!})`;
    return `${('ifindex' in d ? d.ifindex : d.cgroupFd) >>> 0}u`;
  }

  cgroup(name: string | null): number {
    return name === null ? -1 : this.cgroups.get(name)!;
  }

  objects(): string {
    const rows = [
      ...this.seq.programs.map((p) => `\t{ ${cString(p.name)}, 0, ${PROG_TYPES[p.type]}, -1, 0, ${p.expected_attach_type ?? 0} },`),
      ...this.seq.links.map((l) => `\t{ ${cString(l)}, 1, 0, -1, 0, 0 },`),
    ];
    const cgroups = [...this.cgroups.keys()].map((name) => `\t{ ${cString(name)}, -1, 0, "" },`);
    return [
      `#define N_OBJECTS ${rows.length}\nstatic struct object objects[N_OBJECTS + 1] = {\n${rows.join('\n')}\n};\n`,
      ...(cgroups.length ? [`#define N_CGROUPS ${cgroups.length}\nstatic struct cgroup cgroups[N_CGROUPS] = {\n${cgroups.join('\n')}\n};\n`] : []),
    ].join('\n');
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
        return `\tquery(${i}, ${this.dev(step.dev)}, ${step.attach_type}, ${step.count}, ${hex(step.query_flags)}, ${hex(step.attach_flags)}, ${arraysMask(step.arrays ?? QUERY_ARRAY_NAMES)});\n`;
      case 'dev_create':
        return `\tdev_create(${i}, "${step.kind}", ${cString(step.name)}, ${cString(step.peer)});\n`;
      case 'dev_delete':
        return `\tdev_delete(${i}, ${cString(step.dev)});\n`;
      case 'cgroup_create':
        return `\tcgroup_create(${i}, ${this.cgroup(step.name)}, ${this.cgroup(step.parent)});\n`;
      case 'cgroup_delete':
        return `\tcgroup_delete(${i}, ${this.cgroup(step.cgroup)});\n`;
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
  const cgroups = usesCgroups(seq);
  // After the programs, as the agent does: the cgroups' fds come next.
  const initialCgroups = (seq.cgroups ?? []).map((c) => `\tinitial_cgroup(${lower.cgroup(c.name)}, ${lower.cgroup(c.parent)});\n`).join('');
  return [
    '// SPDX-License-Identifier: GPL-2.0-only',
    `/*`,
    ` * Reproducer for the bpf_mprog sequence "${seq.name}", generated by \`mprog fuzz\`.`,
    ` * Build: gcc -static -O2 -o repro repro.c     Run as root: ./repro`,
    ` * It makes its own network namespace, creates the devices, loads trivial programs`,
    ` * (r0 = 0; exit) and prints one line per step: "step N op: RET ERRNO [fields]".`,
    ` */`,
    preamble(),
    lower.objects(),
    `static const char *const errno_names[] = {\n${errnoTable()}\n};\n`,
    `static const char *const attach_type_names[] = {\n${attachTypeTable()}\n};\n`,
    HELPERS,
    'int main(void)',
    '{',
    '\tsetvbuf(stdout, NULL, _IOLBF, 0);',
    '\tsetup();',
    ...(cgroups ? ['\tcgroups_setup();'] : []),
    devices + '\tload_programs();',
    initialCgroups + steps + (cgroups ? '\tcgroups_teardown();\n' : '') + '\treturn 0;',
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
      const attachType = /^\d+$/.test(type) ? Number(type) : type;
      result.link_info = fields['cgroup'] !== undefined
        ? { prog: nameOrNull(fields['prog']), cgroup: nameOrNull(fields['cgroup']), attach_type: attachType }
        : { prog: nameOrNull(fields['prog']), dev: nameOrNull(fields['dev']!), attach_type: attachType };
    }
    results.push(result);
  }
  return results;
}

