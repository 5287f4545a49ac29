// kernel/bpf/tcx.c and include/net/tcx.h: where the tc ingress/egress entries live.
//
// struct tcx_entry is the mprog bundle plus miniq_active: how many clsact/ingress qdiscs hold
// the entry (tcx_miniq_inc/dec, sch-ingress.ts). An entry is created by the first attach or
// qdisc and freed only when tcx_entry_is_active() is false — no program and no qdisc — so
// without a qdisc the revision starts again from 1 after the last detach, and with one the
// empty entry stays published and keeps counting (detach on it: ESTALE, then ENOENT).

import type { MprogAttachPoint } from './attach-point.js';
import { ENODEV } from '../uapi/errno.js';
import { BpfMprogBundle, BpfMprogEntry, bpfMprogTotal } from './mprog.js';
import type { NetDevice } from './netdev.js';
import { BPF_LINK_TYPE_TCX, BPF_TCX_INGRESS } from '../uapi/bpf.js';

/** struct tcx_entry: the bundle and the count of qdiscs holding it. */
export class TcxEntry extends BpfMprogBundle {
  miniqActive = 0;
}

function tcxEntry(entry: BpfMprogEntry): TcxEntry {
  return entry.parent as TcxEntry;
}

/** tcx_entry_update(): publish `entry` (null: none) on the device. */
export function tcxEntryUpdate(dev: NetDevice, entry: BpfMprogEntry | null, ingress: boolean): void {
  if (ingress) dev.tcxIngress = entry;
  else dev.tcxEgress = entry;
}

/** tcx_entry_fetch(). */
export function tcxEntryFetch(dev: NetDevice, ingress: boolean): BpfMprogEntry | null {
  return ingress ? dev.tcxIngress : dev.tcxEgress;
}

/** tcx_entry_fetch_or_create(): a new entry has a new bundle, so revision 1. */
export function tcxEntryFetchOrCreate(dev: NetDevice, ingress: boolean): { entry: BpfMprogEntry; created: boolean } {
  const entry = tcxEntryFetch(dev, ingress);
  if (entry) return { entry, created: false };
  return { entry: new BpfMprogEntry(new TcxEntry()), created: true };
}

/** tcx_miniq_inc(). */
export function tcxMiniqInc(entry: BpfMprogEntry): void {
  tcxEntry(entry).miniqActive++;
}

/** tcx_miniq_dec(). */
export function tcxMiniqDec(entry: BpfMprogEntry): void {
  tcxEntry(entry).miniqActive--;
}

/** tcx_entry_is_active(): programs, or a qdisc holding it. */
export function tcxEntryIsActive(entry: BpfMprogEntry): boolean {
  return bpfMprogTotal(entry) > 0 || tcxEntry(entry).miniqActive > 0;
}

export const tcxAttachPoint: MprogAttachPoint = {
  linkType: BPF_LINK_TYPE_TCX,
  devFetch: (net, ifindex) => net.getByIndex(ifindex) ?? -ENODEV,
  entryFetch: (dev, type) => tcxEntryFetch(dev, type === BPF_TCX_INGRESS),
  entryForAttach: (dev, type) => tcxEntryFetchOrCreate(dev, type === BPF_TCX_INGRESS),
  /** tcx_entry_update() after a commit, and tcx_entry_free() once tcx_entry_is_active() is false
   * (tcx_prog_detach, tcx_link_release; tcx_uninstall keeps an entry a qdisc holds, emptied). */
  entryUpdate: (dev, type, entry) => tcxEntryUpdate(dev, tcxEntryIsActive(entry) ? entry : null, type === BPF_TCX_INGRESS),
  entryDiscard: () => {}, // the created entry was never published
};
