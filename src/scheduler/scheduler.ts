// The scheduler as a Runnable, after kube-scheduler
// (https://kubernetes.io/docs/concepts/scheduling-eviction/kube-scheduler/). It watches
// pods and nodes through the shared informers, keeps the Snapshot cache current,
// queues pending pods whose schedulerName is ours, and for each one runs the framework
// (filter → score → select). A decision is *assumed* in the cache at once and the
// Binding (POST pods/NAME/binding) is written asynchronously, several in flight, so the
// hot path never waits for the API and reads nothing from it. A pod that fits nowhere
// gets PodScheduled=False/Unschedulable with the upstream message, a FailedScheduling
// event, and, if it outranks pods somewhere, preemption (nominatedNodeName + victims
// deleted); it then waits in the queue until the cluster changes.

import type { KObject } from "../apimachinery/types.js";
import { nowRFC3339 } from "../apimachinery/types.js";
import { selectorFromLabelSelector } from "../apimachinery/labels.js";
import type { Client } from "../client/types.js";
import type { SharedInformerFactory } from "../client/sharedinformers.js";
import type { Informer } from "../client/informer.js";
import { keyOf } from "../client/informer.js";
import type { EventRecorder } from "../client/events.js";
import { realClock, type Clock, type Timer } from "../client/clock.js";
import { silentLogger, type Logger, type Runnable } from "../client/runnable.js";
import { Framework, fitErrorMessage, type AttemptMetric, type Plugin } from "./framework.js";
import { Snapshot, podInfoFromPod, type PodInfo } from "./snapshot.js";
import { SchedulingQueue, type QueuedPod } from "./queue.js";
import { selectPreemption, type DisruptionBudget } from "./preemption.js";
import { defaultPlugins } from "./plugins/registry.js";

export const DEFAULT_SCHEDULER_NAME = "default-scheduler";
/** Assumed pods whose binding returned but never showed up bound are dropped after this. */
const ASSUMED_POD_TTL_MS = 30_000;
const LAST_ATTEMPTS_KEPT = 1000;

export interface SchedulerDeps {
  client: Client;
  informers: SharedInformerFactory;
  recorder?: EventRecorder;
  clock?: Clock;
  log?: Logger;
}

export interface SchedulerOptions {
  schedulerName?: string;
  plugins?: Plugin[];
  /** 0 = adaptive, as upstream. */
  percentageOfNodesToScore?: number;
  /** Binding calls allowed in flight at once. */
  maxInflightBinds?: number;
  preemption?: boolean;
}

export interface SchedulerStats {
  attempts: number;
  scheduled: number;
  unschedulable: number;
  bindErrors: number;
  preemptions: number;
}

function isTerminal(pod: KObject): boolean {
  const phase = pod.status?.phase;
  return phase === "Succeeded" || phase === "Failed";
}

/** Changes that can make a pending pod schedulable (anything but status and bookkeeping). */
function podChangeMatters(a: KObject, b: KObject): boolean {
  const strip = (p: KObject) => JSON.stringify([p.spec, p.metadata.labels, p.metadata.annotations, p.metadata.deletionTimestamp]);
  return strip(a) !== strip(b);
}

/** Node changes that can make parked pods schedulable (heartbeats are not among them). */
function nodeChangeMatters(a: KObject, b: KObject): boolean {
  const strip = (n: KObject) => JSON.stringify([n.metadata.labels, n.spec?.taints, n.spec?.unschedulable, n.status?.allocatable, n.status?.capacity]);
  return strip(a) !== strip(b);
}

export class Scheduler implements Runnable {
  readonly name = "scheduler";
  readonly needsLeader = true;
  readonly cache = new Snapshot();
  readonly queue: SchedulingQueue;
  readonly framework: Framework;
  readonly stats: SchedulerStats = { attempts: 0, scheduled: 0, unschedulable: 0, bindErrors: 0, preemptions: 0 };
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly schedulerName: string;
  private readonly maxInflight: number;
  private readonly lastAttempts = new Map<string, { metric: AttemptMetric; message?: string; node?: string }>();
  private inflight = new Set<Promise<void>>();
  private slotWaiter?: () => void;
  private pods?: Informer;
  private priorityClasses?: Informer;
  private pdbs?: Informer;

