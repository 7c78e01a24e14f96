// The cluster's network settings as a ConfigMap, `kube-system/tugboat-config`, the way
// kubeadm publishes its ClusterConfiguration (networking.serviceSubnet, podSubnet,
// dnsDomain) in `kube-system/kubeadm-config` for joining nodes to read
// (https://kubernetes.io/docs/reference/setup-tools/kubeadm/implementation-details/#save-the-kubeadm-clusterconfiguration-in-a-configmap-for-later-reference).
// `tug server` writes it at every start from its flags; every agent (remote, or the one
// inside `tug up`, over the same HTTPS client) reads it before touching the host, so
// nodes learn the service and pod ranges (for `unreachable` routes and the service
// proxy) and the cluster DNS address (pods' resolv.conf) without flags of their own.
// The DNS address is the kube-dns Service's actual ClusterIP: after the service range
// changes, existing Services keep their addresses and the agents follow them.

import { AlreadyExists, StatusError } from "../apimachinery/errors.js";
import type { Client } from "../client/types.js";
import type { Logger } from "../client/runnable.js";
import { parseCIDR } from "../agent/hollow/runtime.js";
import { CLUSTER_POD_CIDR } from "../agent/cni.js";
import { defaultServiceRanges, dnsServiceIP } from "./serviceallocation.js";
import type { Registry } from "./registry.js";

export const CLUSTER_CONFIG_NAMESPACE = "kube-system";
export const CLUSTER_CONFIG_NAME = "tugboat-config";

export interface ClusterNetwork {
  /** Service ClusterIP range. */
  serviceCIDR: string;
  /** Pod range (a /24 per node). */
  clusterCIDR: string;
  /** The cluster DNS Service address (pods' nameserver). */
  clusterDNS: string;
  clusterDomain: string;
  /** "MIN-MAX". */
  serviceNodePortRange: string;
}

/** What a server without the ConfigMap (or flags) uses. */
export const DEFAULT_CLUSTER_NETWORK: Readonly<ClusterNetwork> = {
  serviceCIDR: defaultServiceRanges.serviceCIDR,
  clusterCIDR: CLUSTER_POD_CIDR,
  clusterDNS: dnsServiceIP(defaultServiceRanges),
  clusterDomain: "cluster.local",
  serviceNodePortRange: `${defaultServiceRanges.nodePortMin}-${defaultServiceRanges.nodePortMax}`,
};

const KEYS: Record<keyof ClusterNetwork, string> = {
  serviceCIDR: "service-cidr",
  clusterCIDR: "cluster-cidr",
  clusterDNS: "cluster-dns",
  clusterDomain: "cluster-domain",
  serviceNodePortRange: "service-node-port-range",
};

export function clusterConfigMap(net: ClusterNetwork): Record<string, any> {
  const data: Record<string, string> = {};
  for (const [field, key] of Object.entries(KEYS)) data[key] = net[field as keyof ClusterNetwork];
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: CLUSTER_CONFIG_NAME, namespace: CLUSTER_CONFIG_NAMESPACE, labels: { "app.kubernetes.io/managed-by": "tugboat" } },
    data,
  };
}

/** Creates or rewrites the ConfigMap (only when its data differs). Runs at every server start. */
export async function publishClusterConfig(reg: Registry, net: ClusterNetwork): Promise<void> {
  const def = reg.def("v1/configmaps");
  const want = clusterConfigMap(net);
  try {
    await reg.create(def, CLUSTER_CONFIG_NAMESPACE, want, { fieldManager: "tug-bootstrap" });
  } catch (e) {
    if (!(e instanceof AlreadyExists)) throw e;
    const cur = await reg.get(def, CLUSTER_CONFIG_NAMESPACE, CLUSTER_CONFIG_NAME);
    if (JSON.stringify(cur.data ?? {}) === JSON.stringify(want.data)) return;
    await reg.update(def, CLUSTER_CONFIG_NAMESPACE, CLUSTER_CONFIG_NAME, { ...cur, data: want.data }, { fieldManager: "tug-bootstrap" });
  }
}

const validIPv4 = (s: unknown): s is string => typeof s === "string" && !!parseCIDR(`${s}/32`);
const validCIDR = (s: unknown): s is string => typeof s === "string" && !!parseCIDR(s);

/** The settings in a ConfigMap's data; missing or malformed values are left out. */
export function clusterNetworkFromData(data: Record<string, unknown> | undefined): Partial<ClusterNetwork> {
  const out: Partial<ClusterNetwork> = {};
  const d = data ?? {};
  if (validCIDR(d[KEYS.serviceCIDR])) out.serviceCIDR = d[KEYS.serviceCIDR] as string;
  if (validCIDR(d[KEYS.clusterCIDR])) out.clusterCIDR = d[KEYS.clusterCIDR] as string;
  if (validIPv4(d[KEYS.clusterDNS])) out.clusterDNS = d[KEYS.clusterDNS] as string;
  if (typeof d[KEYS.clusterDomain] === "string" && d[KEYS.clusterDomain]) out.clusterDomain = d[KEYS.clusterDomain] as string;
  if (typeof d[KEYS.serviceNodePortRange] === "string" && /^\d+-\d+$/.test(d[KEYS.serviceNodePortRange] as string)) out.serviceNodePortRange = d[KEYS.serviceNodePortRange] as string;
  return out;
}

export interface ReadClusterNetworkOptions {
  signal?: AbortSignal;
  log?: Logger;
  /** Pause between attempts while the server cannot be reached (default 2 s). */
  retryMs?: number;
}

function isNotFound(e: unknown): boolean {
  return (e instanceof StatusError && e.code === 404) || (e as { code?: unknown })?.code === 404;
}

/**
 * What an agent needs to know of the cluster network, read through its client: the
 * tugboat-config ConfigMap; from a server without it, the kube-dns Service's ClusterIP
 * and the defaults. Retries while the server does not answer; undefined once `signal`
 * aborts.
 */
export async function readClusterNetwork(client: Client, o: ReadClusterNetworkOptions = {}): Promise<ClusterNetwork | undefined> {
  let warned = false;
  while (!o.signal?.aborted) {
    try {
      let fromConfig: Partial<ClusterNetwork> = {};
      try {
        fromConfig = clusterNetworkFromData((await client.get("v1/configmaps", CLUSTER_CONFIG_NAMESPACE, CLUSTER_CONFIG_NAME)).data);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      let clusterDNS = fromConfig.clusterDNS;
      if (!clusterDNS) {
        try {
          const ip = (await client.get("v1/services", "kube-system", "kube-dns")).spec?.clusterIP;
          if (validIPv4(ip)) clusterDNS = ip;
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      }
      return { ...DEFAULT_CLUSTER_NETWORK, ...fromConfig, ...(clusterDNS ? { clusterDNS } : {}) };
    } catch (e) {
      if (!warned) o.log?.error("cannot read the cluster network settings yet; retrying", { configMap: `${CLUSTER_CONFIG_NAMESPACE}/${CLUSTER_CONFIG_NAME}`, error: String((e as Error)?.message ?? e) });
      warned = true;
      await new Promise<void>((r) => {
        const t = setTimeout(r, o.retryMs ?? 2000);
        o.signal?.addEventListener("abort", () => (clearTimeout(t), r()), { once: true });
      });
    }
  }
  return undefined;
}
