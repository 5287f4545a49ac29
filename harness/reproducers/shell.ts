// A shell reproducer with bpftool and ip, for sequences where every step has a command-line
// form: `bpftool net attach tcx_ingress|tcx_egress PROG dev DEV [prepend]` is a prog attach
// with flags 0 (append) or BPF_F_BEFORE (prepend) and nothing else; `bpftool net detach` removes
// the last program (prog detach with attach_bpf_fd 0 and flags 0); `bpftool net show dev` is a
// query; `ip link add/del` are dev_create/dev_delete, `tc qdisc add/del` qdisc_add/qdisc_delete; removing a program's pin is its close.
// Cgroups: `bpftool cgroup attach PATH TYPE PROG [multi|override]` is a prog attach with flags 0,
// BPF_F_ALLOW_MULTI or BPF_F_ALLOW_OVERRIDE, `bpftool cgroup detach` one naming its program,
// `bpftool cgroup show PATH [effective]` a query; mkdir and rmdir (with the wait for the kernel's
// release) make and remove cgroups, below a root the script makes on a cgroup2 mount of its own.
// The flow dissector: `bpftool prog attach|detach PROG flow_dissector` (target_fd 0: the netns the
// command runs in) and `bpftool net show`, which lists it.
// Links, relatives, REPLACE, expected revisions, raw ifindexes and netkit attach types have no
// such form: the sequence then gets no script, and the reasons say which steps.

import {
  BPF_CGROUP_SETSOCKOPT,
  BPF_F_ALLOW_MULTI,
  BPF_F_ALLOW_OVERRIDE,
  BPF_F_BEFORE,
  BPF_F_QUERY_EFFECTIVE,
  BPF_FLOW_DISSECTOR,
  BPF_TCX_EGRESS,
  BPF_TCX_INGRESS,
  attachTypeName,
} from '../../uapi/bpf.js';
import {
  type DevRef,
  type ProgramDecl,
  type ProgramType,
  QUERY_ARRAY_NAMES,
  type Sequence,
  type Step,
  isNetnsTarget,
  stepAttr,
  usesMaps,
} from '../../contract/seq.js';
import { shellQuote } from './shell-quote.js';

const TCX_NAMES: Record<number, string> = { [BPF_TCX_INGRESS]: 'tcx_ingress', [BPF_TCX_EGRESS]: 'tcx_egress' };
/** ELF section names libbpf maps to each program type. */
const SECTIONS: Record<ProgramType, string> = {
  sched_cls: 'tc',
  xdp: 'xdp',
  cgroup_skb: 'cgroup_skb/ingress',
  cgroup_sockopt: 'cgroup/getsockopt',
  flow_dissector: 'flow_dissector',
};

function section(p: ProgramDecl): string {
  return p.type === 'cgroup_sockopt' && p.expected_attach_type === BPF_CGROUP_SETSOCKOPT ? 'cgroup/setsockopt' : SECTIONS[p.type];
}

/** bpftool cgroup's word for a list's mode. */
const CGROUP_MODES: Record<number, string> = { 0: '', [BPF_F_ALLOW_MULTI]: ' multi', [BPF_F_ALLOW_OVERRIDE]: ' override' };

/** The cgroup named by a step's target, or null (a device, a raw fd). */
function cgroupName(dev: DevRef): string | null {
  return 'cgroup' in dev ? dev.cgroup : null;
}

/** Why a cgroup step has no bpftool/mkdir/rmdir form, or null. */
function whyNotCgroup(step: Step, closed: ReadonlySet<string>): string | null {
  switch (step.op) {
    case 'prog_attach':
      if (CGROUP_MODES[step.flags] === undefined) return 'bpftool cgroup attach takes only multi or override (no BEFORE/AFTER, REPLACE, PREORDER)';
      if (step.relative || step.replace || step.expected_revision !== 0)
        return 'bpftool cgroup attach takes no relative, replace or expected_revision';
      if (closed.has(step.prog)) return 'the program was closed before (bpftool would not find it)';
      return null;
    case 'prog_detach':
      if (step.prog === null || step.flags !== 0 || step.relative || step.expected_revision !== 0)
        return 'bpftool cgroup detach names a program, nothing else';
      if (closed.has(step.prog)) return 'the program was closed before (bpftool would not find it)';
      return null;
    case 'query':
      if ((step.query_flags & ~BPF_F_QUERY_EFFECTIVE) !== 0 || step.attach_flags !== 0) return 'bpftool cgroup show takes only effective';
      if (step.count !== 64 || (step.arrays && step.arrays.length !== QUERY_ARRAY_NAMES.length)) return 'bpftool cgroup show lists everything';
      return null;
    default:
      return 'bpftool has no cgroup link commands';
  }
}

