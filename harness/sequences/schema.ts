// The JSON Schema (draft 2020-12) of mprog-seq/1, made from the parser's own tables (FORMAT_TABLES,
// the uapi names) so that the two cannot part: docs/mprog-seq.schema.json is this, written by
// `npm run schema` and checked by test/unit/schema.test.ts. It says the shape of a file, for an
// editor; what needs the whole file (a name declared somewhere and once, raw bytes inside
// attr_size) only the parser checks.

import { ATTR_SIZE_MAX, MAP_TYPES, PROG_MAPS_MAX, QUERY_ARRAY_NAMES } from '../../contract/seq.js';
import { CAPABILITIES } from '../../uapi/capability.js';
import { ATTACH_TYPE_NAMES, FLAG_NAMES, QUERY_FLAG_NAMES } from '../../uapi/bpf.js';
import { ERRNO_NAMES } from '../../uapi/errno.js';
import { FORMAT_TABLES } from './parse.js';

type Schema = Record<string, unknown>;

const U32 = { type: 'integer', minimum: 0, maximum: 0xffffffff };
const U64 = { type: 'integer', minimum: 0 };
/** Interface names as parse.ts deviceNameProblem() takes them: printable ASCII but "/", ":" and "%"; not ".", "..", "all", "default". */
const DEVICE_NAME = { type: 'string', pattern: '^(?!\\.\\.?$|all$|default$)[\\x21-\\x24\\x26-\\x2e\\x30-\\x39\\x3b-\\x7e]{1,15}$' };
const OBJECT_NAME = { type: 'string', pattern: FORMAT_TABLES.OBJECT_NAME.source };
const CGROUP_NAME = { type: 'string', pattern: FORMAT_TABLES.CGROUP_NAME.source };
const enumOf = (names: readonly string[]) => ({ enum: [...names] });
const namesOrInt = (names: readonly string[]) => ({ oneOf: [U32, enumOf(names)] });
const bitsOf = (names: readonly string[]) => ({ oneOf: [U32, { type: 'array', items: namesOrInt(names) }] });
const closed = (properties: Schema, required: string[] = []): Schema => ({ type: 'object', properties, required, additionalProperties: false });
const one = (key: string, value: unknown) => closed({ [key]: value }, [key]);

/** Every step field, by name (an op takes some of them: OP_FIELDS). */
function stepFields(kind: 'dev' | 'qdisc'): Schema {
  const ref = { oneOf: [one('fd', OBJECT_NAME), one('id', OBJECT_NAME), one('value', U32)] };
  return {
    prog: OBJECT_NAME,
    link: OBJECT_NAME,
    old_prog: OBJECT_NAME,
    dev: { oneOf: [DEVICE_NAME, one('ifindex', U32)] },
    cgroup: { oneOf: [CGROUP_NAME, one('fd', U32)] },
    netns: { oneOf: [{ const: 'self' }, one('fd', U32)] },
    attach_type: namesOrInt(Object.keys(ATTACH_TYPE_NAMES)),
    flags: bitsOf(Object.keys(FLAG_NAMES)),
    relative: ref,
    replace: ref,
    expected_revision: U64,
    count: U32,
    query_flags: bitsOf(Object.keys(QUERY_FLAG_NAMES)),
    attach_flags: U32,
    arrays: { type: 'array', items: enumOf(QUERY_ARRAY_NAMES), uniqueItems: true },
    name: kind === 'dev' ? DEVICE_NAME : CGROUP_NAME,
    peer: DEVICE_NAME,
    parent: CGROUP_NAME,
    kind: enumOf(kind === 'qdisc' ? FORMAT_TABLES.QDISC_KINDS : FORMAT_TABLES.DEVICE_KINDS),
  };
}

const ATTR_OPS = ['prog_attach', 'prog_detach', 'link_create', 'link_update', 'link_detach', 'link_info', 'query'];

function expectSchema(): Schema {
  const ids = { type: 'array', items: { type: ['string', 'null'] } };
  const flags = { type: 'array', items: U32 };
  const query: Record<string, unknown> = {
    count: U64,
    revision: U64,
    attach_flags: U64,
    prog_ids: ids,
    link_ids: ids,
    prog_attach_flags: flags,
    link_attach_flags: flags,
  };
  const linkInfo: Record<string, unknown> = {
    prog: { type: ['string', 'null'] },
    dev: { type: ['string', 'null'] },
    cgroup: { type: ['string', 'null'] },
    netns: { type: ['string', 'null'] },
    attach_type: namesOrInt(Object.keys(ATTACH_TYPE_NAMES)),
  };
  const pick = (fields: readonly string[], from: Record<string, unknown>) => Object.fromEntries(fields.map((f) => [f, from[f] ?? {}]));
  const fields: Record<string, unknown> = {
    ok: { type: 'boolean' },
    errno: enumOf(Object.values(ERRNO_NAMES)),
    query: closed(pick(FORMAT_TABLES.QUERY_FIELDS, query)),
    link_info: closed(pick(FORMAT_TABLES.LINK_INFO_FIELDS, linkInfo)),
    beyond_size: { type: 'boolean' },
  };
  return closed(pick(FORMAT_TABLES.EXPECT_FIELDS, fields));
}

