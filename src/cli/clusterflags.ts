// Cluster-wide ranges and node-lifecycle timings of `tug server` and `tug up`, named
// like the upstream flags they stand for: kube-apiserver's --service-cluster-ip-range
// (k3s: --service-cidr) and --service-node-port-range, kube-controller-manager's
// --cluster-cidr and --node-monitor-grace-period, and the DefaultTolerationSeconds
// admission plugin's --default-not-ready-toleration-seconds and
// --default-unreachable-toleration-seconds
// (https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/,
// https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/,
// https://docs.k3s.io/cli/server#networking). Defaults follow k3s's ranges and Tugboat's
// "a lost node's pods run elsewhere within 60 s" (20 s grace + 30 s toleration, where
// upstream waits 40 s + 300 s). Every value is checked here so a bad flag is a usage
// error naming the flag, never a crash deep in the server.

import { parseCIDR, intToIp } from "../agent/hollow/runtime.js";
import { DEFAULT_CLUSTER_NETWORK } from "../apiserver/clusterconfig.js";
import { DEFAULT_TOLERATION_SECONDS } from "../apiserver/podadmission.js";
import { UsageError, type FlagSpec } from "./flags.js";

export const DEFAULT_SERVICE_CIDR = DEFAULT_CLUSTER_NETWORK.serviceCIDR;
export const DEFAULT_CLUSTER_CIDR = DEFAULT_CLUSTER_NETWORK.clusterCIDR;
export const DEFAULT_NODE_PORT_RANGE = DEFAULT_CLUSTER_NETWORK.serviceNodePortRange;
export const DEFAULT_NODE_MONITOR_GRACE_PERIOD = "20s";

export const clusterFlags: FlagSpec[] = [
  { name: "service-cidr", type: "string", default: DEFAULT_SERVICE_CIDR, help: "IPv4 range of Service ClusterIPs; the first address is the `kubernetes` Service, the tenth the cluster DNS (kube-dns). Services keep their addresses if it changes" },
  { name: "cluster-cidr", type: "string", default: DEFAULT_CLUSTER_CIDR, help: "IPv4 pod range; each node gets a /24 of it" },
  { name: "service-node-port-range", type: "string", default: DEFAULT_NODE_PORT_RANGE, help: "port range of NodePort Services, MIN-MAX" },
  { name: "node-monitor-grace-period", type: "string", default: DEFAULT_NODE_MONITOR_GRACE_PERIOD, help: "silence after which a node is NotReady/Unknown and tainted (Go duration; keep it above the nodes' 10s lease renewal)" },
  { name: "default-not-ready-toleration-seconds", type: "string", default: String(DEFAULT_TOLERATION_SECONDS), help: "how long pods stay on a NotReady node before eviction (added to pods without their own toleration)" },
  { name: "default-unreachable-toleration-seconds", type: "string", default: String(DEFAULT_TOLERATION_SECONDS), help: "how long pods stay on an unreachable node before eviction (added to pods without their own toleration)" },
];

export interface ClusterOptions {
  /** Service ClusterIP range, normalised (e.g. "10.43.0.0/16"). */
  serviceCIDR: string;
  /** Pod range the node IPAM controller cuts /24s from (e.g. "10.42.0.0/16"). */
  clusterCIDR: string;
  nodePortMin: number;
  nodePortMax: number;
  nodeMonitorGracePeriodMs: number;
  defaultNotReadyTolerationSeconds: number;
  defaultUnreachableTolerationSeconds: number;
}

type Values = Record<string, string | boolean | undefined>;

/** A Go duration ("20s", "1m30s", "500ms", "1h") in milliseconds; undefined when malformed. */
export function parseGoDuration(s: string): number | undefined {
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(s)) return undefined;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let ms = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(m[1]) * unit[m[2]!]!;
  return ms;
}

/**
 * An IPv4 CIDR flag with its prefix length in [minBits, maxBits]; host bits must be zero
 * (10.43.1.0/16 is refused rather than silently read as 10.43.0.0/16).
 */
function cidrFlag(v: Values, name: string, minBits: number, maxBits: number, why: string): { cidr: string; base: number; size: number } {
  const raw = String(v[name] ?? "");
  const c = parseCIDR(raw);
  if (!c) throw new UsageError(`--${name} must be an IPv4 CIDR like ${name === "service-cidr" ? DEFAULT_SERVICE_CIDR : DEFAULT_CLUSTER_CIDR}, got ${JSON.stringify(raw)}`);
  const cidr = `${intToIp(c.base)}/${c.bits}`;
  const given = raw.split("/")[0]!.split(".").reduce((a, o) => a * 256 + Number(o), 0);
  if (given !== c.base) throw new UsageError(`--${name} ${raw} has host bits set; did you mean ${cidr}?`);
  if (c.bits < minBits || c.bits > maxBits) throw new UsageError(`--${name} prefix must be between /${minBits} and /${maxBits} (${why}), got /${c.bits}`);
  return { cidr, base: c.base, size: c.size };
}

function secondsFlag(v: Values, name: string): number {
  const raw = String(v[name] ?? "");
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw new UsageError(`--${name} must be a whole number of seconds (0 or more), got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** Parses and checks the cluster flags (values as parseFlags returns them, defaults filled in). */
export function clusterOptions(v: Values): ClusterOptions {
  const withDefaults: Values = {};
  for (const f of clusterFlags) withDefaults[f.name] = v[f.name] ?? f.default;
  // /12 is upstream's largest IPv4 service range; /28 still has a tenth address for DNS.
  const svc = cidrFlag(withDefaults, "service-cidr", 12, 28, "it must hold the tenth address for cluster DNS and at most 2^20 addresses");
  // Nodes get /24s, so the range holds at least one.
  const pods = cidrFlag(withDefaults, "cluster-cidr", 8, 24, "nodes get a /24 each");
  if (svc.base < pods.base + pods.size && pods.base < svc.base + svc.size) {
    throw new UsageError(`--service-cidr ${svc.cidr} overlaps --cluster-cidr ${pods.cidr}; Service and pod addresses must be distinct`);
  }
  const range = String(withDefaults["service-node-port-range"]);
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(range);
  const min = Number(m?.[1]);
  const max = Number(m?.[2]);
  if (!m || min < 1 || max > 65535 || min > max) throw new UsageError(`--service-node-port-range must be MIN-MAX with 1 <= MIN <= MAX <= 65535, like ${DEFAULT_NODE_PORT_RANGE}, got ${JSON.stringify(range)}`);
  const graceRaw = String(withDefaults["node-monitor-grace-period"]);
  const grace = parseGoDuration(graceRaw);
  if (grace === undefined || grace < 1000) throw new UsageError(`--node-monitor-grace-period must be a duration of at least 1s like 20s or 1m, got ${JSON.stringify(graceRaw)}`);
  return {
    serviceCIDR: svc.cidr,
    clusterCIDR: pods.cidr,
    nodePortMin: min,
    nodePortMax: max,
    nodeMonitorGracePeriodMs: grace,
    defaultNotReadyTolerationSeconds: secondsFlag(withDefaults, "default-not-ready-toleration-seconds"),
    defaultUnreachableTolerationSeconds: secondsFlag(withDefaults, "default-unreachable-toleration-seconds"),
  };
}
