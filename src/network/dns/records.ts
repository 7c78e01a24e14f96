// Cluster DNS records, as the Kubernetes DNS specification defines them
// (https://github.com/kubernetes/dns/blob/master/docs/specification.md and
// https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/): a pure
// function from the cluster's Services, EndpointSlices and Pods (a ClusterView over
// informer caches) and one question to the answer. `<svc>.<ns>.svc.<zone>` A is the
// ClusterIP, or for a headless Service its ready endpoint addresses; endpoints with a
// hostname (StatefulSet pods under a governing Service) or any headless endpoint by its
// dashed IP get `<host>.<svc>.<ns>.svc.<zone>`; ExternalName is a CNAME; named ports
// give SRV `_<port>._<proto>.<svc>.<ns>.svc.<zone>`; `<a-b-c-d>.<ns>.pod.<zone>` and
// PTR for service, endpoint and pod IPs. Names in the zone that do not exist are
// NXDOMAIN; existing names asked for another type (AAAA on an IPv4 cluster) are
// NOERROR with no answers. Questions outside the zone return undefined: the caller
// forwards them.

import type { KObject } from "../../apimachinery/types.js";

export interface DNSRecord {
  name: string;
  type: "A" | "AAAA" | "CNAME" | "PTR" | "SRV" | "SOA" | "NS" | "TXT";
  ttl: number;
  class: "IN";
  data: any;
}

export interface Resolution {
  rcode: "NOERROR" | "NXDOMAIN";
  answers: DNSRecord[];
  authorities: DNSRecord[];
  additionals: DNSRecord[];
  /** A CNAME whose target lies outside the zone: the caller may resolve it upstream. */
  externalTarget?: string;
}

/** What the resolver reads: informer caches in the server, plain maps in tests. */
export interface ClusterView {
  service(namespace: string, name: string): KObject | undefined;
  /** EndpointSlices labelled kubernetes.io/service-name=name in the namespace. */
  slicesFor(namespace: string, serviceName: string): KObject[];
  /** Whether any Service lives in the namespace (for `<ns>.svc.<zone>`). */
  hasNamespace(namespace: string): boolean;
  serviceByClusterIP(ip: string): KObject | undefined;
  /** EndpointSlices having an endpoint with this address. */
  slicesByAddress(ip: string): KObject[];
  podByIP(ip: string): KObject | undefined;
}

export interface RecordOptions {
  /** The cluster domain, default cluster.local. */
  domain?: string;
  /** Record TTL in seconds (CoreDNS' kubernetes plugin uses 5). */
  ttl?: number;
  /** CIDRs whose reverse names we answer authoritatively (NXDOMAIN when unknown). */
  reverseCIDRs?: string[];
}

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
const DEFAULT_REVERSE = ["10.42.0.0/16", "10.43.0.0/16"];

function ipv4ToInt(ip: string): number | undefined {
  const p = ip.split(".");
  if (p.length !== 4) return undefined;
  let n = 0;
  for (const x of p) {
    if (!/^\d{1,3}$/.test(x) || Number(x) > 255) return undefined;
    n = n * 256 + Number(x);
  }
  return n;
}

function inCIDR(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split("/");
  const a = ipv4ToInt(ip);
  const b = ipv4ToInt(base ?? "");
  const n = Number(bits);
  if (a === undefined || b === undefined || !Number.isInteger(n) || n < 0 || n > 32) return false;
  const size = 2 ** (32 - n);
  return Math.floor(a / size) === Math.floor(b / size);
}

const isIPv4 = (s: string) => ipv4ToInt(s) !== undefined;

/** Ready (or, with publishNotReadyAddresses, every) IPv4 endpoint of a service, with hostname and ports. */
export interface ServiceEndpoint {
  ip: string;
  hostname?: string;
  ports: { name: string; port: number; protocol: string }[];
}

export function serviceEndpoints(view: ClusterView, svc: KObject): ServiceEndpoint[] {
  const all = svc.spec?.publishNotReadyAddresses === true;
  const out = new Map<string, ServiceEndpoint>();
  for (const slice of view.slicesFor(svc.metadata.namespace!, svc.metadata.name!)) {
    if (slice.addressType !== "IPv4") continue;
    const ports = (slice.ports ?? []).filter((p: any) => typeof p?.port === "number").map((p: any) => ({ name: p.name ?? "", port: p.port, protocol: p.protocol ?? "TCP" }));
    for (const ep of slice.endpoints ?? []) {
      // A nil ready condition means "unknown", which consumers treat as ready.
      if (!all && ep?.conditions?.ready === false) continue;
      for (const ip of ep?.addresses ?? []) {
        if (typeof ip !== "string" || !isIPv4(ip) || out.has(ip)) continue;
        out.set(ip, { ip, ...(typeof ep.hostname === "string" && ep.hostname ? { hostname: ep.hostname } : {}), ports });
      }
    }
  }
  return [...out.values()].sort((a, b) => (ipv4ToInt(a.ip)! - ipv4ToInt(b.ip)!));
}

const isHeadless = (svc: KObject) => svc.spec?.clusterIP === "None";
const dashed = (ip: string) => ip.replace(/\./g, "-");