  constructor(
    private readonly deps: SchedulerDeps,
    private readonly opts: SchedulerOptions = {},
  ) {
    this.clock = deps.clock ?? realClock;
    this.log = deps.log ?? silentLogger;
    this.schedulerName = opts.schedulerName ?? DEFAULT_SCHEDULER_NAME;
    this.maxInflight = opts.maxInflightBinds ?? 32;
    this.queue = new SchedulingQueue(this.clock);
    this.framework = new Framework(opts.plugins ?? defaultPlugins(), { percentageOfNodesToScore: opts.percentageOfNodesToScore });
  }

  /** The last attempt's rejection counts for a pod ("ns/name"): the input of `tug why`. */
  lastAttempt(key: string): { metric: AttemptMetric; message?: string; node?: string } | undefined {
    return this.lastAttempts.get(key);
  }

  async start(signal: AbortSignal): Promise<void> {
    const inf = this.deps.informers;
    this.pods = inf.informerFor("v1/pods");
    const nodes = inf.informerFor("v1/nodes");
    const namespaces = inf.informerFor("v1/namespaces");
    this.priorityClasses = inf.informerFor("scheduling.k8s.io/v1/priorityclasses");
    if (this.opts.preemption !== false) this.pdbs = inf.informerFor("policy/v1/poddisruptionbudgets");
    // Claims, volumes and classes for VolumeBinding; a change may unblock parked pods.
    const claims = inf.informerFor("v1/persistentvolumeclaims");
    const volumes = inf.informerFor("v1/persistentvolumes");
    const classes = inf.informerFor("storage.k8s.io/v1/storageclasses");
    this.cache.volumes = {
      claim: (ns, name) => claims.store.get(ns, name),
      volume: (name) => volumes.store.get(undefined, name),
      storageClass: (name) => classes.store.get(undefined, name),
    };
    const storageChanged = { onAdd: () => this.queue.moveAllToActiveOrBackoff(), onUpdate: () => this.queue.moveAllToActiveOrBackoff() };
    const regs = [
      nodes.addEventHandler({
        onAdd: (n) => {
          this.cache.upsertNode(n);
          this.queue.moveAllToActiveOrBackoff();
        },
        onUpdate: (o, n) => {
          this.cache.upsertNode(n);
          if (nodeChangeMatters(o, n)) this.queue.moveAllToActiveOrBackoff();
        },
        onDelete: (n) => this.cache.removeNode(n.metadata.name ?? ""),
      }),
      this.pods.addEventHandler({
        onAdd: (p) => this.onPod(p),
        onUpdate: (o, p) => this.onPod(p, o),
        onDelete: (p) => this.onPodDelete(p),
      }),
      claims.addEventHandler(storageChanged),
      volumes.addEventHandler(storageChanged),
      classes.addEventHandler(storageChanged),
      namespaces.addEventHandler({
        onAdd: (ns) => this.cache.namespaceLabels.set(ns.metadata.name ?? "", ns.metadata.labels ?? {}),
        onUpdate: (_o, ns) => this.cache.namespaceLabels.set(ns.metadata.name ?? "", ns.metadata.labels ?? {}),
        onDelete: (ns) => this.cache.namespaceLabels.delete(ns.metadata.name ?? ""),
      }),
    ];
    // Idempotent: a no-op when the server already runs the factory.
    inf.start(signal);
    let expiry: Timer | undefined;
    const sweep = () => {
      for (const key of this.cache.expireAssumed(this.clock.now() - ASSUMED_POD_TTL_MS)) this.log.info("assumed pod expired", { pod: key });
      if (!signal.aborted) expiry = this.clock.setTimer(sweep, 10_000);
    };
    expiry = this.clock.setTimer(sweep, 10_000);
    try {
      if (!(await inf.waitForSync(signal, ["v1/pods", "v1/nodes"]))) return;
      this.log.info("scheduler started", { nodes: this.cache.numNodes() });
      await this.run(signal);
    } finally {
      expiry?.stop();
      this.queue.close();
      for (const r of regs) r.remove();
      await Promise.allSettled([...this.inflight]);
    }
  }

  private async run(signal: AbortSignal): Promise<void> {
    let sinceYield = 0;
    while (!signal.aborted) {
      const qp = await this.queue.pop(signal);
      if (!qp) return;
      this.scheduleOne(qp);
      // Let informer events and binding replies in now and then; wait when too many binds are out.
      if (++sinceYield >= 64) {
        sinceYield = 0;
        await new Promise<void>((r) => setImmediate(r));
      }
      while (this.inflight.size >= this.maxInflight && !signal.aborted) await new Promise<void>((r) => (this.slotWaiter = r));
    }
  }

