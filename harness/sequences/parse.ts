// Parser and validator of mprog-seq/1 files. Every error names the file and the JSON path of the
// offending field, so a user can go straight to it.

import { errnoNumber } from '../../uapi/errno.js';
import { CAPABILITIES, type CapabilityName } from '../../uapi/capability.js';
import { ATTACH_TYPE_NAMES, BPF_CGROUP_GETSOCKOPT, FLAG_NAMES, QUERY_FLAG_NAMES } from '../../uapi/bpf.js';
import { BadInput } from '../../contract/errors.js';
import { InputPathError, MAX_SEQUENCE_BYTES, readInputFile } from '../../vm/runtime/input-files.js';
import {
  type CgroupDecl,
  type DevRef,
  QUERY_ARRAY_NAMES,
  type QueryArrayName,
  type DeviceDecl,
  type DeviceKind,
  type QdiscKind,
  type QdiscStep,
  type Expect,
  MAP_TYPES,
  type MapDecl,
  PROGRAM_MAP_TYPES,
  PROG_MAPS_MAX,
  type ProgramDecl,
  type ProgramType,
  type Ref,
  type Sequence,
  type Step,
  type StepOp,
  ATTR_SIZE_MAX,
  type AttrFields,
  type AttrOp,
  DEFAULT_ATTR_SIZE,
  isAttrOp,
} from '../../contract/seq.js';