export class ClusterRecords {
  readonly domain: string;
  private readonly ttl: number;
  private readonly reverse: string[];

  constructor(
    private readonly view: ClusterView,
    opts: RecordOptions = {},
  ) {
    this.domain = (opts.domain ?? "cluster.local").toLowerCase().replace(/^\.+|\.+$/g, "");
    this.ttl = opts.ttl ?? 5;
    this.reverse = opts.reverseCIDRs ?? DEFAULT_REVERSE;
  }

  /** The answer for a name in the zone (or a reverse name of a cluster IP); undefined = not ours, forward it. */
  resolve(qname: string, qtype: string): Resolution | undefined {
    const name = qname.toLowerCase().replace(/\.+$/, "");
    if (name.endsWith(".in-addr.arpa")) return this.resolvePTR(qname, name, qtype);
    if (name !== this.domain && !name.endsWith("." + this.domain)) return undefined;
    const rel = name === this.domain ? [] : name.slice(0, -(this.domain.length + 1)).split(".");
    // Labels read right to left: [..., svc, ns, "svc"].
    const labels = rel.reverse();
    if (labels.length === 0) return this.apex(qname, qtype);
    if (labels[0] === "svc") return this.resolveSvc(qname, qtype, labels.slice(1));
    if (labels[0] === "pod") return this.resolvePod(qname, qtype, labels.slice(1));
    return this.nxdomain();
  }

  private rr(name: string, type: DNSRecord["type"], data: unknown): DNSRecord {
    return { name, type, ttl: this.ttl, class: "IN", data };
  }

  soa(): DNSRecord {
    return this.rr(this.domain, "SOA", {
      mname: `ns.dns.${this.domain}`,
      rname: `hostmaster.${this.domain}`,
      // Any increasing number works for a zone nobody transfers.
      serial: Math.floor(Date.now() / 1000) >>> 0,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: this.ttl,
    });
  }

  private nxdomain(): Resolution {
    return { rcode: "NXDOMAIN", answers: [], authorities: [this.soa()], additionals: [] };
  }

  /** The name exists but has no record of this type. */
  private nodata(): Resolution {
    return { rcode: "NOERROR", answers: [], authorities: [this.soa()], additionals: [] };
  }

  private ok(answers: DNSRecord[], additionals: DNSRecord[] = []): Resolution {
    return answers.length ? { rcode: "NOERROR", answers, authorities: [], additionals } : this.nodata();
  }

  private apex(qname: string, qtype: string): Resolution {
    if (qtype === "SOA") return this.ok([{ ...this.soa(), name: qname }]);
    if (qtype === "NS") return this.ok([this.rr(qname, "NS", `ns.dns.${this.domain}`)]);
    return this.nodata();
  }

  private resolveSvc(qname: string, qtype: string, labels: string[]): Resolution {
    // labels: [ns, svc, x, y] from right to left.
    const [ns, svcName, third, fourth, ...rest] = labels;
    if (!ns) return this.nodata(); // svc.<zone> itself
    if (!svcName) return this.view.hasNamespace(ns) ? this.nodata() : this.nxdomain();
    const svc = this.view.service(ns, svcName);
    if (!svc) return this.nxdomain();
    if (rest.length) return this.nxdomain();
    if (third === undefined) return this.serviceRecords(qname, qtype, svc);
    if (third.startsWith("_")) {
      // _<proto>._<port>: SRV for one named port.
      if (fourth === undefined || !fourth.startsWith("_")) return this.nxdomain();
      return this.srvRecords(qname, qtype, svc, fourth.slice(1), third.slice(1));
    }
    if (fourth !== undefined) return this.nxdomain();
    // <hostname or dashed IP>.<svc>.<ns>.svc.<zone>: one endpoint of the service.
    const ep = serviceEndpoints(this.view, svc).find((e) => e.hostname === third || dashed(e.ip) === third);
    if (!ep) return this.nxdomain();
    if (qtype === "A" || qtype === "ANY") return this.ok([this.rr(qname, "A", ep.ip)]);
    return this.nodata();
  }

  private serviceFQDN(svc: KObject): string {
    return `${svc.metadata.name}.${svc.metadata.namespace}.svc.${this.domain}`;
  }

  private serviceRecords(qname: string, qtype: string, svc: KObject): Resolution {
    if (svc.spec?.type === "ExternalName") {
      const target = String(svc.spec.externalName ?? "").toLowerCase().replace(/\.+$/, "");
      if (!target) return this.nodata();
      const cname = this.rr(qname, "CNAME", target);
      if (qtype === "CNAME") return this.ok([cname]);
      // Follow the chain ourselves when it stays in the zone; else the caller may ask upstream.
      if (target === this.domain || target.endsWith("." + this.domain)) {
        const next = this.resolve(target, qtype);
        return { rcode: "NOERROR", answers: [cname, ...(next?.answers ?? [])], authorities: [], additionals: next?.additionals ?? [] };
      }
      return { rcode: "NOERROR", answers: [cname], authorities: [], additionals: [], externalTarget: target };
    }
    if (qtype === "SRV") return this.srvAllPorts(qname, svc);
    if (qtype !== "A" && qtype !== "ANY") return this.nodata();
    if (!isHeadless(svc)) {
      const ips: string[] = (svc.spec?.clusterIPs ?? [svc.spec?.clusterIP]).filter((ip: unknown): ip is string => typeof ip === "string" && isIPv4(ip));
      return this.ok(ips.map((ip) => this.rr(qname, "A", ip)));
    }
    return this.ok(serviceEndpoints(this.view, svc).map((e) => this.rr(qname, "A", e.ip)));
  }

