// A deterministic cpio "newc" archive writer (the initramfs format, see the kernel's
// Documentation/driver-api/early-userspace/buffer-format.rst): entries sorted by path, owned by
// root, mtime 0, so the same inputs give the same bytes. Device nodes need no privileges here.

export type CpioEntry =
  | { path: string; kind: 'dir'; mode?: number }
  | { path: string; kind: 'file'; data: Buffer; mode?: number }
  | { path: string; kind: 'symlink'; target: string }
  | { path: string; kind: 'chardev'; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function header(fields: number[], name: string): Buffer {
  const hex = fields.map((f) => f.toString(16).padStart(8, '0')).join('');
  const nameBytes = Buffer.from(name + '\0', 'utf8');
  const head = Buffer.from('070701' + hex, 'ascii');
  return Buffer.concat([head, nameBytes, Buffer.alloc(pad4(head.length + nameBytes.length))]);
}

function record(ino: number, mode: number, name: string, data: Buffer, rdev: [number, number] = [0, 0]): Buffer {
  const nlink = (mode & 0o170000) === S_IFDIR ? 2 : 1;
  const fields = [ino, mode, 0, 0, nlink, 0, data.length, 0, 0, rdev[0], rdev[1], Buffer.byteLength(name) + 1, 0];
  return Buffer.concat([header(fields, name), data, Buffer.alloc(pad4(data.length))]);
}

/** The archive of `entries` (parent directories are added when missing). */
export function cpioNewc(entries: CpioEntry[]): Buffer {
  const byPath = new Map<string, CpioEntry>();
  for (const e of entries) {
    const path = e.path.replace(/^\/+/, '');
    byPath.set(path, { ...e, path });
    for (let d = path; d.includes('/'); ) {
      d = d.slice(0, d.lastIndexOf('/'));
      if (!byPath.has(d)) byPath.set(d, { path: d, kind: 'dir' });
    }
  }
  const parts: Buffer[] = [];
  let ino = 1;
  for (const path of [...byPath.keys()].sort()) {
    const e = byPath.get(path)!;
    switch (e.kind) {
      case 'dir':
        parts.push(record(ino++, S_IFDIR | (e.mode ?? 0o755), path, Buffer.alloc(0)));
        break;
      case 'file':
        parts.push(record(ino++, S_IFREG | (e.mode ?? 0o644), path, e.data));
        break;
      case 'symlink':
        parts.push(record(ino++, S_IFLNK | 0o777, path, Buffer.from(e.target)));
        break;
      case 'chardev':
        parts.push(record(ino++, S_IFCHR | (e.mode ?? 0o600), path, Buffer.alloc(0), [e.major, e.minor]));
        break;
    }
  }
  parts.push(record(0, 0, 'TRAILER!!!', Buffer.alloc(0)));
  return Buffer.concat(parts);
}
