// The HorizontalPodAutoscaler controller, autoscaling/v2
// (https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/): every sync
// period it reads the target's scale subresource (replicas, selector), the selected pods
// and their usage from the resource metrics pipeline (a MetricsSource), computes
// desired = ceil(current × usage/target) per metric (tolerance 0.1, not-ready and missing
// pods treated conservatively as upstream's replica calculator does), takes the largest,
// then stabilizes and rate-limits it with spec.behavior (or, without one, the legacy
// 5-minute scale-down window and 2×/4-pod scale-up limit) and writes the new scale.
// Supported metrics: type Resource (cpu, memory) with target Utilization or AverageValue.

import type { KObject } from "../apimachinery/types.js";
import { nowRFC3339 } from "../apimachinery/types.js";
import { labelSelectorString } from "../apimachinery/labels.js";
import { formatQuantity, quantityFromMillis, toMillis } from "../apimachinery/quantity.js";
import type { Controller, ReconcileContext } from "../client/controller.js";
import type { MetricsSource } from "../apiserver/metrics.js";

const HPA = "autoscaling/v2/horizontalpodautoscalers";
const TOLERANCE = 0.1;
/** --horizontal-pod-autoscaler-downscale-stabilization, used when spec.behavior is absent. */
const LEGACY_DOWNSCALE_WINDOW_MS = 300_000;

export interface HPAOptions {
  metrics: MetricsSource;
  /** --horizontal-pod-autoscaler-sync-period (default 15 s). */
  syncPeriodMs?: number;
}

interface Recommendation {
  replicas: number;
  at: number;
}
interface ScaleEvent {
  change: number;
  at: number;
}
interface Rule {
  stabilizationWindowSeconds?: number;
  selectPolicy?: "Max" | "Min" | "Disabled";
  policies?: { type: "Pods" | "Percent"; value: number; periodSeconds: number }[];
}
interface Condition {
  type: string;
  status: "True" | "False";
  reason: string;
  message: string;
  lastTransitionTime?: string;
}

/** Kind → plural resource of a scale target ("Deployment" → "deployments"). */
function targetGVR(ref: any): string {
  const apiVersion = String(ref?.apiVersion ?? "apps/v1");
  return `${apiVersion}/${String(ref?.kind ?? "").toLowerCase()}s`;
}

/** The scale subresource's view of a workload: spec.replicas and the selector string. */
function scaleOf(target: KObject): { replicas: number; selector: string } {
  const sel = target.spec?.selector;
  const isLabelSelector = sel && typeof sel === "object" && ("matchLabels" in sel || "matchExpressions" in sel);
  return {
    replicas: typeof target.spec?.replicas === "number" ? target.spec.replicas : 1,
    selector: labelSelectorString(isLabelSelector ? sel : { matchLabels: sel ?? {} }),
  };
}

function isReady(pod: KObject): boolean {
  return (pod.status?.conditions ?? []).some((c: any) => c?.type === "Ready" && c.status === "True");
}

/** Sum of the containers' requests for a resource, in milli-units; undefined when any container lacks one. */
function podRequestMillis(pod: KObject, resource: string): number | undefined {
  let sum = 0;
  for (const c of pod.spec?.containers ?? []) {
    const q = c?.resources?.requests?.[resource];
    if (q === undefined) return undefined;
    sum += toMillis(q);
  }
  return sum;
}

interface MetricResult {
  replicas: number;
  /** currentMetrics entry. */
  status: object;
  /** Name used in event messages, as upstream's rescale reason. */
  name: string;
}

/**
 * One Resource metric (upstream GetResourceReplicas/GetRawResourceReplicas): usage of the
 * ready pods with metrics against the target; missing pods count as at-target when scaling
 * down and as idle when scaling up; not-ready pods count as idle, only when scaling up.
 */
