// net/sched/sch_api.c: RTM_NEWQDISC and RTM_DELQDISC on the ingress parent (TC_H_INGRESS =
// TC_H_CLSACT), with handle ffff: and TCA_KIND — what `tc qdisc add|del dev DEV clsact|ingress`
// sends (add: NLM_F_CREATE | NLM_F_EXCL). The device's ingress queue (dev->ingress_queue) is made
// by the first RTM_NEWQDISC on that parent and then outlives its qdiscs: its qdisc_sleeping goes
// back to noop_qdisc (handle 0), so a delete without a qdisc answers ENOENT before any qdisc was
// ever added and EINVAL ("Invalid handle") after.

import type { QdiscKind } from '../contract/seq.js';
import { EEXIST, EINVAL, ENODEV, ENOENT } from '../uapi/errno.js';
import type { Kernel } from './kernel.js';
import type { NetDevice } from './netdev.js';
import { ingressQdiscDestroy, ingressQdiscInit, TC_H_INGRESS_HANDLE } from './sch-ingress.js';

/** tc_modify_qdisc(): parent TC_H_INGRESS, handle ffff:, NLM_F_CREATE | NLM_F_EXCL. */
export function tcModifyQdisc(k: Kernel, ifindex: number, kind: QdiscKind): number {
  const dev = k.net.getByIndex(ifindex);
  if (!dev) return -ENODEV;
  dev.ingressQueue ??= { qdisc: null }; // dev_ingress_queue_create()
  const q = dev.ingressQueue.qdisc; // null: the default noop_qdisc, "ignored"
  // q->handle == tcm_handle (both ffff:): the "change" path, where NLM_F_EXCL refuses before the
  // kind is compared, so a second clsact and an ingress beside a clsact are both EEXIST.
  if (q) return -EEXIST;
  // create_n_graft: qdisc_create() runs the kind's init, qdisc_graft() puts it on the queue.
  dev.ingressQueue.qdisc = ingressQdiscInit(dev, kind);
  return 0;
}

/** tc_get_qdisc() for RTM_DELQDISC: parent TC_H_INGRESS, handle ffff:, TCA_KIND. */
export function tcDelQdisc(k: Kernel, ifindex: number, kind: QdiscKind): number {
  const dev = k.net.getByIndex(ifindex);
  if (!dev) return -ENODEV;
  if (!dev.ingressQueue) return -ENOENT; // "Cannot find specified qdisc on specified device"
  const q = dev.ingressQueue.qdisc;
  if (!q || q.handle !== TC_H_INGRESS_HANDLE) return -EINVAL; // noop_qdisc's handle is 0: "Invalid handle"
  if (q.kind !== kind) return -EINVAL; // "Invalid qdisc name"
  dev.ingressQueue.qdisc = null; // qdisc_graft(): noop_qdisc again, the old one put and destroyed
  ingressQdiscDestroy(dev, q);
  return 0;
}

/** dev_shutdown(): unregistering a device destroys its qdiscs first (before dev_tcx_uninstall()). */
export function devShutdown(dev: NetDevice): void {
  const q = dev.ingressQueue?.qdisc;
  if (!q) return;
  dev.ingressQueue!.qdisc = null;
  ingressQdiscDestroy(dev, q);
}