  private responsible(pod: KObject): boolean {
    return (pod.spec?.schedulerName ?? DEFAULT_SCHEDULER_NAME) === this.schedulerName;
  }

  /** old: the previous state on updates (undefined on adds). */
  private onPod(pod: KObject, old?: KObject): void {
    const key = keyOf(pod);
    if (pod.spec?.nodeName) {
      this.queue.delete(key);
      if (isTerminal(pod)) {
        if (this.cache.removePod(key)) this.queue.moveAllToActiveOrBackoff();
      } else this.cache.upsertPod(podInfoFromPod(pod, this.priorityOf(pod)));
      return;
    }
    if (!this.responsible(pod) || this.cache.isAssumed(key)) return;
    if (pod.metadata.deletionTimestamp || isTerminal(pod)) {
      this.queue.delete(key);
      return;
    }
    this.queue.addOrUpdate(podInfoFromPod(pod, this.priorityOf(pod)), !old || podChangeMatters(old, pod));
  }

  private onPodDelete(pod: KObject): void {
    const key = keyOf(pod);
    this.queue.delete(key);
    this.lastAttempts.delete(key);
    if (this.cache.removePod(key)) this.queue.moveAllToActiveOrBackoff();
  }

  /** spec.priority (set by admission); else the PriorityClass or the global default, from the cache. */
  private priorityOf(pod: KObject): number {
    if (typeof pod.spec?.priority === "number") return pod.spec.priority;
    const store = this.priorityClasses?.store;
    if (!store) return 0;
    const name = pod.spec?.priorityClassName;
    if (name) return Number(store.get(undefined, name)?.value) || 0;
    for (const pc of store.list()) if (pc.globalDefault === true) return Number(pc.value) || 0;
    return 0;
  }

  /** One scheduling cycle: synchronous; binding and failure handling continue asynchronously. */
  scheduleOne(qp: QueuedPod): void {
    const info = qp.info;
    const live = this.pods?.store.getByKey(info.key);
    if (!live || live.spec?.nodeName || live.metadata.deletionTimestamp || this.cache.isAssumed(info.key)) {
      this.queue.done(info.key);
      return;
    }
    this.stats.attempts++;
    const result = this.framework.schedule(info, this.cache, () => this.clock.now());
    const node = result.node;
    if (node) {
      this.remember(info.key, { metric: result.metric, node });
      this.cache.assume(info, node);
      this.track(this.bind(qp, info, node));
      return;
    }
    this.stats.unschedulable++;
    let post: ReturnType<typeof selectPreemption> | undefined;
    if (this.opts.preemption !== false) post = selectPreemption(this.framework, this.cache, info, result.failures ?? new Map(), this.disruptionBudgets());
    const message = fitErrorMessage(this.cache.numNodes(), result.metric, post?.message);
    this.remember(info.key, { metric: result.metric, message });
    // Requeue only after the status is written, so a later successful bind cannot be
    // overtaken by this attempt's PodScheduled=False patch. Events meanwhile still count.
    this.track(this.recordFailure(live, info, message, post).finally(() => this.queue.requeue(qp, true)));
  }

  private remember(key: string, v: { metric: AttemptMetric; message?: string; node?: string }): void {
    this.lastAttempts.delete(key);
    this.lastAttempts.set(key, v);
    if (this.lastAttempts.size > LAST_ATTEMPTS_KEPT) this.lastAttempts.delete(this.lastAttempts.keys().next().value!);
  }

  private track(p: Promise<void>): void {
    this.inflight.add(p);
    void p.finally(() => {
      this.inflight.delete(p);
      const w = this.slotWaiter;
      this.slotWaiter = undefined;
      w?.();
    });
  }

