// The test lanes are folders (vitest.config.ts has one project per folder): a test file outside
// them would be run by no lane, silently.

import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import config from '../../vitest.config.js';

describe('test lanes', () => {
  it('every test file is in the folder of a lane, and every lane is a project of its own', () => {
    const files = readdirSync('test', { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.test.ts'));
    expect(files.length).toBeGreaterThan(30);
    expect(files.filter((f) => !/^(unit|host|qemu|kbuild)\//.test(f))).toEqual([]);
    const projects = (config.test?.projects ?? []) as { test: { name: string; include: string[] } }[];
    expect(projects.map((p) => [p.test.name, p.test.include])).toEqual(
      ['unit', 'host', 'qemu', 'kbuild'].map((lane) => [lane, [`test/${lane}/**/*.test.ts`]]),
    );
  });
});
