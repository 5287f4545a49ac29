// `npm run bench [-- --json] [--only emulator]`: the project's speed goals, measured.

import { parseArgs } from 'node:util';
import { benchEmulator } from './emulator.js';

interface Measure {
  key: string;
  label: string;
  goal?: string;
  run: () => Promise<number>;
}

const MEASURES: Measure[] = [
  {
    key: 'emulator_ops_per_s',
    label: 'emulator, fixed mix of calls',
    goal: '>= 2,000,000',
    run: async () => benchEmulator(3).opsPerSecond,
  },
];

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false }, only: { type: 'string' } } });
  const selected = MEASURES.filter((m) => !values.only || m.key.startsWith(values.only));
  const results: Record<string, number> = {};
  for (const m of selected) {
    results[m.key] = Math.round((await m.run()) * 1000) / 1000;
    if (!values.json) process.stdout.write(`${m.label.padEnd(50)} ${m.key.padEnd(32)} ${results[m.key]!.toLocaleString('en-US')}${m.goal ? `   (goal ${m.goal})` : ''}\n`);
  }
  if (values.json) process.stdout.write(`${JSON.stringify(results)}\n`);
  return 0;
}