  private async bind(qp: QueuedPod, info: PodInfo, node: string): Promise<void> {
    try {
      for (const plugin of this.framework.plugins) {
        for (const w of plugin.preBind?.(info, node, this.cache) ?? []) await this.deps.client.patch(w.gvr, w.namespace, w.name, "merge", w.patch);
      }
    } catch (err) {
      // A failed PreBind (a claim vanished, a conflict): un-assume and try the pod again later.
      this.cache.forget(info.key);
      this.queue.moveAllToActiveOrBackoff();
      const msg = String((err as Error)?.message ?? err);
      this.deps.recorder?.event(info.pod, "Warning", "FailedScheduling", `running PreBind plugins: ${msg}`);
      this.queue.requeue(qp, false);
      return;
    }
    try {
      await this.deps.client.createSubresource("v1/pods", info.namespace, info.name, "binding", {
        apiVersion: "v1",
        kind: "Binding",
        metadata: { name: info.name, namespace: info.namespace, uid: info.uid || undefined },
        target: { apiVersion: "v1", kind: "Node", name: node },
      });
      this.cache.finishBinding(info.key, this.clock.now());
      this.queue.done(info.key);
      this.stats.scheduled++;
      this.deps.recorder?.event(info.pod, "Normal", "Scheduled", `Successfully assigned ${info.namespace}/${info.name} to ${node}`);
    } catch (err) {
      this.cache.forget(info.key);
      this.stats.bindErrors++;
      // Its room is free again: parked pods may fit now.
      this.queue.moveAllToActiveOrBackoff();
      const code = (err as { code?: number }).code;
      const msg = String((err as Error)?.message ?? err);
      if (code === 404 || (code === 409 && /already assigned|being deleted|UID/.test(msg))) {
        this.queue.done(info.key);
        return;
      }
      this.log.error("binding failed", { pod: info.key, node, error: msg });
      this.deps.recorder?.event(info.pod, "Warning", "FailedScheduling", `Binding rejected: ${msg}`);
      this.queue.requeue(qp, false);
    }
  }

  private disruptionBudgets(): DisruptionBudget[] {
    const out: DisruptionBudget[] = [];
    for (const pdb of this.pdbs?.store.list() ?? []) {
      try {
        out.push({
          namespace: pdb.metadata.namespace ?? "",
          selector: selectorFromLabelSelector(pdb.spec?.selector),
          disruptionsAllowed: Number(pdb.status?.disruptionsAllowed) || 0,
        });
      } catch {
        // An invalid selector protects nothing.
      }
    }
    return out;
  }

  private async recordFailure(live: KObject, info: PodInfo, message: string, post?: ReturnType<typeof selectPreemption>): Promise<void> {
    const c = this.deps.client;
    const nominated = post?.nominatedNode;
    if (nominated && post!.victims.length) {
      this.stats.preemptions++;
      for (const v of post!.victims) {
        this.deps.recorder?.event(v.pod, "Normal", "Preempted", `Preempted by pod ${info.uid} on node ${nominated}`);
        try {
          // DisruptionTarget tells the victim's owner why it goes away (best-effort).
          await c.patch("v1/pods", v.namespace, v.name, "strategic", {
            status: { conditions: [{ type: "DisruptionTarget", status: "True", reason: "PreemptionByScheduler", message: `${this.schedulerName}: preempting to accommodate a higher priority pod`, lastTransitionTime: nowRFC3339(new Date(this.clock.now())) }] },
          }, { subresource: "status" }).catch(() => undefined);
          // The victim's own terminationGracePeriodSeconds applies.
          await c.delete("v1/pods", v.namespace, v.name, { preconditions: { uid: v.uid || undefined } });
        } catch (err) {
          if ((err as { code?: number }).code !== 404) this.log.error("deleting preemption victim failed", { pod: v.key, error: String(err) });
        }
      }
    }
    const cond = (live.status?.conditions ?? []).find((x: { type?: string }) => x.type === "PodScheduled");
    const sameCondition = cond?.status === "False" && cond.reason === "Unschedulable" && cond.message === message;
    const nominatedChanged = nominated !== undefined && nominated !== live.status?.nominatedNodeName;
    if (!sameCondition || nominatedChanged) {
      const status: Record<string, unknown> = {
        conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message, lastProbeTime: null, lastTransitionTime: nowRFC3339(new Date(this.clock.now())) }],
      };
      if (nominatedChanged) status.nominatedNodeName = nominated;
      try {
        await c.patch("v1/pods", info.namespace, info.name, "strategic", { status }, { subresource: "status" });
      } catch (err) {
        if ((err as { code?: number }).code !== 404) this.log.error("updating pod status failed", { pod: info.key, error: String(err) });
      }
    }
    this.deps.recorder?.event(live, "Warning", "FailedScheduling", message);
  }
}

/** The scheduler Runnable for the server (leader-only). */
export function schedulerRunnable(deps: SchedulerDeps, opts: SchedulerOptions = {}): Runnable {
  return new Scheduler(deps, opts);
}
