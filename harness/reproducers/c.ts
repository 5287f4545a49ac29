// A standalone C reproducer for one sequence: raw bpf(2) and rtnetlink with the ABI defined in
// the file itself (no <linux/*.h>, so it builds against any libc with `gcc -static`), in a
// network namespace of its own. It prints one line per step,
//   step N op: RET ERRNO [key=value ...]
// (RET as the call returned it, -1 on failure; ERRNO the symbolic name, 0 on success; queries
// and link infos add their fields with kernel ids turned into the sequence's names), so its
// output can be pasted into a report and compared with the harness's results (parseCOutput).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERRNO_NAMES } from '../../uapi/errno.js';
import { MAP_TYPES_BPF, PROG_TYPES } from '../targets/emulator.js';
import { repoRoot } from '../../vm/runtime/paths.js';
import { ATTACH_TYPE_NAMES } from '../../uapi/bpf.js';
import {
  type DevRef,
  type ProgramDecl,
  QUERY_ARRAY_NAMES,
  type Ref,
  type Sequence,
  type Step,
  type StepResult,
  callerCaps,
  stepAttr,
  usesCgroups,
  usesNetns,
} from '../../contract/seq.js';
import { capMask } from '../../uapi/capability.js';
import { cgroupIndex, arraysMask } from '../../vm/agent/codec.js';

/** `s` as a C string literal: its UTF-8 bytes, every one that is not printable ASCII (and `"`,
 * `\\`, `?` against trigraphs) as an octal escape, so that no text of a sequence becomes code. */
function cString(s: string): string {
  let out = '"';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += byte >= 0x20 && byte < 0x7f && !'"\\?'.includes(c) ? c : `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return `${out}"`;
}

