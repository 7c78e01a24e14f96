// The Endpoints controller (https://kubernetes.io/docs/concepts/services-networking/service/#endpoints
// and https://kubernetes.io/docs/reference/kubernetes-api/service-resources/endpoints-v1/):
// for every Service with a selector, the pods it selects in its namespace that have an
// IP become the Endpoints object of the same name. Ready pods go to `addresses`, the
// others to `notReadyAddresses` (all to `addresses` with publishNotReadyAddresses);
// each service port's targetPort is resolved per pod (a named targetPort looks up the
// container port of that name), and addresses sharing the same resolved ports share a
// subset. The object is written only when it changes and deleted with the Service.
// The pod-to-service mapping and port resolution are shared with endpointslice.ts.

import { deepCopy, type KObject } from "../apimachinery/types.js";
import { selectorFromSet } from "../apimachinery/labels.js";
import { StaleCacheError, type Controller, type ObjectKey, type Reader } from "../client/controller.js";
import { canonicalJSON } from "./podtemplatehash.js";
import { isPodReady } from "./replicaset.js";

const SERVICES = "v1/services";
const ENDPOINTS = "v1/endpoints";
const PODS = "v1/pods";
export const HEADLESS_LABEL = "service.kubernetes.io/headless";

export interface ResolvedPort {
  name?: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

const codeOf = (err: unknown): number | undefined => (err as { code?: number })?.code;

/** A selector-bearing service's selected pods (same namespace); [] for selector-less services. */
export function selectedPods(reader: Reader, svc: KObject): KObject[] {
  const sel = svc.spec?.selector;
  if (!sel || typeof sel !== "object" || Object.keys(sel).length === 0) return [];
  return reader.list(PODS, { namespace: svc.metadata.namespace, labels: sel as Record<string, string> });
}

/**
 * Whether a pod is published at all (ShouldPodBeInEndpoints): it needs an IP and must
 * not be finished; terminating pods only when includeTerminating.
 */
export function podIsPublished(pod: KObject, includeTerminating: boolean): boolean {
  if (!podIPs(pod).length) return false;
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return false;
  return includeTerminating || !pod.metadata.deletionTimestamp;
}

export function podIPs(pod: KObject): string[] {
  const ips = (pod.status?.podIPs ?? []).map((p: { ip?: string }) => p?.ip).filter((ip: unknown): ip is string => typeof ip === "string" && ip !== "");
  if (ips.length) return ips;
  return typeof pod.status?.podIP === "string" && pod.status.podIP ? [pod.status.podIP] : [];
}

/** FindPort: a numeric targetPort as is; a named one from the pod's container ports (protocol must match). */
export function resolveTargetPort(pod: KObject, svcPort: Record<string, any>): number | undefined {
  const target = svcPort.targetPort ?? svcPort.port;
  if (typeof target === "number") return target;
  if (typeof target === "string" && /^[0-9]+$/.test(target)) return Number(target);
  const protocol = svcPort.protocol ?? "TCP";
  for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
    for (const p of c?.ports ?? []) {
      if (p?.name === target && (p.protocol ?? "TCP") === protocol) return p.containerPort;
    }
  }
  return undefined;
}

/** The service's ports as they apply to one pod (ports that do not resolve are left out). */
export function portsForPod(pod: KObject, svc: KObject): ResolvedPort[] {
  const out: ResolvedPort[] = [];
  for (const sp of svc.spec?.ports ?? []) {
    const port = resolveTargetPort(pod, sp);
    if (port === undefined) continue;
    const rp: ResolvedPort = { port, protocol: sp.protocol ?? "TCP" };
    if (sp.name) rp.name = sp.name;
    if (sp.appProtocol) rp.appProtocol = sp.appProtocol;
    out.push(rp);
  }
  return out.sort((a, b) => (a.name ?? "").localeCompare(b.name ?? "") || a.port - b.port);
}

export function podTargetRef(pod: KObject): Record<string, string> {
  return { kind: "Pod", namespace: pod.metadata.namespace!, name: pod.metadata.name!, uid: pod.metadata.uid! };
}

/** Labels copied from the service, plus the headless marker. */
export function labelsFromService(svc: KObject): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
  if (svc.spec?.clusterIP === "None") labels[HEADLESS_LABEL] = "";
  else delete labels[HEADLESS_LABEL];
  return labels;
}