/** Why a step on the sequence's netns (the flow dissector) has no bpftool form, or null: `bpftool
 * prog attach|detach PROG flow_dissector` passes target_fd 0 and nothing else, `net show` lists
 * the attached program. */
function whyNotNetns(step: Step, closed: ReadonlySet<string>): string | null {
  if ('dev' in step && typeof step.dev === 'object' && 'netnsFd' in step.dev) return 'bpftool takes no raw netns fd';
  switch (step.op) {
    case 'prog_attach':
    case 'prog_detach':
      if (step.attach_type !== BPF_FLOW_DISSECTOR) return 'bpftool prog attach/detach on a netns is the flow dissector only';
      if (step.prog === null || step.flags !== 0 || step.relative || step.expected_revision !== 0 || (step.op === 'prog_attach' && step.replace))
        return 'bpftool prog attach/detach names a program and the attach type, nothing else';
      if (closed.has(step.prog)) return 'the program was closed before (bpftool would not find it)';
      return null;
    case 'query':
      if (step.attach_type !== BPF_FLOW_DISSECTOR || step.query_flags !== 0 || step.attach_flags !== 0 || step.count !== 64 || step.arrays)
        return 'bpftool net show lists the flow dissector, with no query options';
      return null;
    default:
      return 'bpftool has no netns link commands';
  }
}

export type ShellReproducer = { script: string } | { inexpressible: string[] };

function devName(dev: DevRef): string | null {
  return 'name' in dev ? dev.name : null;
}

/** Why step `i` has no bpftool/ip form, or null when it has one. */
function whyNot(step: Step, closed: ReadonlySet<string>): string | null {
  if (stepAttr(step)) return 'bpftool cannot pass an attr_size or raw attr bytes (it builds its attrs with libbpf)';
  if ('dev' in step && typeof step.dev === 'object' && 'cgroupFd' in step.dev) return 'a raw cgroup fd has no path';
  if ('dev' in step && typeof step.dev === 'object' && cgroupName(step.dev) !== null) return whyNotCgroup(step, closed);
  if ('dev' in step && typeof step.dev === 'object' && isNetnsTarget(step.dev)) return whyNotNetns(step, closed);
  switch (step.op) {
    case 'prog_attach': {
      if (!TCX_NAMES[step.attach_type]) return 'bpftool attaches only tcx_ingress/tcx_egress';
      if (step.flags !== 0 && step.flags !== BPF_F_BEFORE) return 'bpftool can only append (flags 0) or prepend (BPF_F_BEFORE)';
      if (step.relative || step.replace) return 'bpftool takes no relative or replace';
      if (step.expected_revision !== 0) return 'bpftool takes no expected_revision';
      if (devName(step.dev) === null) return 'bpftool takes a device name, not a raw ifindex';
      if (closed.has(step.prog)) return 'the program was closed before (bpftool would not find it)';
      return null;
    }
    case 'prog_detach': {
      if (!TCX_NAMES[step.attach_type]) return 'bpftool detaches only tcx_ingress/tcx_egress';
      if (step.prog !== null || step.flags !== 0 || step.relative || step.expected_revision !== 0)
        return 'bpftool detaches only the last program (no prog, flags, relative or revision)';
      if (devName(step.dev) === null) return 'bpftool takes a device name, not a raw ifindex';
      return null;
    }
    case 'query':
      if (!TCX_NAMES[step.attach_type] || devName(step.dev) === null) return 'bpftool shows tcx of a named device only';
      if (step.query_flags !== 0 || step.attach_flags !== 0) return 'bpftool takes no query flags';
      return null;
    case 'prog_close':
      return null;
    case 'dev_create':
    case 'dev_delete':
    case 'qdisc_add':
    case 'qdisc_delete':
      return null;
    case 'cgroup_create':
    case 'cgroup_delete':
      return null;
    default:
      return 'bpftool has no tcx link commands';
  }
}

function llvmIr(p: ProgramDecl): string {
  return [
    'target triple = "bpf"',
    '@_license = global [4 x i8] c"GPL\\00", section "license", align 1',
    `define i32 @${p.name}(i8* %ctx) section "${section(p)}" {`,
    '  ret i32 0',
    '}',
  ].join('\n');
}

