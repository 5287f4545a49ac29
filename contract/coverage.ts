// What a coverage kernel (`mprog kernel build --coverage`) gives a run: the gcov counters each of
// its guests sent (vm/agent/PROTOCOL.md "Coverage"), and where the notes to read them with are.

/** One .gcda a coverage kernel sent: its path below debugfs's gcov directory and its bytes. */
export interface GcdaFile {
  path: string;
  size: number;
  data: Buffer;
}

/** A target's counters: one dump per guest that ended cleanly, read with the build's notes. */
export interface KernelCounters {
  /** The kernel's notes directory: `<source>` and `<source without .c>.gcno` for each source. */
  notesDir: string;
  /** The instrumented sources, relative to the tree (`kernel/bpf/mprog.c`). */
  sources: string[];
  arch: 'x86_64' | 'arm64';
  /** A patched build's lines the patches added or changed, per instrumented source. */
  patchLines: Record<string, number[]>;
  dumps: GcdaFile[][];
  /** Guests lost to a fault, whose counters went with them. */
  lost: number;
}
