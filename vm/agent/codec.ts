// The mprog-agent protocol's codec (vm/agent/PROTOCOL.md), pure: a parsed sequence lowered to
// the lines the agent reads, and the agent's reply lines read back into raw results and the
// kernel's world. The session around it is agent-client.ts.

import type { KernelWorld, OutsideCgroupList } from '../../contract/world.js';
import {
  type DevRef,
  QUERY_ARRAY_NAMES,
  type RawLinkInfo,
  type RawQuery,
  type RawStepResult,
  type Ref,
  type Sequence,
  type Step,
  stepAttr,
  usesNetns,
} from '../../contract/seq.js';
import { TargetError } from '../../contract/target.js';
import { capMask } from '../../uapi/capability.js';

// ---- lowering (PROTOCOL.md "One sequence") ----

/** Object indices: programs in declaration order, then links in seq.links order. */
export function objectIndex(seq: Sequence): Map<string, number> {
  const objects = new Map<string, number>();
  [...seq.programs.map((p) => p.name), ...seq.links].forEach((name, i) => {
    if (objects.has(name)) throw new TargetError('harness-fault', `${seq.file}: "${name}" names two programs/links`);
    objects.set(name, i);
  });
  return objects;
}

/** Cgroup indices: every cgroup name, declared ones first, then those cgroup_create steps make
 * (the order the emulator numbers never-made names in, see CLOSED_CGROUP_FD_BASE). */
export function cgroupIndex(seq: Sequence): Map<string, number> {
  const names = new Map<string, number>();
  for (const c of seq.cgroups ?? []) names.set(c.name, names.size);
  for (const step of seq.steps) if (step.op === 'cgroup_create' && !names.has(step.name)) names.set(step.name, names.size);
  return names;
}

export function lower(seq: Sequence, objects: Map<string, number>, bpftool: boolean): string[] {
  const cgroups = cgroupIndex(seq);
  const lines = [`SEQ ${objects.size} ${seq.steps.length}${bpftool ? '' : ' nobpftool'}`];
  if (seq.caps !== undefined) lines.push(`CAPS ${capMask(seq.caps)}`);
  if (usesNetns(seq)) lines.push('NETNS');
  for (const d of seq.devices) lines.push(`DEV ${d.kind} ${word(seq, d.name)} ${word(seq, d.peer)}`);
  const maps = new Map((seq.maps ?? []).map((m, i) => [m.name, i]));
  (seq.maps ?? []).forEach((m, i) => lines.push(`MAP ${i} ${m.type} ${word(seq, m.name)}`));
  seq.programs.forEach((p, i) => {
    const expected = p.expected_attach_type ? ` ${p.expected_attach_type}` : '';
    const uses = p.maps?.length ? ` maps=${p.maps.map((m) => maps.get(m)!).join(',')}` : '';
    lines.push(`PROG ${i} ${p.type} ${word(seq, p.name)}${expected}${uses}`);
  });
  seq.links.forEach((l, i) => lines.push(`LINK ${seq.programs.length + i} ${word(seq, l)}`));
  const declared = new Map((seq.cgroups ?? []).map((c) => [c.name, c.parent]));
  for (const [name, c] of cgroups) {
    const parent = declared.get(name);
    lines.push(`CGROUP ${c} ${word(seq, name)} ${parent ? cgroups.get(parent)! : '-'} ${declared.has(name) ? 1 : 0}`);
  }
  seq.steps.forEach((step, i) => lines.push(`STEP ${i} ${step.op}${lowerStep(seq, i, step, objects, cgroups)}`));
  lines.push('END');
  return lines;
}

/** A query's `arrays` as the agent's bit mask: 1 prog_ids, 2 prog_attach_flags, 4 link_ids, 8 link_attach_flags. */
export function arraysMask(arrays: readonly string[] | undefined): number {
  return (arrays ?? QUERY_ARRAY_NAMES).reduce((m, a) => m | (1 << QUERY_ARRAY_NAMES.indexOf(a as (typeof QUERY_ARRAY_NAMES)[number])), 0);
}

