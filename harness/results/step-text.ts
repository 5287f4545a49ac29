// A step and its answer as a person reads them, bpftool-like: `link_create l1 prog=c dev=v0
// tcx_ingress BEFORE|LINK relative=a(fd)` and `ok: 3 programs, revision 4: b -> a(l1) -> c`.
// Written from the step's mprog-seq/1 form (what the user wrote), so it names what they named.

import type { QueryResult, Sequence, StepResult } from '../../contract/seq.js';
import { sequenceToText } from '../sequences/write.js';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Fields that are not part of the call. */
const NOT_THE_CALL = new Set(['op', 'expect', 'comment']);
/** Fields shown bare (their value says what they are). */
const BARE = new Set(['attach_type', 'flags', 'link']);

/** A reference or a device as written: `a(fd)`, `a(id)`, `7`, `ifindex:9`. */
function valueText(v: Json): string {
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? x.replace(/^BPF_F_/, '') : valueText(x))).join('|');
  if (v !== null && typeof v === 'object') {
    if ('fd' in v) return `${valueText(v['fd']!)}(fd)`;
    if ('id' in v) return `${valueText(v['id']!)}(id)`;
    if ('value' in v) return String(v['value']);
    if ('ifindex' in v) return `ifindex:${String(v['ifindex'])}`;
    if ('at' in v && 'hex' in v) return `${String(v['at'])}:${String(v['hex'])}`;
    return JSON.stringify(v);
  }
  return String(v);
}

/** Each step of `seq` written out as a call. */
export function callTexts(seq: Sequence): string[] {
  const steps = (JSON.parse(sequenceToText(seq)) as { steps: Record<string, Json>[] }).steps;
  return steps.map((step) => {
    const parts = [String(step['op'])];
    for (const [key, value] of Object.entries(step)) {
      if (NOT_THE_CALL.has(key)) continue;
      parts.push(BARE.has(key) ? valueText(value) : `${key}=${valueText(value)}`);
    }
    return parts.join(' ');
  });
}

/** The attach order a query shows, as a chain: `b -> a(l1) -> c` (a program attached by link l1). */
export function chainText(q: Partial<QueryResult>): string {
  const progs = q.prog_ids ?? [];
  if (progs.length === 0) return 'empty';
  return progs.map((p, i) => (q.link_ids?.[i] ? `${p ?? '0'}(${q.link_ids[i]})` : String(p ?? '0'))).join(' -> ');
}

/** A step's answer: `ok`, `EEXIST`, the query's count, revision and order, a link's info. */
export function answerText(r: StepResult): string {
  const head = r.ok ? 'ok' : (r.errno ?? 'failed');
  const more: string[] = [];
  if (r.query) more.push(`${r.query.count} attached, revision ${r.query.revision}${r.query.prog_ids ? `: ${chainText(r.query)}` : ''}`);
  if (r.link_info)
    more.push(
      Object.entries(r.link_info)
        .map(([k, v]) => `${k}=${v === null ? '-' : String(v)}`)
        .join(' '),
    );
  if (r.beyond_size) more.push('wrote past attr_size');
  return more.length ? `${head}: ${more.join('; ')}` : head;
}
