// The EndpointSlice controller (https://kubernetes.io/docs/concepts/services-networking/endpoint-slices/):
// for every Service with a selector, the selected pods with an IP become EndpointSlices
// — one per address family the Service uses (spec.ipFamilies) and per distinct set of
// resolved ports — named by generateName `<service>-`, labelled
// kubernetes.io/service-name and endpointslice.kubernetes.io/managed-by, and owned by
// the Service (so the garbage collector removes them with it). Each endpoint carries
// conditions ready/serving/terminating, targetRef and nodeName. Slices are written
// only when their content changes; a Service with no endpoints keeps one empty slice.

import { deepCopy, type KObject } from "../apimachinery/types.js";
import type { Controller, Reader } from "../client/controller.js";
import { canonicalJSON } from "./podtemplatehash.js";
import { isPodReady, ownerRefTo } from "./replicaset.js";
import { labelsFromService, podIPs, podIsPublished, podTargetRef, portsForPod, selectedPods, servicesForPod } from "./endpoints.js";

const SERVICES = "v1/services";
const PODS = "v1/pods";
const SLICES = "discovery.k8s.io/v1/endpointslices";
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
export const MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
export const MANAGED_BY = "endpointslice-controller.k8s.io";

const codeOf = (err: unknown): number | undefined => (err as { code?: number })?.code;
const familyOf = (ip: string): "IPv4" | "IPv6" => (ip.includes(":") ? "IPv6" : "IPv4");

interface DesiredSlice {
  addressType: "IPv4" | "IPv6";
  ports: Record<string, any>[];
  endpoints: Record<string, any>[];
}

/** The slices a service should have, keyed by address type + ports. */
export function desiredSlices(svc: KObject, pods: KObject[]): Map<string, DesiredSlice> {
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const families: ("IPv4" | "IPv6")[] = Array.isArray(svc.spec?.ipFamilies) && svc.spec.ipFamilies.length ? svc.spec.ipFamilies : ["IPv4"];
  const out = new Map<string, DesiredSlice>();
  const sliceFor = (addressType: "IPv4" | "IPv6", ports: Record<string, any>[]) => {
    const key = `${addressType}/${canonicalJSON(ports)}`;
    let s = out.get(key);
    if (!s) out.set(key, (s = { addressType, ports, endpoints: [] }));
    return s;
  };
  for (const pod of pods) {
    // Terminating pods stay in slices (terminating=true) so proxies can drain them.
    if (!podIsPublished(pod, true)) continue;
    const ports = portsForPod(pod, svc).map((p) => ({ name: p.name ?? "", port: p.port, protocol: p.protocol, ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) }));
    if ((svc.spec?.ports ?? []).length > 0 && ports.length === 0) continue;
    for (const family of families) {
      const ip = podIPs(pod).find((a) => familyOf(a) === family);
      if (!ip) continue;
      const terminating = !!pod.metadata.deletionTimestamp;
      const serving = isPodReady(pod);
      const ep: Record<string, any> = {
        addresses: [ip],
        conditions: { ready: publishNotReady || (serving && !terminating), serving: publishNotReady || serving, terminating },
        targetRef: podTargetRef(pod),
      };
      if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
      if (pod.spec?.hostname) ep.hostname = pod.spec.hostname;
      sliceFor(family, ports).endpoints.push(ep);
    }
  }
  for (const s of out.values()) s.endpoints.sort((a, b) => a.addresses[0].localeCompare(b.addresses[0]));
  // A service without endpoints still gets one (empty) slice for its primary family.
  if (out.size === 0) sliceFor(families[0], []);
  return out;
}

function sliceKey(s: KObject): string {
  return `${s.addressType}/${canonicalJSON(s.ports ?? [])}`;
}

function slicesNamePod(reader: Reader, svc: KObject, podName: string): boolean {
  return reader.ownedBy(SLICES, svc.metadata.uid!).some((s) => (s.endpoints ?? []).some((e: any) => e?.targetRef?.name === podName));
}

/** How long a created slice may stay invisible to the cache before we stop waiting for it. */
const CREATE_EXPECTATION_TTL_MS = 60_000;

export function endpointSliceController(): Controller {
  let reader: Reader | undefined;
  // Slices created with generateName but not yet in the cache, per service: until they
  // show up, a second pass would create duplicates.
  const pending = new Map<string, { names: Set<string>; at: number }>();
  return {
    name: "endpointslice",
    for: SERVICES,
    owns: [SLICES],
    watches: [{ gvr: PODS, map: (pod) => (reader ? servicesForPod(reader, pod, (svc) => slicesNamePod(reader!, svc, pod.metadata.name!)) : []) }],
    workers: 2,
    async reconcile(ctx, key) {
      reader = ctx.reader;
      const svc = ctx.reader.get(SERVICES, key.namespace, key.name);
      // A deleted service's slices go with it through their ownerReference.
      if (!svc || svc.metadata.deletionTimestamp) return;
      const sel = svc.spec?.selector;
      if (!sel || Object.keys(sel).length === 0) return;
      const pk = `${key.namespace}/${key.name}`;
      const p = pending.get(pk);
      if (p) {
        for (const n of p.names) if (ctx.reader.get(SLICES, key.namespace, n)) p.names.delete(n);
        if (p.names.size && ctx.clock.now() - p.at < CREATE_EXPECTATION_TTL_MS) return { requeueAfter: 1000 };
        pending.delete(pk);
      }
      const existing = ctx.reader.ownedBy(SLICES, svc.metadata.uid!).filter((s) => s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY);
      const desired = desiredSlices(svc, selectedPods(ctx.reader, svc));
      const labels = { ...labelsFromService(svc), [SERVICE_NAME_LABEL]: svc.metadata.name!, [MANAGED_BY_LABEL]: MANAGED_BY };
      const unused = [...existing];
      for (const [k, want] of desired) {
        const i = unused.findIndex((s) => sliceKey(s) === k);
        const have = i >= 0 ? unused.splice(i, 1)[0] : undefined;
        if (!have) {
          const created = await ctx.client.create(SLICES, {
            apiVersion: "discovery.k8s.io/v1",
            kind: "EndpointSlice",
            metadata: { generateName: `${svc.metadata.name}-`, namespace: svc.metadata.namespace, labels, ownerReferences: [ownerRefTo(svc, "v1", "Service")] },
            addressType: want.addressType,
            endpoints: want.endpoints,
            ports: want.ports,
          });
          const e = pending.get(pk) ?? { names: new Set<string>(), at: ctx.clock.now() };
          e.names.add(created.metadata.name!);
          pending.set(pk, e);
          continue;
        }
        if (canonicalJSON(have.endpoints ?? []) === canonicalJSON(want.endpoints) && canonicalJSON(have.metadata.labels ?? {}) === canonicalJSON(labels)) continue;
        const next = deepCopy(have);
        next.metadata.labels = labels;
        next.endpoints = want.endpoints;
        await ctx.client.update(SLICES, next);
      }
      for (const s of unused) {
        try {
          await ctx.client.delete(SLICES, s.metadata.namespace, s.metadata.name!, { preconditions: { uid: s.metadata.uid } });
        } catch (err) {
          if (codeOf(err) !== 404 && codeOf(err) !== 409) throw err;
        }
      }
    },
  };
}
