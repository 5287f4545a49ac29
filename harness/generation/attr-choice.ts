// The attr dimension of generated sequences (spec "Attr size and contents"): now and then a
// bpf(2) step carries an attr_size around the end of one of its command's fields (a short attr
// from older user space, one past the command's last field, one past the union, the page), or raw
// bytes in its output fields on input (a reused attr: query.revision, count, attach_flags,
// info.info_len) or after its last field. Drawn from a stream of their own (attrRng), so that
// every other choice of a sequence is drawn as it was before.

import { type AttrFields, type AttrOp, DEFAULT_ATTR_SIZE, type Step, isAttrOp } from '../../contract/seq.js';
import { Rng } from './rng.js';

/** How often a bpf(2) step carries attr fields; the commands whose answer is written back into the
 * attr more often (what the kernel writes past a short size is a rule of each attach point). */
const ATTR_SHARE = 0.08;
const WRITE_BACK_SHARE = 0.2;

/** query.prog_cnt's offset in union bpf_attr. */
const QUERY_COUNT_AT = 24;

/** The bytes of a u32 as the attr holds them (little-endian: both arches). */
function u32Hex(value: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(Math.min(value, 0xffffffff));
  return b.toString('hex');
}

/** The ends of each command's fields (offsetofend in union bpf_attr), the last field's last. */
const FIELD_ENDS: Record<AttrOp, readonly number[]> = {
  prog_attach: [4, 8, 12, 16, 20, 24, 32],
  prog_detach: [4, 8, 12, 16, 20, 24, 32],
  query: [4, 8, 12, 16, 24, 28, 32, 40, 48, 56, 64],
  link_create: [4, 8, 12, 16, 20, 24, 32, 60, 64],
  link_update: [4, 8, 12, 16],
  link_detach: [4],
  link_info: [4, 8, 16],
};

/** The fields the kernel writes back (query) or reads and writes (info_len), as [offset, bytes]. */
const OUTPUT_FIELDS: Partial<Record<AttrOp, readonly (readonly [number, number])[]>> = {
  query: [
    [56, 8],
    [56, 8],
    [QUERY_COUNT_AT, 4],
    [12, 4],
  ],
  link_info: [[4, 4]],
};

/** Pointer fields (the agent's arrays and info buffer): a size cutting one, or raw bytes in one, is
 * outside the model. */
const POINTERS: Partial<Record<AttrOp, readonly number[]>> = { query: [16, 32, 40, 48], link_info: [8] };

/** The attr stream of a sequence, from its name. */
export function attrRng(name: string): Rng {
  let h = 0x2545f491;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return new Rng(h | 0);
}

function cutsPointer(op: AttrOp, size: number): boolean {
  return (POINTERS[op] ?? []).some((p) => size > p && size < p + 8);
}

function hexOf(rng: Rng, bytes: number): string {
  const small = rng.chance(0.5);
  return Array.from({ length: bytes }, (_, i) => (i === 0 ? (small ? rng.between(1, 9) : rng.between(1, 255)) : small ? 0 : rng.between(0, 255)))
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('');
}

/** With chance ATTR_SHARE, gives a bpf(2) step attr fields (in place). */
export function withAttr(rng: Rng, step: Step): void {
  if (!isAttrOp(step.op) || !rng.chance(OUTPUT_FIELDS[step.op] ? WRITE_BACK_SHARE : ATTR_SHARE)) return;
  // A step pushed again (a generator re-using its object) keeps the fields it has.
  if ((step as AttrFields).attr_size !== undefined || (step as AttrFields).raw !== undefined) return;
  const op = step.op;
  const out: AttrFields = {};
  const last = DEFAULT_ATTR_SIZE[op];
  const kind = rng.weighted([
    ['size', 4],
    ['before-output', OUTPUT_FIELDS[op] ? 3 : 0],
    ['output', OUTPUT_FIELDS[op] ? 4 : 0],
    ['after-last', 3],
    ['large', 1],
  ] as const);
  if (kind === 'size') {
    const end = rng.pick(FIELD_ENDS[op]);
    const size = Math.max(1, end + rng.pick([-1, 0, 0, 1]));
    if (!cutsPointer(op, size)) out.attr_size = size;
  } else if (kind === 'before-output') {
    // An attr that ends where a field the kernel writes back begins: whether the kernel writes
    // past the size is a rule of each attach point (the cgroup query's revision, 21c4b99b27f3),
    // and among all the sizes above few end there (a cgroup query met one about once in 200 sequences).
    out.attr_size = rng.pick(OUTPUT_FIELDS[op]!)[0];
  } else if (kind === 'output') {
    const [at, bytes] = rng.pick(OUTPUT_FIELDS[op]!);
    // info_len: at most the agent's info buffer (32 bytes); more is outside the model. A count
    // a little past the step's own asks the kernel to write past the caller's arrays.
    const hex =
      op === 'link_info'
        ? rng.pick(['00000000', '08000000', '10000000', '1c000000'])
        : step.op === 'query' && at === QUERY_COUNT_AT && rng.chance(0.3)
          ? u32Hex(step.count + rng.between(1, 3))
          : hexOf(rng, bytes);
    out.raw = [{ at, hex }];
  } else if (kind === 'after-last') {
    const ends = FIELD_ENDS[op];
    const lastEnd = ends[ends.length - 1]!;
    const at = rng.chance(0.5) ? lastEnd : lastEnd + rng.between(0, 120);
    out.attr_size = Math.max(last, at + 1 + rng.between(0, 8));
    out.raw = [{ at, hex: hexOf(rng, 1) }];
  } else {
    out.attr_size = rng.pick([168, 169, 256, 4096]);
    if (out.attr_size > 168 && rng.chance(0.5)) out.raw = [{ at: rng.between(168, out.attr_size - 1), hex: '01' }];
  }
  Object.assign(step, out);
}
