// Parser and validator of mprog-seq/1 files. Every error names the file and the JSON path of the
// offending field, so a user can go straight to it.

import { readFileSync } from 'node:fs';
import { errnoNumber } from '../../emulator/errno.js';
import { ATTACH_TYPE_NAMES, BPF_CGROUP_GETSOCKOPT, FLAG_NAMES, QUERY_FLAG_NAMES } from '../../emulator/uapi.js';
import { BadInput } from '../errors.js';
import {
  type CgroupDecl,
  type DevRef,
  QUERY_ARRAY_NAMES,
  type QueryArrayName,
  type DeviceDecl,
  type DeviceKind,
  type Expect,
  type ProgramDecl,
  type ProgramType,
  type Ref,
  type Sequence,
  type Step,
  type StepOp,
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
 * Interface names the agent can carry: the kernel's dev_valid_name() (1..15 bytes, not "." or
 * "..", no "/", ":" or white space) narrowed to printable ASCII, since the agent protocol sends a
 * name as one printable token.
 */
const DEVICE_NAME = /^[\x21-\x7e]{1,15}$/;
const OBJECT_NAME = /^[A-Za-z0-9_]{1,15}$/;
/** Cgroup names: a directory name the agent can carry and a shell needs no quotes for. */
const CGROUP_NAME = /^[A-Za-z0-9_-]{1,15}$/;
/** What mprog-seq/1 means by an absent field (the writer in fuzz/seqjson.ts leaves these out). */
export const SEQ_DEFAULTS = {
  deviceKind: 'veth' as DeviceKind,
  peerOf: (name: string): string => `${name}p`,
  programType: 'sched_cls' as ProgramType,
  queryCount: 64,
};

const DEVICE_KINDS: readonly DeviceKind[] = ['veth', 'netkit'];
const PROGRAM_TYPES: readonly ProgramType[] = ['sched_cls', 'xdp', 'cgroup_skb', 'cgroup_sockopt'];
/** The attach types a cgroup_sockopt program can be loaded for. */
const SOCKOPT_ATTACH_TYPES = ['cgroup_getsockopt', 'cgroup_setsockopt'];

/** Which fields each op takes (besides `op`, `expect`, `comment`), and which of them it needs. */
const OP_FIELDS: Record<StepOp, { required: string[]; optional: string[] }> = {
  prog_attach: { required: ['prog', 'attach_type'], optional: ['dev', 'cgroup', 'flags', 'relative', 'replace', 'expected_revision'] },
  prog_detach: { required: ['attach_type'], optional: ['dev', 'cgroup', 'prog', 'flags', 'relative', 'expected_revision'] },
  link_create: { required: ['link', 'prog', 'attach_type'], optional: ['dev', 'cgroup', 'flags', 'relative', 'expected_revision'] },
  link_update: { required: ['link', 'prog'], optional: ['old_prog', 'flags'] },
  link_detach: { required: ['link'], optional: [] },
  link_close: { required: ['link'], optional: [] },
  link_info: { required: ['link'], optional: [] },
  prog_close: { required: ['prog'], optional: [] },
  query: { required: ['attach_type'], optional: ['dev', 'cgroup', 'count', 'query_flags', 'attach_flags', 'arrays'] },
  dev_create: { required: ['name'], optional: ['kind', 'peer'] },
  dev_delete: { required: ['dev'], optional: [] },
  cgroup_create: { required: ['name'], optional: ['parent'] },
  cgroup_delete: { required: ['cgroup'], optional: [] },
};

const EXPECT_FIELDS = ['ok', 'errno', 'query', 'link_info'];
const QUERY_FIELDS = ['count', 'revision', 'attach_flags', 'prog_ids', 'link_ids', 'prog_attach_flags', 'link_attach_flags'];
const LINK_INFO_FIELDS = ['prog', 'dev', 'cgroup', 'attach_type'];

/** One file's parse: names seen so far, so references can be checked in one pass at the end. */
class Parser {
  private readonly objects = new Map<string, 'program' | 'link'>();
  private readonly deviceNames = new Set<string>(['lo']);
  private readonly pendingRefs: { name: string; path: string; kinds: ('program' | 'link')[] }[] = [];
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

