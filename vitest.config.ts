import { defineConfig } from 'vitest/config';

const MINUTE = 60_000;

/**
 * The tests in lanes by what they need, one folder each (README, "The two commands"): `unit` nothing (no root,
 * QEMU, network or kernel build), `host` root (the running kernel, network namespaces, cgroups,
 * the host bpftool), `qemu` Debian's kernels booted under QEMU (and the mirror they come from),
 * `kbuild` kernels built here. `vitest run` runs them all; `--project NAME` one lane.
 */
export default defineConfig({
  test: {
    projects: [
      // Pure and quick: vitest's default timeouts would do, but the shared 2 cores can be loaded.
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000 } },
      // Real kernels boot in seconds and replay in minutes (TCG): long defaults, a file at a time per core.
      { test: { name: 'host', include: ['test/host/**/*.test.ts'], testTimeout: 2 * MINUTE, hookTimeout: 5 * MINUTE } },
      { test: { name: 'qemu', include: ['test/qemu/**/*.test.ts'], testTimeout: 2 * MINUTE, hookTimeout: 5 * MINUTE } },
      { test: { name: 'kbuild', include: ['test/kbuild/**/*.test.ts'], testTimeout: 2 * MINUTE, hookTimeout: 5 * MINUTE } },
    ],
  },
});
