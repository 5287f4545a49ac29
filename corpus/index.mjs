#!/usr/bin/env node
// Writes corpus/README.md: the list of the corpus files with their descriptions and counts.
// Usage: node corpus/index.mjs            (rewrite README.md)
//        node corpus/index.mjs --check    (exit 1 if README.md is out of date)
//        node corpus/index.mjs --stdout   (print instead of writing)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));

function jsonFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...jsonFiles(p));
    else if (e.name.endsWith('.json')) out.push(p);
  }
  return out;
}

const groups = new Map();
const total = { files: 0, steps: 0, expects: 0, errno: 0, query: 0, link_info: 0 };
for (const file of jsonFiles(root)) {
  const rel = path.relative(root, file).split(path.sep).join('/');
  const seq = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (seq.format !== 'mprog-seq/1') throw new Error(`${rel}: format is not mprog-seq/1`);
  if (typeof seq.description !== 'string' || !seq.description || seq.description.includes('\n')) {
    throw new Error(`${rel}: needs a one-line description`);
  }
  const row = { rel, name: seq.name, description: seq.description, steps: seq.steps.length, expects: 0, errno: 0, query: 0, link_info: 0 };
  for (const s of seq.steps) {
    if (!s.expect) continue;
    row.expects++;
    if (s.expect.errno) row.errno++;
    if (s.expect.query) row.query++;
    if (s.expect.link_info) row.link_info++;
  }
  const group = rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : '.';
  if (!groups.has(group)) groups.set(group, []);
  groups.get(group).push(row);
  total.files++;
  for (const k of ['steps', 'expects', 'errno', 'query', 'link_info']) total[k] += row[k];
}

const esc = (s) => s.replace(/\|/g, '\\|');
const lines = [];
lines.push('# Edge-case conformance corpus (mprog-seq/1)');
lines.push('');
lines.push('Hand-written sequences in the [mprog-seq/1](../../shared/spec/mprog-seq.md) format, one file per topic,');
lines.push('besides the selftest-derived `test/sequences/`. Every step carries an `expect` (ok/errno, and for queries');
lines.push('count, revision, prog_ids and link_ids; for link_info prog, dev and attach_type), except where the answer');
lines.push(
  'depends on the kernel that runs it (`ids/`, `tcx/cgroup-skb-link.json`, `cgroup/link-update-attach-type.json`): `mprog conform` compares those',
);
lines.push("with the emulator in that kernel's world and profile.");
lines.push('');
lines.push('- `tcx/`, `ids/`: agree with the emulator on the host (Linux 6.18) and in QEMU (Debian 6.12 on x86_64 and');
lines.push('  arm64, `mprog-6.12`): `test/qemu/corpus-on-kernels.test.ts`, `test/kbuild/corpus-on-mprog-kernel.test.ts`.');
lines.push('- `netkit/`: written from `drivers/net/netkit.c` (6.12) and kernel-semantics.md; agrees in QEMU (the host');
lines.push('  kernel has no `CONFIG_NETKIT`, so conform reports these as unsupported there).');
lines.push('- `flow-dissector/`: written from `kernel/bpf/net_namespace.c` and `syscall.c` (6.12.117, 7.3.4); agrees on the');
lines.push('  host (6.18.44), in QEMU (Debian 6.12 and 7.3, x86_64 and arm64) and on the 6.6.87 images.');
lines.push("- `maps/`: read in 6.12.117's and 7.3.4's `kernel/bpf/cgroup.c`, `local_storage.c` and `verifier.c`; agree on the");
lines.push(
  '  host (6.18.44), on `debian-6.12` and `debian-7.3` (x86_64, arm64) and `debian-6.17` (no storage check); the cgroup files are unsupported on the 6.6.87 images.',
);
lines.push('');
lines.push('```');
lines.push('npx tsc -p tsconfig.json');
lines.push('node bin/mprog.js conform --host corpus                               # root; tcx and ids');
lines.push('node bin/mprog.js conform --kernel debian-6.12 corpus                 # in QEMU, netkit too');
lines.push('node corpus/index.mjs                                                  # regenerate this README');
lines.push('```');
lines.push('');
lines.push('Conventions: `v0` (veth, peer `v0p`) on `tcx_ingress` unless a step says otherwise; `nk0` (netkit, peer');
lines.push('`nk0p`) on `netkit_primary`. Links that are expected to fail are named `fN`. A missing device is');
lines.push('`{ "ifindex": 2147483000 }` or a deleted device name. Probing whether an object still exists uses a');
lines.push('`BPF_F_ID` relative without BEFORE/AFTER: EINVAL while it exists, ENOENT once freed. Two expects rely');
lines.push('on the replaying process having fds 0 and 1 open and not BPF objects (true for the host agent, whose');
lines.push('stdin/stdout are pipes): `{ "value": 0 }` as REPLACE fd in `tcx/errno-prog-attach.json` and');
lines.push('`{ "value": 1 }` as relative fd in `tcx/relatives-prog.json` (EINVAL; EBADF if the fd were closed).');
lines.push('');
lines.push(
  `Totals: ${total.files} files, ${total.steps} steps, ${total.expects} expects (${total.errno} errno, ${total.query} with query fields, ${total.link_info} with link_info).`,
);
for (const [group, rows] of groups) {
  lines.push('');
  lines.push(`## ${group}/`);
  lines.push('');
  lines.push('| file | steps | expects | description |');
  lines.push('|---|---|---|---|');
  for (const r of rows) lines.push(`| \`${r.rel}\` | ${r.steps} | ${r.expects} | ${esc(r.description)} |`);
}
lines.push('');
lines.push("(Generated by `node corpus/index.mjs` from the files' `description` fields; do not edit by hand.)");
const text = lines.join('\n') + '\n';

const readme = path.join(root, 'README.md');
if (process.argv.includes('--stdout')) process.stdout.write(text);
else if (process.argv.includes('--check')) {
  const cur = fs.existsSync(readme) ? fs.readFileSync(readme, 'utf8') : '';
  if (cur !== text) {
    process.stderr.write('corpus/README.md is out of date: run node corpus/index.mjs\n');
    process.exitCode = 1;
  }
} else fs.writeFileSync(readme, text);
