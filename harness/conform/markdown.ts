// A Markdown summary for a CI job summary ($GITHUB_STEP_SUMMARY and the like): the verdict, the
// kernel x arch table, then each failed pair with its divergent steps side by side. Job
// summaries have a size limit, so the detail is capped; results.jsonl has all of it.

import { expectFailureLine, fieldRows } from './divergence.js';
import { type Comparison, targetLabel, type ResultRecord, type TargetPlan } from './records.js';
import { type Report, failureSummary, needsLook, summaryRows, verdict } from './report.js';

/** Failed pairs shown in full, and divergent steps shown per pair. */
const MAX_PAIRS = 50;
const MAX_STEPS = 10;

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function code(text: string): string {
  return `<code>${text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/\|/g, '&#124;')}</code>`;
}

function summaryTable(report: Report): string {
  const [head, ...rest] = summaryRows(report);
  const totals = rest.pop()!;
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    line(head!),
    `|${'---|'.repeat(head!.length)}`,
    ...rest.map((r) => line(r.map(cell))),
    line(['**total**', ...totals.slice(1)]),
  ].join('\n');
}

function pairDetail(target: TargetPlan, r: ResultRecord, comparison: Comparison): string {
  const out = [`<details><summary><b>${cell(r.name)}</b> on ${cell(targetLabel(target))}: ${cell(failureSummary(r))}</summary>`, ''];
  out.push(`File \`${r.sequence}\`, kernel ${r.release ?? '-'}${r.origin ? ` (${r.origin})` : ''}, emulator profile ${r.profile ?? '-'}.`, '');
  for (const note of r.notes ?? []) out.push(`- ${cell(note)}`);
  if (r.notes?.length) out.push('');
  for (const d of r.divergences.slice(0, MAX_STEPS)) {
    const names = [comparison.left, comparison.right, ...(d.reference && comparison.reference ? [comparison.reference] : [])];
    out.push(`**step ${d.step}** \`${d.op}\`${d.verdict ? `: ${cell(d.verdict)}` : ''}`, '', `| | field | ${names.join(' | ')} |`, `|---|---|${'---|'.repeat(names.length)}`);
    for (const f of fieldRows(d)) {
      const values = [f.left, f.right, ...(f.reference === undefined ? [] : [f.reference])];
      out.push(`| ${f.differs ? '✗' : ''} | ${f.path} | ${values.map(code).join(' | ')} |`);
    }
    out.push('');
  }
  for (const b of r.blocks ?? []) out.push(`${b.title}:`, '', '```json', b.text.trimEnd(), '```', '');
  if (r.divergences.length > MAX_STEPS) out.push(`…and ${r.divergences.length - MAX_STEPS} more divergent steps (results.jsonl).`, '');
  for (const f of r.expectFailures) out.push(`- ${cell(expectFailureLine(f))}`);
  if (r.fault?.console) out.push('', `Console log: \`${r.fault.console}\``);
  out.push('', '</details>');
  return out.join('\n');
}

export function markdown(report: Report): string {
  const icon = report.status === 0 ? '✅' : '❌';
  const out = [`## ${report.comparison.command}: ${icon} ${verdict(report)}`, '', summaryTable(report), ''];
  for (const note of report.notes) out.push(`> **${cell(note)}**`, '');
  const bad = report.pairs.filter((p) => needsLook(p.record));
  if (bad.length) out.push(`### ${bad.length} failed`, '');
  for (const p of bad.slice(0, MAX_PAIRS)) out.push(pairDetail(p.target, p.record, report.comparison), '');
  if (bad.length > MAX_PAIRS) out.push(`…and ${bad.length - MAX_PAIRS} more (results.jsonl, junit.xml).`, '');
  return `${out.join('\n')}\n`;
}
