// kernel/bpf/tcx.c and include/net/tcx.h: where the tc ingress/egress entries live.
//
// Not modelled: clsact/ingress qdiscs (they keep an empty entry alive, miniq_active). Without
// them an entry is created by the first attach and freed with its last program, so the revision
// starts again from 1.

import type { MprogAttachPoint } from './attach-point.js';
import { ENODEV } from './errno.js';
import { BpfMprogBundle, BpfMprogEntry, bpfMprogTotal } from './mprog.js';
import type { NetDevice } from './netdev.js';
import { BPF_LINK_TYPE_TCX, BPF_TCX_INGRESS } from './uapi.js';

/** tcx_entry_update(): publish `entry` (null: none) on the device. */
function tcxEntrySet(dev: NetDevice, ingress: boolean, entry: BpfMprogEntry | null): void {
  if (ingress) dev.tcxIngress = entry;
  else dev.tcxEgress = entry;
}

export const tcxAttachPoint: MprogAttachPoint = {
  linkType: BPF_LINK_TYPE_TCX,
  devFetch: (net, ifindex) => net.getByIndex(ifindex) ?? -ENODEV,
  /** tcx_entry_fetch(). */
  entryFetch: (dev, type) => (type === BPF_TCX_INGRESS ? dev.tcxIngress : dev.tcxEgress),
  /** tcx_entry_fetch_or_create(): a new entry has a new bundle, so revision 1. */
  entryForAttach(dev, type) {
    const entry = this.entryFetch(dev, type);
    if (entry) return { entry, created: false };
    return { entry: new BpfMprogEntry(new BpfMprogBundle()), created: true };
  },
  /** tcx_entry_update(), and tcx_entry_free() once tcx_entry_is_active() is false. */
  entryUpdate: (dev, type, entry) => tcxEntrySet(dev, type === BPF_TCX_INGRESS, bpfMprogTotal(entry) ? entry : null),
  entryDiscard: () => {}, // the created entry was never published
};
