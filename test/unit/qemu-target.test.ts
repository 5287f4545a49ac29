// What the QEMU target, the kernel build and the saved guests decide without booting or building
// anything: a spec's shape, the options olddefconfig dropped, which saved guests are kept.

import { mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TargetError } from '../../contract/target.js';
import { QemuTarget } from '../../harness/targets/qemu.js';
import { droppedOptions } from '../../vm/kernel-build/build.js';
import { KEEP_SNAPSHOTS, pruneSnapshots, touchSnapshot } from '../../vm/guest/snapshot.js';

describe('faults', () => {
  it('rejects a malformed spec as unusable', () => {
    const bad = (): QemuTarget => new QemuTarget('qemu:debian-6.12:riscv64');
    expect(bad).toThrow(TargetError);
    expect(bad).toThrow(/ARCH x86_64 \(amd64, x64\), arm64 \(aarch64\)/);
  });
});

describe('mprog-X.Y kernels', () => {
  it('names the options olddefconfig dropped, minding what each arch lacks', () => {
    const fragment = readFileSync(join(import.meta.dirname, '../../kernel-configs/mprog.fragment'), 'utf8');
    const wanted = fragment.split('\n').filter((l) => l.startsWith('CONFIG_'));
    // An x86 config has no PL011 console and no generic PCI host: not a loss there.
    const x86 = wanted.filter((l) => !/PL011|PCI_HOST_GENERIC/.test(l)).join('\n');
    expect(droppedOptions(fragment, x86, 'x86_64')).toEqual([]);
    expect(droppedOptions(fragment, x86, 'arm64')).toEqual([
      'CONFIG_SERIAL_AMBA_PL011',
      'CONFIG_SERIAL_AMBA_PL011_CONSOLE',
      'CONFIG_PCI_HOST_GENERIC',
    ]);
    expect(droppedOptions(fragment, x86.replace('CONFIG_VETH=y', '# CONFIG_VETH is not set'), 'x86_64')).toEqual(['CONFIG_VETH']);
  });
});

describe('saved guests', () => {
  it('keeps the most recently used saved guests, the bound many', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mprog-snapshots-'));
    try {
      const files = Array.from({ length: KEEP_SNAPSHOTS + 3 }, (_, i) => join(dir, `${i}.state`));
      files.forEach((file, i) => {
        writeFileSync(file, '');
        utimesSync(file, 1000 + i, 1000 + i); // 0.state is the least recently used
      });
      touchSnapshot(files[0]!); // used just now
      writeFileSync(join(dir, 'notes.txt'), '');
      const removed = pruneSnapshots(dir);
      expect(removed.sort()).toEqual([files[1], files[2], files[3]].sort());
      expect(readdirSync(dir).sort()).toEqual(
        [...files.slice(4), files[0]]
          .map((f) => f.slice(dir.length + 1))
          .concat('notes.txt')
          .sort(),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
