// Network devices of one network namespace: ifindex allocation and lookup (net/core/dev.c), and
// the per-device state the mprog attach points hang off (dev->tcx_ingress/egress, netkit priv).

import type { BpfMprogBundle, BpfMprogEntry } from './mprog.js';
import type { IngressQdisc } from './sch-ingress.js';

export type DeviceKind = 'loopback' | 'veth' | 'netkit';

/** struct netkit's bpf part (drivers/net/netkit.c): the bundle lives as long as the device. */
export interface NetkitPriv {
  primary: boolean;
  bundle: BpfMprogBundle;
  entry: BpfMprogEntry;
  /** nk->active: the entry is published only while programs are attached. */
  active: boolean;
}

export class NetDevice {
  peer: NetDevice | null = null;
  tcxIngress: BpfMprogEntry | null = null;
  tcxEgress: BpfMprogEntry | null = null;
  netkit: NetkitPriv | null = null;
  /** dev->ingress_queue (made by the first qdisc on the ingress parent, then kept) and its
   * qdisc_sleeping: a clsact/ingress qdisc, or null for noop_qdisc. */
  ingressQueue: { qdisc: IngressQdisc | null } | null = null;
  constructor(
    readonly ifindex: number,
    readonly name: string,
    readonly kind: DeviceKind,
  ) {}
}

const IFINDEX_MAX = 0x7fffffff;

export class Net {
  private readonly byIndex = new Map<number, NetDevice>();
  private nextIfindex = 1;

  constructor() {
    this.register('lo', 'loopback');
  }

  /** register_netdevice() with dev_index_reserve(): cyclic ifindex, never 0. */
  register(name: string, kind: DeviceKind): NetDevice {
    let ifindex = this.nextIfindex;
    while (this.byIndex.has(ifindex)) ifindex = ifindex >= IFINDEX_MAX ? 1 : ifindex + 1;
    this.nextIfindex = ifindex >= IFINDEX_MAX ? 1 : ifindex + 1;
    const dev = new NetDevice(ifindex, name, kind);
    this.byIndex.set(ifindex, dev);
    return dev;
  }

  unregister(dev: NetDevice): void {
    this.byIndex.delete(dev.ifindex);
  }

  /** __dev_get_by_index(). */
  getByIndex(ifindex: number): NetDevice | undefined {
    return this.byIndex.get(ifindex);
  }

  /** __dev_get_by_name(). */
  getByName(name: string): NetDevice | undefined {
    for (const dev of this.byIndex.values()) if (dev.name === name) return dev;
    return undefined;
  }

  devices(): IterableIterator<NetDevice> {
    return this.byIndex.values();
  }
}
