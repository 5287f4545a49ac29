// report.html: one file a person opens (no server, nothing fetched): the verdict and the kernel x
// arch table, then each failed pair with every step of its sequence — the call, each side's
// answer, the diverging ones marked — and at each query the attach order as each side saw it,
// drawn as a row of boxes (a box that differs from the other side's at its place marked).

import type { QueryResult, StepResult } from '../../../contract/seq.js';
import { expectFailureLines, fieldRows, stepHeading } from '../divergence.js';
import { type Comparison, type ResultRecord, type TargetPlan, targetLabel } from '../records.js';
import { type Report, failureSummary, needsLook, summaryRows, verdict } from '../report.js';
import { answerText } from '../step-text.js';

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #111; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: left; vertical-align: top; }
code, .call { font-family: ui-monospace, monospace; }
tr.diverges td { background: #fecaca; }
.verdict.ok { color: #15803d; } .verdict.bad { color: #b91c1c; }
.order { display: flex; gap: 4px; align-items: center; margin: 2px 0; }
.order .side { width: 7em; font-size: 12px; }
.box { padding: 2px 10px; border-radius: 4px; color: #fff; font-family: ui-monospace, monospace; }
.left .box { background: #2563eb; } .right .box { background: #059669; }
.box.differs { background: #dc2626 !important; }
.empty { font-style: italic; color: #666; }
section.pair { border-top: 2px solid #999; margin-top: 1.5em; }
`;

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The attach order of a query as boxes, those unlike the other side's at the same place marked. */
function orderRow(cls: 'left' | 'right', name: string, q: Partial<QueryResult> | undefined, other: Partial<QueryResult> | undefined): string {
  const ids = q?.prog_ids ?? [];
  const label = (i: number) => `${ids[i] ?? '0'}${q?.link_ids?.[i] ? `(${q.link_ids[i]})` : ''}`;
  const otherLabel = (i: number) =>
    other?.prog_ids?.[i] === undefined ? null : `${other.prog_ids[i] ?? '0'}${other.link_ids?.[i] ? `(${other.link_ids[i]})` : ''}`;
  const boxes = ids.length
    ? ids.map((_, i) => `<span class="box${label(i) === otherLabel(i) ? '' : ' differs'}">${esc(label(i))}</span>`).join('')
    : '<span class="empty">empty</span>';
  return `<div class="order ${cls}" data-side="${esc(name)}"><span class="side">${esc(name)}</span>${boxes}</div>`;
}

/** Every step of a failed pair: call, both answers, the diverging rows marked; query orders drawn. */
function stepsTable(r: ResultRecord, comparison: Comparison): string {
  if (!r.results || !r.calls) return '';
  const diverging = new Set(r.divergences.map((d) => d.step));
  const { kernel: left, emulator: right } = r.results;
  const rows = r.calls.map((call, i) => {
    const l: StepResult | undefined = left[i];
    const rt: StepResult | undefined = right[i];
    const orders =
      l?.query || rt?.query
        ? `<tr class="orders"><td></td><td colspan="3">${orderRow('left', comparison.left, l?.query, rt?.query)}${orderRow('right', comparison.right, rt?.query, l?.query)}</td></tr>`
        : '';
    const cls = diverging.has(i) ? ' class="diverges"' : '';
    return `<tr${cls} data-step="${i}"><td>${i}</td><td class="call">${esc(call)}</td><td>${esc(l ? answerText(l) : '-')}</td><td>${esc(rt ? answerText(rt) : '-')}</td></tr>${orders}`;
  });
  return `<table class="steps"><tr><th>step</th><th>call</th><th>${esc(comparison.left)}</th><th>${esc(comparison.right)}</th></tr>${rows.join('')}</table>`;
}

/** A pair without its step results (mprog diff): its differing steps' fields side by side. */
function divergenceTables(r: ResultRecord, comparison: Comparison): string {
  if (r.results && r.calls) return '';
  return r.divergences
    .map((d) => {
      const names = [comparison.left, comparison.right, ...(d.reference && comparison.reference ? [comparison.reference] : [])];
      const rows = fieldRows(d).map((f) => {
        const cells = [f.left, f.right, ...(f.reference === undefined ? [] : [f.reference])].map((v) => `<td><code>${esc(v)}</code></td>`).join('');
        return `<tr${f.differs ? ' class="diverges"' : ''}><td>${esc(f.path)}</td>${cells}</tr>`;
      });
      return `<h4 class="call">${esc(stepHeading(d))}</h4>${d.verdict ? `<p>${esc(d.verdict)}</p>` : ''}<table><tr><th>field</th>${names.map((n) => `<th>${esc(n)}</th>`).join('')}</tr>${rows.join('')}</table>`;
    })
    .join('');
}

function pairSection(target: TargetPlan, r: ResultRecord, comparison: Comparison): string {
  const list = (items: string[], cls: string) => (items.length ? `<ul class="${cls}">${items.map((i) => `<li>${esc(i)}</li>`).join('')}</ul>` : '');
  return [
    `<section class="pair" data-sequence="${esc(r.name)}" data-target="${esc(target.spec)}">`,
    `<h2>${esc(r.name)} on ${esc(targetLabel(target))}: ${esc(failureSummary(r))}</h2>`,
    `<p>File <code>${esc(r.sequence)}</code>, kernel ${esc(r.release ?? '-')}, emulator profile ${esc(r.profile ?? '-')}.</p>`,
    list(r.notes ?? [], 'notes'),
    list(
      expectFailureLines(r.expectFailures).map((l) => `expect failed: ${l}`),
      'expects',
    ),
    stepsTable(r, comparison),
    divergenceTables(r, comparison),
    ...(r.blocks ?? []).map((b) => `<h4>${esc(b.title)}</h4><pre>${esc(b.text)}</pre>`),
    r.replay?.length ? `<p>Again:</p><pre class="again">${esc(r.replay.join('\n'))}</pre>` : '',
    r.fault?.console ? `<p>Console log: <code>${esc(r.fault.console)}</code></p>` : '',
    '</section>',
  ].join('\n');
}

export function htmlReport(report: Report): string {
  const [head, ...rows] = summaryRows(report);
  const table = `<table class="summary"><tr>${head!.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</table>`;
  const bad = report.pairs.filter((p) => needsLook(p.record));
  const title = `${report.comparison.command}: ${verdict(report)}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${STYLE}</style></head>
<body>
<h1 class="verdict ${report.status === 0 ? 'ok' : 'bad'}">${esc(title)} (exit ${report.status})</h1>
${table}
${bad.map((p) => pairSection(p.target, p.record, report.comparison)).join('\n')}
</body></html>
`;
}
