// The Node object a real kubelet registers and the status it keeps posting
// (https://kubernetes.io/docs/reference/node/node-status/, self-registration at
// https://kubernetes.io/docs/concepts/architecture/nodes/#self-registration-of-nodes):
// well-known labels (https://kubernetes.io/docs/reference/labels-annotations-taints/),
// capacity/allocatable, the four conditions with upstream's reasons and messages,
// addresses, daemonEndpoints and nodeInfo. Pure functions: registration.ts decides when
// to post. A condition's lastTransitionTime moves only when its status flips;
// lastHeartbeatTime on every post. `statusChanged` ignores heartbeat times, so an
// unchanged node is posted only at the report frequency.

import type { KObject } from "../../apimachinery/types.js";
import type { RuntimeCondition } from "../runtime/types.js";
import type { NodeInfo, PressureSignals, ResourceList } from "./hostinfo.js";

export const ROLE_CONTROL_PLANE = "node-role.kubernetes.io/control-plane";
export const ROLE_MASTER = "node-role.kubernetes.io/master";

export interface NodeIdentity {
  name: string;
  internalIP: string;
  hostname: string;
  arch: string;
  /** Extra labels (node roles for `tug up`'s node, --node-label). */
  labels?: Record<string, string>;
  /** spec.podCIDR the node asks for (kubelet --pod-cidr); the node IPAM controller's otherwise. */
  podCIDR?: string;
}

export interface NodeStatusInput {
  capacity: ResourceList;
  allocatable: ResourceList;
  nodeInfo: NodeInfo;
  /** CRI Status conditions (RuntimeReady, NetworkReady); an error when the runtime is unreachable. */
  runtime: RuntimeCondition[] | Error;
  pressure: PressureSignals;
  /** The kubelet's HTTPS port (logs, exec, metrics); 0 when no server runs. */
  kubeletPort: number;
  /** Images on the node, newest first (status.images; the scheduler's ImageLocality reads it). */
  images?: { names: string[]; sizeBytes: number }[];
}

export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastHeartbeatTime: string;
  lastTransitionTime: string;
}

export function nodeLabels(id: NodeIdentity): Record<string, string> {
  return {
    "beta.kubernetes.io/arch": id.arch,
    "beta.kubernetes.io/os": "linux",
    "kubernetes.io/arch": id.arch,
    "kubernetes.io/hostname": id.hostname,
    "kubernetes.io/os": "linux",
    "node.kubernetes.io/instance-type": "tugboat",
    ...(id.labels ?? {}),
  };
}

/** Why the node is not Ready, from the runtime's conditions (upstream's wording), or undefined. */
export function notReadyMessage(runtime: RuntimeCondition[] | Error): string | undefined {
  if (runtime instanceof Error) return `container runtime is down: ${runtime.message}`;
  const problems: string[] = [];
  for (const type of ["RuntimeReady", "NetworkReady"]) {
    const c = runtime.find((x) => x.type === type);
    if (!c || !c.status) {
      const what = type === "RuntimeReady" ? "container runtime not ready" : "container runtime network not ready";
      problems.push(`${what}: ${type}=false reason:${c?.reason ?? ""} message:${c?.message ?? "not reported"}`);
    }
  }
  return problems.length ? problems.join(", ") : undefined;
}

function cond(type: string, status: "True" | "False", reason: string, message: string, now: string, previous: any[] | undefined): Condition {
  const old = previous?.find((c) => c?.type === type);
  const since = old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : now;
  return { type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: since };
}

export function nodeConditions(input: Pick<NodeStatusInput, "runtime" | "pressure">, now: string, previous?: any[]): Condition[] {
  const p = input.pressure;
  const notReady = notReadyMessage(input.runtime);
  return [
    p.memory
      ? cond("MemoryPressure", "True", "KubeletHasInsufficientMemory", "kubelet has insufficient memory available", now, previous)
      : cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available", now, previous),
    p.disk
      ? cond("DiskPressure", "True", "KubeletHasDiskPressure", "kubelet has disk pressure", now, previous)
      : cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", now, previous),
    p.pid
      ? cond("PIDPressure", "True", "KubeletHasInsufficientPID", "kubelet has insufficient PID available", now, previous)
      : cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available", now, previous),
    notReady
      ? cond("Ready", "False", "KubeletNotReady", notReady, now, previous)
      : cond("Ready", "True", "KubeletReady", "kubelet is posting ready status", now, previous),
  ];
}

/** The whole status block; `previous` is the status now stored in the API (for transition times). */
export function nodeStatus(id: NodeIdentity, input: NodeStatusInput, now: string, previous?: any): Record<string, unknown> {
  return {
    capacity: input.capacity,
    allocatable: input.allocatable,
    conditions: nodeConditions(input, now, previous?.conditions),
    addresses: [
      { type: "InternalIP", address: id.internalIP },
      { type: "Hostname", address: id.hostname },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: input.kubeletPort } },
    nodeInfo: input.nodeInfo,
    ...(input.images ? { images: input.images } : {}),
  };
}

/** The Node to create at registration. */
export function nodeObject(id: NodeIdentity, input: NodeStatusInput, now: string): KObject {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: id.name,
      labels: nodeLabels(id),
      annotations: { "node.alpha.kubernetes.io/ttl": "0" },
    },
    spec: id.podCIDR ? { podCIDR: id.podCIDR, podCIDRs: [id.podCIDR] } : {},
    status: nodeStatus(id, input, now),
  };
}

function withoutHeartbeats(status: any): string {
  const copy = { ...(status ?? {}) };
  copy.conditions = ((copy.conditions as any[] | undefined) ?? [])
    .map((c) => ({ type: c?.type, status: c?.status, reason: c?.reason ?? "", message: c?.message ?? "" }))
    .sort((a, b) => String(a.type).localeCompare(String(b.type)));
  return canonical(copy);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v as object)
      .sort()
      .filter((k) => (v as any)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as any)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

/** True when `desired` differs from `current` in anything but heartbeat times. */
export function statusChanged(current: any, desired: any): boolean {
  const pick = (s: any) => {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(desired ?? {})) out[k] = s?.[k];
    return out;
  };
  return withoutHeartbeats(pick(current)) !== withoutHeartbeats(pick(desired));
}