/** A sequence file the parser rejects: bad input, naming the file and the JSON path. */
export class SeqError extends BadInput {
  override name = 'SeqError';
  declare readonly file: string;
  constructor(
    file: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${file}: ${path}: ${reason}`, { file, jsonPath: path });
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const U32_MAX = 0xffffffff;
/** Deeper than any sequence needs; far below what recursive code over the value could take. */
const MAX_DEPTH = 32;
/**
 * Interface names a real kernel gives the device asked for, as the agent can carry them. The
 * kernel's rules (net/core/dev.c): dev_valid_name() takes 1..15 bytes, not "." or "..", without
 * "/", ":" or white space (EINVAL otherwise); dev_prep_valid_name() treats a name with "%" as a
 * format it fills in (__dev_alloc_name: one "%d", anything else EINVAL), so such a name never names
 * the device made ("v%d" makes v0); and registering the device's IPv4 sysctls refuses "all" and
 * "default" (include/net/ip.h sysctl_dev_name_is_allowed(): EINVAL). The format narrows the bytes
 * to printable ASCII: the agent protocol sends a name as one printable token.
 */
const DEVICE_NAME = /^[\x21-\x7e]{1,15}$/;
const DEVICE_NAME_RULE = '1 to 15 printable ASCII characters, not "." or "..", "all" or "default", without "/", ":", "%" or white space';
/** Why the kernel would not give a device the name `name`, or null when it would (see DEVICE_NAME). */
function deviceNameProblem(name: string): string | null {
  if (name.length === 0) return 'empty';
  if (/[^\x21-\x7e]/.test(name)) return /[\s\u00a0]/.test(name) ? 'white space' : 'a character that is not printable ASCII';
  if (name.length > 15) return 'longer than 15 characters';
  if (name === '.' || name === '..') return 'a name the kernel refuses (dev_valid_name)';
  if (/[/:]/.test(name)) return `"${/\//.test(name) ? '/' : ':'}" is not allowed (dev_valid_name)`;
  if (name.includes('%'))
    return 'a "%" makes the name a format the kernel fills in ("v%d" names the device v0, any other "%" is EINVAL): the device made would not have this name';
  if (name === 'all' || name === 'default') return 'the kernel refuses it: a device\'s sysctl directory cannot be "all" or "default"';
  return DEVICE_NAME.test(name) ? null : 'invalid';
}
/**
 * Program names: the kernel's bpf_obj_name_cpy() (kernel/bpf/syscall.c) takes up to 15 bytes of
 * isalnum(), "_" and "."; the format narrows that to [A-Za-z0-9_] and at least one character.
 */
const OBJECT_NAME = /^[A-Za-z0-9_]{1,15}$/;
/**
 * Cgroup names: a directory the kernel makes (kernel/cgroup/cgroup.c cgroup_mkdir(): no "\n";
 * the VFS and kernfs: no "/", not "." or ".."; a name of the parent's interface files, all with a
 * ".", is taken), narrowed by the format to characters the agent can carry and a shell needs no
 * quotes for, without ".", so it can never be one of those files.
 */
const CGROUP_NAME = /^[A-Za-z0-9_-]{1,15}$/;
/** What mprog-seq/1 means by an absent field (the writer in fuzz/seqjson.ts leaves these out). */
export const SEQ_DEFAULTS = {
  deviceKind: 'veth' as DeviceKind,
  peerOf: (name: string): string => `${name}p`,
  programType: 'sched_cls' as ProgramType,
  queryCount: 64,
};

const DEVICE_KINDS: readonly DeviceKind[] = ['veth', 'netkit'];
const QDISC_KINDS: readonly QdiscKind[] = ['clsact', 'ingress'];
const PROGRAM_TYPES: readonly ProgramType[] = ['sched_cls', 'xdp', 'cgroup_skb', 'cgroup_sockopt', 'flow_dissector'];
/** The attach types a cgroup_sockopt program can be loaded for. */
const SOCKOPT_ATTACH_TYPES = ['cgroup_getsockopt', 'cgroup_setsockopt'];

/** Which fields each op takes (besides `op`, `expect`, `comment`), and which of them it needs. */
const OP_FIELDS: Record<StepOp, { required: string[]; optional: string[] }> = {
  prog_attach: { required: ['prog', 'attach_type'], optional: ['dev', 'cgroup', 'netns', 'flags', 'relative', 'replace', 'expected_revision'] },
  prog_detach: { required: ['attach_type'], optional: ['dev', 'cgroup', 'netns', 'prog', 'flags', 'relative', 'expected_revision'] },
  link_create: { required: ['link', 'prog', 'attach_type'], optional: ['dev', 'cgroup', 'netns', 'flags', 'relative', 'expected_revision'] },
  link_update: { required: ['link', 'prog'], optional: ['old_prog', 'flags'] },
  link_detach: { required: ['link'], optional: [] },
  link_close: { required: ['link'], optional: [] },
  link_info: { required: ['link'], optional: [] },
  prog_close: { required: ['prog'], optional: [] },
  query: { required: ['attach_type'], optional: ['dev', 'cgroup', 'netns', 'count', 'query_flags', 'attach_flags', 'arrays'] },
  dev_create: { required: ['name'], optional: ['kind', 'peer'] },
  dev_delete: { required: ['dev'], optional: [] },
  qdisc_add: { required: ['dev', 'kind'], optional: [] },
  qdisc_delete: { required: ['dev', 'kind'], optional: [] },
  cgroup_create: { required: ['name'], optional: ['parent'] },
  cgroup_delete: { required: ['cgroup'], optional: [] },
};

const EXPECT_FIELDS = ['ok', 'errno', 'query', 'link_info', 'beyond_size'];
const QUERY_FIELDS = ['count', 'revision', 'attach_flags', 'prog_ids', 'link_ids', 'prog_attach_flags', 'link_attach_flags'];
const LINK_INFO_FIELDS = ['prog', 'dev', 'cgroup', 'netns', 'attach_type'];

/** One file's parse: names seen so far, so references can be checked in one pass at the end. */
class Parser {
  private readonly objects = new Map<string, 'program' | 'link' | 'map'>();
  private readonly mapTypes = new Map<string, MapDecl['type']>();
  private readonly deviceNames = new Set<string>(['lo']);
  private readonly pendingRefs: { name: string; path: string; kinds: ('program' | 'link' | 'map')[] }[] = [];
  private readonly pendingDevs: { name: string; path: string }[] = [];
  private readonly cgroupNames = new Set<string>();
  private readonly pendingCgroups: { name: string; path: string }[] = [];

  constructor(private readonly file: string) {}

  fail(path: string, reason: string): never {
    throw new SeqError(this.file, path, reason);
  }

  object(value: Json | undefined, path: string): JsonObject {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(path, 'must be an object');
    return value;
  }

  keys(obj: JsonObject, path: string, allowed: readonly string[]): void {
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key)) this.fail(`${path}.${key}`, `unknown field (expected one of: ${allowed.join(', ')})`);
    }
  }

  string(value: Json | undefined, path: string): string {
    if (typeof value !== 'string') this.fail(path, 'must be a string');
    return value;
  }

  integer(value: Json | undefined, path: string, max = U32_MAX, min = 0): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(path, `must be an integer from ${min} to ${max}`);
    }
    return value;
  }

  optionalInteger(value: Json | undefined, path: string, fallback: number, max = U32_MAX): number {
    return value === undefined ? fallback : this.integer(value, path, max);
  }

  objectName(value: Json | undefined, path: string): string {
    const name = this.string(value, path);
    if (!OBJECT_NAME.test(name)) this.fail(path, `"${name}" is not a valid name (1 to 15 characters of [A-Za-z0-9_])`);
    return name;
  }

  deviceName(value: Json | undefined, path: string): string {
    const name = this.string(value, path);
    const problem = deviceNameProblem(name);
    if (problem !== null) this.fail(path, `${JSON.stringify(name)} is not a valid interface name: ${problem} (${DEVICE_NAME_RULE})`);
    return name;
  }

  /** `table[name]` when `name` is one of its own keys: never something inherited like "toString". */
  lookup<T>(table: Record<string, T>, name: string): T | undefined {
    return Object.hasOwn(table, name) ? table[name] : undefined;
  }

  declare(name: string, kind: 'program' | 'link' | 'map', path: string): void {
    if (this.objects.has(name)) this.fail(path, `duplicate name "${name}" (maps, programs and links share one namespace)`);
    this.objects.set(name, kind);
  }

  declareDevice(name: string, path: string): void {
    if (this.deviceNames.has(name)) this.fail(path, `duplicate device name "${name}"`);
    if (this.cgroupNames.has(name)) this.fail(path, `"${name}" is a cgroup (devices and cgroups share one namespace)`);
    this.deviceNames.add(name);
  }

  cgroupName(value: Json | undefined, path: string): string {
    const name = this.string(value, path);
    if (!CGROUP_NAME.test(name)) this.fail(path, `${JSON.stringify(name)} is not a valid cgroup name (1 to 15 characters of [A-Za-z0-9_-])`);
    return name;
  }

  /** A cgroup name bound here; `redeclare`: cgroup_create may make a deleted cgroup again. */
  declareCgroup(name: string, path: string, redeclare: boolean): void {
    if (this.deviceNames.has(name)) this.fail(path, `"${name}" is a device (devices and cgroups share one namespace)`);
    if (this.cgroupNames.has(name) && !redeclare) this.fail(path, `duplicate cgroup name "${name}"`);
    this.cgroupNames.add(name);
  }

  /** The parent of a cgroup: one declared before it, or null for the sequence's root. */
  cgroupParent(value: Json | undefined, path: string): string | null {
    if (value === undefined) return null;
    const parent = this.cgroupName(value, path);
    if (!this.cgroupNames.has(parent)) this.fail(path, `"${parent}" is not a cgroup declared before`);
    return parent;
  }

  cgroup(value: Json | undefined, path: string): CgroupDecl {
    if (typeof value === 'string') return this.cgroup({ name: value }, path);
    const obj = this.object(value, path);
    this.keys(obj, path, ['name', 'parent']);
    const name = this.cgroupName(obj.name, `${path}.name`);
    const parent = this.cgroupParent(obj.parent, `${path}.parent`);
    if (parent === name) this.fail(`${path}.parent`, 'a cgroup cannot be its own parent');
    this.declareCgroup(name, `${path}.name`, false);
    return { name, parent };
  }

  /** A cgroup operand: a cgroup name (checked at the end: declared anywhere) or { "fd": N }. */
  cgroupRef(value: Json | undefined, path: string): DevRef {
    if (typeof value === 'string') {
      this.pendingCgroups.push({ name: this.cgroupName(value, path), path });
      return { cgroup: value };
    }
    const obj = this.object(value, path);
    this.keys(obj, path, ['fd']);
    return { cgroupFd: this.integer(obj.fd, `${path}.fd`) };
  }

  /** A netns operand: "self" (the sequence's network namespace) or { "fd": N }. */
  netnsRef(value: Json | undefined, path: string): DevRef {
    if (value === 'self') return { netns: 'self' };
    if (typeof value === 'string') this.fail(path, `${JSON.stringify(value)} is not a network namespace (the sequence has one: "self")`);
    const obj = this.object(value, path);
    this.keys(obj, path, ['fd']);
    return { netnsFd: this.integer(obj.fd, `${path}.fd`) };
  }

  /** The attach target of a step: exactly one of `dev`, `cgroup` and `netns`. */
  target(obj: JsonObject, path: string): DevRef {
    const given = (['dev', 'cgroup', 'netns'] as const).filter((key) => obj[key] !== undefined);
    if (!given.length) this.fail(`${path}.dev`, 'missing (the step needs a target: "dev", "cgroup" or "netns")');
    if (given.length > 1) this.fail(`${path}.${given[1]}`, `a step names one target: "${given[0]}" or "${given[1]}", not both`);
    if (given[0] === 'netns') return this.netnsRef(obj.netns, `${path}.netns`);
    return given[0] === 'dev' ? this.devRef(obj.dev, `${path}.dev`) : this.cgroupRef(obj.cgroup, `${path}.cgroup`);
  }

  /** A name that must be declared (anywhere in the file) as one of `kinds`. */
  reference(value: Json | undefined, path: string, kinds: ('program' | 'link')[]): string {
    const name = this.objectName(value, path);
    this.pendingRefs.push({ name, path, kinds });
    return name;
  }

  checkReferences(): void {
    for (const { name, path, kinds } of this.pendingRefs) {
      const kind = this.objects.get(name);
      if (!kind) this.fail(path, `"${name}" is not a declared ${kinds.join(' or ')}`);
      if (!kinds.includes(kind)) this.fail(path, `"${name}" is a ${kind}, expected a ${kinds.join(' or ')}`);
    }
    for (const { name, path } of this.pendingDevs) {
      if (!this.deviceNames.has(name)) this.fail(path, `"${name}" is not a declared device`);
    }
    for (const { name, path } of this.pendingCgroups) {
      if (!this.cgroupNames.has(name)) this.fail(path, `"${name}" is not a declared cgroup`);
    }
  }

  /** A device pair. `redeclare`: dev_create may name a pair again (after dev_delete, or to see
   * the kernel's EEXIST); the initial devices must be distinct. */
  device(value: Json | undefined, path: string, redeclare = false): DeviceDecl {
    if (typeof value === 'string') return this.device({ name: value }, path, redeclare);
    const obj = this.object(value, path);
    this.keys(obj, path, ['name', 'kind', 'peer']);
    const name = this.deviceName(obj.name, `${path}.name`);
    const kind = obj.kind === undefined ? SEQ_DEFAULTS.deviceKind : this.oneOf(obj.kind, `${path}.kind`, DEVICE_KINDS);
    const peer = obj.peer === undefined ? this.deviceName(SEQ_DEFAULTS.peerOf(name), `${path}.name`) : this.deviceName(obj.peer, `${path}.peer`);
    if (peer === name) this.fail(`${path}.peer`, 'a peer needs a name of its own');
    if (!redeclare) {
      this.declareDevice(name, `${path}.name`);
      this.declareDevice(peer, obj.peer === undefined ? `${path}.name` : `${path}.peer`);
    }
    this.deviceNames.add(name).add(peer);
    return { name, kind, peer };
  }

  program(value: Json | undefined, path: string): ProgramDecl {
    if (typeof value === 'string') return this.program({ name: value }, path);
    const obj = this.object(value, path);
    this.keys(obj, path, ['name', 'type', 'expected_attach_type', 'maps']);
    const name = this.objectName(obj.name, `${path}.name`);
    const type = obj.type === undefined ? SEQ_DEFAULTS.programType : this.oneOf(obj.type, `${path}.type`, PROGRAM_TYPES);
    this.declare(name, 'program', `${path}.name`);
    const expected = this.expectedAttachType(obj.expected_attach_type, type, `${path}.expected_attach_type`);
    const maps = obj.maps === undefined ? undefined : this.programMaps(obj.maps, type, `${path}.maps`);
    return { name, type, ...(type === 'cgroup_sockopt' && { expected_attach_type: expected }), ...(maps?.length && { maps }) };
  }

  /** A map the sequence declares: a name of the maps/programs/links namespace and a type. */
  map(value: Json | undefined, path: string): MapDecl {
    const obj = this.object(value, path);
    this.keys(obj, path, ['name', 'type']);
    const name = this.objectName(obj.name, `${path}.name`);
    if (obj.type === undefined) this.fail(`${path}.type`, `missing (one of: ${MAP_TYPES.join(', ')})`);
    const type = this.oneOf(obj.type, `${path}.type`, MAP_TYPES);
    this.declare(name, 'map', `${path}.name`);
    this.mapTypes.set(name, type);
    return { name, type };
  }

  /** A program's `maps`: declared maps (declared before any program), each once, of a type the
   * program's type may use (PROGRAM_MAP_TYPES). */
  programMaps(value: Json, progType: ProgramType, path: string): string[] {
    if (!Array.isArray(value)) this.fail(path, 'must be an array of map names');
    if (value.length > PROG_MAPS_MAX) this.fail(path, `at most ${PROG_MAPS_MAX} maps a program`);
    const names = value.map((v, i) => this.objectName(v, `${path}[${i}]`));
    names.forEach((n, i) => {
      const at = `${path}[${i}]`;
      const mapType = this.mapTypes.get(n);
      if (mapType === undefined) {
        const kind = this.objects.get(n);
        this.fail(at, kind ? `"${n}" is a ${kind}, expected a map` : `"${n}" is not a declared map`);
      }
      if (!PROGRAM_MAP_TYPES[progType].includes(mapType)) {
        this.fail(at, `a ${progType} program cannot use the ${mapType} map "${n}" (it may use: ${PROGRAM_MAP_TYPES[progType].join(', ')})`);
      }
      if (names.indexOf(n) !== i) this.fail(at, `"${n}" is named twice`);
    });
    return names;
  }

  /** cgroup_sockopt's expected_attach_type (a name of its two, or an integer); the others take none. */
  expectedAttachType(value: Json | undefined, type: ProgramType, path: string): number {
    if (type !== 'cgroup_sockopt') {
      if (value !== undefined) this.fail(path, 'only cgroup_sockopt programs take an expected_attach_type');
      return 0;
    }
    if (value === undefined) return BPF_CGROUP_GETSOCKOPT;
    if (typeof value === 'number') return this.integer(value, path);
    return ATTACH_TYPE_NAMES[this.oneOf(value, path, SOCKOPT_ATTACH_TYPES)]!;
  }

  oneOf<T extends string>(value: Json | undefined, path: string, choices: readonly T[]): T {
    const s = this.string(value, path);
    if (!(choices as readonly string[]).includes(s)) this.fail(path, `"${s}" is not one of: ${choices.join(', ')}`);
    return s as T;
  }

  devRef(value: Json | undefined, path: string): DevRef {
    if (typeof value === 'string') {
      this.pendingDevs.push({ name: this.deviceName(value, path), path });
      return { name: value };
    }
    const obj = this.object(value, path);
    this.keys(obj, path, ['ifindex']);
    return { ifindex: this.integer(obj.ifindex, `${path}.ifindex`) };
  }

  attachType(value: Json | undefined, path: string): number {
    if (typeof value === 'number') return this.integer(value, path);
    const name = this.string(value, path);
    const type = this.lookup(ATTACH_TYPE_NAMES, name);
    if (type === undefined)
      this.fail(path, `unknown attach type "${name}" (expected one of: ${Object.keys(ATTACH_TYPE_NAMES).join(', ')}, or an integer)`);
    return type;
  }

  flags(value: Json | undefined, path: string): number {
    if (value === undefined) return 0;
    if (typeof value === 'number') return this.integer(value, path);
    if (!Array.isArray(value)) this.fail(path, 'must be an array of flag names or integers');
    return this.namedBits(value, path, FLAG_NAMES, 'flag');
  }

  /** The OR of an array of names (looked up in `names`) and integers. */
  namedBits(value: Json[], path: string, names: Record<string, number>, what: string): number {
    let flags = 0;
    value.forEach((flag, i) => {
      if (typeof flag === 'number') {
        flags |= this.integer(flag, `${path}[${i}]`);
        return;
      }
      const name = this.string(flag, `${path}[${i}]`);
      const bit = this.lookup(names, name);
      if (bit === undefined)
        this.fail(`${path}[${i}]`, `unknown ${what} "${name}" (expected one of: ${Object.keys(names).join(', ')}, or an integer)`);
      flags |= bit;
    });
    return flags >>> 0;
  }

  /** query_flags: one integer, or an array of flag names (BPF_F_QUERY_EFFECTIVE) and integers. */
  queryFlags(value: Json | undefined, path: string): number {
    if (value === undefined || typeof value === 'number') return this.optionalInteger(value, path, 0);
    if (!Array.isArray(value)) this.fail(path, 'must be an integer or an array of flag names or integers');
    return this.namedBits(value, path, QUERY_FLAG_NAMES, 'query flag');
  }

  /** A query's `arrays`: distinct names of the four arrays, in any order. */
  queryArrays(value: Json, path: string): QueryArrayName[] {
    if (!Array.isArray(value)) this.fail(path, `must be an array of: ${QUERY_ARRAY_NAMES.join(', ')}`);
    const names = value.map((v, i) => this.oneOf(v, `${path}[${i}]`, QUERY_ARRAY_NAMES));
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) this.fail(`${path}[${i}]`, `"${n}" is named twice`);
    });
    return names;
  }

  ref(value: Json | undefined, path: string): Ref | null {
    if (value === undefined) return null;
    const obj = this.object(value, path);
    const keys = Object.keys(obj);
    if (keys.length !== 1 || !['fd', 'id', 'value'].includes(keys[0]!)) {
      this.fail(path, 'must be exactly one of { "fd": name }, { "id": name }, { "value": N }');
    }
    if ('fd' in obj) return { fd: this.reference(obj.fd, `${path}.fd`, ['program', 'link']) };
    if ('id' in obj) return { id: this.reference(obj.id, `${path}.id`, ['program', 'link']) };
    return { value: this.integer(obj.value, `${path}.value`) };
  }

  expect(value: Json | undefined, path: string): Expect | undefined {
    if (value === undefined) return undefined;
    const obj = this.object(value, path);
    this.keys(obj, path, EXPECT_FIELDS);
    const expect: Expect = {};
    if (obj.ok !== undefined) {
      if (typeof obj.ok !== 'boolean') this.fail(`${path}.ok`, 'must be true or false');
      expect.ok = obj.ok;
    }
    if (obj.errno !== undefined) {
      const errno = this.string(obj.errno, `${path}.errno`);
      if (errnoNumber(errno) === undefined) this.fail(`${path}.errno`, `unknown errno name "${errno}"`);
      expect.errno = errno;
    }
    if (obj.query !== undefined) {
      const q = this.object(obj.query, `${path}.query`);
      this.keys(q, `${path}.query`, QUERY_FIELDS);
      for (const key of ['count', 'revision', 'attach_flags'] as const) {
        if (q[key] !== undefined) this.integer(q[key], `${path}.query.${key}`, Number.MAX_SAFE_INTEGER);
      }
      for (const key of ['prog_ids', 'link_ids'] as const) {
        if (q[key] !== undefined) this.list(q[key], `${path}.query.${key}`, (v, at) => (v === null ? null : this.string(v, at)));
      }
      for (const key of ['prog_attach_flags', 'link_attach_flags'] as const) {
        if (q[key] !== undefined) this.list(q[key], `${path}.query.${key}`, (v, at) => this.integer(v, at));
      }
      expect.query = q as Expect['query'];
    }
    if (obj.link_info !== undefined) {
      const li = this.object(obj.link_info, `${path}.link_info`);
      this.keys(li, `${path}.link_info`, LINK_INFO_FIELDS);
      for (const key of ['prog', 'dev', 'cgroup', 'netns'] as const) {
        if (li[key] !== undefined && li[key] !== null) this.string(li[key], `${path}.link_info.${key}`);
      }
      if (li.attach_type !== undefined && typeof li.attach_type !== 'string') this.integer(li.attach_type, `${path}.link_info.attach_type`);
      expect.link_info = li as Expect['link_info'];
    }
    if (obj.beyond_size !== undefined) {
      if (typeof obj.beyond_size !== 'boolean') this.fail(`${path}.beyond_size`, 'must be true or false');
      expect.beyond_size = obj.beyond_size;
    }
    return expect;
  }

  /** An array, each element checked by `element` (which fails at its path). */
  list(value: Json | undefined, path: string, element: (v: Json, at: string) => unknown): void {
    if (!Array.isArray(value)) this.fail(path, 'must be an array');
    value.forEach((v, i) => element(v, `${path}[${i}]`));
  }

  /** A step with its attr fields (spec "Attr size and contents") on the bpf(2) ops, and its
   * caller's capabilities (spec "Caller privileges") on any. */
  step(value: Json | undefined, path: string, links: string[]): { step: Step; expect: Expect | undefined } {
    const parsed = this.stepFields(value, path, links);
    if (isAttrOp(parsed.step.op)) Object.assign(parsed.step, this.attrFields(value as JsonObject, path, parsed.step.op));
    const caps = (value as JsonObject).caps;
    if (caps !== undefined) parsed.step.caps = this.caps(caps, `${path}.caps`);
    return parsed;
  }

  /** `caps`: an array of capability names (include/uapi/linux/capability.h), each once; [] for none. */
  caps(value: Json, path: string): CapabilityName[] {
    if (!Array.isArray(value)) this.fail(path, 'must be an array of capability names (e.g. ["CAP_BPF", "CAP_NET_ADMIN"]; [] for none)');
    const names = value.map((v, i) => {
      const name = this.string(v, `${path}[${i}]`);
      if (!Object.hasOwn(CAPABILITIES, name)) {
        this.fail(`${path}[${i}]`, `unknown capability "${name}" (expected one of: ${Object.keys(CAPABILITIES).join(', ')})`);
      }
      return name as CapabilityName;
    });
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) this.fail(`${path}[${i}]`, `"${n}" is named twice`);
    });
    return names;
  }

  /** `attr_size` (1..4096) and `raw` ({ at, hex } with every byte inside attr_size). */
  attrFields(obj: JsonObject, path: string, op: AttrOp): AttrFields {
    const out: AttrFields = {};
    if (obj.attr_size !== undefined) out.attr_size = this.integer(obj.attr_size, `${path}.attr_size`, ATTR_SIZE_MAX, 1);
    const size = out.attr_size ?? DEFAULT_ATTR_SIZE[op];
    if (obj.raw !== undefined) {
      const at = `${path}.raw`;
      if (!Array.isArray(obj.raw)) this.fail(at, 'must be an array');
      out.raw = obj.raw.map((v, i) => {
        const e = this.object(v, `${at}[${i}]`);
        this.keys(e, `${at}[${i}]`, ['at', 'hex']);
        const off = this.integer(e.at ?? null, `${at}[${i}].at`, ATTR_SIZE_MAX);
        const hex = this.string(e.hex ?? null, `${at}[${i}].hex`);
        if (!/^([0-9a-fA-F]{2})+$/.test(hex)) this.fail(`${at}[${i}].hex`, 'must be one or more bytes as pairs of hex digits');
        if (off + hex.length / 2 > size) {
          this.fail(
            `${at}[${i}]`,
            `bytes ${off}..${off + hex.length / 2 - 1} lie outside attr_size ${size}${out.attr_size === undefined ? ' (the default of ' + op + ')' : ''}`,
          );
        }
        return { at: off, hex: hex.toLowerCase() };
      });
    }
    return out;
  }

  stepFields(value: Json | undefined, path: string, links: string[]): { step: Step; expect: Expect | undefined } {
    const obj = this.object(value, path);
    const op = this.string(obj.op, `${path}.op`);
    const fields = this.lookup(OP_FIELDS, op);
    if (!fields) this.fail(`${path}.op`, `unknown op "${op}" (expected one of: ${Object.keys(OP_FIELDS).join(', ')})`);
    this.keys(obj, path, ['op', 'expect', 'comment', 'caps', ...fields.required, ...fields.optional, ...(isAttrOp(op) ? ['attr_size', 'raw'] : [])]);
    for (const key of fields.required) if (obj[key] === undefined) this.fail(`${path}.${key}`, `missing (${op} needs ${fields.required.join(', ')})`);
    if (obj.comment !== undefined) this.string(obj.comment, `${path}.comment`);
    const at = (key: string) => `${path}.${key}`;
    const prog = (key: string) => this.reference(obj[key], at(key), ['program']);
    const link = (key: string) => this.reference(obj[key], at(key), ['link']);
    const mprog = () => ({
      dev: this.target(obj, path),
      attach_type: this.attachType(obj.attach_type, at('attach_type')),
      flags: this.flags(obj.flags, at('flags')),
      relative: this.ref(obj.relative, at('relative')),
      expected_revision: this.optionalInteger(obj.expected_revision, at('expected_revision'), 0, Number.MAX_SAFE_INTEGER),
    });
    const expect = this.expect(obj.expect, at('expect'));
    switch (op as StepOp) {
      case 'prog_attach':
        return { step: { op: 'prog_attach', prog: prog('prog'), ...mprog(), replace: this.ref(obj.replace, at('replace')) }, expect };
      case 'prog_detach':
        return { step: { op: 'prog_detach', prog: obj.prog === undefined ? null : prog('prog'), ...mprog() }, expect };
      case 'link_create': {
        const name = this.objectName(obj.link, at('link'));
        this.declare(name, 'link', at('link'));
        links.push(name);
        return { step: { op: 'link_create', link: name, prog: prog('prog'), ...mprog() }, expect };
      }
      case 'link_update':
        return {
          step: {
            op: 'link_update',
            link: link('link'),
            prog: prog('prog'),
            old_prog: obj.old_prog === undefined ? null : prog('old_prog'),
            flags: this.flags(obj.flags, at('flags')),
          },
          expect,
        };
      case 'link_detach':
      case 'link_close':
      case 'link_info':
        return { step: { op: op as 'link_detach', link: link('link') }, expect };
      case 'prog_close':
        return { step: { op: 'prog_close', prog: prog('prog') }, expect };
      case 'query':
        return {
          step: {
            op: 'query',
            dev: this.target(obj, path),
            attach_type: this.attachType(obj.attach_type, at('attach_type')),
            count: this.optionalInteger(obj.count, at('count'), SEQ_DEFAULTS.queryCount),
            query_flags: this.queryFlags(obj.query_flags, at('query_flags')),
            attach_flags: this.optionalInteger(obj.attach_flags, at('attach_flags'), 0),
            ...(obj.arrays !== undefined && { arrays: this.queryArrays(obj.arrays, at('arrays')) }),
          },
          expect,
        };
      case 'dev_create': {
        const decl = this.device(
          { name: obj.name ?? null, ...(obj.kind !== undefined && { kind: obj.kind }), ...(obj.peer !== undefined && { peer: obj.peer }) },
          path,
          true,
        );
        return { step: { op: 'dev_create', ...decl }, expect };
      }
      case 'dev_delete': {
        const dev = this.deviceName(obj.dev, at('dev'));
        this.pendingDevs.push({ name: dev, path: at('dev') });
        return { step: { op: 'dev_delete', dev }, expect };
      }
      case 'qdisc_add':
      case 'qdisc_delete': {
        const dev = this.deviceName(obj.dev, at('dev'));
        this.pendingDevs.push({ name: dev, path: at('dev') });
        return { step: { op: op as QdiscStep['op'], dev, kind: this.oneOf(obj.kind, at('kind'), QDISC_KINDS) }, expect };
      }
      case 'cgroup_create': {
        const name = this.cgroupName(obj.name, at('name'));
        const parent = this.cgroupParent(obj.parent, at('parent'));
        if (parent === name) this.fail(at('parent'), 'a cgroup cannot be its own parent');
        this.declareCgroup(name, at('name'), true);
        return { step: { op: 'cgroup_create', name, parent }, expect };
      }
      case 'cgroup_delete': {
        const cgroup = this.cgroupName(obj.cgroup, at('cgroup'));
        this.pendingCgroups.push({ name: cgroup, path: at('cgroup') });
        return { step: { op: 'cgroup_delete', cgroup }, expect };
      }
    }
  }

  sequence(value: Json): Sequence {
    const root = this.object(value, '$');
    this.keys(root, '$', ['format', 'name', 'description', 'caps', 'devices', 'cgroups', 'maps', 'programs', 'steps']);
    if (root.format !== 'mprog-seq/1') this.fail('$.format', `must be "mprog-seq/1"`);
    const name = this.string(root.name, '$.name');
    if (!name) this.fail('$.name', 'must not be empty');
    const description = root.description === undefined ? undefined : this.string(root.description, '$.description');
    const caps = root.caps === undefined ? undefined : this.caps(root.caps, '$.caps');
    const list = (key: string): Json[] => {
      const v = root[key];
      if (v === undefined) return [];
      if (!Array.isArray(v)) this.fail(`$.${key}`, 'must be an array');
      return v;
    };
    const devices = list('devices').map((d, i) => this.device(d, `$.devices[${i}]`));
    const cgroups = list('cgroups').map((c, i) => this.cgroup(c, `$.cgroups[${i}]`));
    const maps = list('maps').map((m, i) => this.map(m, `$.maps[${i}]`));
    const programs = list('programs').map((p, i) => this.program(p, `$.programs[${i}]`));
    if (root.steps === undefined) this.fail('$.steps', 'missing');
    const links: string[] = [];
    const parsed = list('steps').map((s, i) => this.step(s, `$.steps[${i}]`, links));
    this.checkReferences();
    return {
      format: 'mprog-seq/1',
      name,
      ...(description !== undefined && { description }),
      file: this.file,
      devices,
      ...(cgroups.length > 0 && { cgroups }),
      ...(maps.length > 0 && { maps }),
      programs,
      steps: parsed.map((p) => p.step),
      expects: parsed.map((p) => p.expect),
      links,
      ...(caps !== undefined && { caps }),
    };
  }
}

/** Line and column (1-based, in characters) of the UTF-16 offset `at` of `text`. */
function lineColumn(text: string, at: number): { line: number; column: number } {
  const before = text.slice(0, at);
  const start = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: [...before.slice(start)].length + 1 };
}

/** JSON.parse's complaint, with the line and column where it is rather than a character offset. */
function jsonSyntaxError(text: string, err: Error): string {
  const at = /\bat position (\d+)/.exec(err.message);
  const offset = at ? Number(at[1]) : /end of JSON input/.test(err.message) ? text.length : null;
  const what = err.message.replace(/\s*(in JSON )?at position \d+( \(line \d+ column \d+\))?/, '');
  if (offset === null) return `not valid JSON: ${what}`;
  const { line, column } = lineColumn(text, offset);
  return `not valid JSON: ${what} at line ${line}, column ${column}`;
}

/** Parses the text of one mprog-seq/1 file; `file` is used in error messages. */
export function parseSequenceText(text: string, file: string): Sequence {
  let json: Json;
  try {
    json = JSON.parse(text) as Json;
  } catch (err) {
    throw new SeqError(file, '$', jsonSyntaxError(text, err as Error));
  }
  const bad = badValue(json);
  if (bad !== null) throw new SeqError(file, bad.path, bad.reason);
  return new Parser(file).sequence(json);
}

/** A lone UTF-16 surrogate (a JSON escape like "\ud800"): no Unicode character, no UTF-8 bytes. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * The first value no sequence may hold, with its JSON path: nesting deeper than MAX_DEPTH, or a
 * string (or key) that is not Unicode text; iterative, so any depth is safe.
 */
function badValue(root: Json): { path: string; reason: string } | null {
  const todo: { value: Json; path: string; depth: number }[] = [{ value: root, path: '$', depth: 0 }];
  const text = (s: string, path: string) => {
    const m = LONE_SURROGATE.exec(s);
    return m ? { path, reason: `not Unicode text: a lone surrogate \\u${m[0].charCodeAt(0).toString(16)} (a JSON escape with no character)` } : null;
  };
  for (let item = todo.pop(); item !== undefined; item = todo.pop()) {
    const { value, path, depth } = item;
    if (typeof value === 'string') {
      const bad = text(value, path);
      if (bad) return bad;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_DEPTH) return { path, reason: `nested more than ${MAX_DEPTH} levels deep` };
    if (Array.isArray(value)) value.forEach((v, i) => todo.push({ value: v, path: `${path}[${i}]`, depth: depth + 1 }));
    else {
      for (const [k, v] of Object.entries(value)) {
        const bad = text(k, `${path}.${k}`);
        if (bad) return bad;
        todo.push({ value: v, path: `${path}.${k}`, depth: depth + 1 });
      }
    }
  }
  return null;
}

/** The offset of the first byte of `bytes` that is not part of well-formed UTF-8, or -1. */
export function firstNonUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    // Lead byte: length, and the range of the second byte (no overlong forms, surrogates or > U+10FFFF).
    const [n, lo, hi] =
      b >= 0xc2 && b <= 0xdf
        ? [2, 0x80, 0xbf]
        : b === 0xe0
          ? [3, 0xa0, 0xbf]
          : b === 0xed
            ? [3, 0x80, 0x9f]
            : b >= 0xe1 && b <= 0xef
              ? [3, 0x80, 0xbf]
              : b === 0xf0
                ? [4, 0x90, 0xbf]
                : b === 0xf4
                  ? [4, 0x80, 0x8f]
                  : b >= 0xf1 && b <= 0xf3
                    ? [4, 0x80, 0xbf]
                    : [0, 0, 0];
    if (n === 0) return i;
    for (let k = 1; k < n; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n;
  }
  return -1;
}

/** The text of a file's bytes, or a SeqError at the first byte that is not UTF-8 (never a U+FFFD in its place). */
function utf8Text(bytes: Buffer, file: string): string {
  const bad = firstNonUtf8(bytes);
  if (bad < 0) return bytes.toString('utf8');
  const before = bytes.subarray(0, bad);
  const lineStart = before.lastIndexOf(0x0a) + 1;
  const line = before.reduce((n, b) => n + (b === 0x0a ? 1 : 0), 1);
  const column = [...before.subarray(lineStart).toString('utf8')].length + 1;
  const hex = bytes[bad]!.toString(16).padStart(2, '0');
  throw new SeqError(
    file,
    '$',
    `not UTF-8 text: byte 0x${hex} at line ${line}, column ${column} (offset ${bad}) begins no UTF-8 character; save the file as UTF-8`,
  );
}

/** Reads and parses one mprog-seq/1 file: a regular file (symlinks followed) of at most 64 MiB, in UTF-8. */
export function parseSequenceFile(file: string): Sequence {
  let bytes: Buffer;
  try {
    bytes = readInputFile(file, MAX_SEQUENCE_BYTES, 'a sequence file');
  } catch (err) {
    if (!(err instanceof InputPathError)) throw err;
    throw new SeqError(file, '$', `cannot read: ${err.reason}`);
  }
  return parseSequenceText(utf8Text(bytes, file), file);
}

/** The format's tables as this parser reads them: what the JSON Schema (schema.ts) is made from. */
export const FORMAT_TABLES = {
  OP_FIELDS,
  DEVICE_KINDS,
  QDISC_KINDS,
  PROGRAM_TYPES,
  SOCKOPT_ATTACH_TYPES,
  EXPECT_FIELDS,
  QUERY_FIELDS,
  LINK_INFO_FIELDS,
  OBJECT_NAME,
  CGROUP_NAME,
} as const;
