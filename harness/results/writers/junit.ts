// JUnit XML: one testsuite per target, one testcase per sequence x kernel x arch, with the
// kernel release, arch and emulator profile as properties; divergences and failed expects are
// failures, target faults errors, unsupported kernels and pairs not run (an interrupted run) skipped.

import { chainLines, divergenceText, expectFailureLines, laterLine, shownDivergences } from '../divergence.js';
import { type Comparison, targetLabel, type ResultRecord, type TargetPlan } from '../records.js';
import { type Report, type TargetSummary, failureSummary } from '../report.js';
import { modelCheckNotes } from '../model-checks.js';

/**
 * Escaped for XML 1.0, which has no way at all to carry most control characters (console logs
 * and user text may hold them): those are written as their JSON escape (`\u0000`), as are
 * lone surrogates (no character to encode).
 */
function xml(text: string): string {
  return text
    .replace(
      /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    )
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** For an attribute value: also the white space a parser would normalise to a space (a newline in a name). */
function attr(text: string): string {
  return xml(text).replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

function properties(target: TargetPlan, release: string | null, profile: string | null, indent: string, origin: string | null = null): string {
  const props: [string, string | null][] = [
    ['kernel', target.kernel],
    ['kernel.release', release],
    ['kernel.origin', origin],
    ['arch', target.arch],
    ['profile', profile],
  ];
  const lines = props.filter(([, v]) => v !== null).map(([k, v]) => `${indent}  <property name="${k}" value="${attr(v!)}"/>`);
  return `${indent}<properties>\n${lines.join('\n')}\n${indent}</properties>`;
}

function failureBody(r: ResultRecord, comparison: Comparison): string {
  const { shown, later } = shownDivergences(r, false);
  return [
    ...modelCheckNotes(r).map((n) => `note: ${n}`),
    ...(r.notes ?? []),
    ...shown.map((d) => [divergenceText(d, comparison), ...chainLines(d, comparison).map((c) => `    order, ${c}`)].join('\n')),
    ...(later.length ? [laterLine(later)] : []),
    ...expectFailureLines(r.expectFailures).map((l) => `expect failed: ${l}`),
    ...(r.replay ?? []).map((c) => `again: ${c}`),
    ...(r.blocks ?? []).map((b) => `${b.title}:\n${b.text.trimEnd()}`),
  ].join('\n\n');
}

/** The element saying what went wrong, if anything did. */
function verdict(r: ResultRecord, comparison: Comparison): string {
  const message = attr(failureSummary(r));
  switch (r.outcome) {
    case 'pass':
      return '';
    case 'fail':
      return `      <failure type="${r.divergences.length ? 'divergence' : 'expect'}" message="${message}">${xml(failureBody(r, comparison))}</failure>\n`;
    case 'unsupported':
      return `      <skipped message="${message}"/>\n`;
    case 'not-run':
      return `      <skipped message="${attr(r.fault?.message ?? 'not run')}"/>\n`;
    case 'error':
    case 'crash': {
      const log = r.fault?.console ? `console log: ${r.fault.console}` : '';
      return `      <error type="${r.fault?.kind ?? 'error'}" message="${message}">${xml(log)}</error>\n`;
    }
  }
}

function testcase(target: TargetPlan, r: ResultRecord, comparison: Comparison): string {
  // Jenkins-style viewers split a classname at its dots (package.class): "debian-6_12 x86_64".
  const attrs = `name="${attr(r.name)}" classname="${attr(targetLabel(target).replace(/\./g, '_'))}" file="${attr(r.sequence)}" time="${(r.ms / 1000).toFixed(3)}"`;
  return `    <testcase ${attrs}>\n${properties(target, r.release, r.profile, '      ', r.origin ?? null)}\n${verdict(r, comparison)}    </testcase>`;
}

function testsuite(summary: TargetSummary, records: ResultRecord[], comparison: Comparison): string {
  const c = summary.counts;
  const time = records.reduce((t, r) => t + r.ms, 0) / 1000;
  const attrs = `name="${attr(targetLabel(summary.target))}" tests="${c.sequences}" failures="${c.failed}" errors="${c.errors + c.crashes}" skipped="${c.unsupported + c.notRun}" time="${time.toFixed(3)}"`;
  const props = properties(summary.target, summary.releases.join(', ') || null, summary.profiles.join(', ') || null, '    ');
  return `  <testsuite ${attrs}>\n${props}\n${records.map((r) => testcase(summary.target, r, comparison)).join('\n')}\n  </testsuite>`;
}

export function junitXml(report: Report): string {
  const t = report.totals;
  const suites = report.targets.map((s) =>
    testsuite(
      s,
      report.pairs.filter((p) => p.target.spec === s.target.spec).map((p) => p.record),
      report.comparison,
    ),
  );
  const attrs = `name="${attr(report.comparison.command)}" tests="${t.sequences}" failures="${t.failed}" errors="${t.errors + t.crashes}" skipped="${t.unsupported + t.notRun}"`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ${attrs}>\n${suites.join('\n')}\n</testsuites>\n`;
}
