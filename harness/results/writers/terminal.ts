// What the user sees: live progress while the run goes (a redrawn block of one line per target
// on a terminal, plain lines otherwise, e.g. in CI logs), then every failure in full and the
// kernel x arch summary table.

import type { Writable } from 'node:stream';
import { chainLines, divergenceText, expectFailureLines, laterLine, shownDivergences } from '../divergence.js';
import { type Comparison, targetLabel, type ResultRecord, type TargetPlan } from '../records.js';
import { type Report, TEXT_COLUMNS, failureSummary, needsLook, notRunText, summaryRows, verdict } from '../report.js';
import type { ProgressEvent } from '../../conform/run.js';
import { printable } from '../../errors.js';
import { colourOn, colours, liveOn, paint } from '../../colour.js';
import { modelCheckNotes } from '../model-checks.js';

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

interface TargetLine {
  label: string;
  total: number;
  done: number;
  failed: number;
  state: string;
}

/** Live progress on `out` (stderr): redrawn in place on a TTY, appended lines otherwise. */
export class Progress {
  private readonly lines = new Map<string, TargetLine>();
  private drawn = 0;
  private done = 0;
  private total = 0;

  constructor(
    private readonly out: Writable & { isTTY?: boolean; columns?: number },
    private readonly live = liveOn(out),
    private readonly c = colours(colourOn(out)),
  ) {}

  private write(text: string): void {
    this.out.write(text);
  }

  /** A notice of the engine's (vm/runtime/notices.ts): a permanent line, above the live block. */
  readonly notice = (text: string): void => this.say(`mprog: ${text}`);

  readonly handle = (event: ProgressEvent): void => {
    switch (event.type) {
      case 'start': {
        const { plan } = event;
        this.total = plan.targets.length * plan.sequences.length;
        for (const t of plan.targets) {
          const done = event.alreadyDone[t.spec] ?? 0;
          this.done += done;
          const state = done === plan.sequences.length ? 'done' : 'waiting';
          this.lines.set(t.spec, { label: targetLabel(t), total: plan.sequences.length, done, failed: 0, state });
        }
        const resumed = this.done ? `; ${this.done} already done, skipped` : '';
        this.say(
          `mprog conform: ${plural(plan.sequences.length, 'sequence')} x ${plural(plan.targets.length, 'target')}, ${event.jobs} at a time${resumed}`,
        );
        break;
      }
      case 'target-start':
        this.update(event.target, { state: 'starting' });
        break;
      case 'target-up':
        this.update(event.target, { state: 'running' });
        this.say(`${targetLabel(event.target)}: kernel ${event.release}, emulator profile ${event.profile}`);
        break;
      case 'pair-start':
        this.update(event.target, { state: event.name });
        break;
      case 'pair-done':
        this.pairDone(event.target, event.record);
        break;
      case 'target-fault':
        this.update(event.target, { state: `${event.record.fault.kind}` });
        this.say(`${targetLabel(event.target)}: ${event.record.fault.kind}: ${event.record.fault.message}`);
        break;
    }
  };

  /** Clears the live block so the final report prints below a clean screen. */
  finish(): void {
    this.erase();
  }

  private pairDone(target: TargetPlan, r: ResultRecord): void {
    const line = this.lines.get(target.spec)!;
    this.done++;
    const done = line.done + 1;
    const failed = line.failed + (needsLook(r) ? 1 : 0);
    this.update(target, { done, failed, ...(done === line.total && { state: 'done' }) });
    const verdict = `${r.outcome.toUpperCase().padEnd(11)} ${targetLabel(target)}  ${r.name}`;
    if (!this.live) this.say(`[${this.done}/${this.total}] ${verdict}${r.outcome === 'pass' ? '' : `: ${failureSummary(r)}`}`);
    else if (r.outcome !== 'pass') this.say(`${verdict}: ${failureSummary(r)}`);
  }

  private update(target: TargetPlan, change: Partial<TargetLine>): void {
    Object.assign(this.lines.get(target.spec)!, change);
    if (this.live) this.draw();
  }