/** `text` for the inside of a C block comment: on one line, printable ASCII, never closing it. */
function cComment(text: string): string {
  return text
    .replace(/[^\x20-\x7e]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`)
    .replace(/\*\//g, '*\\/')
    .replace(/\/\*/g, '/\\*');
}

/** The errno names the reproducer prints: the emulator's own table. */
function errnoTable(): string {
  return Object.entries(ERRNO_NAMES)
    .map(([e, name]) => `\t[${e}] = "${name}",`)
    .join('\n');
}

/**
 * The reproducer's runtime, vm/agent/reproducer.h, with the agent's kernel ABI header pasted in
 * where it includes it: the reproducer stays one standalone file.
 */
function runtime(): string {
  const read = (name: string) => readFileSync(join(repoRoot(), 'vm/agent', name), 'utf8').trim();
  const [header, include] = [read('reproducer.h'), '#include "kernel-abi.h"'];
  if (!header.includes(include)) throw new Error(`vm/agent/reproducer.h: no ${include} line to paste kernel-abi.h at`);
  return header.replace(include, () => read('kernel-abi.h'));
}

function attachTypeTable(): string {
  return Object.entries(ATTACH_TYPE_NAMES)
    .map(([name, value]) => `\t[${value}] = "${name}",`)
    .join('\n');
}

/** Lowers a sequence's names to the C program's object indices. */
class Lowering {
  private readonly index = new Map<string, number>();
  readonly cgroups: Map<string, number>;

  constructor(readonly seq: Sequence) {
    this.cgroups = cgroupIndex(seq);
    [...seq.programs.map((p) => p.name), ...seq.links].forEach((name, i) => this.index.set(name, i));
  }

  obj(name: string): number {
    return this.index.get(name)!;
  }

  fd(name: string | null): string {
    return name === null ? '0' : `fd_of(${this.obj(name)})`;
  }

  ref(ref: Ref | null): string {
    if (!ref) return '0';
    if ('fd' in ref) return this.fd(ref.fd);
    if ('id' in ref) return `id_of(${this.obj(ref.id)})`;
    return `${ref.value >>> 0}u`;
  }

  /** The target as the attr of `op` carries it (the netns: 0 for BPF_PROG_ATTACH/DETACH, its fd
   * for the others). */
  dev(d: DevRef, op: Step['op']): string {
    if ('name' in d) return `dev_index(${cString(d.name)})`;
    if ('cgroup' in d) return `cgroup_fd(${this.cgroups.get(d.cgroup)!})`;
    if ('netns' in d) return op === 'prog_attach' || op === 'prog_detach' ? '0' : '(uint32_t)netns_fd';
    return `${('ifindex' in d ? d.ifindex : 'cgroupFd' in d ? d.cgroupFd : d.netnsFd) >>> 0}u`;
  }

  cgroup(name: string | null): number {
    return name === null ? -1 : this.cgroups.get(name)!;
  }

  /** The tables reproducer.h declares: the objects (programs, then links) and the cgroups. */
  objects(): string {
    const mapIndex = new Map((this.seq.maps ?? []).map((m, i) => [m.name, i]));
    const progMaps = (p: ProgramDecl) => (p.maps?.length ? `, ${p.maps.length}, { ${p.maps.map((m) => mapIndex.get(m)!).join(', ')} }` : '');
    const maps = (this.seq.maps ?? []).map((m) => `\t{ ${cString(m.name)}, ${MAP_TYPES_BPF[m.type]}, -1 },`);
    const rows = [
      ...this.seq.programs.map((p) => `\t{ ${cString(p.name)}, 0, ${PROG_TYPES[p.type]}, -1, 0, ${p.expected_attach_type ?? 0}${progMaps(p)} },`),
      ...this.seq.links.map((l) => `\t{ ${cString(l)}, 1, 0, -1, 0, 0 },`),
    ];
    const cgroups = [...this.cgroups.keys()].map((name) => `\t{ ${cString(name)}, -1, 0, "" },`);
    return [
      `const int n_objects = ${rows.length};\nstruct object objects[${rows.length + 1}] = {\n${rows.join('\n')}\n};\n`,
      `const int n_maps = ${maps.length};\nstruct map maps[${maps.length + 1}]${maps.length ? ` = {\n${maps.join('\n')}\n}` : ''};\n`,
      `const int n_cgroups = ${cgroups.length};\nstruct cgroup cgroups[${cgroups.length + 1}]${cgroups.length ? ` = {\n${cgroups.join('\n')}\n}` : ''};\n`,
    ].join('\n');
  }

  /** A step's code; one with attr_size or raw names them first (attr_next()), and says after it
   * whether the kernel wrote past the size (report_beyond()). */
  step(step: Step, i: number): string {
    const code = this.attrStep(step, i);
    // The step's caller (spec "Caller privileges"): its own caps, else the sequence's.
    const caps = callerCaps(this.seq, step);
    if (caps === null) return code;
    const mask = `${capMask(caps)}LL`;
    return `\tcaller_begin(${mask});\n${code}\tcaller_end(${mask});\n`;
  }

  attrStep(step: Step, i: number): string {
    const attr = stepAttr(step);
    if (!attr) return this.ownStep(step, i);
    const raw = attr.raw.map((r) => `${r.at}:${r.hex}`).join(',');
    return `\tattr_next(${attr.size}, ${raw ? cString(raw) : 'NULL'});\n${this.ownStep(step, i)}\treport_beyond(${i});\n`;
  }

  ownStep(step: Step, i: number): string {
    switch (step.op) {
      case 'prog_attach':
      case 'prog_detach': {
        const cmd = step.op === 'prog_attach' ? 'BPF_PROG_ATTACH' : 'BPF_PROG_DETACH';
        const replace = step.op === 'prog_attach' ? this.ref(step.replace) : '0';
        return block([
          `struct attr_prog_attach a = { .target_ifindex = ${this.dev(step.dev, step.op)}, .attach_bpf_fd = ${this.fd(step.prog)},`,
          `\t.attach_type = ${step.attach_type}, .attach_flags = ${hex(step.flags)}, .replace_bpf_fd = ${replace},`,
          `\t.relative = ${this.ref(step.relative)}, .expected_revision = ${step.expected_revision}ULL };`,
          `report(${i}, "${step.op}", sys_bpf_r(${cmd}, &a, sizeof(a)));`,
        ]);
      }
      case 'link_create':
        return block([
          `struct attr_link_create a = { .prog_fd = ${this.fd(step.prog)}, .target_ifindex = ${this.dev(step.dev, step.op)},`,
          `\t.attach_type = ${step.attach_type}, .flags = ${hex(step.flags)}, .relative = ${this.ref(step.relative)},`,
          `\t.expected_revision = ${step.expected_revision}ULL };`,
          `link_create(${i}, ${this.obj(step.link)}, &a);`,
        ]);
      case 'link_update':
        return block([
          `struct attr_link_update a = { .link_fd = ${this.fd(step.link)}, .new_prog_fd = ${this.fd(step.prog)},`,
          `\t.flags = ${hex(step.flags)}, .old_prog_fd = ${this.fd(step.old_prog)} };`,
          `report(${i}, "link_update", sys_bpf_r(BPF_LINK_UPDATE, &a, sizeof(a)));`,
        ]);
      case 'link_detach':
        return block([
          `struct attr_link_detach a = { .link_fd = ${this.fd(step.link)} };`,
          `report(${i}, "link_detach", sys_bpf_r(BPF_LINK_DETACH, &a, sizeof(a)));`,
        ]);
      case 'link_close':
        return `\tclose_object(${i}, "link_close", ${this.obj(step.link)});\n`;
      case 'prog_close':
        return `\tclose_object(${i}, "prog_close", ${this.obj(step.prog)});\n`;
      case 'link_info':
        return `\tinfo(${i}, ${this.obj(step.link)});\n`;
      case 'query':
        return `\tquery(${i}, ${this.dev(step.dev, step.op)}, ${step.attach_type}, ${step.count}, ${hex(step.query_flags)}, ${hex(step.attach_flags)}, ${arraysMask(step.arrays ?? QUERY_ARRAY_NAMES)});\n`;
      case 'dev_create':
        return `\tdev_create(${i}, ${cString(step.kind)}, ${cString(step.name)}, ${cString(step.peer)});\n`;
      case 'dev_delete':
        return `\tdev_delete(${i}, ${cString(step.dev)});\n`;
      case 'qdisc_add':
      case 'qdisc_delete':
        return `\t${step.op}(${i}, ${cString(step.dev)}, ${cString(step.kind)});\n`;
      case 'cgroup_create':
        return `\tcgroup_create(${i}, ${this.cgroup(step.name)}, ${this.cgroup(step.parent)});\n`;
      case 'cgroup_delete':
        return `\tcgroup_delete(${i}, ${this.cgroup(step.cgroup)});\n`;
    }
  }
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}u`;
}

function block(lines: string[]): string {
  return `\t{\n${lines.map((l) => `\t\t${l}`).join('\n')}\n\t}\n`;
}

/** A one-line description of a step for the comment above its code. */
function describe(step: Step): string {
  return cComment(JSON.stringify(step));
}

/** The C source of a reproducer for `seq`. */
export function cReproducer(seq: Sequence): string {
  const lower = new Lowering(seq);
  const steps = seq.steps.map((step, i) => `\t/* step ${i}: ${describe(step)} */\n${lower.step(step, i)}`).join('');
  const devices = seq.devices.map((d) => `\tinitial_pair(${cString(d.kind)}, ${cString(d.name)}, ${cString(d.peer)});\n`).join('');
  const cgroups = usesCgroups(seq);
  // After the programs, as the agent does: the cgroups' fds come next.
  const initialCgroups = (seq.cgroups ?? []).map((c) => `\tinitial_cgroup(${lower.cgroup(c.name)}, ${lower.cgroup(c.parent)});\n`).join('');
  return [
    '// SPDX-License-Identifier: GPL-2.0-only',
    `/*`,
    ` * Reproducer for the bpf_mprog sequence ${cComment(JSON.stringify(seq.name))}, generated by \`mprog fuzz\`.`,
    ` * Build: gcc -static -O2 -o repro repro.c     Run as root: ./repro`,
    ` * It makes its own network namespace, creates the devices, loads trivial programs`,
    ` * (r0 = 0; exit) and prints one line per step: "step N op: RET ERRNO [fields]".`,
    ` */`,
    runtime(),
    '',
    lower.objects(),
    `const char *const errno_names[] = {\n${errnoTable()}\n};\nconst int n_errno_names = sizeof(errno_names) / sizeof(errno_names[0]);\n`,
    `const char *const attach_type_names[] = {\n${attachTypeTable()}\n};\nconst int n_attach_type_names = sizeof(attach_type_names) / sizeof(attach_type_names[0]);\n`,
    `const int64_t seq_caps = ${seq.caps === undefined ? '-1' : `${capMask(seq.caps)}LL`};\n`,
    'int main(void)',
    '{',
    '\tsetvbuf(stdout, NULL, _IOLBF, 0);',
    '\tsetup();',
    ...(cgroups ? ['\tcgroups_setup();'] : []),
    devices + '\tload_programs();',
    initialCgroups + (usesNetns(seq) ? '\tnetns_open();\n' : '') + steps + (cgroups ? '\tcgroups_teardown();\n' : '') + '\treturn 0;',
    '}',
    '',
  ].join('\n');
}

// ---- reading a reproducer's output back ----

function splitList(value: string): string[] {
  return value === '' ? [] : value.split(',');
}

function nameOrNull(s: string): string | null {
  return s === '-' ? null : s;
}

/**
 * The results a reproducer printed, in the harness's normalised form (so diffResults can compare
 * them with a target's). Lines that are not step lines are ignored.
 */
export function parseCOutput(output: string): StepResult[] {
  const results: StepResult[] = [];
  for (const line of output.split('\n')) {
    const beyond = /^step (\d+) beyond_size: true$/.exec(line);
    const last = results[results.length - 1];
    if (beyond && last?.step === Number(beyond[1])) last.beyond_size = true;
    const m = /^step (\d+) (\w+): (-?\d+) (\S+)(.*)$/.exec(line);
    if (!m) continue;
    const [, step, op, ret, errno, rest] = m;
    const result: StepResult = { step: Number(step), op: op as Step['op'], ok: Number(ret) >= 0 };
    if (!result.ok) result.errno = errno!;
    const fields = Object.fromEntries(
      rest!
        .trim()
        .split(' ')
        .filter(Boolean)
        .map((kv) => {
          const eq = kv.indexOf('=');
          return [kv.slice(0, eq), kv.slice(eq + 1)];
        }),
    );
    if (fields['count'] !== undefined) {
      result.query = {
        count: Number(fields['count']),
        revision: Number(fields['rev']),
        attach_flags: Number(fields['aflags']),
        ...(fields['progs'] !== undefined && { prog_ids: splitList(fields['progs']).map(nameOrNull) }),
        ...(fields['links'] !== undefined && { link_ids: splitList(fields['links']).map(nameOrNull) }),
        ...(fields['pfl'] !== undefined && { prog_attach_flags: splitList(fields['pfl']).map(Number) }),
        ...(fields['lfl'] !== undefined && { link_attach_flags: splitList(fields['lfl']).map(Number) }),
      };
    }
    if (fields['prog'] !== undefined) {
      const type = fields['type']!;
      const attachType = /^\d+$/.test(type) ? Number(type) : type;
      const prog = nameOrNull(fields['prog']);
      if (fields['cgroup'] !== undefined) result.link_info = { prog, cgroup: nameOrNull(fields['cgroup']), attach_type: attachType };
      else if (fields['netns'] !== undefined) result.link_info = { prog, netns: nameOrNull(fields['netns']), attach_type: attachType };
      else result.link_info = { prog, dev: nameOrNull(fields['dev']!), attach_type: attachType };
    }
    results.push(result);
  }
  return results;
}
