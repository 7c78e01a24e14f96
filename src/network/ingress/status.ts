// Ingress status (https://kubernetes.io/docs/reference/kubernetes-api/service-resources/ingress-v1/#IngressStatus):
// every Ingress the built-in controller handles gets status.loadBalancer.ingress set to
// the server's advertise address (an `ip`, or a `hostname` when it is a name), which is
// what `kubectl get ingress` shows under ADDRESS. An Ingress that moves to another class
// has our address removed. A leader-only controller, so several servers never race.

import { isIP } from "node:net";
import { deepCopy, type KObject } from "../../apimachinery/types.js";
import type { Controller, Reader } from "../../client/controller.js";
import { handlesIngress, INGRESS_CONTROLLER } from "./rules.js";

const INGRESSES = "networking.k8s.io/v1/ingresses";
const INGRESS_CLASSES = "networking.k8s.io/v1/ingressclasses";

export function loadBalancerIngress(address: string): Record<string, string>[] {
  return [isIP(address) ? { ip: address } : { hostname: address }];
}

const codeOf = (err: unknown): number | undefined => (err as { code?: number })?.code;

export function ingressStatusController(opts: { address: string; controller?: string }): Controller {
  let reader: Reader | undefined;
  const ours = loadBalancerIngress(opts.address);
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
  return {
    name: "ingress-status",
    for: INGRESSES,
    // A class change (e.g. a new default) can change which Ingresses are ours.
    watches: [{ gvr: INGRESS_CLASSES, map: () => (reader ? reader.list(INGRESSES).map((i) => ({ namespace: i.metadata.namespace, name: i.metadata.name! })) : []) }],
    async reconcile(ctx, key) {
      reader = ctx.reader;
      const ing = ctx.reader.get(INGRESSES, key.namespace, key.name);
      if (!ing || ing.metadata.deletionTimestamp) return;
      const handled = handlesIngress(ing, ctx.reader.list(INGRESS_CLASSES), opts.controller ?? INGRESS_CONTROLLER);
      const current = ing.status?.loadBalancer?.ingress;
      let want: Record<string, string>[] | undefined;
      if (handled) want = ours;
      else if (same(current, ours)) want = [];
      if (want === undefined || same(current, want)) return;
      const next: KObject = deepCopy(ing);
      next.status = { ...(next.status ?? {}), loadBalancer: want.length ? { ingress: want } : {} };
      try {
        await ctx.client.updateStatus(INGRESSES, next);
      } catch (err) {
        // A newer version is on its way through the cache and brings another pass.
        if (codeOf(err) !== 409 && codeOf(err) !== 404) throw err;
      }
    },
  };
}
