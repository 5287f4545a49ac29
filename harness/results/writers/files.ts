// The report files of an output directory, besides results.jsonl (written as the run goes).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { htmlReport } from './html.js';
import { junitXml } from './junit.js';
import { markdown } from './markdown.js';
import type { Report } from '../report.js';
import { tap } from './tap.js';

export const REPORT_FILES = { junit: 'junit.xml', tap: 'results.tap', markdown: 'summary.md', html: 'report.html' } as const;

export function writeReports(dir: string, report: Report): void {
  writeFileSync(join(dir, REPORT_FILES.junit), junitXml(report));
  writeFileSync(join(dir, REPORT_FILES.tap), tap(report));
  writeFileSync(join(dir, REPORT_FILES.markdown), markdown(report));
  writeFileSync(join(dir, REPORT_FILES.html), htmlReport(report));
}
