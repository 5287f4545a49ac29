// Debian version order as dpkg itself has it: many generated pairs, each compared by
// compareDebVersions and by `dpkg --compare-versions` (the real one, on this Debian machine).

import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { compareDebVersions } from '../../vm/debian/deb-version.js';

/** A small deterministic generator, so a failure names a pair that comes back on every run. */
function* versions(seed: number, n: number): Generator<string> {
  let x = seed;
  const next = (k: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x % k;
  };
  const parts = [
    '0',
    '1',
    '2',
    '9',
    '10',
    '12',
    '117',
    '6.12',
    '6.12.117',
    '7.2',
    'a',
    'b',
    'rc1',
    '~',
    '~rc1',
    '+deb13',
    '+b1',
    '.',
    '-1',
    '-2',
    'deb13u1',
    '~bpo12+1',
    '+',
    '00',
  ];
  for (let i = 0; i < n; i++) {
    let upstream = String(next(10));
    for (let k = next(4); k > 0; k--) upstream += parts[next(parts.length)]!;
    const epoch = next(5) === 0 ? `${next(3)}:` : '';
    const revision = next(2) ? `-${next(3)}${next(2) ? parts[next(parts.length)]!.replace(/[-:]/g, '') : ''}` : '';
    yield `${epoch}${upstream.replace(/:/g, '')}${revision}`;
  }
}

async function dpkgOrder(a: string, b: string): Promise<number> {
  const lt = await execa('dpkg', ['--compare-versions', a, 'lt', b], { reject: false });
  if (lt.exitCode === 0) return -1;
  const eq = await execa('dpkg', ['--compare-versions', a, 'eq', b], { reject: false });
  return eq.exitCode === 0 ? 0 : 1;
}

describe('compareDebVersions', () => {
  it('orders 200 generated pairs as dpkg --compare-versions does', async () => {
    const list = [...versions(7, 400)];
    const pairs = Array.from({ length: 200 }, (_, i) => [list[2 * i]!, list[2 * i + 1]!] as const);
    const mismatches: string[] = [];
    for (const [a, b] of pairs) {
      const ours = Math.sign(compareDebVersions(a, b));
      const dpkg = await dpkgOrder(a, b);
      if (ours !== dpkg) mismatches.push(`${a} vs ${b}: ours ${ours}, dpkg ${dpkg}`);
    }
    expect(mismatches).toEqual([]);
  });

  it('orders the versions the mirror serves', async () => {
    const known = ['6.12.117-1', '6.12.107-1', '6.12.117-1~bpo12+1', '7.2.13-1', '7.2.13-1+b1', '1:2.0', '2.0~rc1-1', '2.0-1'];
    for (const a of known) for (const b of known) expect(Math.sign(compareDebVersions(a, b)), `${a} vs ${b}`).toBe(await dpkgOrder(a, b));
  });
});
