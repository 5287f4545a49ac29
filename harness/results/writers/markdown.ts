// A Markdown summary for a CI job summary ($GITHUB_STEP_SUMMARY and the like): the verdict, the
// kernel x arch table, then each failed pair with its divergent steps side by side. Job
// summaries have a size limit, so the detail is capped; results.jsonl has all of it.

import { chainLines, expectFailureLines, fieldRows, laterLine, shownDivergences, stepHeading } from '../divergence.js';
import { type Comparison, targetLabel, type ResultRecord, type TargetPlan } from '../records.js';
import { type Report, failureSummary, needsLook, notRunText, summaryRows, verdict } from '../report.js';
import { printable } from '../../errors.js';
import { modelCheckNotes } from '../model-checks.js';

/** Failed pairs shown in full. */
const MAX_PAIRS = 50;

/** HTML's specials and what the terminal must not act on: text in a cell, a summary, a note. */
function html(text: string): string {
  return printable(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * User text (a name, a message) as one line of Markdown: no HTML it could open or close
 * (`</details>`), no table cell it could end (`|`), no line it could start (a newline), no
 * emphasis, link or code span it could begin.
 */
function cell(text: string): string {
  return html(text)
    .replace(/\r?\n/g, ' ')
    .replace(/[\\`*[\]|~]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function code(text: string): string {
  return `<code>${html(text).replace(/\|/g, '&#124;').replace(/\r?\n/g, ' ')}</code>`;
}

/** A fence longer than any run of backticks in `text`, so that the text cannot close it. */
function fence(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  return '`'.repeat(longest + 1);
}

function summaryTable(report: Report): string {
  const [head, ...rest] = summaryRows(report);
  const totals = rest.pop()!;
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head!), `|${'---|'.repeat(head!.length)}`, ...rest.map((r) => line(r.map(cell))), line(['**total**', ...totals.slice(1)])].join('\n');
}

function pairDetail(target: TargetPlan, r: ResultRecord, comparison: Comparison): string {
  const out = [`<details><summary><b>${cell(r.name)}</b> on ${cell(targetLabel(target))}: ${cell(failureSummary(r))}</summary>`, ''];
  out.push(
    `File ${code(r.sequence)}, kernel ${cell(r.release ?? '-')}${r.origin ? ` (${cell(r.origin)})` : ''}, emulator profile ${cell(r.profile ?? '-')}.`,
    '',
  );
  for (const note of modelCheckNotes(r)) out.push(`> ⚠️ ${cell(note)}`, '');
  for (const note of r.notes ?? []) out.push(`- ${cell(note)}`);
  if (r.notes?.length) out.push('');
  const { shown, later } = shownDivergences(r, false);
  for (const d of shown) {
    const names = [comparison.left, comparison.right, ...(d.reference && comparison.reference ? [comparison.reference] : [])];
    out.push(
      `**${cell(stepHeading(d).replace(/:.*/, ''))}** ${code(d.call ?? d.op)}${d.verdict ? `: ${cell(d.verdict)}` : ''}`,
      '',
      `| | field | ${names.join(' | ')} |`,
      `|---|---|${'---|'.repeat(names.length)}`,
    );
    for (const f of fieldRows(d)) {
      const values = [f.left, f.right, ...(f.reference === undefined ? [] : [f.reference])];
      out.push(`| ${f.differs ? '✗' : ''} | ${f.path} | ${values.map(code).join(' | ')} |`);
    }
    out.push('');
    const chains = chainLines(d, comparison);
    if (chains.length) out.push(...chains.map((c) => `- order, ${code(c)}`), '');
  }
  if (later.length) out.push(`${cell(laterLine(later))}`, '');
  for (const b of r.blocks ?? []) out.push(`${cell(b.title)}:`, '', `${fence(b.text)}json`, printable(b.text.trimEnd()), fence(b.text), '');
  for (const line of expectFailureLines(r.expectFailures)) out.push(`- expect failed: ${cell(line)}`);
  if (r.replay?.length) out.push('', 'Again:', '', `${fence(r.replay.join('\n'))}sh`, printable(r.replay.join('\n')), fence(r.replay.join('\n')));
  if (r.fault?.console) out.push('', `Console log: ${code(r.fault.console)}`);
  out.push('', '</details>');
  return out.join('\n');
}

/** What is said of pairs not run: why, and how to run them. */
function notRunNote(report: Report): string[] {
  if (report.totals.notRun === 0) return [];
  if (!report.interrupted) return [`> ${cell(notRunText(report))}: continue the run with \`--resume\`.`, ''];
  const { signal, resume } = report.interrupted;
  return [
    `> The run was interrupted (${cell(signal)}): ${cell(notRunText(report))}. Continue it with:`,
    '',
    `${fence(resume)}sh`,
    printable(resume),
    fence(resume),
    '',
  ];
}

export function markdown(report: Report): string {
  const unfinished = report.totals.notRun > 0 && report.totals.errors === 0 && report.totals.crashes === 0 && report.notes.length === 0;
  const icon = report.status === 0 ? '✅' : report.status === 2 && unfinished ? '⏸️' : '❌';
  const out = [`## ${report.comparison.command}: ${icon} ${cell(verdict(report))}`, '', summaryTable(report), ''];
  // Beside this file in the run's output directory (a CI artifact): each failed pair's steps and attach orders drawn.
  if (report.pairs.some((p) => needsLook(p.record)))
    out.push('Every step of each failed pair, and the attach orders drawn: [report.html](report.html).', '');
  out.push(...notRunNote(report));
  for (const note of report.notes) out.push(`> **${cell(note)}**`, '');
  const bad = report.pairs.filter((p) => needsLook(p.record));
  if (bad.length) out.push(`### ${bad.length} failed`, '');
  for (const p of bad.slice(0, MAX_PAIRS)) out.push(pairDetail(p.target, p.record, report.comparison), '');
  if (bad.length > MAX_PAIRS) out.push(`…and ${bad.length - MAX_PAIRS} more (results.jsonl, junit.xml).`, '');
  return `${out.join('\n')}\n`;
}