function lowerStep(seq: Sequence, i: number, step: Step, objects: Map<string, number>, cgroups: Map<string, number>): string {
  const obj = (name: string): number => {
    const o = objects.get(name);
    if (o === undefined) throw new TargetError('harness-fault', `${seq.file}: step ${i}: no program or link named "${name}"`);
    return o;
  };
  const n = (v: number, what: string): string => checkInt(v, `${seq.file}: step ${i}: ${what}`);
  const cg = (name: string): string => String(cgroups.get(name)!);
  // The target: `dev=` for a device (or a raw number), `cg=` for a cgroup name, `ns=` for the netns.
  const target = (d: DevRef): string => {
    if ('name' in d) return `dev=n:${word(seq, d.name)}`;
    if ('cgroup' in d) return `cg=${cg(d.cgroup)}`;
    if ('netns' in d) return 'ns=s';
    if ('netnsFd' in d) return `ns=f:${n(d.netnsFd, 'target')}`;
    return `dev=i:${n('ifindex' in d ? d.ifindex : d.cgroupFd, 'target')}`;
  };
  const ref = (r: Ref): string => ('fd' in r ? `f:${obj(r.fd)}` : 'id' in r ? `d:${obj(r.id)}` : `v:${n(r.value, 'value')}`);
  const kv: string[] = [];
  const add = (key: string, value: string): void => void kv.push(`${key}=${value}`);

  switch (step.op) {
    case 'prog_attach':
    case 'prog_detach':
    case 'link_create':
      if (step.op === 'link_create') add('link', String(obj(step.link)));
      if (step.prog !== null) add('prog', String(obj(step.prog)));
      kv.push(target(step.dev));
      add('type', n(step.attach_type, 'attach_type'));
      add('flags', n(step.flags, 'flags'));
      if (step.relative) add('rel', ref(step.relative));
      if (step.op === 'prog_attach' && step.replace) add('rep', ref(step.replace));
      add('rev', n(step.expected_revision, 'expected_revision'));
      break;
    case 'link_update':
      add('link', String(obj(step.link)));
      add('prog', String(obj(step.prog)));
      if (step.old_prog !== null) add('old', String(obj(step.old_prog)));
      add('flags', n(step.flags, 'flags'));
      break;
    case 'link_detach':
    case 'link_close':
    case 'link_info':
      add('link', String(obj(step.link)));
      break;
    case 'prog_close':
      add('prog', String(obj(step.prog)));
      break;
    case 'query':
      kv.push(target(step.dev));
      add('type', n(step.attach_type, 'attach_type'));
      add('count', n(step.count, 'count'));
      add('qflags', n(step.query_flags, 'query_flags'));
      add('aflags', n(step.attach_flags, 'attach_flags'));
      if (step.arrays) add('arrays', String(arraysMask(step.arrays)));
      break;
    case 'dev_create':
      add('name', word(seq, step.name));
      add('kind', step.kind);
      add('peer', word(seq, step.peer));
      break;
    case 'dev_delete':
      add('dev', `n:${word(seq, step.dev)}`);
      break;
    case 'qdisc_add':
    case 'qdisc_delete':
      add('dev', `n:${word(seq, step.dev)}`);
      add('kind', step.kind);
      break;
    case 'cgroup_create':
      add('cg', cg(step.name));
      if (step.parent !== null) add('parent', cg(step.parent));
      break;
    case 'cgroup_delete':
      add('cg', cg(step.cgroup));
      break;
  }
  if (step.caps !== undefined) add('caps', String(capMask(step.caps)));
  // The whole bpf(2) boundary (PROTOCOL.md "attr"): asz first, then the raw bytes.
  const attr = stepAttr(step);
  if (attr) {
    add('asz', n(attr.size, 'attr_size'));
    if (attr.raw.length) add('raw', attr.raw.map((r) => `${n(r.at, 'raw.at')}:${r.hex}`).join(','));
  }
  return kv.map((t) => ` ${t}`).join('');
}

/** A name as one protocol token (the parser guarantees this; a violation is a harness bug). */
function word(seq: Sequence, name: string): string {
  if (!/^[\x21-\x7e]{1,15}$/.test(name)) {
    throw new TargetError('harness-fault', `${seq.file}: name "${name}" cannot be sent to the agent (1..15 printable characters, no spaces)`);
  }
  return name;
}

export function checkInt(v: number, what: string): string {
  if (!Number.isSafeInteger(v)) throw new TargetError('harness-fault', `${what}: ${v} is not an integer`);
  return String(v);
}

// ---- replies (PROTOCOL.md "Replies") ----

/** `key=value` tokens; a token without `=` is an error the caller reports. */
export function keyValues(tok: string[]): Map<string, string> {
  const kv = new Map<string, string>();
  for (const t of tok) {
    const eq = t.indexOf('=');
    kv.set(eq <= 0 ? '' : t.slice(0, eq), t.slice(eq + 1));
  }
  return kv;
}

