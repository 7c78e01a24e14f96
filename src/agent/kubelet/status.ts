// Pod status as the kubelet reports it: phase, conditions and per-container statuses
// computed from what the container runtime and the probers say, after the Pod lifecycle
// page (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/ — "Pod phase",
// "Container states", "Pod conditions", "Pod readiness gates", "Container restart
// policy"), init containers (https://kubernetes.io/docs/concepts/workloads/pods/init-containers/)
// and the PodStatus / ContainerStatus types of the API reference
// (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#PodStatus).
// Pure functions: the pod worker (podworker.ts) owns the runtime calls and the writes.

import { nowRFC3339 } from "../../apimachinery/types.js";
import type { ContainerStatus as RuntimeContainerStatus } from "../runtime/types.js";

export type RestartPolicy = "Always" | "OnFailure" | "Never";
export type PodPhase = "Pending" | "Running" | "Succeeded" | "Failed";

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
  /** Why the container is not running (ErrImagePull, CreateContainerConfigError, CrashLoopBackOff…); shown instead of the runtime state. */
  waiting?: { reason: string; message?: string };
  /** The previous instance's end, reported as lastState.terminated. */
  lastTerminated?: TerminatedState;
  /** Readiness from the prober (undefined: no prober verdict, ready when running). */
  ready?: boolean;
  /** Startup from the prober (undefined: started when running). */
  started?: boolean;
  /** terminated.message of the current instance (termination message file or log tail). */
  message?: string;
  /** terminated.reason override (e.g. the kubelet killed it for a failed hook). */
  reason?: string;
  /** A restartable init container (restartPolicy Always): a sidecar that keeps running. */
  sidecar?: boolean;
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
  /** Init containers in spec order. */
  initRecords?: ContainerRecord[];
  restartPolicy: RestartPolicy;
  podIP: string;
  hostIP: string;
  startTime: string;
  /** The status the API currently holds (keeps condition transition times stable, foreign conditions). */
  previous?: any;
  /** A pod-level failure to report (e.g. sandbox creation failing). */
  podMessage?: { reason: string; message: string };
  /** The sandbox runs with its network set up (PodReadyToStartContainers). */
  sandboxReady?: boolean;
  /** Init containers completed at some point for this sandbox (stays true, like the kubelet's latch). */
  initialized?: boolean;
  /** spec.readinessGates[*].conditionType. */
  readinessGates?: string[];
  /** status.qosClass when the API did not set it. */
  qosClass?: string;
  /** The kubelet failed the pod itself (activeDeadlineSeconds); podMessage says why. */
  failed?: boolean;
}

const rfc = (ms: number): string | undefined => (ms > 0 ? nowRFC3339(new Date(ms)) : undefined);

export function containerID(id: string): string {
  return `containerd://${id}`;
}

