// drivers/net/netkit.c: the primary and peer attach points of a netkit pair.
//
// Each netkit device has one bundle for its whole life. nk->active is cleared when the last
// program goes, so a query then reads revision 1, while the bundle's revision keeps counting
// and is what the next attach's expected_revision is compared with.

import type { MprogAttachPoint } from './attach-point.js';
import { EACCES, EINVAL, ENODEV, ENXIO } from '../uapi/errno.js';
import { bpfMprogTotal } from './mprog.js';
import type { NetDevice } from './netdev.js';
import { BPF_LINK_TYPE_NETKIT, BPF_NETKIT_PEER, BPF_NETKIT_PRIMARY } from '../uapi/bpf.js';

export const netkitAttachPoint: MprogAttachPoint = {
  linkType: BPF_LINK_TYPE_NETKIT,
  /** netkit_dev_fetch(): only the primary is addressed; PEER acts on the peer device's entry. */
  devFetch(net, ifindex, which) {
    if (which !== BPF_NETKIT_PRIMARY && which !== BPF_NETKIT_PEER) return -EINVAL;
    const dev = net.getByIndex(ifindex);
    if (!dev) return -ENODEV;
    if (!dev.netkit) return -ENXIO;
    if (!dev.netkit.primary) return -EACCES;
    if (which === BPF_NETKIT_PEER) return dev.peer ?? -ENODEV;
    return dev;
  },
  /** netkit_entry_fetch(dev, false). */
  entryFetch: (dev) => (dev.netkit!.active ? dev.netkit!.entry : null),
  /** netkit_entry_fetch(dev, true): the bundle's entry even when none is published. */
  entryForAttach: (dev) => ({ entry: dev.netkit!.entry, created: false }),
  /** netkit_entry_update(): published while non-empty. */
  entryUpdate: (dev: NetDevice, _type, entry) => {
    dev.netkit!.active = bpfMprogTotal(entry) > 0;
  },
  entryDiscard: () => {},
};
