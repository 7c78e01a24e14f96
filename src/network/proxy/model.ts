// The service proxy's model: a pure function from Services + EndpointSlices + facts about
// this node to a "service table", one entry per (Service, port), saying which addresses
// the port answers on (ClusterIPs, NodePort, LoadBalancer ingress / externalIPs) and which
// endpoints internal and external traffic may be sent to. It follows the endpoint choice
// kube-proxy documents (https://kubernetes.io/docs/reference/networking/virtual-ips/):
// ready endpoints, else serving+terminating ones ("terminating fallback"); traffic
// policies Local keep only this node's endpoints
// (https://kubernetes.io/docs/concepts/services-networking/service-traffic-policy/);
// ExternalName and headless Services have no virtual IP and are skipped. No kernel here:
// nftables.ts renders the table, proxy.ts feeds it from informers.

import type { KObject } from "../../apimachinery/types.js";

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
/** kube-proxy's default ClientIP affinity timeout (3 hours). */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;

export type Protocol = "TCP" | "UDP" | "SCTP";

export interface NodeFacts {
  /** This node's name: endpoints with this nodeName are "local". */
  nodeName: string;
  /**
   * The pod range of the cluster; traffic to a ClusterIP from outside it is masqueraded
   * so replies come back through this node. Omitted: no such masquerade.
   */
  clusterCIDR?: string;
}

