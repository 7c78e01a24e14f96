// The hollow pod worker: what a kubelet does with the pods bound to its node
// (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/), minus the
// containers. One driver serves every hollow node in the process off one shared pod
// informer (indexed by spec.nodeName), moves each pod through the stages of stages.ts
// (Pending → Running, exits with restartPolicy semantics and CrashLoopBackOff, graceful
// deletion finished with grace 0), hands out pod IPs from the node's podCIDR, and
// publishes synthetic usage in `hollowMetrics` for the resource metrics API
// (https://kubernetes.io/docs/tasks/debug/debug-cluster/resource-metrics-pipeline/).

import type { KObject } from "../../apimachinery/types.js";
import { parseQuantity, formatQuantity, type Quantity } from "../../apimachinery/quantity.js";
import type { Client } from "../../client/types.js";
import type { Clock, Timer } from "../../client/clock.js";
import { keyOf, type Informer } from "../../client/informer.js";
import { silentLogger, type Logger } from "../../client/runnable.js";
import { CPU_USAGE_ANNOTATION, EXIT_CODE_ANNOTATION, MEMORY_USAGE_ANNOTATION, selectStage, stageDelayMs, type Stage } from "./stages.js";

const PODS = "v1/pods";

// ---------------------------------------------------------------------------------------
// Synthetic usage for the metrics API

export interface HollowUsage {
  node: string;
  /** Pod totals as quantities ("250m", "64Mi"). */
  cpu: string;
  memory: string;
  /** Sampling window, as the metrics API reports it. */
  window: string;
  /** When the sample was taken (RFC 3339). */
  timestamp: string;
  containers: { name: string; cpu: string; memory: string }[];
}

/** podKey ("ns/name") → usage of running hollow pods; read by the metrics API. */
export const hollowMetrics = new Map<string, HollowUsage>();

const DEFAULT_CPU = "1m";
const DEFAULT_MEMORY = "8Mi";

function quantityOr(v: string | undefined, fallback: string): Quantity {
  try {
    return parseQuantity(v ?? fallback);
  } catch {
    return parseQuantity(fallback);
  }
}

/** The annotations give each container's usage; the pod total is their sum. */
function usageOf(pod: KObject, node: string, now: number): HollowUsage {
  const ann = pod.metadata.annotations ?? {};
  const cpu = quantityOr(ann[CPU_USAGE_ANNOTATION], DEFAULT_CPU);
  const mem = quantityOr(ann[MEMORY_USAGE_ANNOTATION], DEFAULT_MEMORY);
  const names: string[] = (pod.spec?.containers ?? []).map((c: any) => String(c?.name ?? ""));
  const n = BigInt(Math.max(1, names.length));
  return {
    node,
    cpu: formatQuantity({ nanos: cpu.nanos * n, format: cpu.format }),
    memory: formatQuantity({ nanos: mem.nanos * n, format: mem.format }),
    window: "30s",
    timestamp: new Date(now).toISOString(),
    containers: names.map((name) => ({ name, cpu: formatQuantity(cpu), memory: formatQuantity(mem) })),
  };
}

// ---------------------------------------------------------------------------------------
// Pod IPs from a node's podCIDR

function ipToInt(ip: string): number {
  return ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** "10.42.3.0/24" → {base, size}; undefined when not an IPv4 CIDR. */
export function parseCIDR(cidr: string): { base: number; bits: number; size: number } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return undefined;
  const bits = Number(m[5]);
  if (bits > 32 || m.slice(1, 5).some((o) => Number(o) > 255)) return undefined;
  const size = 2 ** (32 - bits);
  const base = ipToInt(`${m[1]}.${m[2]}.${m[3]}.${m[4]}`);
  return { base: base - (base % size), bits, size };
}

/** Per-node IP bookkeeping: network and broadcast addresses are skipped, freed IPs reused. */
class PodIPPool {
  private byPod = new Map<string, number>();
  private used = new Set<number>();
  private next = 1;
  constructor(readonly cidr: string) {}

