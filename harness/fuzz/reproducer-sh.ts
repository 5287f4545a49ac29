// A shell reproducer with bpftool and ip, for sequences where every step has a command-line
// form: `bpftool net attach tcx_ingress|tcx_egress PROG dev DEV [prepend]` is a prog attach
// with flags 0 (append) or BPF_F_BEFORE (prepend) and nothing else; `bpftool net detach` removes
// the last program (prog detach with attach_bpf_fd 0 and flags 0); `bpftool net show dev` is a
// query; `ip link add/del` are dev_create/dev_delete; removing a program's pin is its close.
// Links, relatives, REPLACE, expected revisions, raw ifindexes and netkit attach types have no
// such form: the sequence then gets no script, and the reasons say which steps.

import { BPF_F_BEFORE, BPF_TCX_EGRESS, BPF_TCX_INGRESS } from '../../emulator/uapi.js';
import type { DevRef, ProgramType, Sequence, Step } from '../../contract/seq.js';
import { shellQuote } from '../shell-quote.js';

const TCX_NAMES: Record<number, string> = { [BPF_TCX_INGRESS]: 'tcx_ingress', [BPF_TCX_EGRESS]: 'tcx_egress' };
/** ELF section names libbpf maps to each program type. */
const SECTIONS: Record<ProgramType, string> = { sched_cls: 'tc', xdp: 'xdp', cgroup_skb: 'cgroup_skb/ingress', cgroup_sockopt: 'cgroup/getsockopt' };

export type ShellReproducer = { script: string } | { inexpressible: string[] };

function devName(dev: DevRef): string | null {
  return 'name' in dev ? dev.name : null;
}

/** Why step `i` has no bpftool/ip form, or null when it has one. */
function whyNot(step: Step, closed: ReadonlySet<string>): string | null {
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
      if (step.prog !== null || step.flags !== 0 || step.relative || step.expected_revision !== 0) return 'bpftool detaches only the last program (no prog, flags, relative or revision)';
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
      return null;
    case 'cgroup_create':
    case 'cgroup_delete':
      return 'the script makes no cgroups';
    default:
      return 'bpftool has no tcx link commands';
  }
}

function llvmIr(name: string, type: ProgramType): string {
  return [
    'target triple = "bpf"',
    '@_license = global [4 x i8] c"GPL\\00", section "license", align 1',
    `define i32 @${name}(i8* %ctx) section "${SECTIONS[type]}" {`,
    '  ret i32 0',
    '}',
  ].join('\n');
}

/** The command of one expressible step (run inside the sequence's netns). */
function command(step: Step): string {
  switch (step.op) {
    case 'prog_attach':
      return `bpftool net attach ${TCX_NAMES[step.attach_type]} pinned "$PINS/${step.prog}" dev ${shellQuote(devName(step.dev)!)}${step.flags ? ' prepend' : ''}`;
    case 'prog_detach':
      return `bpftool net detach ${TCX_NAMES[step.attach_type]} dev ${shellQuote(devName(step.dev)!)}`;
    case 'query':
      return `bpftool net show dev ${shellQuote(devName(step.dev)!)}`;
    case 'prog_close':
      return `rm "$PINS/${step.prog}"`;
    case 'dev_create':
      return `ip link add ${shellQuote(step.name)} type ${step.kind} peer name ${shellQuote(step.peer)}`;
    case 'dev_delete':
      return `ip link del ${shellQuote(step.dev)}`;
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

export function shellReproducer(seq: Sequence): ShellReproducer {
  const closed = new Set<string>();
  const reasons: string[] = [];
  seq.steps.forEach((step, i) => {
    const why = whyNot(step, closed);
    if (why) reasons.push(`step ${i} (${step.op}): ${why}`);
    if (step.op === 'prog_close') closed.add(step.prog);
  });
  if (reasons.length > 0) return { inexpressible: reasons };
  const lines = [
    '#!/bin/sh',
    `# Reproducer for the bpf_mprog sequence ${JSON.stringify(seq.name)}, generated by \`mprog fuzz\`.`,
    '# Run as root. Needs ip (iproute2), bpftool 7.3 or later, and llc (LLVM) for the programs.',
    HEADER,
    // Interface names may hold any printable character but "/" and ":": each is one quoted word.
    ...seq.devices.map((d) => `in_ns ip link add ${shellQuote(d.name)} type ${d.kind} peer name ${shellQuote(d.peer)} || exit 2`),
    ...seq.programs.map((p) => `load ${p.name} '${llvmIr(p.name, p.type)}'`),
    ...seq.steps.map((step, i) => `step ${i} ${step.op} in_ns ${command(step)}`),
    '',
  ];
  return { script: lines.join('\n') };
}
