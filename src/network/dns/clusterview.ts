// The cluster DNS server's view of the cluster: Services, EndpointSlices and Pods from
// shared informer caches (the same list+watch caches the controllers use, see
// https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes),
// indexed for the lookups DNS needs — slices by owning service name, and services,
// endpoints and pods by IP for PTR. Reads only; nothing here writes to the API.

import type { KObject } from "../../apimachinery/types.js";
import type { SharedInformerFactory } from "../../client/sharedinformers.js";
import { SERVICE_NAME_LABEL, type ClusterView } from "./records.js";

export const SERVICES = "v1/services";
export const ENDPOINT_SLICES = "discovery.k8s.io/v1/endpointslices";
export const PODS = "v1/pods";

// Index names are shared by every user of an informer; ours carry a prefix.
const BY_CLUSTER_IP = "dns/clusterIP";
const BY_SERVICE = "dns/serviceName";
const BY_ADDRESS = "dns/address";
const BY_POD_IP = "dns/podIP";

const clusterIPs = (svc: KObject): string[] => {
  const ips = Array.isArray(svc.spec?.clusterIPs) ? svc.spec.clusterIPs : [svc.spec?.clusterIP];
  return ips.filter((ip: unknown): ip is string => typeof ip === "string" && ip !== "" && ip !== "None");
};

const sliceService = (s: KObject): string[] => {
  const n = s.metadata.labels?.[SERVICE_NAME_LABEL];
  return n ? [`${s.metadata.namespace}/${n}`] : [];
};

const sliceAddresses = (s: KObject): string[] => (s.endpoints ?? []).flatMap((e: any) => (Array.isArray(e?.addresses) ? e.addresses.filter((a: unknown) => typeof a === "string") : []));

const podIPs = (p: KObject): string[] => {
  // Host-network pods share the node's address; naming it after one pod would be wrong.
  if (p.spec?.hostNetwork) return [];
  const ips = (p.status?.podIPs ?? []).map((x: any) => x?.ip).filter((ip: unknown): ip is string => typeof ip === "string" && ip !== "");
  if (ips.length) return ips;
  return typeof p.status?.podIP === "string" && p.status.podIP ? [p.status.podIP] : [];
};

/** Requests the three informers (started with the factory) and returns the view over them. */
export function informerClusterView(informers: SharedInformerFactory): { view: ClusterView; gvrs: string[] } {
  const services = informers.informerFor(SERVICES, { [BY_CLUSTER_IP]: clusterIPs }).store;
  const slices = informers.informerFor(ENDPOINT_SLICES, { [BY_SERVICE]: sliceService, [BY_ADDRESS]: sliceAddresses }).store;
  const pods = informers.informerFor(PODS, { [BY_POD_IP]: podIPs }).store;
  const view: ClusterView = {
    service: (ns, name) => services.get(ns, name),
    slicesFor: (ns, name) => slices.byIndex(BY_SERVICE, `${ns}/${name}`),
    hasNamespace: (ns) => services.list(ns).length > 0,
    serviceByClusterIP: (ip) => services.byIndex(BY_CLUSTER_IP, ip)[0],
    slicesByAddress: (ip) => slices.byIndex(BY_ADDRESS, ip),
    podByIP(ip) {
      // Finished pods may still carry an IP that a new pod now uses.
      const live = pods.byIndex(BY_POD_IP, ip).filter((p) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
      return live[0];
    },
  };
  return { view, gvrs: [SERVICES, ENDPOINT_SLICES, PODS] };
}

/** A view over plain object lists (tests, tools). */
export function staticClusterView(objs: { services?: KObject[]; slices?: KObject[]; pods?: KObject[] }): ClusterView {
  const services = objs.services ?? [];
  const slices = objs.slices ?? [];
  const pods = objs.pods ?? [];
  return {
    service: (ns, name) => services.find((s) => s.metadata.namespace === ns && s.metadata.name === name),
    slicesFor: (ns, name) => slices.filter((s) => s.metadata.namespace === ns && sliceService(s)[0] === `${ns}/${name}`),
    hasNamespace: (ns) => services.some((s) => s.metadata.namespace === ns),
    serviceByClusterIP: (ip) => services.find((s) => clusterIPs(s).includes(ip)),
    slicesByAddress: (ip) => slices.filter((s) => sliceAddresses(s).includes(ip)),
    podByIP: (ip) => pods.find((p) => podIPs(p).includes(ip) && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed"),
  };
}