  allocate(podKey: string): string | undefined {
    const c = parseCIDR(this.cidr);
    if (!c) return undefined;
    const have = this.byPod.get(podKey);
    if (have !== undefined) return intToIp(c.base + have);
    const usable = Math.max(1, c.size - 2);
    for (let i = 0; i < usable; i++) {
      const off = ((this.next - 1 + i) % usable) + 1;
      if (this.used.has(off)) continue;
      this.used.add(off);
      this.byPod.set(podKey, off);
      this.next = (off % usable) + 1;
      return intToIp(c.base + off);
    }
    return undefined;
  }

  release(podKey: string): void {
    const off = this.byPod.get(podKey);
    if (off === undefined) return;
    this.byPod.delete(podKey);
    this.used.delete(off);
  }
}

// ---------------------------------------------------------------------------------------
// The driver

/** What the driver needs to know about a hollow node. */
export interface HollowNodeView {
  readonly name: string;
  readonly hostIP: string;
  /** The node's pod range once known (self-chosen or assigned by the node controller). */
  podCIDR(): string | undefined;
}

export interface HollowPodDriverOptions {
  client: Client;
  /** The shared "v1/pods" informer (from SharedInformerFactory, with the nodeName index). */
  pods: Informer;
  clock: Clock;
  stages: readonly Stage[];
  /** Looks up a hollow node of this process by name (undefined: not ours). */
  nodeFor(name: string): HollowNodeView | undefined;
  backoffScale?: number;
  /** Retry delay after a failed transition (ms, default 1 s). */
  retryMs?: number;
  log?: Logger;
  random?: () => number;
}

interface Pending {
  stage: string;
  timer: Timer;
}

function code(err: unknown): number | undefined {
  return (err as { code?: number })?.code;
}

export class HollowPodDriver {
  private pending = new Map<string, Pending>();
  /** podKey → "stage@resourceVersion" of the last transition written, so stale cache reads do not repeat it. */
  private applied = new Map<string, string>();
  private pools = new Map<string, PodIPPool>();
  private handle?: { remove(): void };
  private stopped = false;
  private readonly log: Logger;

  constructor(private readonly o: HollowPodDriverOptions) {
    this.log = o.log ?? silentLogger;
  }

  /** Attaches to the pod informer; pods already cached are evaluated at once. */
  start(): void {
    this.stopped = false;
    this.handle = this.o.pods.addEventHandler({
      onAdd: (p) => this.evaluate(p),
      onUpdate: (_o, p) => this.evaluate(p),
      onDelete: (p) => this.forget(p),
    });
  }

  stop(): void {
    this.stopped = true;
    this.handle?.remove();
    for (const p of this.pending.values()) p.timer.stop();
    this.pending.clear();
  }

  /** Re-evaluates every pod bound to this node (after it registered or got its podCIDR). */
  resyncNode(nodeName: string): void {
    if (!this.o.pods.store.hasIndex("nodeName")) return;
    for (const p of this.o.pods.store.byIndex("nodeName", nodeName)) this.evaluate(p);
  }

  private evaluate(pod: KObject): void {
    if (this.stopped) return;
    const nodeName = pod.spec?.nodeName;
    if (!nodeName || !this.o.nodeFor(nodeName)) return;
    const key = keyOf(pod);
    // Usage follows the pod's annotations while it runs (tests raise CPU to drive the HPA).
    if (hollowMetrics.has(key) && !pod.metadata.deletionTimestamp) hollowMetrics.set(key, usageOf(pod, nodeName, this.o.clock.now()));
    const stage = selectStage(this.o.stages, pod);
    const pending = this.pending.get(key);
    if (pending && pending.stage === stage?.name) return; // already waiting for this transition
    pending?.timer.stop();
    this.pending.delete(key);
    if (!stage) return;
    if (this.applied.get(key) === `${stage.name}@${pod.metadata.resourceVersion}`) return;
    const delay = stageDelayMs(stage, pod, { backoffScale: this.o.backoffScale, random: this.o.random });
    this.schedule(key, stage, delay);
  }