function resourceReplicas(metric: any, pods: KObject[], usage: Map<string, number>, currentReplicas: number): MetricResult {
  const resource = String(metric.resource?.name ?? "");
  const target = metric.resource?.target ?? {};
  const utilization = target.type === "Utilization";
  if (resource !== "cpu" && resource !== "memory") throw new Error(`unsupported resource ${resource}`);
  if (!utilization && target.type !== "AverageValue") throw new Error(`unsupported target type ${target.type} for resource ${resource}`);
  const targetPct = Number(target.averageUtilization ?? 0);
  const targetAvg = utilization ? 0 : toMillis(target.averageValue ?? "0");

  const ready: string[] = [];
  const unready: string[] = [];
  const missing: string[] = [];
  const requests = new Map<string, number>();
  for (const p of pods) {
    if (p.metadata.deletionTimestamp || p.status?.phase === "Failed" || p.status?.phase === "Succeeded") continue;
    const name = p.metadata.name!;
    if (utilization) {
      const r = podRequestMillis(p, resource);
      if (r === undefined || r === 0) throw new Error(`missing request for ${resource} in pod ${name}`);
      requests.set(name, r);
    }
    // Pending pods never count; a not-Ready pod's CPU is start-up noise (upstream's
    // cpuInitializationPeriod, simplified to the Ready condition).
    if (p.status?.phase === "Pending" || p.status?.phase === undefined) unready.push(name);
    else if (!usage.has(name)) missing.push(name);
    else if (resource === "cpu" && !isReady(p)) unready.push(name);
    else ready.push(name);
  }
  if (ready.length === 0) throw new Error(`did not receive metrics for targeted pods (pods might be unready)`);
  // Each pod's "fair share" of the target, so one ratio serves Utilization and AverageValue.
  const targetOf = (name: string) => (utilization ? (requests.get(name)! * targetPct) / 100 : targetAvg);
  let used = 0;
  let wanted = 0;
  let requested = 0;
  for (const n of ready) {
    used += usage.get(n)!;
    wanted += targetOf(n);
    requested += requests.get(n) ?? 0;
  }
  const ratio = wanted > 0 ? used / wanted : 0;
  const avg = used / ready.length;
  const current = utilization ? { averageUtilization: Math.floor((used * 100) / requested), averageValue: quantityString(avg, resource) } : { averageValue: quantityString(avg, resource) };
  const status = { type: "Resource", resource: { name: resource, current } };
  const name = utilization ? `${resource} resource utilization (percentage of request)` : `${resource} resource`;

  let replicas: number;
  const rebalance = missing.length > 0 || (ratio > 1 && unready.length > 0);
  if (!rebalance) {
    replicas = Math.abs(1 - ratio) <= TOLERANCE ? currentReplicas : Math.ceil(ratio * ready.length);
  } else {
    let used2 = used;
    let wanted2 = wanted;
    for (const n of missing) {
      if (ratio < 1) used2 += targetOf(n);
      wanted2 += targetOf(n);
    }
    if (ratio > 1) for (const n of unready) wanted2 += targetOf(n);
    const ratio2 = wanted2 > 0 ? used2 / wanted2 : 0;
    const count = ready.length + missing.length + (ratio > 1 ? unready.length : 0);
    // No scaling when filling in the blanks brings us within tolerance or flips the direction.
    if (Math.abs(1 - ratio2) <= TOLERANCE || (ratio < 1 && ratio2 > 1) || (ratio > 1 && ratio2 < 1)) replicas = currentReplicas;
    else replicas = Math.ceil(ratio2 * count);
    if ((ratio < 1 && replicas > currentReplicas) || (ratio > 1 && replicas < currentReplicas)) replicas = currentReplicas;
  }
  return { replicas, status, name };
}

function quantityString(millis: number, resource: string): string {
  if (resource === "memory") return String(Math.round(millis / 1000));
  return formatQuantity(quantityFromMillis(Math.round(millis)));
}

function setCondition(conds: Condition[], c: Condition, now: string): void {
  const i = conds.findIndex((x) => x.type === c.type);
  const prev = i >= 0 ? conds[i] : undefined;
  const next = { ...c, lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now };
  if (i >= 0) conds[i] = next;
  else conds.push(next);
}

function changeInPeriod(events: ScaleEvent[], periodSeconds: number, now: number): number {
  const cutoff = now - periodSeconds * 1000;
  return events.filter((e) => e.at > cutoff).reduce((s, e) => s + e.change, 0);
}

function scaleUpLimit(current: number, events: ScaleEvent[], rule: Rule, now: number): number {
  if (rule.selectPolicy === "Disabled") return current;
  const pick = rule.selectPolicy === "Min" ? Math.min : Math.max;
  let result = rule.selectPolicy === "Min" ? Infinity : -Infinity;
  for (const p of rule.policies ?? []) {
    const start = current - changeInPeriod(events, p.periodSeconds, now);
    const proposed = p.type === "Pods" ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    result = pick(result, proposed);
  }
  return Number.isFinite(result) ? result : current;
}

