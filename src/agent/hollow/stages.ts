// The hollow pod lifecycle as data, after kwok's Stage API
// (https://kwok.sigs.k8s.io/docs/user/stages-configuration/): each stage says which
// pods it matches, how long to wait, and which transition comes next. A hollow node
// walks the list in order and applies the first stage that matches a pod, so a test or
// a benchmark changes how pods behave (slower starts, no exits, instant deletes) by
// passing another list, not by writing code. The transitions themselves ("start",
// "exit", "restart", "delete") are the small fixed vocabulary runtime.ts implements.

import type { KObject } from "../../apimachinery/types.js";

export const EXIT_AFTER_ANNOTATION = "tugboat.dev/exit-after";
export const EXIT_CODE_ANNOTATION = "tugboat.dev/exit-code";
export const CPU_USAGE_ANNOTATION = "tugboat.dev/cpu-usage";
export const MEMORY_USAGE_ANNOTATION = "tugboat.dev/memory-usage";
/**
 * On a Node: "stopped" makes its hollow kubelet stop renewing the Lease and posting
 * status (as if the machine died) until the annotation is removed or set to anything
 * else. Lets a test kill one node of a `tug up --hollow-nodes N` process from outside:
 * `kubectl annotate node hollow-node-3 tugboat.dev/hollow-heartbeat=stopped`.
 */
export const HEARTBEAT_ANNOTATION = "tugboat.dev/hollow-heartbeat";

/** Which pods a stage applies to; every given field must hold. */
export interface StageMatch {
  /** status.phase in this list (a pod without a phase counts as "Pending"). */
  phases?: string[];
  /** true: only pods with a deletionTimestamp; false: only pods without one. */
  deleting?: boolean;
  /** Annotation keys that must be present. */
  annotations?: string[];
  /**
   * State of the pod's containers as this node reported it: "none" (never started),
   * "running" (all running), "waiting" (any waiting after a crash).
   */
  containers?: "none" | "running" | "waiting";
}

/** How long to wait before the transition; the sources are tried in this order. */
export interface StageDelay {
  /** Fixed part in milliseconds. */
  ms?: number;
  /** Uniform random extra in [0, jitterMs). */
  jitterMs?: number;
  /** A Go-style duration ("5s", "1m30s", "250ms") read from this annotation replaces ms. */
  fromAnnotation?: string;
  /** The pod's deletion grace period replaces ms (capped by maxMs). */
  fromGracePeriod?: boolean;
  /** CrashLoopBackOff: 10 s doubling per restart up to 5 min (scaled by backoffScale). */
  crashLoopBackOff?: boolean;
  /** Upper bound on the computed delay. */
  maxMs?: number;
}

export type StageNext = "start" | "exit" | "restart" | "delete";

export interface Stage {
  name: string;
  match: StageMatch;
  delay: StageDelay;
  next: StageNext;
}

export interface StageOptions {
  /** Start delay range (default 0–50 ms). */
  startDelayMs?: number;
  startJitterMs?: number;
  /** A deleting pod is removed after min(grace, fastStopMs) (default 1 s). */
  fastStopMs?: number;
  /** Multiplies the CrashLoopBackOff delays (tests use small values). Default 1. */
  backoffScale?: number;
}

/** The default lifecycle: Pending → Running, optional exits and restarts, deletion. */
export function defaultStages(opts: StageOptions = {}): Stage[] {
  return [
    // Deletion first: a terminating pod does nothing else.
    { name: "pod-delete", match: { deleting: true }, delay: { fromGracePeriod: true, maxMs: opts.fastStopMs ?? 1_000 }, next: "delete" },
    { name: "pod-start", match: { phases: ["Pending"], deleting: false, containers: "none" }, delay: { ms: opts.startDelayMs ?? 0, jitterMs: opts.startJitterMs ?? 50 }, next: "start" },
    { name: "pod-exit", match: { phases: ["Running"], deleting: false, containers: "running", annotations: [EXIT_AFTER_ANNOTATION] }, delay: { fromAnnotation: EXIT_AFTER_ANNOTATION }, next: "exit" },
    { name: "pod-restart", match: { phases: ["Running"], deleting: false, containers: "waiting" }, delay: { crashLoopBackOff: true, maxMs: 300_000 * (opts.backoffScale ?? 1) }, next: "restart" },
  ];
}

/** What the node knows about the pod's containers (see StageMatch.containers). */
export function containerState(pod: KObject): "none" | "running" | "waiting" | "terminated" {
  const statuses: any[] = Array.isArray(pod.status?.containerStatuses) ? pod.status.containerStatuses : [];
  if (statuses.length === 0) return "none";
  if (statuses.some((c) => c?.state?.waiting)) return "waiting";
  if (statuses.every((c) => c?.state?.running)) return "running";
  if (statuses.every((c) => c?.state?.terminated)) return "terminated";
  return "none";
}

export function stageMatches(stage: Stage, pod: KObject): boolean {
  const m = stage.match;
  if (m.phases && !m.phases.includes(pod.status?.phase || "Pending")) return false;
  if (m.deleting !== undefined && Boolean(pod.metadata.deletionTimestamp) !== m.deleting) return false;
  if (m.annotations && !m.annotations.every((a) => pod.metadata.annotations?.[a] !== undefined)) return false;
  if (m.containers && containerState(pod) !== m.containers) return false;
  return true;
}

/** The first stage matching the pod, if any. */
export function selectStage(stages: readonly Stage[], pod: KObject): Stage | undefined {
  return stages.find((s) => stageMatches(s, pod));
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration ("5s", "1m30s", "250ms", "0"); undefined when malformed. */
export function parseDuration(s: string): number | undefined {
  const t = s.trim();
  if (t === "0") return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < t.length) {
    re.lastIndex = pos;
    const m = re.exec(t);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = re.lastIndex;
  }
  return pos === 0 ? undefined : total;
}

/** CrashLoopBackOff as the kubelet does it: 10 s, doubling per restart, capped at 5 min. */
export function crashLoopBackOffMs(restartCount: number, scale = 1): number {
  return Math.min(10_000 * 2 ** Math.max(0, restartCount - 1), 300_000) * scale;
}

/** The delay of a stage for this pod, in ms. `random` is injectable for tests. */
export function stageDelayMs(stage: Stage, pod: KObject, opts: { backoffScale?: number; random?: () => number } = {}): number {
  const d = stage.delay;
  let ms = d.ms ?? 0;
  if (d.fromAnnotation) {
    const v = pod.metadata.annotations?.[d.fromAnnotation];
    const parsed = v === undefined ? undefined : parseDuration(v);
    if (parsed !== undefined) ms = parsed;
  }
  if (d.fromGracePeriod) ms = (pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
  if (d.crashLoopBackOff) {
    const restarts = Math.max(0, ...((pod.status?.containerStatuses ?? []) as any[]).map((c) => Number(c?.restartCount) || 0));
    ms = crashLoopBackOffMs(restarts, opts.backoffScale ?? 1);
  }
  if (d.jitterMs) ms += Math.floor((opts.random ?? Math.random)() * d.jitterMs);
  if (d.maxMs !== undefined) ms = Math.min(ms, d.maxMs);
  return Math.max(0, ms);
}