export function terminatedFrom(st: RuntimeContainerStatus, override?: { message?: string; reason?: string }): TerminatedState {
  const t: TerminatedState = {
    exitCode: st.exitCode,
    reason: override?.reason || st.reason || (st.exitCode === 0 ? "Completed" : "Error"),
    containerID: containerID(st.id),
  };
  const message = override?.message ?? st.message;
  if (message) t.message = message;
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

/** Init containers run again only on failure, and never under restartPolicy Never. */
export function shouldRestartInit(policy: RestartPolicy, exitCode: number): boolean {
  return policy !== "Never" && exitCode !== 0;
}

function stripUndefined<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/** The ContainerStatus entry for one record; `defaultWaiting` is the reason before creation. */
export function containerStatusFor(r: ContainerRecord, opts: { init?: boolean; defaultWaiting?: string } = {}): Record<string, unknown> {
  const st = r.status;
  let state: Record<string, unknown>;
  let ready = false;
  let started = false;
  if (r.waiting) {
    state = { waiting: stripUndefined({ reason: r.waiting.reason, message: r.waiting.message }) };
  } else if (st?.state === "Running") {
    state = { running: { startedAt: rfc(st.startedAt) ?? nowRFC3339() } };
    // Init containers are never ready while running, except sidecars (probed like app containers).
    const probed = !opts.init || r.sidecar;
    started = probed ? (r.started ?? true) : true;
    ready = probed ? started && (r.ready ?? true) : false;
  } else if (st?.state === "Exited") {
    state = { terminated: terminatedFrom(st, { message: r.message, reason: r.reason }) };
    // A completed init container counts as ready.
    ready = !!opts.init && !r.sidecar && st.exitCode === 0;
  } else {
    state = { waiting: { reason: opts.defaultWaiting ?? "ContainerCreating" } };
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

/** Whether every init container has exited 0. */
export function initDone(initRecords: ContainerRecord[]): boolean {
  return initRecords.every(initComplete);
}

/** An init container is complete when it exited 0 — a sidecar when it runs and has started. */
export function initComplete(r: ContainerRecord): boolean {
  if (r.waiting) return false;
  if (r.sidecar) return r.status?.state === "Running" && r.started !== false;
  return r.status?.state === "Exited" && r.status.exitCode === 0;
}

/** Upstream getPhase: init containers first, then the app containers' states. */
export function podPhase(records: ContainerRecord[], policy: RestartPolicy, initRecords: ContainerRecord[] = [], initialized?: boolean): PodPhase {
  if (records.length === 0) return "Pending";
  if (!(initialized ?? initDone(initRecords))) {
    const failed = initRecords.some((r) => !r.sidecar && !r.waiting && r.status?.state === "Exited" && r.status.exitCode !== 0);
    if (failed && policy === "Never") return "Failed";
    return "Pending";
  }
  let waiting = 0;
  let running = 0;
  let stopped = 0;
  let succeeded = 0;
  let unknown = 0;
  for (const r of records) {
    const s = r.status?.state;
    if (r.waiting) {
      // Waiting to be restarted counts as stopped; never started counts as waiting.
      if (r.lastTerminated || s === "Exited") stopped++;
      else waiting++;
    } else if (s === "Running") running++;
    else if (s === "Exited") {
      stopped++;
      if (r.status!.exitCode === 0) succeeded++;
    } else if (s === "Unknown") unknown++;
    else waiting++;
  }
  if (waiting > 0) return "Pending";
  if (running > 0 && unknown === 0) return "Running";
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (policy === "Always") return "Running";
    if (stopped === succeeded) return "Succeeded";
    if (policy === "Never") return "Failed";
    return "Running";
  }
  return "Pending";
}

const KUBELET_CONDITIONS = new Set(["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady"]);

function condition(type: string, ok: boolean, previous: any[] | undefined, reason?: string, message?: string): Record<string, unknown> {
  const status = ok ? "True" : "False";
  const prev = previous?.find((c) => c?.type === type);
  const lastTransitionTime = prev && prev.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : nowRFC3339();
  return stripUndefined({ type, status, lastProbeTime: null as unknown as undefined, lastTransitionTime, reason: ok ? undefined : reason, message: ok ? undefined : message });
}

/** The full status object to write with updateStatus. */
export function buildPodStatus(input: PodStatusInput): Record<string, any> {
  const { records, restartPolicy, previous } = input;
  const initRecords = input.initRecords ?? [];
  const initialized = input.initialized ?? initDone(initRecords);
  const phase = input.failed ? "Failed" : podPhase(records, restartPolicy, initRecords, initialized);
  const terminal = phase === "Succeeded" || phase === "Failed";
  const appStatuses = records.map((r) => containerStatusFor(r, { defaultWaiting: initialized ? "ContainerCreating" : "PodInitializing" }));
  const initStatuses = initRecords.map((r) => containerStatusFor(r, { init: true, defaultWaiting: "PodInitializing" }));
  const prevConds: any[] = Array.isArray(previous?.conditions) ? previous.conditions : [];

  // Sidecars count for ContainersReady like app containers.
  const unready = [
    ...initRecords.filter((r, i) => r.sidecar && initStatuses[i]!.ready !== true).map((r) => r.name),
    ...records.filter((_, i) => appStatuses[i]!.ready !== true).map((r) => r.name),
  ];
  const containersReady = records.length > 0 && unready.length === 0;
  const gateMsgs: string[] = [];
  for (const gate of input.readinessGates ?? []) {
    const c = prevConds.find((x) => x?.type === gate);
    if (!c) gateMsgs.push(`corresponding condition of pod readiness gate "${gate}" does not exist.`);
    else if (c.status !== "True") gateMsgs.push(`the status of pod readiness gate "${gate}" is not "True", but ${c.status}`);
  }
  const unreadyMsg = unready.length ? `containers with unready status: [${unready.join(" ")}]` : undefined;
  const incomplete = initRecords.filter((r) => !initComplete(r)).map((r) => r.name);

  const conditions: Record<string, unknown>[] = [
    condition("PodReadyToStartContainers", input.sandboxReady ?? true, prevConds),
    condition("Initialized", initialized, prevConds, "ContainersNotInitialized", `containers with incomplete status: [${incomplete.join(" ")}]`),
    terminal
      ? condition("Ready", false, prevConds, "PodCompleted")
      : condition("Ready", containersReady && gateMsgs.length === 0, prevConds, containersReady ? "ReadinessGatesNotReady" : "ContainersNotReady", [unreadyMsg, ...gateMsgs].filter(Boolean).join(", ")),
    terminal ? condition("ContainersReady", false, prevConds, "PodCompleted") : condition("ContainersReady", containersReady, prevConds, "ContainersNotReady", unreadyMsg),
  ];
  // PodScheduled belongs to the scheduler, other types (readiness gates, DisruptionTarget) to their writers.
  if (!prevConds.some((c) => c?.type === "PodScheduled")) conditions.push(condition("PodScheduled", true, prevConds));
  for (const c of prevConds) if (c?.type && !KUBELET_CONDITIONS.has(c.type)) conditions.push(c);

  const status: Record<string, any> = {
    phase,
    conditions,
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    startTime: input.startTime,
    containerStatuses: appStatuses,
    qosClass: previous?.qosClass ?? input.qosClass ?? "BestEffort",
  };
  if (initRecords.length) status.initContainerStatuses = initStatuses;
  if (input.podIP) {
    status.podIP = input.podIP;
    status.podIPs = [{ ip: input.podIP }];
  }
  if (input.podMessage) {
    status.reason = input.podMessage.reason;
    status.message = input.podMessage.message;
  }
  if (previous?.nominatedNodeName) status.nominatedNodeName = previous.nominatedNodeName;
  return status;
}

/** JSON with sorted keys, so two statuses compare equal whatever their key order. */
export function canonicalJSON(v: unknown): string {
  return JSON.stringify(v, (_k, val) =>
    val && typeof val === "object" && !Array.isArray(val) ? Object.fromEntries(Object.keys(val).sort().map((k) => [k, val[k]])) : val,
  );
}
