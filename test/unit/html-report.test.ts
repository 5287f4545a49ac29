// report.html in a real browser (Debian's Chromium, headless): a run against a mutant emulator
// (mprogMax 2: a third attach diverges) with the host stood in for, as in conform-command.test.ts.
// The page's DOM after it renders says what the report says (every step of the failed pair, the
// diverging ones marked, each query's order drawn for both sides), and its screenshot shows it:
// the diverging rows' red, the two sides' boxes in their colours, a differing box in red.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { findProfile } from '../../emulator/profiles.js';
import { type ConformDone, runConform } from '../../harness/conform/run.js';
import { EmulatorTarget } from '../../harness/targets/emulator.js';

const MUTANT = { ...findProfile('6.12')!, name: 'mutant-max2', mprogMax: 2 };
const CHROMIUM = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--window-size=1400,2400'];

/** How many pixels of the screenshot are (about) this colour. */
function pixels(png: PNG, [r, g, b]: [number, number, number]): number {
  let n = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    if (Math.abs(png.data[i]! - r) < 8 && Math.abs(png.data[i + 1]! - g) < 8 && Math.abs(png.data[i + 2]! - b) < 8) n++;
  }
  return n;
}

describe('report.html', () => {
  let done: ConformDone;
  let page: string;
  beforeAll(async () => {
    const emulator = new EmulatorTarget('6.12');
    // Three attaches (the mutant refuses the third) and the queries that show both orders.
    const dir = mkdtempSync(join(tmpdir(), 'mprog-html-seq-'));
    const attach = (prog: string, flags?: string[]) => ({ op: 'prog_attach', prog, dev: 'v0', attach_type: 'tcx_ingress', ...(flags && { flags }) });
    const query = { op: 'query', dev: 'v0', attach_type: 'tcx_ingress', count: 8 };
    const steps = [
      attach('a'),
      attach('b', ['BPF_F_BEFORE']),
      query,
      attach('c'),
      query,
      { op: 'prog_detach', prog: 'b', dev: 'v0', attach_type: 'tcx_ingress' },
      query,
    ];
    writeFileSync(
      join(dir, 'three.json'),
      JSON.stringify({ format: 'mprog-seq/1', name: 'three', devices: ['v0'], programs: ['a', 'b', 'c'], steps }),
    );
    done = await runConform({
      corpus: [join(dir, 'three.json'), 'test/sequences/tc_opts/basic.json'],
      kernels: [],
      arches: [],
      host: true,
      shard: null,
      profile: MUTANT,
      outDir: mkdtempSync(join(tmpdir(), 'mprog-html-')),
      jobs: null,
      resume: false,
      openTarget: async () => ({ spec: 'host', kernel: async () => release(), run: (seq, opts) => emulator.run(seq, opts), close: async () => {} }),
    });
    page = `file://${join(done.outDir, 'report.html')}`;
  });

  it('is linked from summary.md', () => {
    expect(readFileSync(join(done.outDir, 'summary.md'), 'utf8')).toContain('[report.html](report.html)');
  });

  it('renders in Chromium what it says: every step of the failed pair, the diverging ones marked, the orders drawn', {
    timeout: 60_000,
  }, async () => {
    const dom = (await execa('chromium', [...CHROMIUM, '--dump-dom', page])).stdout;
    // Tags counted in the DOM as Chromium serialises it after rendering.
    const html = { count: (re: RegExp) => [...dom.matchAll(re)].length };
    const pair = done.report.pairs.find((p) => p.record.name === 'three')!.record;
    expect(html.count(/<section class="pair" data-sequence="three"/g)).toBe(1);
    expect(html.count(/<section class="pair"/g)).toBe(1); // basic agreed: not shown
    expect(html.count(/<tr( class="diverges")? data-step="\d+">/g)).toBe(pair.calls!.length);
    expect(html.count(/<tr class="diverges" data-step="\d+">/g)).toBe(pair.divergences.length);
    expect(dom).toContain(`<tr class="diverges" data-step="${pair.divergences[0]!.step}">`);
    // Each query's order for both sides, drawn: b -> a -> c on the kernel, b -> a on the mutant.
    expect(html.count(/<div class="order left" data-side="kernel">/g)).toBe(3);
    expect(html.count(/<div class="order right" data-side="emulator">/g)).toBe(3);
    expect(dom).toMatch(
      /data-side="kernel"><span class="side">kernel<\/span><span class="box">b<\/span><span class="box">a<\/span><span class="box differs">c<\/span>/,
    );
    expect(dom).toMatch(/data-side="emulator"><span class="side">emulator<\/span><span class="box">b<\/span><span class="box">a<\/span><\/div>/);
  });

  it("screenshot: the diverging rows' red, both sides' boxes in their colours, a differing box in red", { timeout: 60_000 }, async () => {
    const shot = join(done.outDir, 'shot.png');
    await execa('chromium', [...CHROMIUM, `--screenshot=${shot}`, page]);
    const png = PNG.sync.read(readFileSync(shot));
    expect(png.width).toBe(1400);
    expect(pixels(png, [0xfe, 0xca, 0xca])).toBeGreaterThan(1000); // tr.diverges td
    expect(pixels(png, [0x25, 0x63, 0xeb])).toBeGreaterThan(500); // the kernel's boxes
    expect(pixels(png, [0x05, 0x96, 0x69])).toBeGreaterThan(500); // the emulator's
    expect(pixels(png, [0xdc, 0x26, 0x26])).toBeGreaterThan(100); // a box unlike the other side's
  });
});