  private schedule(key: string, stage: Stage, delay: number): void {
    const timer = this.o.clock.setTimer(() => void this.fire(key, stage), delay);
    this.pending.set(key, { stage: stage.name, timer });
  }

  private async fire(key: string, stage: Stage): Promise<void> {
    if (this.stopped) return;
    const pod = this.o.pods.store.getByKey(key);
    const current = pod ? selectStage(this.o.stages, pod) : undefined;
    if (!pod || current?.name !== stage.name) {
      this.pending.delete(key);
      if (pod) this.evaluate(pod);
      return;
    }
    const node = this.o.nodeFor(pod.spec?.nodeName);
    if (!node) return;
    let ok = false;
    try {
      ok = await this.apply(stage, pod, node);
    } catch (err) {
      if (code(err) === 404) ok = true; // gone already: nothing left to do
      else this.log.error("hollow pod transition failed", { pod: key, stage: stage.name, error: String((err as Error)?.message ?? err) });
    }
    if (this.pending.get(key)?.stage !== stage.name) return; // superseded while writing
    this.pending.delete(key);
    if (ok) this.applied.set(key, `${stage.name}@${pod.metadata.resourceVersion}`);
    else if (!this.stopped) this.schedule(key, stage, this.o.retryMs ?? 1_000);
  }

  private forget(pod: KObject): void {
    const key = keyOf(pod);
    this.pending.get(key)?.timer.stop();
    this.pending.delete(key);
    this.applied.delete(key);
    hollowMetrics.delete(key);
    const nodeName = pod.spec?.nodeName;
    if (nodeName) this.pools.get(nodeName)?.release(key);
  }

  private allocateIP(node: HollowNodeView, pod: KObject): string | undefined {
    if (pod.spec?.hostNetwork) return node.hostIP;
    const cidr = node.podCIDR();
    if (!cidr) return undefined;
    let pool = this.pools.get(node.name);
    if (!pool || pool.cidr !== cidr) this.pools.set(node.name, (pool = new PodIPPool(cidr)));
    return pool.allocate(keyOf(pod));
  }

  /** Applies one transition; false means "try again later". */
  private async apply(stage: Stage, pod: KObject, node: HollowNodeView): Promise<boolean> {
    const ns = pod.metadata.namespace!;
    const name = pod.metadata.name!;
    const nowMs = this.o.clock.now();
    const now = rfc3339(nowMs);
    const key = keyOf(pod);
    switch (stage.next) {
      case "delete": {
        await this.o.client.delete(PODS, ns, name, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
        hollowMetrics.delete(key);
        return true;
      }
      case "start": {
        const ip = this.allocateIP(node, pod);
        if (!ip) return false; // no podCIDR yet (waiting for the node controller) or range full
        await this.patchStatus(ns, name, runningStatus(pod, node, ip, now));
        hollowMetrics.set(key, usageOf(pod, node.name, nowMs));
        return true;
      }
      case "exit": {
        await this.patchStatus(ns, name, exitedStatus(pod, now));
        hollowMetrics.delete(key);
        return true;
      }
      case "restart": {
        await this.patchStatus(ns, name, restartedStatus(pod, now));
        hollowMetrics.set(key, usageOf(pod, node.name, nowMs));
        return true;
      }
    }
  }

  private async patchStatus(ns: string, name: string, status: Record<string, unknown>): Promise<void> {
    // A merge patch on status/ needs no resourceVersion: the node owns these fields.
    await this.o.client.patch(PODS, ns, name, "merge", { status }, { subresource: "status", fieldManager: "hollow-kubelet" });
  }
}

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function condition(type: string, status: "True" | "False", now: string, reason?: string): Record<string, unknown> {
  return { type, status, lastProbeTime: null, lastTransitionTime: now, ...(reason ? { reason } : {}) };
}

function containerID(pod: KObject, c: string, restarts: number): string {
  return `hollow://${pod.metadata.uid ?? pod.metadata.name}-${c}-${restarts}`;
}

function initStatuses(pod: KObject, now: string): unknown[] | undefined {
  const inits: any[] = pod.spec?.initContainers ?? [];
  if (!inits.length) return undefined;
  return inits.map((c) => ({
    name: c.name,
    image: c.image,
    imageID: `hollow://${c.image}`,
    containerID: containerID(pod, c.name, 0),
    ready: true,
    started: false,
    restartCount: 0,
    state: { terminated: { exitCode: 0, reason: "Completed", startedAt: now, finishedAt: now, containerID: containerID(pod, c.name, 0) } },
  }));
}

function runningStatus(pod: KObject, node: HollowNodeView, ip: string, now: string): Record<string, unknown> {
  const containers: any[] = pod.spec?.containers ?? [];
  return {
    phase: "Running",
    hostIP: node.hostIP,
    hostIPs: [{ ip: node.hostIP }],
    podIP: ip,
    podIPs: [{ ip }],
    startTime: pod.status?.startTime ?? now,
    conditions: [
      condition("PodReadyToStartContainers", "True", now),
      condition("Initialized", "True", now),
      condition("Ready", "True", now),
      condition("ContainersReady", "True", now),
      condition("PodScheduled", "True", now),
    ],
    initContainerStatuses: initStatuses(pod, now),
    containerStatuses: containers.map((c) => ({
      name: c.name,
      image: c.image,
      imageID: `hollow://${c.image}`,
      containerID: containerID(pod, c.name, 0),
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: now } },
    })),
  };
}

