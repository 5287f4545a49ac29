// Generated and shrunk sequences are Sequence objects; this turns them back into mprog-seq/1
// JSON and back again through the real parser, so whatever the fuzzer writes or replays is a
// sequence a user could have written by hand.

import { SEQ_DEFAULTS, parseSequenceText } from './parse.js';
import {
  type AttrFields,
  type DevRef,
  type DeviceKind,
  QUERY_ARRAY_NAMES,
  type ProgramDecl,
  type Ref,
  type Sequence,
  type Step,
} from '../../contract/seq.js';
import { BPF_CGROUP_GETSOCKOPT, FLAG_NAMES, attachTypeName } from '../../uapi/bpf.js';

type JsonObject = Record<string, unknown>;

/** Flags as names where a name exists (the format's array form), any other bits as one integer. */
export function flagsToJson(flags: number): (string | number)[] {
  const out: (string | number)[] = [];
  let rest = flags >>> 0;
  for (const [name, bit] of Object.entries(FLAG_NAMES)) {
    if (rest & bit) {
      out.push(name);
      rest = (rest & ~bit) >>> 0;
    }
  }
  if (rest) out.push(rest);
  return out;
}

/** The attach target as its field of the format: `dev`, `cgroup` or `netns`. */
function devToJson(dev: DevRef): JsonObject {
  if ('name' in dev) return { dev: dev.name };
  if ('ifindex' in dev) return { dev: { ifindex: dev.ifindex } };
  if ('cgroup' in dev) return { cgroup: dev.cgroup };
  if ('cgroupFd' in dev) return { cgroup: { fd: dev.cgroupFd } };
  if ('netns' in dev) return { netns: dev.netns };
  return { netns: { fd: dev.netnsFd } };
}

function refToJson(ref: Ref): JsonObject {
  return { ...ref };
}

/** The fields of an attach-like step that differ from the format's defaults. */
function mprogFields(step: { dev: DevRef; attach_type: number; flags: number; relative: Ref | null; expected_revision: number }): JsonObject {
  return {
    ...devToJson(step.dev),
    attach_type: attachTypeName(step.attach_type),
    ...(step.flags !== 0 && { flags: flagsToJson(step.flags) }),
    ...(step.relative && { relative: refToJson(step.relative) }),
    ...(step.expected_revision !== 0 && { expected_revision: step.expected_revision }),
  };
}

/** A step's attr fields (attr_size, raw), when it carries any. */
function attrToJson(step: Step): JsonObject {
  const a = step as AttrFields;
  return { ...(a.attr_size !== undefined && { attr_size: a.attr_size }), ...(a.raw !== undefined && { raw: a.raw.map((r) => ({ ...r })) }) };
}

function stepToJson(step: Step): JsonObject {
  return { ...stepOwnToJson(step), ...attrToJson(step), ...(step.caps !== undefined && { caps: [...step.caps] }) };
}

function stepOwnToJson(step: Step): JsonObject {
  switch (step.op) {
    case 'prog_attach':
      return { op: step.op, prog: step.prog, ...mprogFields(step), ...(step.replace && { replace: refToJson(step.replace) }) };
    case 'prog_detach':
      return { op: step.op, ...(step.prog !== null && { prog: step.prog }), ...mprogFields(step) };
    case 'link_create':
      return { op: step.op, link: step.link, prog: step.prog, ...mprogFields(step) };
    case 'link_update':
      return {
        op: step.op,
        link: step.link,
        prog: step.prog,
        ...(step.old_prog !== null && { old_prog: step.old_prog }),
        ...(step.flags !== 0 && { flags: flagsToJson(step.flags) }),
      };
    case 'link_detach':
    case 'link_close':
    case 'link_info':
      return { op: step.op, link: step.link };
    case 'prog_close':
      return { op: step.op, prog: step.prog };
    case 'query':
      return {
        op: step.op,
        ...devToJson(step.dev),
        attach_type: attachTypeName(step.attach_type),
        ...(step.count !== SEQ_DEFAULTS.queryCount && { count: step.count }),
        ...(step.query_flags !== 0 && { query_flags: step.query_flags }),
        ...(step.attach_flags !== 0 && { attach_flags: step.attach_flags }),
        ...(step.arrays && step.arrays.length !== QUERY_ARRAY_NAMES.length && { arrays: step.arrays }),
      };
    case 'dev_create':
      return { op: step.op, name: step.name, ...deviceFields(step) };
    case 'dev_delete':
      return { op: step.op, dev: step.dev };
    case 'qdisc_add':
    case 'qdisc_delete':
      return { op: step.op, dev: step.dev, kind: step.kind };
    case 'cgroup_create':
      return { op: step.op, name: step.name, ...(step.parent !== null && { parent: step.parent }) };
    case 'cgroup_delete':
      return { op: step.op, cgroup: step.cgroup };
  }
}

/** A program as the format writes it: its name alone where type and expected_attach_type are the defaults. */
function programToJson(p: ProgramDecl): string | JsonObject {
  const eat = p.type === 'cgroup_sockopt' && p.expected_attach_type !== undefined && p.expected_attach_type !== BPF_CGROUP_GETSOCKOPT;
  if (p.type === SEQ_DEFAULTS.programType && !p.maps?.length) return p.name;
  return {
    name: p.name,
    type: p.type,
    ...(eat && { expected_attach_type: attachTypeName(p.expected_attach_type!) }),
    ...(p.maps?.length && { maps: [...p.maps] }),
  };
}

/** kind and peer of a device, where they differ from what an absent field means. */
function deviceFields(d: { name: string; kind: DeviceKind; peer: string }): JsonObject {
  return {
    ...(d.kind !== SEQ_DEFAULTS.deviceKind && { kind: d.kind }),
    ...(d.peer !== SEQ_DEFAULTS.peerOf(d.name) && { peer: d.peer }),
  };
}

/** The mprog-seq/1 document of a sequence (expects are not carried: fuzzed steps have none). */
function sequenceToJson(seq: Sequence): JsonObject {
  return {
    format: 'mprog-seq/1',
    name: seq.name,
    ...(seq.description !== undefined && { description: seq.description }),
    ...(seq.caps !== undefined && { caps: [...seq.caps] }),
    devices: seq.devices.map((d) => ({ name: d.name, ...deviceFields(d) })),
    ...(seq.cgroups?.length && { cgroups: seq.cgroups.map((c) => (c.parent === null ? c.name : { name: c.name, parent: c.parent })) }),
    ...(seq.maps?.length && { maps: seq.maps.map((m) => ({ name: m.name, type: m.type })) }),
    programs: seq.programs.map(programToJson),
    steps: seq.steps.map(stepToJson),
  };
}

export function sequenceToText(seq: Sequence): string {
  return `${JSON.stringify(sequenceToJson(seq), null, 2)}\n`;
}

/**
 * A sequence built from parts, checked by the parser: it throws a SeqError where the parts do not
 * make a sequence (e.g. a step left referring to a link whose link_create was dropped).
 */
export function rebuild(
  base: Sequence,
  parts: Partial<Pick<Sequence, 'name' | 'description' | 'devices' | 'cgroups' | 'maps' | 'programs' | 'steps' | 'caps'>>,
): Sequence {
  const seq: Sequence = { ...base, ...parts, expects: [], links: [] };
  return parseSequenceText(sequenceToText(seq), base.file);
}
