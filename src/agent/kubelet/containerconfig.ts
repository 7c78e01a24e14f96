// A container's runtime configuration as the kubelet derives it from the Pod:
// resources → Linux cgroup settings (https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/
// "How Pods with resource limits are run": CPU shares from requests, CFS quota from
// limits, the memory limit), the OOM score adjustment per QoS class
// (https://kubernetes.io/docs/concepts/scheduling-eviction/node-pressure-eviction/#node-out-of-memory-behavior),
// and the security context with pod-level defaults
// (https://kubernetes.io/docs/tasks/configure-pod-container/security-context/):
// runAsUser/runAsGroup/runAsNonRoot, supplemental groups and fsGroup,
// readOnlyRootFilesystem, capabilities, privileged, allowPrivilegeEscalation, seccomp,
// the default masked and read-only /proc paths.

import { existsSync } from "node:fs";
import type { KObject } from "../../apimachinery/types.js";
import { tryParseQuantity } from "../../apimachinery/quantity.js";
import { podQOSClass } from "../../api/core-pod.js";
import type { ContainerResources, ContainerSecurityContext, ImageInfo } from "../runtime/types.js";
import { ContainerConfigError } from "./env.js";
import { podSupplementalGroups, seccompOf } from "./sandboxconfig.js";

export const MIN_SHARES = 2;
export const SHARES_PER_CPU = 1024;
export const QUOTA_PERIOD_US = 100_000;
export const MIN_QUOTA_US = 1000;

/** Upstream DefaultProcMount: /proc and /sys paths hidden or read-only in unprivileged containers. */
export const DEFAULT_MASKED_PATHS = [
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];
export const DEFAULT_READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

const millis = (v: unknown): number => {
  const q = v === undefined ? undefined : tryParseQuantity(String(v));
  return q ? Number((q.nanos + 999_999n) / 1_000_000n) : 0;
};
const bytes = (v: unknown): number => {
  const q = v === undefined ? undefined : tryParseQuantity(String(v));
  return q ? Number((q.nanos + 999_999_999n) / 1_000_000_000n) : 0;
};

let memsw: boolean | undefined;
/** Whether the memory cgroup accounts swap (runc refuses a swap limit otherwise). */
function swapAccounting(): boolean {
  return (memsw ??= existsSync("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"));
}

export function milliCPUToShares(milli: number): number {
  if (milli <= 0) return MIN_SHARES;
  return Math.max(MIN_SHARES, Math.floor((milli * SHARES_PER_CPU) / 1000));
}

export function milliCPUToQuota(milli: number, periodUs = QUOTA_PERIOD_US): number {
  if (milli <= 0) return 0;
  return Math.max(MIN_QUOTA_US, Math.floor((milli * periodUs) / 1000));
}

/** oom_score_adj per QoS class: Guaranteed last to die, BestEffort first. */
export function oomScoreAdj(pod: KObject, container: any, memoryCapacityBytes: number): number {
  const qos = podQOSClass(pod);
  if (qos === "Guaranteed") return -997;
  if (qos === "BestEffort") return 1000;
  const req = bytes(container?.resources?.requests?.memory);
  let adj = 1000 - Math.floor((1000 * req) / Math.max(1, memoryCapacityBytes));
  // Burstable stays strictly between the two other classes.
  if (adj < 2) adj = 2;
  if (adj >= 1000) adj = 999;
  return adj;
}

/** Linux resources of one container (upstream generateLinuxContainerResources). */
export function containerResources(pod: KObject, container: any, memoryCapacityBytes: number): ContainerResources {
  const res = container?.resources ?? {};
  const cpuReq = millis(res.requests?.cpu);
  const cpuLim = millis(res.limits?.cpu);
  const memLim = bytes(res.limits?.memory);
  const out: ContainerResources = {
    // No request but a limit: shares follow the limit.
    cpuShares: milliCPUToShares(cpuReq === 0 && cpuLim > 0 ? cpuLim : cpuReq),
    oomScoreAdj: oomScoreAdj(pod, container, memoryCapacityBytes),
  };
  if (cpuLim > 0) {
    out.cpuPeriod = QUOTA_PERIOD_US;
    out.cpuQuota = milliCPUToQuota(cpuLim);
  }
  if (memLim > 0) {
    out.memoryLimitBytes = memLim;
    // No swap beyond the limit (cgroup v1: memsw = memory), so the limit means OOM.
    if (swapAccounting()) out.memorySwapLimitBytes = memLim;
  }
  return out;
}

