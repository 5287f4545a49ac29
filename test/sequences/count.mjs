#!/usr/bin/env node
// Counts the mprog-seq/1 files under test/sequences/<group>/, their steps and the steps that
// carry an `expect`. Usage: node test/sequences/count.mjs [--json | --files]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));
const groups = fs
  .readdirSync(root, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

const rows = [];
const perFile = [];
const total = { files: 0, steps: 0, expects: 0, ok: 0, errno: 0, fail: 0, query: 0, link_info: 0 };
for (const g of groups) {
  const files = fs
    .readdirSync(path.join(root, g))
    .filter((f) => f.endsWith('.json'))
    .sort();
  const r = { group: g, files: files.length, steps: 0, expects: 0, ok: 0, errno: 0, fail: 0, query: 0, link_info: 0 };
  for (const f of files) {
    const seq = JSON.parse(fs.readFileSync(path.join(root, g, f), 'utf8'));
    if (seq.format !== 'mprog-seq/1') throw new Error(`${g}/${f}: format is not mprog-seq/1`);
    const withExpect = seq.steps.filter((s) => s.expect !== undefined).length;
    perFile.push({ file: `${g}/${f}`, steps: seq.steps.length, expects: withExpect });
    for (const s of seq.steps) {
      r.steps++;
      const e = s.expect;
      if (e === undefined) continue;
      r.expects++;
      if (e.errno !== undefined) r.errno++;
      else if (e.ok === false) r.fail++;
      else r.ok++;
      if (e.query !== undefined) r.query++;
      if (e.link_info !== undefined) r.link_info++;
    }
  }
  rows.push(r);
  for (const k of Object.keys(total)) total[k] += r[k];
}

if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ groups: rows, total, files: perFile }, null, 2));
} else if (process.argv.includes('--files')) {
  for (const f of perFile) console.log(`${f.file.padEnd(48)}${String(f.steps).padStart(6)} steps${String(f.expects).padStart(6)} expects`);
} else {
  const cols = ['files', 'steps', 'expects', 'ok', 'errno', 'fail', 'query', 'link_info'];
  const line = (name, r) => [name.padEnd(9), ...cols.map((c) => String(r[c]).padStart(10))].join('');
  console.log(['group'.padEnd(9), ...cols.map((c) => c.padStart(10))].join(''));
  for (const r of rows) console.log(line(r.group, r));
  console.log(line('total', total));
  console.log('(ok = expects of success, errno = expects of a named errno, fail = {"ok": false} only;');
  console.log(' query / link_info = expects that also check query or link_info fields)');
}