/** One op's step: its fields (and the ones every step may carry), required ones required. */
function stepOf(op: string, fields: { required: readonly string[]; optional: readonly string[] }): Schema {
  const all = stepFields(op.startsWith('qdisc_') ? 'qdisc' : 'dev');
  const mine = [...fields.required, ...fields.optional];
  const properties: Schema = {
    op: { const: op },
    ...Object.fromEntries(mine.map((f) => [f, op.startsWith('cgroup_') && f === 'name' ? CGROUP_NAME : all[f]])),
    expect: { $ref: '#/$defs/expect' },
    comment: { type: 'string' },
    caps: { $ref: '#/$defs/caps' },
    ...(ATTR_OPS.includes(op) && {
      attr_size: { type: 'integer', minimum: 1, maximum: ATTR_SIZE_MAX },
      raw: {
        type: 'array',
        items: closed({ at: { type: 'integer', minimum: 0, maximum: ATTR_SIZE_MAX }, hex: { type: 'string', pattern: '^([0-9a-fA-F]{2})+$' } }, [
          'at',
          'hex',
        ]),
      },
    }),
  };
  const step = closed(properties, ['op', ...fields.required]);
  // An attach, detach, link or query names exactly one target.
  const targets = ['dev', 'cgroup', 'netns'].filter((t) => fields.optional.includes(t));
  return targets.length > 1 ? { ...step, oneOf: targets.map((t) => ({ properties: { [t]: all[t] }, required: [t] })) } : step;
}

export function sequenceSchema(): Schema {
  const ops = Object.entries(FORMAT_TABLES.OP_FIELDS);
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://github.com/mprog/mprog/docs/mprog-seq.schema.json',
    title: 'mprog-seq/1: one attach sequence (docs/mprog-seq.md)',
    description:
      'The shape of a file. What needs the whole file — a name declared somewhere (and once), raw bytes inside attr_size — the parser checks (mprog replay).',
    type: 'object',
    required: ['format', 'name', 'steps'],
    additionalProperties: false,
    properties: {
      format: { const: 'mprog-seq/1' },
      name: { type: 'string', minLength: 1 },
      description: { type: 'string' },
      caps: { $ref: '#/$defs/caps' },
      devices: {
        type: 'array',
        items: { oneOf: [DEVICE_NAME, closed({ name: DEVICE_NAME, kind: enumOf(FORMAT_TABLES.DEVICE_KINDS), peer: DEVICE_NAME }, ['name'])] },
      },
      cgroups: { type: 'array', items: { oneOf: [CGROUP_NAME, closed({ name: CGROUP_NAME, parent: CGROUP_NAME }, ['name'])] } },
      maps: { type: 'array', items: closed({ name: OBJECT_NAME, type: enumOf(MAP_TYPES) }, ['name', 'type']) },
      programs: {
        type: 'array',
        items: {
          oneOf: [
            OBJECT_NAME,
            closed(
              {
                name: OBJECT_NAME,
                type: enumOf(FORMAT_TABLES.PROGRAM_TYPES),
                expected_attach_type: enumOf(FORMAT_TABLES.SOCKOPT_ATTACH_TYPES),
                maps: { type: 'array', items: OBJECT_NAME, uniqueItems: true, maxItems: PROG_MAPS_MAX },
              },
              ['name'],
            ),
          ],
        },
      },
      steps: { type: 'array', items: { $ref: '#/$defs/step' } },
    },
    $defs: {
      caps: { type: 'array', items: enumOf(Object.keys(CAPABILITIES)), uniqueItems: true },
      expect: expectSchema(),
      // One branch per op, chosen by `op` (an editor then offers that op's fields).
      step: {
        type: 'object',
        required: ['op'],
        properties: { op: enumOf(ops.map(([op]) => op)) },
        allOf: ops.map(([op, fields]) => ({ if: { properties: { op: { const: op } } }, then: stepOf(op, fields) })),
      },
    },
  };
}
