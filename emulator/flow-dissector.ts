// net/core/flow_dissector.c, the part bpf(2) reaches: flow_dissector_bpf_prog_attach_check().

import { EEXIST } from '../uapi/errno.js';
import { NETNS_BPF_FLOW_DISSECTOR, type NetNs } from './net-namespace.js';

export interface FlowDissectorNets {
  readonly initNet: NetNs;
}

/** flow_dissector_bpf_prog_attach_check(): "BPF flow dissector in the root namespace overrides any
 * per-net-namespace one", so a namespace other than init_net may not attach while init_net has
 * one. (The other branch, an attach in init_net while any other namespace has one, is not
 * reachable: a sequence runs in a namespace of its own and holds no fd of init_net.) */
export function flowDissectorBpfProgAttachCheck(k: FlowDissectorNets, _net: NetNs): number {
  return k.initNet.bpf.runArray[NETNS_BPF_FLOW_DISSECTOR] ? -EEXIST : 0;
}