  /** A permanent line: above the live block on a TTY. Its user text (names, messages) shown, never acted on. */
  private say(text: string): void {
    this.erase();
    this.write(`${paint(printable(text), this.c)}\n`);
    if (this.live) this.draw();
  }

  private erase(): void {
    if (this.drawn) this.write(`\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }

  private draw(): void {
    this.erase();
    if (this.lines.size === 0) return;
    const width = Math.max(...[...this.lines.values()].map((l) => l.label.length));
    const cols = this.out.columns || 100;
    const block = [...this.lines.values()].map((l) => {
      const failed = l.failed ? `  ${l.failed} failed` : '';
      return printable(
        `  ${l.label.padEnd(width)}  ${String(l.done).padStart(String(l.total).length)}/${l.total}${failed}  ${l.state}`.replace(/\n/g, ' '),
      ).slice(0, cols - 1);
    });
    this.write(`${block.join('\n')}\n`);
    this.drawn = block.length;
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  // Text columns left-aligned, counts right-aligned.
  return rows
    .map((r) =>
      r
        .map((c, i) => (i < TEXT_COLUMNS.length ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function summaryTable(report: Report): string {
  return table(summaryRows(report));
}

function indent(text: string, by: string): string {
  return text.replace(/^/gm, by);
}

function failureText(target: TargetPlan, r: ResultRecord, comparison: Comparison, width: number, verbose: boolean): string {
  const where = [r.sequence, r.release && `kernel ${r.release}`, r.profile && `emulator profile ${r.profile}`].filter(Boolean).join('; ');
  const out = [`${r.outcome.toUpperCase()} ${r.name} on ${targetLabel(target)} (${where}): ${failureSummary(r)}`];
  for (const note of r.notes ?? []) out.push(`  ${note}`);
  for (const note of modelCheckNotes(r)) out.push(`  note: ${note}`);
  const { shown, later } = shownDivergences(r, verbose);
  for (const d of shown) {
    out.push(indent(divergenceText(d, comparison, width - 2), '  '));
    for (const chain of chainLines(d, comparison)) out.push(`    order, ${chain}`);
  }
  if (later.length) out.push(`  ${laterLine(later)}`);
  for (const line of expectFailureLines(r.expectFailures)) out.push(`  expect failed: ${line}`);
  if (r.fault?.console) out.push(`  console log: ${r.fault.console}`);
  for (const command of r.replay ?? []) out.push(`  again: ${command}`);
  return out.join('\n');
}

export interface RenderOptions {
  /** Columns of the terminal (default 100). */
  width?: number;
  /** Every divergent step of a failed pair, not only the first. */
  verbose?: boolean;
  /** The outcome words, differing fields and verdict in colour (colour.ts decides per stream). */
  colour?: boolean;
}

/** The final report: every failed pair (its first divergent step; every one with `verbose`), the summary table, the verdict. */
export function renderReport(report: Report, files: string[], { width = 100, verbose = false, colour = false }: RenderOptions = {}): string {
  const out: string[] = [];
  // A target fault repeats for every sequence of that target: shown once, then counted.
  const repeats = new Map<string, { target: string; more: number }>();
  for (const p of report.pairs.filter((pair) => needsLook(pair.record))) {
    const key = p.record.fault ? `${p.record.target}\n${p.record.fault.message}` : null;
    const seen = key === null ? undefined : repeats.get(key);
    if (seen) {
      seen.more++;
      continue;
    }
    if (key !== null) repeats.set(key, { target: p.record.target, more: 0 });
    out.push(`${failureText(p.target, p.record, report.comparison, width, verbose)}\n`);
  }
  for (const { target, more } of repeats.values()) if (more) out.push(`(${more} more sequences on ${target} failed the same way)\n`);
  out.push(summaryTable(report), '');
  for (const note of report.notes) out.push(`note: ${note}`);
  if (report.totals.notRun > 0)
    out.push(
      `not run: ${notRunText(report)}${report.interrupted ? `; continue with: ${report.interrupted.resume}` : ' (continue the run with --resume)'}`,
    );
  out.push(`result: ${verdict(report)} (exit ${report.status})`, `files: ${files.join(', ')}`);
  return paint(printable(`${out.join('\n')}\n`), colours(colour));
}
