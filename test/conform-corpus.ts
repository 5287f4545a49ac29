// `mprog conform` as the tests run it: the shipped corpus (test/sequences and corpus/) on real
// kernels, for the tests that check the project's claim on them, and small runs for the tests of
// the command itself.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConformDone, type RunOptions, runConform } from '../harness/conform/run.js';
import type { Arch } from '../vm/runtime/paths.js';

/** `mprog conform` of the shipped corpus on these targets, into a fresh directory. */
export async function conformCorpus(targets: { kernels: string[]; arches: Arch[]; host: boolean; jobs: number; corpus?: string[] }) {
  const done = await runConform({
    corpus: ['test/sequences', 'corpus'],
    ...targets,
    shard: null,
    profile: null,
    outDir: mkdtempSync(join(tmpdir(), 'mprog-conformance-')),
    resume: false,
  });
  return done.report;
}

/** Corpus pieces the conform command's tests run: small, and one with a full entry. */
export const TC_LINKS = 'test/sequences/tc_links';
export const MAX_INGRESS = 'test/sequences/tc_opts/max-ingress.json';
export const BASIC = 'test/sequences/tc_opts/basic.json';

/** A fresh output directory. */
export const tmpOut = (): string => mkdtempSync(join(tmpdir(), 'mprog-conform-'));

/** `mprog conform` on the host of tc_links into a fresh directory, with `over` instead. */
export function conformOptions(over: Partial<RunOptions>): RunOptions {
  return {
    corpus: [TC_LINKS],
    kernels: [],
    arches: [],
    host: true,
    shard: null,
    profile: null,
    outDir: tmpOut(),
    jobs: null,
    resume: false,
    ...over,
  };
}

export function conform(over: Partial<RunOptions>): Promise<ConformDone> {
  return runConform(conformOptions(over));
}
