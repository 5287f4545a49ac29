// net/sched/sch_ingress.c: the ingress and clsact qdiscs, as far as they touch tcx. Each holds
// the device's tcx entry of its direction(s) — ingress the ingress one, clsact both — through
// tcx_miniq_inc(), creating and publishing the entry when there is none (an empty live entry,
// revision 1), and drops it at destroy: tcx_miniq_dec(), and the entry goes only when
// tcx_entry_is_active() is false (no program and no other qdisc holds it). Classifier blocks and
// the mini-qdisc pair's packet path are not modelled (no filters exist here).

import type { QdiscKind } from '../contract/seq.js';
import type { NetDevice } from './netdev.js';
import { tcxEntryFetchOrCreate, tcxEntryIsActive, tcxEntryUpdate, tcxMiniqDec, tcxMiniqInc } from './tcx.js';

/** struct Qdisc of an ingress/clsact qdisc: its ops (the kind) and handle ffff:. */
export interface IngressQdisc {
  kind: QdiscKind;
  handle: number;
}

/** TC_H_MAKE(TC_H_INGRESS, 0): the handle of either qdisc. */
export const TC_H_INGRESS_HANDLE = 0xffff0000;

/** One direction of ingress_init()/clsact_init(): fetch or create the entry, hold it, publish a new one. */
function miniqInit(dev: NetDevice, ingress: boolean): void {
  const { entry, created } = tcxEntryFetchOrCreate(dev, ingress);
  tcxMiniqInc(entry);
  if (created) tcxEntryUpdate(dev, entry, ingress);
}

/** One direction of ingress_destroy()/clsact_destroy(). */
function miniqDestroy(dev: NetDevice, ingress: boolean): void {
  const entry = ingress ? dev.tcxIngress! : dev.tcxEgress!;
  tcxMiniqDec(entry);
  if (!tcxEntryIsActive(entry)) {
    tcxEntryUpdate(dev, null, ingress); // then tcx_entry_free(): unpublished, the entry is gone
  }
}

/** ingress_init() / clsact_init() (sch->parent is TC_H_INGRESS = TC_H_CLSACT: the only parent sent). */
export function ingressQdiscInit(dev: NetDevice, kind: QdiscKind): IngressQdisc {
  miniqInit(dev, true);
  if (kind === 'clsact') miniqInit(dev, false);
  return { kind, handle: TC_H_INGRESS_HANDLE };
}

/** ingress_destroy() / clsact_destroy(). */
export function ingressQdiscDestroy(dev: NetDevice, q: IngressQdisc): void {
  miniqDestroy(dev, true);
  if (q.kind === 'clsact') miniqDestroy(dev, false);
}
