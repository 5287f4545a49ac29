// Creating and deleting device pairs (drivers/net/veth.c, drivers/net/netkit.c newlink/dellink)
// and what unregistering a device does to its qdiscs and attach points (dev_shutdown,
// dev_tcx_uninstall, netkit_uninit).

import { mprogUninstall } from './attach-point.js';
import { EEXIST, ENODEV, EOPNOTSUPP, EPERM } from '../uapi/errno.js';
import { netlinkNetCapable } from './capability.js';
import type { Kernel } from './kernel.js';
import { BpfMprogBundle, BpfMprogEntry } from './mprog.js';
import type { NetDevice } from './netdev.js';
import { netkitAttachPoint } from './netkit.js';
import { devShutdown } from './sch-api.js';
import { tcxAttachPoint } from './tcx.js';
import { BPF_NETKIT_PRIMARY, BPF_TCX_EGRESS, BPF_TCX_INGRESS } from '../uapi/bpf.js';

export type PairKind = 'veth' | 'netkit';

/** rtnetlink_rcv_msg(): a message that changes something (RTM_NEWLINK, RTM_DELLINK, RTM_NEWQDISC,
 * RTM_DELQDISC: every one a sequence sends) needs CAP_NET_ADMIN of the caller, before its handler
 * runs. 0 when it goes on. */
export function rtnetlinkRcvMsg(k: Kernel): number {
  return netlinkNetCapable(k) ? 0 : -EPERM;
}

function netkitPriv(primary: boolean) {
  const bundle = new BpfMprogBundle();
  return { primary, bundle, entry: new BpfMprogEntry(bundle), active: false };
}

/** veth_newlink() / netkit_new_link(): the peer is registered first, so it gets the lower ifindex. */
export function devPairCreate(k: Kernel, kind: PairKind, name: string, peerName: string): number {
  if (k.net.getByName(name)) return -EEXIST; // __rtnl_newlink(): NLM_F_EXCL on an existing name
  if (kind === 'netkit' && !k.netkitBuilt) return -EOPNOTSUPP; // ... then no such link kind
  if (name === peerName || k.net.getByName(peerName)) return -EEXIST; // the driver's newlink
  const peer = k.net.register(peerName, kind);
  const dev = k.net.register(name, kind);
  dev.peer = peer;
  peer.peer = dev;
  if (kind === 'netkit') {
    dev.netkit = netkitPriv(true);
    peer.netkit = netkitPriv(false);
  }
  return 0;
}

/** unregister_netdevice(): links on the device go defunct, plain programs are dropped. */
function unregister(k: Kernel, dev: NetDevice): void {
  devShutdown(dev); // the qdiscs go first: an entry they alone held goes with them
  if (dev.netkit) mprogUninstall(k, netkitAttachPoint, dev, BPF_NETKIT_PRIMARY); // netkit_uninit()
  mprogUninstall(k, tcxAttachPoint, dev, BPF_TCX_INGRESS); // dev_tcx_uninstall()
  mprogUninstall(k, tcxAttachPoint, dev, BPF_TCX_EGRESS);
  k.net.unregister(dev);
}

/** rtnl_delete_link(): either end of a pair deletes both ends; loopback has no dellink. */
export function devDelete(k: Kernel, ifindex: number): number {
  const dev = k.net.getByIndex(ifindex);
  if (!dev) return -ENODEV;
  if (dev.kind === 'loopback') return -EOPNOTSUPP;
  unregister(k, dev);
  if (dev.peer) unregister(k, dev.peer);
  return 0;
}