function scaleDownLimit(current: number, events: ScaleEvent[], rule: Rule, now: number): number {
  if (rule.selectPolicy === "Disabled") return current;
  // "Min" selects the policy allowing the smallest change: the highest floor.
  const pick = rule.selectPolicy === "Min" ? Math.max : Math.min;
  let result = rule.selectPolicy === "Min" ? -Infinity : Infinity;
  for (const p of rule.policies ?? []) {
    const start = current + changeInPeriod(events, p.periodSeconds, now);
    const proposed = p.type === "Pods" ? start - p.value : Math.floor(start * (1 - p.value / 100));
    result = pick(result, proposed);
  }
  return Number.isFinite(result) ? result : current;
}

interface Limited {
  replicas: number;
  reason: string;
  message: string;
}

function clampWithBehavior(current: number, desired: number, min: number, max: number, up: Rule, down: Rule, ups: ScaleEvent[], downs: ScaleEvent[], now: number): Limited {
  if (desired > current) {
    const limit = Math.max(current, scaleUpLimit(current, ups, up, now));
    const allowed = Math.min(max, limit);
    if (desired > allowed) {
      return max > limit
        ? { replicas: allowed, reason: "ScaleUpLimit", message: "the desired replica count is increasing faster than the maximum scale rate" }
        : { replicas: allowed, reason: "TooManyReplicas", message: "the desired replica count is more than the maximum replica count" };
    }
  } else if (desired < current) {
    const limit = Math.min(current, scaleDownLimit(current, downs, down, now));
    const allowed = Math.max(min, limit);
    if (desired < allowed) {
      return min < limit
        ? { replicas: allowed, reason: "ScaleDownLimit", message: "the desired replica count is decreasing faster than the maximum scale rate" }
        : { replicas: allowed, reason: "TooFewReplicas", message: "the desired replica count is less than the minimum replica count" };
    }
  }
  return withinRange(desired, min, max);
}

function withinRange(desired: number, min: number, max: number): Limited {
  if (desired > max) return { replicas: max, reason: "TooManyReplicas", message: "the desired replica count is more than the maximum replica count" };
  if (desired < min) return { replicas: min, reason: "TooFewReplicas", message: "the desired replica count is less than the minimum replica count" };
  return { replicas: desired, reason: "DesiredWithinRange", message: "the desired count is within the acceptable range" };
}