/** Builds the Endpoints subsets for a service from its pods. */
export function endpointSubsets(svc: KObject, pods: KObject[]): Record<string, any>[] {
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const groups = new Map<string, { ports: ResolvedPort[]; addresses: any[]; notReadyAddresses: any[] }>();
  for (const pod of pods) {
    if (!podIsPublished(pod, publishNotReady)) continue;
    const ports = portsForPod(pod, svc);
    // A service with ports but none resolvable for this pod does not route to it.
    if ((svc.spec?.ports ?? []).length > 0 && ports.length === 0) continue;
    const key = canonicalJSON(ports);
    const g = groups.get(key) ?? { ports, addresses: [], notReadyAddresses: [] };
    groups.set(key, g);
    const addr: Record<string, any> = { ip: podIPs(pod)[0], targetRef: podTargetRef(pod) };
    if (pod.spec?.nodeName) addr.nodeName = pod.spec.nodeName;
    if (pod.spec?.hostname) addr.hostname = pod.spec.hostname;
    if (publishNotReady || isPodReady(pod)) g.addresses.push(addr);
    else g.notReadyAddresses.push(addr);
  }
  const byIP = (a: { ip: string }, b: { ip: string }) => a.ip.localeCompare(b.ip);
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, g]) => {
      const subset: Record<string, any> = {};
      if (g.addresses.length) subset.addresses = g.addresses.sort(byIP);
      if (g.notReadyAddresses.length) subset.notReadyAddresses = g.notReadyAddresses.sort(byIP);
      if (g.ports.length) subset.ports = g.ports.map(({ appProtocol, ...p }) => (appProtocol ? { ...p, appProtocol } : p));
      return subset;
    });
}

/**
 * Pod events map to the services that select the pod now, plus those whose published
 * objects (found by `published`) still name it, so a relabelled pod is removed too.
 */
export function servicesForPod(reader: Reader, pod: KObject, published: (svc: KObject) => boolean): ObjectKey[] {
  const keys: ObjectKey[] = [];
  for (const svc of reader.list(SERVICES, { namespace: pod.metadata.namespace })) {
    const sel = svc.spec?.selector;
    if (!sel || Object.keys(sel).length === 0) continue;
    if (selectorFromSet(sel).matches(pod.metadata.labels ?? {}) || published(svc)) keys.push({ namespace: svc.metadata.namespace, name: svc.metadata.name! });
  }
  return keys;
}

function endpointsNamePod(ep: KObject | undefined, podName: string): boolean {
  return (ep?.subsets ?? []).some((s: any) => [...(s.addresses ?? []), ...(s.notReadyAddresses ?? [])].some((a: any) => a?.targetRef?.name === podName));
}

export function endpointsController(): Controller {
  let reader: Reader | undefined;
  return {
    name: "endpoints",
    for: SERVICES,
    watches: [
      {
        gvr: PODS,
        map: (pod) => (reader ? servicesForPod(reader, pod, (svc) => endpointsNamePod(reader!.get(ENDPOINTS, svc.metadata.namespace, svc.metadata.name!), pod.metadata.name!)) : []),
      },
      // Someone else editing or deleting our Endpoints gets it rewritten.
      { gvr: ENDPOINTS, map: (ep) => [{ namespace: ep.metadata.namespace, name: ep.metadata.name! }] },
    ],
    workers: 2,
    async reconcile(ctx, key) {
      reader = ctx.reader;
      const svc = ctx.reader.get(SERVICES, key.namespace, key.name);
      const current = ctx.reader.get(ENDPOINTS, key.namespace, key.name);
      if (!svc || svc.metadata.deletionTimestamp) {
        // Only endpoints we manage, i.e. of a service that had a selector: with the service
        // gone we cannot tell, and upstream deletes them too.
        if (current && !svc) {
          try {
            await ctx.client.delete(ENDPOINTS, key.namespace, key.name, { preconditions: { uid: current.metadata.uid } });
          } catch (err) {
            if (codeOf(err) !== 404 && codeOf(err) !== 409) throw err;
          }
        }
        return;
      }
      const sel = svc.spec?.selector;
      if (!sel || Object.keys(sel).length === 0) return; // selector-less: the user manages Endpoints
      const subsets = endpointSubsets(svc, selectedPods(ctx.reader, svc));
      const labels = labelsFromService(svc);
      if (current && canonicalJSON(current.subsets ?? []) === canonicalJSON(subsets) && canonicalJSON(current.metadata.labels ?? {}) === canonicalJSON(labels)) return;
      if (!current) {
        try {
          await ctx.client.create(ENDPOINTS, { apiVersion: "v1", kind: "Endpoints", metadata: { name: key.name, namespace: key.namespace, labels }, subsets });
        } catch (err) {
          // Our cache lags: the next event brings the existing object and we update it.
          if (codeOf(err) !== 409) throw err;
          throw new StaleCacheError(`endpoints ${key.namespace}/${key.name} exist but are not in the cache yet`);
        }
        return;
      }
      const next = deepCopy(current);
      next.metadata.labels = labels;
      next.subsets = subsets;
      await ctx.client.update(ENDPOINTS, next);
    },
  };
}