export interface ServiceEndpoint {
  ip: string;
  port: number;
  nodeName?: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

export interface ServicePortEntry {
  /** "namespace/name:portName/protocol" (portName may be empty), unique in a table. */
  id: string;
  namespace: string;
  name: string;
  portName: string;
  protocol: Protocol;
  port: number;
  /** IPv4 ClusterIPs (usually one). */
  clusterIPs: string[];
  nodePort?: number;
  /** status.loadBalancer.ingress IPs and spec.externalIPs: "external" addresses on `port`. */
  externalAddresses: string[];
  /** ClientIP affinity timeout in seconds; undefined = no affinity. */
  affinityTimeoutSeconds?: number;
  internalLocal: boolean;
  externalLocal: boolean;
  /** Endpoints for traffic to a ClusterIP (honours internalTrafficPolicy). */
  internalEndpoints: ServiceEndpoint[];
  /** Endpoints for NodePort / external traffic from outside (honours externalTrafficPolicy). */
  externalEndpoints: ServiceEndpoint[];
  /** All usable endpoints regardless of policy (pods and the node itself use these for external addresses). */
  clusterEndpoints: ServiceEndpoint[];
}

export interface ServiceTable {
  entries: ServicePortEntry[];
  /** Keys dropped because another Service already claimed them ("ip/proto/port" or "nodeport/proto/port"). */
  conflicts: string[];
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function isIPv4(s: unknown): s is string {
  const m = typeof s === "string" ? IPV4.exec(s) : null;
  return !!m && m.slice(1).every((o) => Number(o) <= 255);
}

function protocolOf(p: unknown): Protocol | undefined {
  const v = p ?? "TCP";
  return v === "TCP" || v === "UDP" || v === "SCTP" ? v : undefined;
}

function validPort(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n > 0 && n < 65536;
}

/** A Service's IPv4 virtual IPs, or [] for ExternalName and headless Services. */
function clusterIPsOf(svc: KObject): string[] {
  const spec = svc.spec ?? {};
  if (spec.type === "ExternalName") return [];
  const ips: unknown[] = Array.isArray(spec.clusterIPs) && spec.clusterIPs.length ? spec.clusterIPs : [spec.clusterIP];
  return ips.filter(isIPv4);
}

/**
 * kube-proxy's endpoint choice: ready endpoints; when there are none, those still
 * serving while terminating (so a rolling update never black-holes a Service).
 */
export function usableEndpoints(eps: ServiceEndpoint[]): ServiceEndpoint[] {
  const ready = eps.filter((e) => e.ready);
  if (ready.length) return ready;
  return eps.filter((e) => e.serving && e.terminating);
}

/** Endpoints of one Service port from its IPv4 slices, de-duplicated by ip:port. */
export function endpointsFor(slices: KObject[], portName: string, protocol: Protocol): ServiceEndpoint[] {
  const out = new Map<string, ServiceEndpoint>();
  for (const slice of slices) {
    if ((slice as { addressType?: string }).addressType !== "IPv4") continue;
    const ports: any[] = Array.isArray((slice as any).ports) ? (slice as any).ports : [];
    const sp = ports.find((p) => (p?.name ?? "") === portName && (protocolOf(p?.protocol) ?? "") === protocol);
    if (!sp || !validPort(sp.port)) continue;
    const eps: any[] = Array.isArray((slice as any).endpoints) ? (slice as any).endpoints : [];
    for (const ep of eps) {
      const ip = Array.isArray(ep?.addresses) ? ep.addresses[0] : undefined;
      if (!isIPv4(ip)) continue;
      const c = ep.conditions ?? {};
      // API semantics: an unset ready/serving means "unknown", read as ready.
      const ready = c.ready !== false;
      const serving = c.serving ?? ready;
      const e: ServiceEndpoint = { ip, port: sp.port, ready, serving: serving !== false, terminating: c.terminating === true };
      if (typeof ep.nodeName === "string" && ep.nodeName) e.nodeName = ep.nodeName;
      const key = `${ip}:${sp.port}`;
      const prev = out.get(key);
      // The same address in two slices (mid-update): the more available copy wins.
      if (!prev || (!prev.ready && e.ready)) out.set(key, e);
    }
  }
  return [...out.values()].sort((a, b) => (a.ip === b.ip ? a.port - b.port : a.ip < b.ip ? -1 : 1));
}

/** Builds the table; invalid pieces of objects are skipped, never thrown on. */
export function buildServiceTable(services: KObject[], slices: KObject[], node: NodeFacts): ServiceTable {
  const slicesBySvc = new Map<string, KObject[]>();
  for (const s of slices) {
    const svcName = s.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!svcName) continue;
    const k = `${s.metadata.namespace ?? ""}/${svcName}`;
    let l = slicesBySvc.get(k);
    if (!l) slicesBySvc.set(k, (l = []));
    l.push(s);
  }
  const entries: ServicePortEntry[] = [];
  const conflicts: string[] = [];
  const claimed = new Set<string>();
  const claim = (key: string): boolean => {
    if (claimed.has(key)) {
      conflicts.push(key);
      return false;
    }
    claimed.add(key);
    return true;
  };
  // Oldest first, so on a conflict the Service that had the address keeps it.
  const ordered = [...services].sort((a, b) => {
    const ta = a.metadata?.creationTimestamp ?? "";
    const tb = b.metadata?.creationTimestamp ?? "";
    if (ta !== tb) return ta < tb ? -1 : 1;
    const ka = `${a.metadata?.namespace}/${a.metadata?.name}`;
    const kb = `${b.metadata?.namespace}/${b.metadata?.name}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  for (const svc of ordered) {
    const spec = svc.spec ?? {};
    const clusterIPs = clusterIPsOf(svc);
    if (clusterIPs.length === 0) continue;
    const namespace = svc.metadata?.namespace ?? "";
    const name = svc.metadata?.name ?? "";
    const svcSlices = slicesBySvc.get(`${namespace}/${name}`) ?? [];
    const type = spec.type ?? "ClusterIP";
    const lbIPs =
      type === "LoadBalancer"
        ? ((svc.status?.loadBalancer?.ingress ?? []) as any[]).map((i) => i?.ip).filter(isIPv4)
        : [];
    const externalIPs = (Array.isArray(spec.externalIPs) ? spec.externalIPs : []).filter(isIPv4);
    const affinity =
      spec.sessionAffinity === "ClientIP"
        ? Number(spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS)
        : undefined;
    const internalLocal = spec.internalTrafficPolicy === "Local";
    // externalTrafficPolicy only means something where there is external traffic.
    const externalLocal = spec.externalTrafficPolicy === "Local" && (type === "NodePort" || type === "LoadBalancer" || externalIPs.length > 0);
    for (const p of Array.isArray(spec.ports) ? spec.ports : []) {
      const protocol = protocolOf(p?.protocol);
      if (!protocol || !validPort(p?.port)) continue;
      const portName = typeof p.name === "string" ? p.name : "";
      const all = endpointsFor(svcSlices, portName, protocol);
      const local = all.filter((e) => e.nodeName === node.nodeName);
      const clusterEndpoints = usableEndpoints(all);
      const localEndpoints = usableEndpoints(local);
      const ips = clusterIPs.filter((ip) => claim(`${ip}/${protocol}/${p.port}`));
      const nodePort = (type === "NodePort" || type === "LoadBalancer") && validPort(p.nodePort) && claim(`nodeport/${protocol}/${p.nodePort}`) ? p.nodePort : undefined;
      const externalAddresses = [...new Set([...lbIPs, ...externalIPs])].filter((ip) => claim(`${ip}/${protocol}/${p.port}`));
      const entry: ServicePortEntry = {
        id: `${namespace}/${name}:${portName}/${protocol}`,
        namespace,
        name,
        portName,
        protocol,
        port: p.port,
        clusterIPs: ips,
        externalAddresses,
        internalLocal,
        externalLocal,
        internalEndpoints: internalLocal ? localEndpoints : clusterEndpoints,
        externalEndpoints: externalLocal ? localEndpoints : clusterEndpoints,
        clusterEndpoints,
      };
      if (nodePort !== undefined) entry.nodePort = nodePort;
      if (affinity !== undefined && Number.isFinite(affinity) && affinity > 0) entry.affinityTimeoutSeconds = Math.min(Math.floor(affinity), 86400);
      entries.push(entry);
    }
  }
  entries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { entries, conflicts };
}