/** The command of one expressible cgroup step, `paths` the directory of each cgroup name now. */
function cgroupCommand(step: Step, paths: Map<string, string>): string {
  const type = (t: number) => String(attachTypeName(t));
  switch (step.op) {
    case 'prog_attach':
      return `bpftool cgroup attach "${paths.get(cgroupName(step.dev)!)}" ${type(step.attach_type)} pinned "$PINS/${step.prog}"${CGROUP_MODES[step.flags]}`;
    case 'prog_detach':
      return `bpftool cgroup detach "${paths.get(cgroupName(step.dev)!)}" ${type(step.attach_type)} pinned "$PINS/${step.prog}"`;
    case 'query':
      return `bpftool cgroup show "${paths.get(cgroupName(step.dev)!)}"${step.query_flags ? ' effective' : ''}`;
    case 'cgroup_create':
      return `mkdir "${paths.get(step.name)}"`;
    case 'cgroup_delete':
      return `cgroup_rmdir "${paths.get(step.cgroup)}"`;
    default:
      throw new Error(`no shell form for ${step.op}`); // whyNot() rules these out first
  }
}

/** Whether a step acts on a cgroup (run outside the netns: it has nothing to do with it). */
function onCgroup(step: Step): boolean {
  return (
    step.op === 'cgroup_create' || step.op === 'cgroup_delete' || ('dev' in step && typeof step.dev === 'object' && cgroupName(step.dev) !== null)
  );
}

/** The command of one expressible step (run inside the sequence's netns). */
function command(step: Step): string {
  switch (step.op) {
    case 'prog_attach':
      if (isNetnsTarget(step.dev)) return `bpftool prog attach pinned "$PINS/${step.prog}" flow_dissector`;
      return `bpftool net attach ${TCX_NAMES[step.attach_type]} pinned "$PINS/${step.prog}" dev ${shellQuote(devName(step.dev)!)}${step.flags ? ' prepend' : ''}`;
    case 'prog_detach':
      if (isNetnsTarget(step.dev)) return `bpftool prog detach pinned "$PINS/${step.prog}" flow_dissector`;
      return `bpftool net detach ${TCX_NAMES[step.attach_type]} dev ${shellQuote(devName(step.dev)!)}`;
    case 'query':
      if (isNetnsTarget(step.dev)) return 'bpftool net show';
      return `bpftool net show dev ${shellQuote(devName(step.dev)!)}`;
    case 'prog_close':
      return `rm "$PINS/${step.prog}"`;
    case 'dev_create':
      return `ip link add name ${shellQuote(step.name)} type ${step.kind} peer name ${shellQuote(step.peer)}`;
    case 'dev_delete':
      return `ip link del dev ${shellQuote(step.dev)}`;
    case 'qdisc_add':
      return `tc qdisc add dev ${shellQuote(step.dev)} ${step.kind}`;
    case 'qdisc_delete':
      return `tc qdisc del dev ${shellQuote(step.dev)} ${step.kind}`;
    default:
      throw new Error(`no shell form for ${step.op}`); // whyNot() rules these out first
  }
}

const HEADER = `set -u
for tool in ip bpftool llc; do
	command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 2; }
done
bpftool net help 2>&1 | grep -q tcx_ingress || { echo "needs bpftool 7.3 or later (tcx support); this one: $(bpftool version | head -1)" >&2; exit 2; }
NS=mprog-repro-$$
WORK=$(mktemp -d)
PINS="$WORK/bpffs"
cleanup() {
	ip netns del "$NS" 2>/dev/null
	umount "$PINS" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$NS" || exit 2
mkdir "$PINS" && mount -t bpf bpf "$PINS" || exit 2
in_ns() { ip netns exec "$NS" "$@"; }
# load NAME SECTION-IR: a trivial program (r0 = 0; exit) named NAME, pinned at $PINS/NAME.
load() {
	printf '%s\\n' "$2" > "$WORK/$1.ll"
	llc -march=bpf -filetype=obj -o "$WORK/$1.o" "$WORK/$1.ll" &&
		bpftool prog load "$WORK/$1.o" "$PINS/$1" 2>/dev/null || { echo "loading $1 failed" >&2; exit 2; }
}
# step N OP CMD...: runs CMD and prints "step N OP: STATUS" then its output.
step() {
	n=$1 op=$2
	shift 2
	out=$("$@" 2>&1)
	echo "step $n $op: $?"
	[ -n "$out" ] && printf '%s\\n' "$out" | sed 's/^/    /'
	return 0
}
`;