export function parseResult(step: Step, tok: string[], fail: (message: string) => TargetError): { step: RawStepResult; linkId: number } {
  const ret = Number(tok[0]);
  if (!Number.isInteger(ret)) throw fail('bad return value');
  const kv = keyValues(tok.slice(1));
  if (kv.has('')) throw fail(`bad field in "${tok.join(' ')}"`);
  const num = (key: string): number => {
    const v = Number(kv.get(key));
    if (!kv.has(key) || !Number.isInteger(v) || v < 0) throw fail(`missing or bad ${key}=`);
    return v;
  };
  const list = (key: string): number[] => {
    const v = kv.get(key);
    if (v === undefined) throw fail(`missing ${key}=`);
    if (v === '-') return [];
    return v.split(',').map((x) => {
      const n = Number(x);
      if (!Number.isInteger(n) || n < 0) throw fail(`bad ${key}= element "${x}"`);
      return n;
    });
  };

  const result: RawStepResult = { ret };
  if (kv.get('beyond') === '1') result.beyond_size = true;
  let linkId = 0;
  if (step.op === 'link_create') linkId = num('id');
  if (step.op === 'query' && kv.has('count')) {
    const query: RawQuery = {
      count: num('count'),
      revision: num('rev'),
      attach_flags: num('aflags'),
      prog_ids: list('ids'),
      link_ids: list('lids'),
      prog_attach_flags: list('pfl'),
      link_attach_flags: list('lfl'),
    };
    result.query = query;
  }
  if (step.op === 'link_info' && ret >= 0) {
    const info: RawLinkInfo = kv.has('cgid')
      ? { prog_id: num('prog'), cgroup_id: num('cgid'), attach_type: num('atype') }
      : kv.has('netns')
        ? { prog_id: num('prog'), netns_ino: num('netns'), attach_type: num('atype') }
        : { prog_id: num('prog'), ifindex: num('ifindex'), attach_type: num('atype') };
    result.link_info = info;
  }
  return { step: result, linkId };
}

/** The ifindex a query addressed: a name resolves as the agent did (missing → 0x7fffffff). */
export function devIfindex(dev: DevRef, ifindexOf: Map<string, number>): number {
  if ('name' in dev) return ifindexOf.get(dev.name) ?? 0x7fffffff;
  return 'ifindex' in dev ? dev.ifindex : 0; // a cgroup or a netns has no ifindex
}

/** A `W` line's tokens (after the tag): the world as the steps begin, or null when malformed. */
export function parseWorld(tok: string[], progIds: Record<string, number>): KernelWorld | null {
  const kv = keyValues(tok);
  if (!/^\d+$/.test(kv.get('next_link') ?? '') || !/^[01]$/.test(kv.get('netkit') ?? '') || !/^\d+(,\d+)*$/.test(kv.get('fds') ?? '')) return null;
  const fds = kv.get('fds')!.split(',').map(Number);
  const world: KernelWorld = {
    progIds,
    nextLinkId: Number(kv.get('next_link')),
    linkIds: {},
    progs: [],
    links: [],
    fds,
    netkit: kv.get('netkit') === '1',
  };
  if (kv.has('unpriv_bpf')) {
    if (!/^\d+$/.test(kv.get('unpriv_bpf')!)) return null;
    world.unprivilegedBpfDisabled = Number(kv.get('unpriv_bpf'));
  }
  if (kv.has('fdinit')) {
    if (kv.get('fdinit') !== '1') return null;
    world.initNetFlowDissector = true;
  }
  if (kv.has('cgdepth')) {
    if (!/^\d+$/.test(kv.get('cgdepth')!)) return null;
    world.cgroupAncestors = Array.from({ length: Number(kv.get('cgdepth')) }, () => []);
  }
  return world;
}

/** Adds a `C` line's list (a cgroup above the sequence's root) to `world`; false when malformed. */
export function parseCgroupAncestor(world: KernelWorld, tok: string[]): boolean {
  const [depth, type, flags, ids] = tok;
  if (tok.length !== 4 || ![depth, type, flags].every((n) => /^\d+$/.test(n!)) || !/^(-|\d+(,\d+)*)$/.test(ids!)) return false;
  const level = world.cgroupAncestors?.[Number(depth)];
  if (!level) return false;
  const list: OutsideCgroupList = { attachType: Number(type), flags: Number(flags), progIds: ids === '-' ? [] : ids!.split(',').map(Number) };
  level.push(list);
  return true;
}

/** Adds an `O` line's object to `world`; false when the line is malformed. */
export function parseOutside(world: KernelWorld, tok: string[]): boolean {
  const [kind, ...nums] = tok;
  if (!nums.every((n) => /^\d+$/.test(n)) || (kind === 'prog' ? nums.length !== 2 : kind !== 'link' || nums.length !== 3)) return false;
  const [id, type, progId] = nums.map(Number);
  if (kind === 'prog') world.progs.push({ id: id!, type: type! });
  else world.links.push({ id: id!, type: type!, progId: progId! });
  return true;
}