  /** SRV records of one port: the service name for a ClusterIP, each endpoint for a headless service. */
  private srvFor(qname: string, svc: KObject, port: { name?: string; port: number; protocol?: string }): { answers: DNSRecord[]; additionals: DNSRecord[] } {
    const answers: DNSRecord[] = [];
    const additionals: DNSRecord[] = [];
    const fqdn = this.serviceFQDN(svc);
    if (!isHeadless(svc)) {
      answers.push(this.rr(qname, "SRV", { priority: 0, weight: 100, port: port.port, target: fqdn }));
      const ip = svc.spec?.clusterIP;
      if (typeof ip === "string" && isIPv4(ip)) additionals.push(this.rr(fqdn, "A", ip));
      return { answers, additionals };
    }
    const eps = serviceEndpoints(this.view, svc);
    for (const e of eps) {
      const p = e.ports.find((x) => x.name === (port.name ?? "") && x.protocol === (port.protocol ?? "TCP"));
      if (!p) continue;
      const target = `${e.hostname ?? dashed(e.ip)}.${fqdn}`;
      answers.push(this.rr(qname, "SRV", { priority: 0, weight: Math.max(1, Math.floor(100 / eps.length)), port: p.port, target }));
      additionals.push(this.rr(target, "A", e.ip));
    }
    return { answers, additionals };
  }

  private srvRecords(qname: string, qtype: string, svc: KObject, portName: string, proto: string): Resolution {
    const port = (svc.spec?.ports ?? []).find((p: any) => p?.name === portName && String(p?.protocol ?? "TCP").toLowerCase() === proto);
    if (!port) return this.nxdomain();
    if (qtype !== "SRV" && qtype !== "ANY") return this.nodata();
    const { answers, additionals } = this.srvFor(qname, svc, port);
    return this.ok(answers, additionals);
  }

  /** SRV on the bare service name: every named port (what CoreDNS does too). */
  private srvAllPorts(qname: string, svc: KObject): Resolution {
    const answers: DNSRecord[] = [];
    const additionals: DNSRecord[] = [];
    for (const p of svc.spec?.ports ?? []) {
      if (!p?.name) continue;
      const r = this.srvFor(qname, svc, p);
      answers.push(...r.answers);
      for (const a of r.additionals) if (!additionals.some((x) => x.name === a.name && x.data === a.data)) additionals.push(a);
    }
    return this.ok(answers, additionals);
  }

  private resolvePod(qname: string, qtype: string, labels: string[]): Resolution {
    const [ns, host, ...rest] = labels;
    if (!ns) return this.nodata();
    if (!host) return this.nodata();
    if (rest.length) return this.nxdomain();
    const ip = host.replace(/-/g, ".");
    // "pods verified": only addresses of pods that exist in that namespace.
    const pod = isIPv4(ip) ? this.view.podByIP(ip) : undefined;
    if (!pod || pod.metadata.namespace !== ns) return this.nxdomain();
    if (qtype === "A" || qtype === "ANY") return this.ok([this.rr(qname, "A", ip)]);
    return this.nodata();
  }

  private resolvePTR(qname: string, name: string, qtype: string): Resolution | undefined {
    const parts = name.slice(0, -".in-addr.arpa".length).split(".");
    if (parts.length !== 4) return undefined;
    const ip = parts.reverse().join(".");
    if (!isIPv4(ip)) return undefined;
    const ours = this.reverse.some((c) => inCIDR(ip, c));
    const targets: string[] = [];
    const svc = this.view.serviceByClusterIP(ip);
    if (svc) targets.push(this.serviceFQDN(svc));
    for (const slice of this.view.slicesByAddress(ip)) {
      const svcName = slice.metadata.labels?.[SERVICE_NAME_LABEL];
      const owner = svcName ? this.view.service(slice.metadata.namespace!, svcName) : undefined;
      if (!owner || !isHeadless(owner)) continue;
      const ep = (slice.endpoints ?? []).find((e: any) => (e?.addresses ?? []).includes(ip));
      const t = `${ep?.hostname || dashed(ip)}.${this.serviceFQDN(owner)}`;
      if (!targets.includes(t)) targets.push(t);
    }
    if (!targets.length) {
      const pod = this.view.podByIP(ip);
      if (pod) targets.push(`${dashed(ip)}.${pod.metadata.namespace}.pod.${this.domain}`);
    }
    if (!targets.length) return ours ? this.nxdomain() : undefined;
    if (qtype !== "PTR" && qtype !== "ANY") return this.nodata();
    return this.ok(targets.map((t) => this.rr(qname, "PTR", t)));
  }
}
