// The pod sandbox's configuration as the kubelet derives it from the Pod: DNS per
// dnsPolicy and dnsConfig (https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/#pod-s-dns-policy),
// hostname/subdomain (same page, "Pod's hostname and subdomain fields"), the
// kubelet-managed /etc/hosts with hostAliases
// (https://kubernetes.io/docs/tasks/network/customize-hosts-file-for-pods/), hostPort
// mappings (run by the CNI portmap plugin), host namespaces, sysctls
// (https://kubernetes.io/docs/tasks/administer-cluster/sysctl-cluster/) and the pod-level
// security context. Pure functions except reading the host's resolv.conf.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { KObject } from "../../apimachinery/types.js";
import type { DNSConfig, PodSandboxConfig, PortMapping, Protocol, SeccompProfile } from "../runtime/types.js";

export const POD_UID_LABEL = "tugboat.io/pod-uid";
export const POD_NAME_LABEL = "tugboat.io/pod-name";
export const POD_NAMESPACE_LABEL = "tugboat.io/pod-namespace";

/** Upstream limits on the final resolv.conf (validation.MaxDNSNameservers / MaxDNSSearchPaths). */
const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;

export interface ClusterDNSOptions {
  /** kubelet --cluster-dns; default ["10.43.0.10"]. */
  clusterDNS: string[];
  /** kubelet --cluster-domain; default "cluster.local". */
  clusterDomain: string;
  /** The node's resolv.conf (kubelet --resolv-conf), parsed; used for dnsPolicy Default. */
  host: DNSConfig;
}

export const DEFAULT_CLUSTER_DNS = ["10.43.0.10"];
export const DEFAULT_CLUSTER_DOMAIN = "cluster.local";

/** Parses resolv.conf text: nameserver, search/domain and options lines. */
export function parseResolvConf(text: string): DNSConfig {
  const out: DNSConfig = { servers: [], searches: [], options: [] };
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === "nameserver" && rest[0]) out.servers.push(rest[0]);
    else if (key === "search") out.searches = rest.filter((s) => s !== ".");
    else if (key === "domain" && rest[0]) out.searches = [rest[0]];
    else if (key === "options") out.options.push(...rest);
  }
  return out;
}

/** Reads the host resolv.conf; a missing file means no servers (pods get an empty one). */
export function readHostResolvConf(path = "/etc/resolv.conf"): DNSConfig {
  try {
    return parseResolvConf(readFileSync(path, "utf8"));
  } catch {
    return { servers: [], searches: [], options: [] };
  }
}

const dedup = (xs: string[]): string[] => [...new Set(xs)];

/** Options merge by name; later ones (the pod's dnsConfig) win. */
function mergeOptions(base: string[], extra: Array<{ name?: string; value?: string }>): string[] {
  const m = new Map<string, string>();
  for (const o of base) m.set(o.split(":")[0]!, o);
  for (const o of extra) if (o?.name) m.set(o.name, o.value !== undefined && o.value !== null ? `${o.name}:${o.value}` : o.name);
  return [...m.values()];
}

/** The sandbox DNSConfig for dnsPolicy + dnsConfig (upstream GetPodDNS). */
export function podDNSConfig(pod: KObject, opts: ClusterDNSOptions): DNSConfig {
  const spec = pod.spec ?? {};
  const hostNet = spec.hostNetwork === true;
  let policy: string = spec.dnsPolicy ?? "ClusterFirst";
  // ClusterFirst on the host network behaves as Default; ClusterFirstWithHostNet opts in.
  if (policy === "ClusterFirst" && hostNet) policy = "Default";
  if (policy === "ClusterFirstWithHostNet") policy = "ClusterFirst";
  if (policy === "ClusterFirst" && opts.clusterDNS.length === 0) policy = "Default";
  let cfg: DNSConfig;
  if (policy === "None") cfg = { servers: [], searches: [], options: [] };
  else if (policy === "Default") cfg = { servers: [...opts.host.servers], searches: [...opts.host.searches], options: [...opts.host.options] };
  else {
    const ns = pod.metadata.namespace ?? "default";
    const d = opts.clusterDomain;
    cfg = { servers: [...opts.clusterDNS], searches: [`${ns}.svc.${d}`, `svc.${d}`, d, ...opts.host.searches], options: ["ndots:5"] };
  }
  const extra = spec.dnsConfig ?? {};
  cfg.servers = dedup([...cfg.servers, ...(Array.isArray(extra.nameservers) ? extra.nameservers.map(String) : [])]).slice(0, MAX_NAMESERVERS);
  cfg.searches = dedup([...cfg.searches, ...(Array.isArray(extra.searches) ? extra.searches.map(String) : [])]).slice(0, MAX_SEARCHES);
  cfg.options = mergeOptions(cfg.options, Array.isArray(extra.options) ? extra.options : []);
  return cfg;
}

