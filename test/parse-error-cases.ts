// The parser's own error cases (test/unit/parse.test.ts checks each message and path), shared with
// the JSON Schema's test (test/unit/schema.test.ts), which must refuse those a file's shape shows.

export const base = {
  format: 'mprog-seq/1',
  name: 't',
  devices: [{ name: 'v0' }],
  programs: ['a', 'b'],
  steps: [{ op: 'prog_attach', prog: 'a', dev: 'v0', attach_type: 'tcx_ingress' }],
};

export const withStep = (step: object) => ({ ...base, steps: [step] });

/** [what, document (or JSON text), the path the error names, its reason]. */
export const PARSE_ERROR_CASES: [string, unknown, string, RegExp][] = [
  ['bad JSON', '{"format": ', '$', /not valid JSON/],
  ['wrong format', { ...base, format: 'mprog-seq/2' }, '$.format', /mprog-seq\/1/],
  ['missing steps', { format: 'mprog-seq/1', name: 't' }, '$.steps', /missing/],
  ['unknown op', withStep({ op: 'prog_atach', prog: 'a' }), '$.steps[0].op', /unknown op "prog_atach"/],
  ['unknown flag', withStep({ ...base.steps[0], flags: ['BPF_F_BEFORE', 'BPF_F_NOPE'] }), '$.steps[0].flags[1]', /unknown flag "BPF_F_NOPE"/],
  ['undeclared program', withStep({ ...base.steps[0], prog: 'zz' }), '$.steps[0].prog', /"zz" is not a declared program/],
  ['undeclared relative', withStep({ ...base.steps[0], relative: { fd: 'nope' } }), '$.steps[0].relative.fd', /not a declared program or link/],
  ['undeclared device', withStep({ ...base.steps[0], dev: 'eth9' }), '$.steps[0].dev', /not a declared device/],
  ['name over 15 characters', { ...base, programs: ['a_very_long_program_name'] }, '$.programs[0].name', /1 to 15 characters/],
  ['device name over 15 characters', { ...base, devices: [{ name: 'abcdefghijklmnop' }] }, '$.devices[0].name', /interface name/],
  ['duplicate program', { ...base, programs: ['a', 'a'] }, '$.programs[1].name', /duplicate name "a"/],
  [
    'link named like a program',
    withStep({ op: 'link_create', link: 'a', prog: 'a', dev: 'v0', attach_type: 'tcx_ingress' }),
    '$.steps[0].link',
    /duplicate name "a"/,
  ],
  ['program where a link is needed', withStep({ op: 'link_close', link: 'a' }), '$.steps[0].link', /is a program, expected a link/],
  ['unknown attach type', withStep({ ...base.steps[0], attach_type: 'tcx_sideways' }), '$.steps[0].attach_type', /unknown attach type/],
  ['unknown field', withStep({ ...base.steps[0], relative_fd: 3 }), '$.steps[0].relative_fd', /unknown field/],
  ['missing required field', withStep({ op: 'prog_attach', prog: 'a', attach_type: 'tcx_ingress' }), '$.steps[0].dev', /missing/],
  ['reference with two kinds', withStep({ ...base.steps[0], relative: { fd: 'b', id: 'b' } }), '$.steps[0].relative', /exactly one of/],
  ['negative number', withStep({ ...base.steps[0], expected_revision: -1 }), '$.steps[0].expected_revision', /integer/],
  ['unknown errno in expect', withStep({ ...base.steps[0], expect: { errno: 'EWHATEVER' } }), '$.steps[0].expect.errno', /unknown errno/],
  ['unknown expect field', withStep({ ...base.steps[0], expect: { query: { cnt: 1 } } }), '$.steps[0].expect.query.cnt', /unknown field/],
  ['expect count not a number', withStep({ ...base.steps[0], expect: { query: { count: 'two' } } }), '$.steps[0].expect.query.count', /integer/],
  ['expect prog_ids not a list', withStep({ ...base.steps[0], expect: { query: { prog_ids: 5 } } }), '$.steps[0].expect.query.prog_ids', /array/],
  [
    'expect prog_ids element',
    withStep({ ...base.steps[0], expect: { query: { prog_ids: ['a', 3] } } }),
    '$.steps[0].expect.query.prog_ids[1]',
    /string/,
  ],
  [
    'expect attach flags element',
    withStep({ ...base.steps[0], expect: { query: { link_attach_flags: [-1] } } }),
    '$.steps[0].expect.query.link_attach_flags[0]',
    /integer/,
  ],
  ['expect link_info dev', withStep({ ...base.steps[0], expect: { link_info: { dev: 7 } } }), '$.steps[0].expect.link_info.dev', /string/],
  // Names every JavaScript object inherits: only the tables' own entries count.
  ['inherited op name', withStep({ op: 'toString' }), '$.steps[0].op', /unknown op "toString"/],
  ['op __proto__', withStep({ op: '__proto__' }), '$.steps[0].op', /unknown op "__proto__"/],
  ['inherited attach type name', withStep({ ...base.steps[0], attach_type: 'toString' }), '$.steps[0].attach_type', /unknown attach type "toString"/],
  ['inherited flag name', withStep({ ...base.steps[0], flags: ['constructor'] }), '$.steps[0].flags[0]', /unknown flag "constructor"/],
  ['non-ASCII device name', { ...base, devices: [{ name: 'vé0' }] }, '$.devices[0].name', /printable ASCII/],
  ['NUL in a device name', { ...base, devices: [{ name: 'v\u00000' }] }, '$.devices[0].name', /"v\\u00000" is not a valid interface name/],
  ['non-ASCII peer', { ...base, devices: [{ name: 'v1', peer: 'p\u00a0' }] }, '$.devices[0].peer', /interface name/],
  ['device name "."', withStep({ op: 'dev_create', name: '.' }), '$.steps[0].name', /interface name/],
];