export interface EffectiveSecurity {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
}

/** Container securityContext over the pod's defaults (upstream DetermineEffectiveSecurityContext). */
export function effectiveSecurity(pod: KObject, container: any): EffectiveSecurity {
  const psc = pod.spec?.securityContext ?? {};
  const csc = container?.securityContext ?? {};
  const pick = <T>(a: T | undefined | null, b: T | undefined | null): T | undefined => (a ?? b ?? undefined) as T | undefined;
  return { runAsUser: pick(csc.runAsUser, psc.runAsUser), runAsGroup: pick(csc.runAsGroup, psc.runAsGroup), runAsNonRoot: pick(csc.runAsNonRoot, psc.runAsNonRoot) };
}

const podRef = (pod: KObject): string => `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;

/** runAsNonRoot against the explicit user or the image's user; throws ContainerConfigError. */
export function verifyRunAsNonRoot(pod: KObject, container: any, image: ImageInfo | null): void {
  const eff = effectiveSecurity(pod, container);
  if (eff.runAsNonRoot !== true) return;
  if (eff.runAsUser !== undefined) {
    if (eff.runAsUser === 0) throw new ContainerConfigError(`container's runAsUser breaks non-root policy (pod: "${podRef(pod)}", container: ${container.name})`);
    return;
  }
  if (image?.uid !== undefined) {
    if (image.uid === 0) throw new ContainerConfigError(`container has runAsNonRoot and image will run as root (pod: "${podRef(pod)}", container: ${container.name})`);
    return;
  }
  if (image?.username) {
    throw new ContainerConfigError(`container has runAsNonRoot and image has non-numeric user (${image.username}), cannot verify user is non-root (pod: "${podRef(pod)}", container: ${container.name})`);
  }
  // No user in the image: it runs as root.
  throw new ContainerConfigError(`container has runAsNonRoot and image will run as root (pod: "${podRef(pod)}", container: ${container.name})`);
}

/** CRI security context for a container. */
export function containerSecurity(pod: KObject, container: any): ContainerSecurityContext {
  const csc = container?.securityContext ?? {};
  const psc = pod.spec?.securityContext ?? {};
  const eff = effectiveSecurity(pod, container);
  const privileged = csc.privileged === true;
  const out: ContainerSecurityContext = {
    privileged,
    readOnlyRootFilesystem: csc.readOnlyRootFilesystem === true,
    supplementalGroups: podSupplementalGroups(pod),
    // Only an explicit false sets no_new_privs (upstream AddNoNewPrivileges).
    noNewPrivs: csc.allowPrivilegeEscalation === false,
    pidNamespace: pod.spec?.hostPID === true ? "Node" : pod.spec?.shareProcessNamespace === true ? "Pod" : "Container",
  };
  if (eff.runAsUser !== undefined) out.runAsUser = eff.runAsUser;
  if (eff.runAsGroup !== undefined) out.runAsGroup = eff.runAsGroup;
  const caps = csc.capabilities;
  if (caps && (Array.isArray(caps.add) || Array.isArray(caps.drop))) {
    // CRI names capabilities without the CAP_ prefix (the runtime adds it), as the API does.
    const norm = (c: unknown) => String(c).toUpperCase().replace(/^CAP_/, "");
    out.capabilities = { add: (caps.add ?? []).map(norm), drop: (caps.drop ?? []).map(norm) };
  }
  const seccomp = seccompOf(csc.seccompProfile) ?? seccompOf(psc.seccompProfile);
  if (seccomp) out.seccomp = seccomp;
  if (!privileged && csc.procMount !== "Unmasked") {
    out.maskedPaths = [...DEFAULT_MASKED_PATHS];
    out.readonlyPaths = [...DEFAULT_READONLY_PATHS];
  }
  return out;
}