/** Hostname the pod sees: spec.hostname or the pod name, at most 63 characters. */
export function podHostname(pod: KObject): string {
  const h = String(pod.spec?.hostname || pod.metadata.name || "");
  // Truncation must not leave a trailing '-' or '.' (not a valid label end).
  return h.length > 63 ? h.slice(0, 63).replace(/[-.]+$/, "") : h;
}

/** The kubelet-managed /etc/hosts of a pod on the pod network. */
export function podHostsFile(pod: KObject, podIPs: string[], clusterDomain: string): string {
  const lines = [
    "# Kubernetes-managed hosts file.",
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "fe00::0\tip6-mcastprefix",
    "fe00::1\tip6-allnodes",
    "fe00::2\tip6-allrouters",
  ];
  const host = podHostname(pod);
  const sub = pod.spec?.subdomain;
  for (const ip of podIPs) {
    lines.push(sub ? `${ip}\t${host}.${sub}.${pod.metadata.namespace}.svc.${clusterDomain}\t${host}` : `${ip}\t${host}`);
  }
  const aliases: any[] = Array.isArray(pod.spec?.hostAliases) ? pod.spec.hostAliases : [];
  if (aliases.length) {
    lines.push("", "# Entries added by HostAliases.");
    for (const a of aliases) if (a?.ip && Array.isArray(a.hostnames)) lines.push(`${a.ip}\t${a.hostnames.join("\t")}`);
  }
  return lines.join("\n") + "\n";
}

/** hostPort mappings of every container port that asks for one. */
export function portMappings(pod: KObject): PortMapping[] {
  const out: PortMapping[] = [];
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    for (const p of Array.isArray(c?.ports) ? c.ports : []) {
      if (!p?.hostPort || !p.containerPort) continue;
      out.push({ protocol: (p.protocol ?? "TCP") as Protocol, containerPort: p.containerPort, hostPort: p.hostPort, ...(p.hostIP ? { hostIp: p.hostIP } : {}) });
    }
  }
  return out;
}

export function seccompOf(profile: any): SeccompProfile | undefined {
  if (!profile?.type) return undefined;
  if (profile.type === "Localhost") return { type: "Localhost", localhostRef: String(profile.localhostProfile ?? "") };
  return profile.type === "RuntimeDefault" || profile.type === "Unconfined" ? { type: profile.type } : undefined;
}

/** The pod's supplemental groups: supplementalGroups plus fsGroup. */
export function podSupplementalGroups(pod: KObject): number[] {
  const psc = pod.spec?.securityContext ?? {};
  const groups: number[] = Array.isArray(psc.supplementalGroups) ? psc.supplementalGroups.filter((g: unknown) => typeof g === "number") : [];
  if (typeof psc.fsGroup === "number" && !groups.includes(psc.fsGroup)) groups.push(psc.fsGroup);
  return groups;
}

export interface SandboxConfigInput {
  dataDir: string;
  attempt: number;
  dns: ClusterDNSOptions;
}

/** Directory holding a pod's container logs. */
export function podLogDirectory(dataDir: string, pod: KObject): string {
  const m = pod.metadata;
  return join(dataDir, "pods", `${m.namespace}_${m.name}_${m.uid}`);
}

/** The full PodSandboxConfig for a pod (upstream generatePodSandboxConfig). */
export function podSandboxConfig(pod: KObject, input: SandboxConfigInput): PodSandboxConfig {
  const m = pod.metadata;
  const spec = pod.spec ?? {};
  const psc = spec.securityContext ?? {};
  const hostNet = spec.hostNetwork === true;
  const name = m.name ?? "";
  const sysctls: Record<string, string> = {};
  for (const s of Array.isArray(psc.sysctls) ? psc.sysctls : []) if (s?.name) sysctls[s.name] = String(s.value ?? "");
  const all = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  const cfg: PodSandboxConfig = {
    metadata: { name, namespace: m.namespace ?? "default", uid: m.uid!, attempt: input.attempt },
    logDirectory: podLogDirectory(input.dataDir, pod),
    dnsConfig: podDNSConfig(pod, input.dns),
    portMappings: portMappings(pod),
    labels: { [POD_UID_LABEL]: m.uid!, [POD_NAME_LABEL]: name, [POD_NAMESPACE_LABEL]: m.namespace ?? "default" },
    annotations: { ...(m.annotations ?? {}) },
    cgroupParent: `/tugboat/pod${m.uid}`,
    hostNetwork: hostNet,
    hostPID: spec.hostPID === true,
    hostIPC: spec.hostIPC === true,
    sysctls,
    supplementalGroups: podSupplementalGroups(pod),
    privileged: all.some((c: any) => c?.securityContext?.privileged === true),
  };
  // The host network keeps the node's hostname (the UTS namespace is the host's).
  if (!hostNet) cfg.hostname = podHostname(pod);
  if (typeof psc.runAsUser === "number") cfg.runAsUser = psc.runAsUser;
  if (typeof psc.runAsGroup === "number") cfg.runAsGroup = psc.runAsGroup;
  const sc = seccompOf(psc.seccompProfile);
  if (sc) cfg.seccomp = sc;
  return cfg;
}
