// TAP version 14: one test point per sequence x target; what went wrong is in the YAML
// diagnostic block. Values are written as JSON, which YAML 1.2 reads as flow scalars and
// collections, so no YAML quoting rules need reimplementing here.

import { type Comparison, targetLabel, type ResultRecord, type TargetPlan } from '../records.js';
import { type Report, failureSummary } from '../report.js';
import { modelCheckNotes } from '../model-checks.js';

/** Characters a TAP line or a YAML stream cannot carry as they are (YAML's c-printable excludes them). */
const UNSAFE =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const escape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** `#` would start a directive and a newline would end the line; other controls are shown escaped. */
function description(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/#/g, '\\#')
    .replace(/[\r\n]+/g, ' ')
    .replace(UNSAFE, escape);
}

/** JSON, which YAML 1.2 reads as a flow value, with what JSON leaves raw but YAML may not hold escaped. */
function yamlValue(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE, escape);
}

function yamlBlock(fields: Record<string, unknown>): string {
  const lines = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `  ${k}: ${yamlValue(v)}`);
  return ['  ---', ...lines, '  ...'].join('\n');
}

function diagnostics(r: ResultRecord, target: TargetPlan, comparison: Comparison): string {
  const modelNotes = modelCheckNotes(r);
  return yamlBlock({
    message: failureSummary(r),
    severity: r.outcome,
    file: r.sequence,
    kernel: target.kernel,
    release: r.release ?? undefined,
    origin: r.origin,
    arch: target.arch,
    profile: r.profile ?? undefined,
    console: r.fault?.console,
    notes: modelNotes.length ? [...modelNotes, ...(r.notes ?? [])] : r.notes,
    divergences: r.divergences.length
      ? // Raw values, for tools; a side without the field has no key for it.
        r.divergences.map((d) => ({
          step: d.step,
          op: d.op,
          fields: d.fields.map((f) => ({ path: f.path, [comparison.left]: f.left, [comparison.right]: f.right })),
          ...(d.reference && comparison.reference && { [comparison.reference]: d.reference }),
          ...(d.verdict && { verdict: d.verdict }),
        }))
      : undefined,
    expect_failures: r.expectFailures.length ? r.expectFailures : undefined,
  });
}

function testPoint(n: number, target: TargetPlan, r: ResultRecord, comparison: Comparison): string {
  const name = description(`${r.name} on ${targetLabel(target)}`);
  if (r.outcome === 'pass') return `ok ${n} - ${name}`;
  if (r.outcome === 'unsupported') return `ok ${n} - ${name} # SKIP ${description(r.fault?.message ?? 'unsupported')}`;
  if (r.outcome === 'not-run') return `ok ${n} - ${name} # SKIP ${description(r.fault?.message ?? 'not run')}`;
  return `not ok ${n} - ${name}\n${diagnostics(r, target, comparison)}`;
}

export function tap(report: Report): string {
  const lines = ['TAP version 14', `1..${report.pairs.length}`];
  for (const s of report.targets) {
    lines.push(
      `# ${description(`${targetLabel(s.target)}: kernel ${s.releases.join(', ') || '?'}, emulator profile ${s.profiles.join(', ') || '?'}`)}`,
    );
  }
  report.pairs.forEach((p, i) => lines.push(testPoint(i + 1, p.target, p.record, report.comparison)));
  return `${lines.join('\n')}\n`;
}