  integer(value: Json | undefined, path: string, max = U32_MAX): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
      this.fail(path, `must be an integer from 0 to ${max}`);
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
    if (!DEVICE_NAME.test(name) || name === '.' || name === '..' || /[/:]/.test(name)) {
      this.fail(path, `${JSON.stringify(name)} is not a valid interface name (1 to 15 printable ASCII characters, not "." or "..", no "/", ":" or white space)`);
    }
    return name;
  }

  /** `table[name]` when `name` is one of its own keys: never something inherited like "toString". */
  lookup<T>(table: Record<string, T>, name: string): T | undefined {
    return Object.hasOwn(table, name) ? table[name] : undefined;
  }

  declare(name: string, kind: 'program' | 'link', path: string): void {
    if (this.objects.has(name)) this.fail(path, `duplicate name "${name}" (programs and links share one namespace)`);
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

  /** The attach target of a step: exactly one of `dev` and `cgroup`. */
  target(obj: JsonObject, path: string): DevRef {
    if (obj.dev === undefined && obj.cgroup === undefined) this.fail(`${path}.dev`, 'missing (the step needs a target: "dev" or "cgroup")');
    if (obj.dev !== undefined && obj.cgroup !== undefined) this.fail(`${path}.cgroup`, 'a step names one target: "dev" or "cgroup", not both');
    return obj.dev !== undefined ? this.devRef(obj.dev, `${path}.dev`) : this.cgroupRef(obj.cgroup, `${path}.cgroup`);
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
    this.keys(obj, path, ['name', 'type', 'expected_attach_type']);
    const name = this.objectName(obj.name, `${path}.name`);
    const type = obj.type === undefined ? SEQ_DEFAULTS.programType : this.oneOf(obj.type, `${path}.type`, PROGRAM_TYPES);
    this.declare(name, 'program', `${path}.name`);
    const expected = this.expectedAttachType(obj.expected_attach_type, type, `${path}.expected_attach_type`);
    return { name, type, ...(type === 'cgroup_sockopt' && { expected_attach_type: expected }) };
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
    if (type === undefined) this.fail(path, `unknown attach type "${name}" (expected one of: ${Object.keys(ATTACH_TYPE_NAMES).join(', ')}, or an integer)`);
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
      if (bit === undefined) this.fail(`${path}[${i}]`, `unknown ${what} "${name}" (expected one of: ${Object.keys(names).join(', ')}, or an integer)`);
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
      for (const key of ['prog', 'dev', 'cgroup'] as const) {
        if (li[key] !== undefined && li[key] !== null) this.string(li[key], `${path}.link_info.${key}`);
      }
      if (li.attach_type !== undefined && typeof li.attach_type !== 'string') this.integer(li.attach_type, `${path}.link_info.attach_type`);
      expect.link_info = li as Expect['link_info'];
    }
    return expect;
  }

  /** An array, each element checked by `element` (which fails at its path). */
  list(value: Json | undefined, path: string, element: (v: Json, at: string) => unknown): void {
    if (!Array.isArray(value)) this.fail(path, 'must be an array');
    value.forEach((v, i) => element(v, `${path}[${i}]`));
  }

  step(value: Json | undefined, path: string, links: string[]): { step: Step; expect: Expect | undefined } {
    const obj = this.object(value, path);
    const op = this.string(obj.op, `${path}.op`);
    const fields = this.lookup(OP_FIELDS, op);
    if (!fields) this.fail(`${path}.op`, `unknown op "${op}" (expected one of: ${Object.keys(OP_FIELDS).join(', ')})`);
    this.keys(obj, path, ['op', 'expect', 'comment', ...fields.required, ...fields.optional]);
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
          step: { op: 'link_update', link: link('link'), prog: prog('prog'), old_prog: obj.old_prog === undefined ? null : prog('old_prog'), flags: this.flags(obj.flags, at('flags')) },
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
        const decl = this.device({ name: obj.name ?? null, ...(obj.kind !== undefined && { kind: obj.kind }), ...(obj.peer !== undefined && { peer: obj.peer }) }, path, true);
        return { step: { op: 'dev_create', ...decl }, expect };
      }
      case 'dev_delete': {
        const dev = this.deviceName(obj.dev, at('dev'));
        this.pendingDevs.push({ name: dev, path: at('dev') });
        return { step: { op: 'dev_delete', dev }, expect };
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
    this.keys(root, '$', ['format', 'name', 'description', 'devices', 'cgroups', 'programs', 'steps']);
    if (root.format !== 'mprog-seq/1') this.fail('$.format', `must be "mprog-seq/1"`);
    const name = this.string(root.name, '$.name');
    if (!name) this.fail('$.name', 'must not be empty');
    const description = root.description === undefined ? undefined : this.string(root.description, '$.description');
    const list = (key: string): Json[] => {
      const v = root[key];
      if (v === undefined) return [];
      if (!Array.isArray(v)) this.fail(`$.${key}`, 'must be an array');
      return v;
    };
    const devices = list('devices').map((d, i) => this.device(d, `$.devices[${i}]`));
    const cgroups = list('cgroups').map((c, i) => this.cgroup(c, `$.cgroups[${i}]`));
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
      programs,
      steps: parsed.map((p) => p.step),
      expects: parsed.map((p) => p.expect),
      links,
    };
  }
}

/** Parses the text of one mprog-seq/1 file; `file` is used in error messages. */
export function parseSequenceText(text: string, file: string): Sequence {
  let json: Json;
  try {
    json = JSON.parse(text) as Json;
  } catch (err) {
    throw new SeqError(file, '$', `not valid JSON: ${(err as Error).message}`);
  }
  const deep = tooDeep(json);
  if (deep !== null) throw new SeqError(file, deep, `nested more than ${MAX_DEPTH} levels deep`);
  return new Parser(file).sequence(json);
}

/** The JSON path of a value nested deeper than MAX_DEPTH, or null; iterative, so any depth is safe. */
function tooDeep(root: Json): string | null {
  const todo: { value: Json; path: string; depth: number }[] = [{ value: root, path: '$', depth: 0 }];
  for (let item = todo.pop(); item !== undefined; item = todo.pop()) {
    const { value, path, depth } = item;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_DEPTH) return path;
    if (Array.isArray(value)) value.forEach((v, i) => todo.push({ value: v, path: `${path}[${i}]`, depth: depth + 1 }));
    else for (const [k, v] of Object.entries(value)) todo.push({ value: v, path: `${path}.${k}`, depth: depth + 1 });
  }
  return null;
}

/** Reads and parses one mprog-seq/1 file. */
export function parseSequenceFile(file: string): Sequence {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SeqError(file, '$', `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseSequenceText(text, file);
}
