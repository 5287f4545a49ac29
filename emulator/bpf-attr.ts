// kernel/bpf/syscall.c, the front of every command: __sys_bpf()'s size handling
// (bpf_check_uarg_tail_zero(), copy_from_bpfptr() of min(size, sizeof(attr))) and each command's
// CHECK_ATTR(), on the bytes of the caller's buffer; and the copy_to_user()s of
// BPF_PROG_QUERY and BPF_OBJ_GET_INFO_BY_FD, which land in that buffer wherever the field is,
// inside the size the caller passed or not.

import { E2BIG } from '../uapi/errno.js';
import { type Profile, attrLayout } from './profiles.js';

/** The byte the agent fills its buffer with past attr_size (vm/agent/PROTOCOL.md "attr"). */
export const ATTR_CANARY = 0xa5;
/** The caller's buffer: room for the largest attr_size and as much again. */
export const ATTR_BUF_SIZE = 2 * 4096;

export type AttrCommand = 'prog_attach' | 'prog_detach' | 'query' | 'link_create' | 'link_update' | 'link_detach' | 'link_info';

/** bpf_check_uarg_tail_zero(uattr, sizeof(attr), size): a size past the kernel's union must come
 * with zero bytes past it (-E2BIG otherwise; the format's 4096 is PAGE_SIZE, never refused). */
export function bpfCheckUargTailZero(buf: Uint8Array, expected: number, actual: number): number {
  if (actual <= expected) return 0;
  for (let i = expected; i < actual; i++) if (buf[i] !== 0) return -E2BIG;
  return 0;
}

/** __sys_bpf(): the attr the command sees, sizeof(union bpf_attr) bytes, zero past the caller's
 * size; or -E2BIG. */
export function sysBpfCopyAttr(profile: Profile, buf: Uint8Array, size: number): Uint8Array | number {
  const err = bpfCheckUargTailZero(buf, attrLayout(profile).size, size);
  if (err) return err;
  const attr = new Uint8Array(attrLayout(profile).size);
  attr.set(buf.subarray(0, Math.min(size, attrLayout(profile).size)));
  return attr;
}

/** CHECK_ATTR(BPF_...): the bytes after the command's last field (offsetofend of
 * BPF_..._LAST_FIELD) up to the end of the union must be zero. */
export function checkAttr(profile: Profile, cmd: AttrCommand, attr: Uint8Array): boolean {
  for (let i = attrLayout(profile).lastFieldEnd[cmd]; i < attr.length; i++) if (attr[i] !== 0) return true;
  return false;
}

// ---- little-endian fields of the attr (both arches the harness runs are little-endian) ----

export function getU32(b: Uint8Array, off: number): number {
  return new DataView(b.buffer, b.byteOffset).getUint32(off, true);
}

export function getU64(b: Uint8Array, off: number): number {
  return Number(new DataView(b.buffer, b.byteOffset).getBigUint64(off, true));
}

export function putU32(b: Uint8Array, off: number, v: number): void {
  new DataView(b.buffer, b.byteOffset).setUint32(off, v >>> 0, true);
}

export function putU64(b: Uint8Array, off: number, v: number): void {
  new DataView(b.buffer, b.byteOffset).setBigUint64(off, BigInt(v), true);
}

/** The caller's buffer as the agent lays it out: `fields` (its own struct) over zeros up to
 * `size`, the canary after, then the raw bytes. */
export function callerBuffer(size: number, fields: Uint8Array, raw: readonly { at: number; hex: string }[]): Uint8Array {
  const buf = new Uint8Array(ATTR_BUF_SIZE).fill(ATTR_CANARY);
  buf.fill(0, 0, size);
  buf.set(fields.subarray(0, Math.min(fields.length, size)));
  for (const r of raw) for (let i = 0; i < r.hex.length / 2; i++) buf[r.at + i] = Number.parseInt(r.hex.slice(2 * i, 2 * i + 2), 16);
  return buf;
}

/** Whether a byte past `size` is no longer the canary: the kernel wrote past the caller's attr. */
export function beyondSize(buf: Uint8Array, size: number): boolean {
  for (let i = size; i < buf.length; i++) if (buf[i] !== ATTR_CANARY) return true;
  return false;
}