/** What a script with qdisc steps adds: `tc qdisc add|del dev DEV clsact|ingress` (iproute2). */
const TC_HEADER = 'command -v tc >/dev/null || { echo "needs tc (iproute2)" >&2; exit 2; }';

/** What a script with cgroups adds: a cgroup2 mount and a root of its own, removed at the end. */
const CGROUP_HEADER = `CG="$WORK/cgroup2"
CGROOT="$CG/mprog-repro-$$"
cgroup_cleanup() {
	find "$CGROOT" -depth -type d -exec rmdir {} + 2>/dev/null
	umount "$CG" 2>/dev/null
}
trap 'cgroup_cleanup; cleanup' EXIT
mkdir "$CG" && mount -t cgroup2 cgroup2 "$CG" && mkdir "$CGROOT" || exit 2
# cgroup_rmdir DIR: rmdir, then the wait until the kernel released the cgroup's programs and links.
cgroup_rmdir() {
	rmdir "$1" || return
	for _ in $(seq 1000); do
		grep -q '^nr_dying_descendants 0$' "$CGROOT/cgroup.stat" && return 0
		sleep 0.01
	done
}
`;

/** The directory of every cgroup name at each step: declared ones, then as cgroup_create makes them. */
function cgroupPaths(seq: Sequence): { initial: Map<string, string>; atStep: Map<string, string>[] } {
  const paths = new Map<string, string>();
  const under = (parent: string | null) => (parent === null ? '$CGROOT' : paths.get(parent)!);
  for (const c of seq.cgroups ?? []) paths.set(c.name, `${under(c.parent)}/${c.name}`);
  const initial = new Map(paths);
  const atStep = seq.steps.map((step) => {
    if (step.op === 'cgroup_create') paths.set(step.name, `${under(step.parent)}/${step.name}`);
    return new Map(paths);
  });
  return { initial, atStep };
}

export function shellReproducer(seq: Sequence): ShellReproducer {
  const closed = new Set<string>();
  const reasons: string[] = [];
  // bpftool, ip and tc run as root here; a caller with fewer capabilities needs capset(2) around
  // the one call (the C reproducer), which capsh/setpriv cannot give a single bpftool batch command.
  if (seq.caps !== undefined) reasons.push("the sequence names its caller's capabilities (caps): only the C reproducer sets them (capset)");
  // A program's map references are ld_imm64 relocations the script's objects would need (and
  // bpftool's `map name` reuse); not written yet: the C reproducer patches the fds in.
  if (usesMaps(seq)) reasons.push('the sequence declares maps: only the C reproducer loads programs that reference them');
  seq.steps.forEach((step, i) => {
    if (step.caps !== undefined) reasons.push(`step ${i} (${step.op}): a caller's capabilities (caps): only the C reproducer sets them (capset)`);
    const why = whyNot(step, closed);
    if (why) reasons.push(`step ${i} (${step.op}): ${why}`);
    if (step.op === 'prog_close') closed.add(step.prog);
  });
  if (reasons.length > 0) return { inexpressible: reasons };
  const paths = cgroupPaths(seq);
  const lines = [
    '#!/bin/sh',
    `# Reproducer for the bpf_mprog sequence ${JSON.stringify(seq.name)}, generated by \`mprog fuzz\`.`,
    '# Run as root. Needs ip (iproute2), bpftool 7.3 or later, and llc (LLVM) for the programs.',
    HEADER,
    ...(seq.steps.some((s) => s.op === 'qdisc_add' || s.op === 'qdisc_delete') ? [TC_HEADER] : []),
    // Interface names may hold any printable character but "/" and ":": each is one quoted word.
    ...(seq.cgroups?.length || seq.steps.some(onCgroup) ? [CGROUP_HEADER] : []),
    ...seq.devices.map((d) => `in_ns ip link add name ${shellQuote(d.name)} type ${d.kind} peer name ${shellQuote(d.peer)} || exit 2`),
    ...seq.programs.map((p) => `load ${p.name} '${llvmIr(p)}'`),
    ...[...paths.initial.values()].map((dir) => `mkdir "${dir}" || exit 2`),
    ...seq.steps.map((step, i) =>
      onCgroup(step) ? `step ${i} ${step.op} ${cgroupCommand(step, paths.atStep[i]!)}` : `step ${i} ${step.op} in_ns ${command(step)}`,
    ),
    '',
  ];
  return { script: lines.join('\n') };
}
