// JUnit XML: one testsuite per target, one testcase per sequence x kernel x arch, with the
// kernel release, arch and emulator profile as properties; divergences and failed expects are
// failures, target faults errors, unsupported kernels skipped.

import { divergenceText, expectFailureLine } from './divergence.js';
import { type Comparison, targetLabel, type ResultRecord, type TargetPlan } from './records.js';
import { type Report, type TargetSummary, failureSummary } from './report.js';

/** Escaped for XML 1.0, which has no way at all to carry most control characters (console logs do). */
function xml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

function properties(target: TargetPlan, release: string | null, profile: string | null, indent: string, origin: string | null = null): string {
  const props: [string, string | null][] = [
    ['kernel', target.kernel],
    ['kernel.release', release],
    ['kernel.origin', origin],
    ['arch', target.arch],
    ['profile', profile],
  ];
  const lines = props.filter(([, v]) => v !== null).map(([k, v]) => `${indent}  <property name="${k}" value="${xml(v!)}"/>`);
  return `${indent}<properties>\n${lines.join('\n')}\n${indent}</properties>`;
}

function failureBody(r: ResultRecord, comparison: Comparison): string {
  return [
    ...(r.notes ?? []),
    ...r.divergences.map((d) => divergenceText(d, comparison)),
    ...r.expectFailures.map((f) => expectFailureLine(f)),
    ...(r.blocks ?? []).map((b) => `${b.title}:\n${b.text.trimEnd()}`),
  ].join('\n\n');
}

/** The element saying what went wrong, if anything did. */
function verdict(r: ResultRecord, comparison: Comparison): string {
  const message = xml(failureSummary(r));
  switch (r.outcome) {
    case 'pass':
      return '';
    case 'fail':
      return `      <failure type="${r.divergences.length ? 'divergence' : 'expect'}" message="${message}">${xml(failureBody(r, comparison))}</failure>\n`;
    case 'unsupported':
      return `      <skipped message="${message}"/>\n`;
    case 'error':
    case 'crash': {
      const log = r.fault?.console ? `console log: ${r.fault.console}` : '';
      return `      <error type="${r.fault?.kind ?? 'error'}" message="${message}">${xml(log)}</error>\n`;
    }
  }
}

function testcase(target: TargetPlan, r: ResultRecord, comparison: Comparison): string {
  const attrs = `name="${xml(r.name)}" classname="${xml(targetLabel(target))}" file="${xml(r.sequence)}" time="${(r.ms / 1000).toFixed(3)}"`;
  return `    <testcase ${attrs}>\n${properties(target, r.release, r.profile, '      ', r.origin ?? null)}\n${verdict(r, comparison)}    </testcase>`;
}

function testsuite(summary: TargetSummary, records: ResultRecord[], comparison: Comparison): string {
  const c = summary.counts;
  const time = records.reduce((t, r) => t + r.ms, 0) / 1000;
  const attrs = `name="${xml(targetLabel(summary.target))}" tests="${c.sequences}" failures="${c.failed}" errors="${c.errors + c.crashes}" skipped="${c.unsupported}" time="${time.toFixed(3)}"`;
  const props = properties(summary.target, summary.releases.join(', ') || null, summary.profiles.join(', ') || null, '    ');
  return `  <testsuite ${attrs}>\n${props}\n${records.map((r) => testcase(summary.target, r, comparison)).join('\n')}\n  </testsuite>`;
}

export function junitXml(report: Report): string {
  const t = report.totals;
  const suites = report.targets.map((s) => testsuite(s, report.pairs.filter((p) => p.target.spec === s.target.spec).map((p) => p.record), report.comparison));
  const attrs = `name="${xml(report.comparison.command)}" tests="${t.sequences}" failures="${t.failed}" errors="${t.errors + t.crashes}" skipped="${t.unsupported}"`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ${attrs}>\n${suites.join('\n')}\n</testsuites>\n`;
}
