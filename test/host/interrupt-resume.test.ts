// conform on the running kernel stopped by SIGINT, as a user would with Ctrl-C: its reports say
// the run was interrupted (the pairs not run skipped, not failed), and the resume command it
// prints runs as printed, in a shell, started the way the user started mprog (node bin/mprog.js,
// or npx mprog), and finishes the run.

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { descendants } from '../processes.js';

const CORPUS = 'corpus';

/** results.jsonl's records so far (the plan aside). */
function records(out: string): { sequence: string }[] {
  const file = join(out, 'results.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .slice(1, -1)
    .map((l) => JSON.parse(l));
}

async function interruptedRun(launcher: string[]) {
  const out = mkdtempSync(join(tmpdir(), 'mprog-interrupt-'));
  const run = execa(launcher[0]!, [...launcher.slice(1), 'conform', '--host', '--out', out, CORPUS], { reject: false });
  while (records(out).length < 2) await sleep(20);
  // SIGINT to mprog itself (under npx, the node below npm exec's shell), as Ctrl-C sends it to the foreground group.
  const mprog = launcher[0] === 'npx' ? descendants(run.pid!).find((p) => /^node .*mprog(\.js)? conform/.test(p.cmd))!.pid : run.pid!;
  process.kill(mprog, 'SIGINT');
  const r = await run;
  return { out, r };
}

describe('conform --host interrupted by SIGINT', () => {
  for (const launcher of [
    ['node', 'bin/mprog.js'],
    ['npx', 'mprog'],
  ]) {
    it(`started as ${launcher.join(' ')}: reports say interrupted, and the printed command resumes it`, { timeout: 300_000 }, async () => {
      const { out, r } = await interruptedRun(launcher);
      expect(r.exitCode).toBe(130);
      const printed = /^continue with: (.+)$/m.exec(r.stderr)?.[1];
      expect(printed).toBeDefined();
      expect(printed).toBe(`${launcher[0] === 'npx' ? 'npx mprog' : './bin/mprog.js'} conform --host --out ${out} ${CORPUS} --resume`);

      const md = readFileSync(join(out, 'summary.md'), 'utf8');
      expect(md).toMatch(/^## mprog conform: ⏸️ interrupted by SIGINT: \d+ of \d+ pairs not run$/m);
      expect(md).not.toContain('bad input');
      expect(md).toContain(`\`\`\`sh\n${printed}\n\`\`\``);
      const junit = readFileSync(join(out, 'junit.xml'), 'utf8');
      expect(XMLValidator.validate(junit)).toBe(true);
      const suites = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(junit).testsuites;
      expect(suites.failures).toBe('0');
      expect(suites.errors).toBe('0');
      expect(junit).toContain('<skipped message="not run: the run was interrupted"/>');

      // As printed, in a shell, from where the user was.
      const resumed = await execa('sh', ['-c', printed!], { reject: false });
      expect(resumed.stderr).toMatch(/already done, skipped/);
      expect(resumed.exitCode).toBe(0);
      const keys = records(out).map((x) => x.sequence);
      expect(new Set(keys).size).toBe(keys.length);
      expect(readFileSync(join(out, 'summary.md'), 'utf8')).toMatch(/^## mprog conform: ✅ all agree$/m);
    });
  }
});