export function hpaController(opts: HPAOptions): Controller {
  const period = opts.syncPeriodMs ?? 15_000;
  // Controller memory, as upstream keeps it: recommendation history and recent scale events.
  const recommendations = new Map<string, Recommendation[]>();
  const upEvents = new Map<string, ScaleEvent[]>();
  const downEvents = new Map<string, ScaleEvent[]>();
  const lastSync = new Map<string, number>();

  function podUsage(namespace: string, resource: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const p of opts.metrics.podMetrics()) {
      if (p.namespace !== namespace) continue;
      let sum = 0;
      for (const c of p.containers) sum += toMillis(resource === "cpu" ? c.usage.cpu : c.usage.memory);
      out.set(p.name, sum);
    }
    return out;
  }

  /** Stabilization over the recommendation history (upstream stabilizeRecommendationWithBehaviors). */
  function stabilize(key: string, current: number, desired: number, upWindowMs: number, downWindowMs: number, now: number): number {
    const recs = recommendations.get(key) ?? [{ replicas: current, at: now }];
    let upRec = desired;
    let downRec = desired;
    for (const r of recs) {
      if (r.at > now - upWindowMs) upRec = Math.min(upRec, r.replicas);
      if (r.at > now - downWindowMs) downRec = Math.max(downRec, r.replicas);
    }
    const keepMs = Math.max(upWindowMs, downWindowMs);
    recommendations.set(key, [...recs.filter((r) => r.at > now - keepMs), { replicas: desired, at: now }]);
    return Math.min(Math.max(current, upRec), downRec);
  }

  function recordScale(key: string, behavior: any, from: number, to: number, now: number): void {
    if (!behavior) return;
    const up = to > from;
    const map = up ? upEvents : downEvents;
    const rule: Rule = (up ? behavior.scaleUp : behavior.scaleDown) ?? {};
    const longest = Math.max(0, ...(rule.policies ?? []).map((p) => p.periodSeconds)) * 1000;
    map.set(key, [...(map.get(key) ?? []).filter((e) => e.at > now - longest), { change: Math.abs(to - from), at: now }]);
  }

  return {
    name: "horizontalpodautoscaling",
    for: HPA,
    reads: ["v1/pods"],
    async reconcile(ctx: ReconcileContext, key) {
      const id = `${key.namespace}/${key.name}`;
      const hpa = ctx.reader.get(HPA, key.namespace, key.name);
      const now = ctx.clock.now();
      if (!hpa || hpa.metadata.deletionTimestamp) {
        for (const m of [recommendations, upEvents, downEvents, lastSync]) m.delete(id);
        return;
      }
      // At most one evaluation per sync period, however often the object changes.
      const last = lastSync.get(id);
      if (last !== undefined && now - last < period) return { requeueAfter: period - (now - last) };
      lastSync.set(id, now);
      await syncHPA(ctx, hpa, id, now);
      return { requeueAfter: period };
    },
  };

  async function syncHPA(ctx: ReconcileContext, hpa: KObject, id: string, now: number): Promise<void> {
    const ns = hpa.metadata.namespace!;
    const spec = hpa.spec ?? {};
    const nowStr = nowRFC3339(new Date(now));
    const conds: Condition[] = structuredClone(hpa.status?.conditions ?? []);
    const ref = spec.scaleTargetRef ?? {};
    const gvr = targetGVR(ref);
    const minReplicas = typeof spec.minReplicas === "number" ? spec.minReplicas : 1;
    const maxReplicas = Number(spec.maxReplicas ?? minReplicas);
    const writeStatus = async (status: Record<string, unknown>) => {
      const next = { ...hpa, status: { ...(hpa.status ?? {}), ...status, conditions: conds } };
      if (hpa.metadata.generation !== undefined) (next.status as any).observedGeneration = hpa.metadata.generation;
      await ctx.client.updateStatus(HPA, next);
    };

    let target: KObject;
    try {
      target = await ctx.client.get(gvr, ns, String(ref.name ?? ""));
    } catch (e) {
      const msg = `the HPA controller was unable to get the target's current scale: ${(e as Error).message}`;
      setCondition(conds, { type: "AbleToScale", status: "False", reason: "FailedGetScale", message: msg }, nowStr);
      ctx.recorder.event(hpa, "Warning", "FailedGetScale", (e as Error).message);
      await writeStatus({});
      return;
    }
    const scale = scaleOf(target);
    const current = scale.replicas;
    setCondition(conds, { type: "AbleToScale", status: "True", reason: "SucceededGetScale", message: "the HPA controller was able to get the target's current scale" }, nowStr);

    let desired: number;
    let rescaleReason = "";
    let currentMetrics: object[] | undefined = hpa.status?.currentMetrics;
    if (current === 0 && minReplicas !== 0) {
      desired = 0;
      setCondition(conds, { type: "ScalingActive", status: "False", reason: "ScalingDisabled", message: "scaling is disabled since the replica count of the target is zero" }, nowStr);
    } else if (current > maxReplicas) {
      desired = maxReplicas;
      rescaleReason = "Current number of replicas above Spec.MaxReplicas";
    } else if (current < minReplicas) {
      desired = minReplicas;
      rescaleReason = "Current number of replicas below Spec.MinReplicas";
    } else {
      const pods = ctx.reader.list("v1/pods", { namespace: ns, labels: scale.selector });
      const results: MetricResult[] = [];
      const errors: string[] = [];
      const usageByResource = new Map<string, Map<string, number>>();
      for (const m of spec.metrics ?? []) {
        try {
          if (m?.type !== "Resource") throw new Error(`metric type ${m?.type} is not supported`);
          const res = String(m.resource?.name);
          if (!usageByResource.has(res)) usageByResource.set(res, podUsage(ns, res));
          results.push(resourceReplicas(m, pods, usageByResource.get(res)!, current));
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
      if (errors.length && (!results.length || errors.length === (spec.metrics ?? []).length)) {
        const msg = `the HPA was unable to compute the replica count: ${errors[0]}`;
        setCondition(conds, { type: "ScalingActive", status: "False", reason: "FailedGetResourceMetric", message: msg }, nowStr);
        ctx.recorder.event(hpa, "Warning", "FailedGetResourceMetric", errors[0]!);
        ctx.recorder.event(hpa, "Warning", "FailedComputeMetricsReplicas", msg);
        await writeStatus({ currentReplicas: current, desiredReplicas: hpa.status?.desiredReplicas ?? current });
        return;
      }
      currentMetrics = results.map((r) => r.status);
      const best = results.reduce((a, b) => (b.replicas > a.replicas ? b : a));
      const proposal = best.replicas;
      setCondition(conds, { type: "ScalingActive", status: "True", reason: "ValidMetricFound", message: `the HPA was able to successfully calculate a replica count from ${best.name}` }, nowStr);

      let stabilized: number;
      let limited: Limited;
      const behavior = spec.behavior;
      if (behavior) {
        const up: Rule = behavior.scaleUp ?? {};
        const down: Rule = behavior.scaleDown ?? {};
        stabilized = stabilize(id, current, proposal, (up.stabilizationWindowSeconds ?? 0) * 1000, (down.stabilizationWindowSeconds ?? 300) * 1000, now);
        limited = clampWithBehavior(current, stabilized, minReplicas, maxReplicas, up, down, upEvents.get(id) ?? [], downEvents.get(id) ?? [], now);
      } else {
        stabilized = stabilize(id, current, proposal, 0, LEGACY_DOWNSCALE_WINDOW_MS, now);
        const limit = Math.max(2 * current, 4);
        limited =
          stabilized > Math.min(maxReplicas, limit)
            ? maxReplicas > limit
              ? { replicas: limit, reason: "ScaleUpLimit", message: "the desired replica count is increasing faster than the maximum scale rate" }
              : { replicas: maxReplicas, reason: "TooManyReplicas", message: "the desired replica count is more than the maximum replica count" }
            : withinRange(stabilized, minReplicas, maxReplicas);
      }
      if (stabilized !== proposal) {
        const upward = stabilized < proposal;
        setCondition(
          conds,
          upward
            ? { type: "AbleToScale", status: "True", reason: "ScaleUpStabilized", message: "recent recommendations were lower than current one, applying the lowest recent recommendation" }
            : { type: "AbleToScale", status: "True", reason: "ScaleDownStabilized", message: "recent recommendations were higher than current one, applying the highest recent recommendation" },
          nowStr,
        );
      } else {
        setCondition(conds, { type: "AbleToScale", status: "True", reason: "ReadyForNewScale", message: "recommended size matches current size" }, nowStr);
      }
      setCondition(conds, { type: "ScalingLimited", status: limited.reason === "DesiredWithinRange" ? "False" : "True", reason: limited.reason, message: limited.message }, nowStr);
      desired = limited.replicas;
      rescaleReason = desired > current ? `${best.name} above target` : "All metrics below target";
    }

    let lastScaleTime = hpa.status?.lastScaleTime;
    if (desired !== current && rescaleReason) {
      try {
        await ctx.client.patch(gvr, ns, String(ref.name), "merge", { spec: { replicas: desired } }, { subresource: "scale" });
      } catch (e) {
        const msg = `the HPA controller was unable to update the target scale: ${(e as Error).message}`;
        setCondition(conds, { type: "AbleToScale", status: "False", reason: "FailedUpdateScale", message: msg }, nowStr);
        ctx.recorder.event(hpa, "Warning", "FailedRescale", `New size: ${desired}; reason: ${rescaleReason}; error: ${(e as Error).message}`);
        await writeStatus({ currentReplicas: current, desiredReplicas: desired, ...(currentMetrics ? { currentMetrics } : {}) });
        return;
      }
      setCondition(conds, { type: "AbleToScale", status: "True", reason: "SucceededRescale", message: `the HPA controller was able to update the target scale to ${desired}` }, nowStr);
      ctx.recorder.event(hpa, "Normal", "SuccessfulRescale", `New size: ${desired}; reason: ${rescaleReason}`);
      recordScale(id, spec.behavior, current, desired, now);
      lastScaleTime = nowStr;
    }
    await writeStatus({
      currentReplicas: current,
      desiredReplicas: desired,
      ...(currentMetrics ? { currentMetrics } : {}),
      ...(lastScaleTime ? { lastScaleTime } : {}),
    });
  }
}