function exitCodeOf(pod: KObject): number {
  const n = Number(pod.metadata.annotations?.[EXIT_CODE_ANNOTATION] ?? 0);
  return Number.isInteger(n) && n >= 0 && n <= 255 ? n : 1;
}

function withConditions(pod: KObject, ready: "True" | "False", now: string, reason?: string): unknown[] {
  const conds: any[] = pod.status?.conditions ?? [];
  return conds.map((c) => {
    if (c.type !== "Ready" && c.type !== "ContainersReady") return c;
    if (c.status === ready) return c;
    return { ...c, status: ready, lastTransitionTime: now, reason: ready === "True" ? undefined : reason };
  });
}

/** Containers ended: terminal phase under Never (and OnFailure with 0), else CrashLoopBackOff. */
function exitedStatus(pod: KObject, now: string): Record<string, unknown> {
  const exitCode = exitCodeOf(pod);
  const policy = pod.spec?.restartPolicy ?? "Always";
  const terminal = policy === "Never" || (policy === "OnFailure" && exitCode === 0);
  const reason = exitCode === 0 ? "Completed" : "Error";
  const statuses = ((pod.status?.containerStatuses ?? []) as any[]).map((cs) => {
    const terminated = { exitCode, reason, startedAt: cs.state?.running?.startedAt ?? now, finishedAt: now, containerID: cs.containerID };
    if (terminal) return { ...cs, ready: false, started: false, state: { terminated } };
    const restartCount = (cs.restartCount ?? 0) + 1;
    return {
      ...cs,
      ready: false,
      started: false,
      restartCount,
      lastState: { terminated },
      state: { waiting: { reason: "CrashLoopBackOff", message: `back-off restarting failed container ${cs.name} in pod ${pod.metadata.name}` } },
    };
  });
  if (terminal) {
    const phase = exitCode === 0 ? "Succeeded" : "Failed";
    return { phase, containerStatuses: statuses, conditions: withConditions(pod, "False", now, phase === "Succeeded" ? "PodCompleted" : "PodFailed") };
  }
  return { containerStatuses: statuses, conditions: withConditions(pod, "False", now, "ContainersNotReady") };
}

function restartedStatus(pod: KObject, now: string): Record<string, unknown> {
  const statuses = ((pod.status?.containerStatuses ?? []) as any[]).map((cs) =>
    cs.state?.waiting ? { ...cs, ready: true, started: true, containerID: containerID(pod, cs.name, cs.restartCount ?? 0), state: { running: { startedAt: now } } } : cs,
  );
  return { containerStatuses: statuses, conditions: withConditions(pod, "True", now) };
}
