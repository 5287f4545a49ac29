// The process's fd table: fds are the lowest free number (fs/file.c), 0..2 are the standard streams.

import type { Cgroup } from './cgroupfs.js';
import type { BpfLink } from './link.js';
import type { NetNs } from './net-namespace.js';
import type { BpfMap } from './map.js';
import type { BpfProg } from './prog.js';

export type File =
  | { kind: 'prog'; prog: BpfProg }
  | { kind: 'link'; link: BpfLink }
  | { kind: 'map'; map: BpfMap }
  | { kind: 'cgroup'; cgroup: Cgroup } // an open cgroup v2 directory
  | { kind: 'netns'; net: NetNs } // an open /proc/self/ns/net
  | { kind: 'other' };

const STDIO: File = { kind: 'other' };

export class FdTable {
  private readonly files: (File | undefined)[] = [STDIO, STDIO, STDIO];

  /** get_unused_fd_flags() + fd_install(): the lowest free fd. */
  install(file: File): number {
    let fd = this.files.indexOf(undefined);
    if (fd < 0) fd = this.files.length;
    this.files[fd] = file;
    return fd;
  }

  /** An fd the process already had at `fd` (the world outside the sequence's objects). */
  installAt(fd: number, file: File): void {
    for (let i = this.files.length; i < fd; i++) this.files[i] = undefined;
    this.files[fd] = file;
  }

  /** fdget(): the open file behind `fd`, if any. */
  get(fd: number): File | undefined {
    return fd >= 0 && fd < this.files.length ? this.files[fd] : undefined;
  }

  /** close_fd(): the file that was open, now removed from the table. */
  remove(fd: number): File | undefined {
    const file = this.get(fd);
    if (file) this.files[fd] = undefined;
    return file;
  }
}
