// Pod status as the kubelet reports it: phase, conditions and per-container statuses
// computed from what the container runtime says, after the Pod lifecycle page
// (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/ — "Pod phase",
// "Container states", "Pod conditions", "Container restart policy") and the PodStatus /
// ContainerStatus types of the API reference
// (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#PodStatus).
// Pure functions: the pod worker (podworker.ts) owns the runtime calls and the writes.

import { nowRFC3339 } from "../../apimachinery/types.js";
import type { ContainerStatus as RuntimeContainerStatus } from "../runtime/types.js";

export type RestartPolicy = "Always" | "OnFailure" | "Never";

/** What the worker knows about one container of the pod spec. */
export interface ContainerRecord {
  name: string;
  /** Image as written in the pod spec. */
  image: string;
  /** Runtime container ID of the current instance; undefined until created. */
  id?: string;
  restartCount: number;
  /** Latest runtime status of the current instance. */
  status?: RuntimeContainerStatus;
  /** Image ID reported by the runtime (imageStatus). */
  imageID?: string;
  /** Why the container is not running yet (ErrImagePull, CreateContainerError, …). */
  waiting?: { reason: string; message?: string };
  /** The previous instance's end, reported as lastState.terminated. */
  lastTerminated?: TerminatedState;
}

export interface TerminatedState {
  exitCode: number;
  reason: string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
  containerID?: string;
}

export interface PodStatusInput {
  records: ContainerRecord[];
  restartPolicy: RestartPolicy;
  podIP: string;
  hostIP: string;
  startTime: string;
  /** The status the API currently holds (keeps condition transition times stable). */
  previous?: any;
  /** A pod-level failure to report (e.g. sandbox creation failing). */
  podMessage?: { reason: string; message: string };
}

const rfc = (ms: number): string | undefined => (ms > 0 ? nowRFC3339(new Date(ms)) : undefined);

export function containerID(id: string): string {
  return `containerd://${id}`;
}

export function terminatedFrom(st: RuntimeContainerStatus): TerminatedState {
  const t: TerminatedState = {
    exitCode: st.exitCode,
    reason: st.reason || (st.exitCode === 0 ? "Completed" : "Error"),
    containerID: containerID(st.id),
  };
  if (st.message) t.message = st.message;
  const s = rfc(st.startedAt);
  const f = rfc(st.finishedAt);
  if (s) t.startedAt = s;
  if (f) t.finishedAt = f;
  return t;
}

/** Whether an exited container is started again under the pod's restartPolicy. */
export function shouldRestart(policy: RestartPolicy, exitCode: number): boolean {
  return policy === "Always" || (policy === "OnFailure" && exitCode !== 0);
}

function stripUndefined<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/** The ContainerStatus entry for one record. */
export function containerStatusFor(r: ContainerRecord): Record<string, unknown> {
  const st = r.status;
  let state: Record<string, unknown>;
  let ready = false;
  let started = false;
  if (st?.state === "Running") {
    state = { running: { startedAt: rfc(st.startedAt) ?? nowRFC3339() } };
    ready = true;
    started = true;
  } else if (st?.state === "Exited") {
    state = { terminated: terminatedFrom(st) };
  } else {
    state = { waiting: stripUndefined({ reason: r.waiting?.reason ?? "ContainerCreating", message: r.waiting?.message }) };
  }
  return stripUndefined({
    name: r.name,
    image: r.image,
    imageID: r.imageID ?? "",
    containerID: r.id ? containerID(r.id) : undefined,
    ready,
    started,
    restartCount: r.restartCount,
    state,
    lastState: r.lastTerminated ? { terminated: r.lastTerminated } : {},
  });
}

/**
 * Pending until every container has run; Running while at least one runs (or will be
 * restarted); Succeeded/Failed once all have terminated for good.
 */
export function podPhase(records: ContainerRecord[], policy: RestartPolicy): "Pending" | "Running" | "Succeeded" | "Failed" {
  if (records.length === 0) return "Pending";
  const states = records.map((r) => r.status?.state);
  if (states.some((s) => s === undefined || s === "Created" || s === "Unknown")) {
    // A container that has not started yet keeps the pod Pending unless others run.
    return states.some((s) => s === "Running" || s === "Exited") ? "Running" : "Pending";
  }
  if (states.some((s) => s === "Running")) return "Running";
  // All exited: final only when none of them will be restarted.
  const restarting = records.some((r) => shouldRestart(policy, r.status!.exitCode));
  if (restarting) return "Running";
  return records.every((r) => r.status!.exitCode === 0) ? "Succeeded" : "Failed";
}

function condition(type: string, ok: boolean, previous: any[] | undefined, reason?: string): Record<string, unknown> {
  const status = ok ? "True" : "False";
  const prev = previous?.find((c) => c?.type === type);
  const lastTransitionTime = prev && prev.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : nowRFC3339();
  return stripUndefined({ type, status, lastProbeTime: null as unknown as undefined, lastTransitionTime, reason: ok ? undefined : reason });
}

/** The full status object to write with updateStatus. */
export function buildPodStatus(input: PodStatusInput): Record<string, any> {
  const { records, restartPolicy, previous } = input;
  const phase = podPhase(records, restartPolicy);
  const allReady = records.length > 0 && records.every((r) => r.status?.state === "Running");
  const prevConds: any[] | undefined = previous?.conditions;
  const notReadyReason = phase === "Succeeded" || phase === "Failed" ? "PodCompleted" : "ContainersNotReady";
  const conditions = [
    condition("Initialized", true, prevConds),
    condition("Ready", allReady, prevConds, notReadyReason),
    condition("ContainersReady", allReady, prevConds, notReadyReason),
    condition("PodScheduled", true, prevConds),
  ];
  const status: Record<string, any> = {
    phase,
    conditions,
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    startTime: input.startTime,
    containerStatuses: records.map(containerStatusFor),
    qosClass: previous?.qosClass ?? "BestEffort",
  };
  if (input.podIP) {
    status.podIP = input.podIP;
    status.podIPs = [{ ip: input.podIP }];
  }
  if (input.podMessage) {
    status.reason = input.podMessage.reason;
    status.message = input.podMessage.message;
  }
  return status;
}

/** JSON with sorted keys, so two statuses compare equal whatever their key order. */
export function canonicalJSON(v: unknown): string {
  return JSON.stringify(v, (_k, val) =>
    val && typeof val === "object" && !Array.isArray(val) ? Object.fromEntries(Object.keys(val).sort().map((k) => [k, val[k]])) : val,
  );
}
