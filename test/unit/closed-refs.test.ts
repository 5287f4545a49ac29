// The closed-reference numbers are the harness's own convention, written once for TypeScript
// (contract/closed-refs.ts) and once for C (vm/agent/kernel-abi.h): the two must agree.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as closedRefs from '../../contract/closed-refs.js';

const header = readFileSync(join(import.meta.dirname, '../../vm/agent/kernel-abi.h'), 'utf8');

describe('closed references', () => {
  it.each(Object.entries(closedRefs))('%s is the same number in kernel-abi.h', (name, value) => {
    const define = new RegExp(`^#define ${name} (0x[0-9a-f]+|\\d+)u?$`, 'm').exec(header);
    expect(define, `#define ${name} in kernel-abi.h`).not.toBeNull();
    expect(Number(define![1])).toBe(value);
  });
});
