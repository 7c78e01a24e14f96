// The Job controller (https://kubernetes.io/docs/concepts/workloads/controllers/job/):
// runs pods until `completions` succeed (NonIndexed) or every index 0..completions-1 has
// succeeded (Indexed), at most `parallelism` at a time. Failed pods are replaced after an
// exponential back-off (10 s doubling, capped at 6 min, on ctx.clock) until
// `backoffLimit` is exceeded; `podFailurePolicy` rules can fail the job at once, ignore a
// failure or count it. `activeDeadlineSeconds`, `suspend` and `ttlSecondsAfterFinished`
// are honoured. Pods carry the batch.kubernetes.io/job-tracking finalizer so a finished
// pod is counted exactly once: its uid goes into status.uncountedTerminatedPods, then the
// finalizer is removed, then the uid moves into the succeeded/failed counters (upstream's
// three-step tracking, crash-safe at every step).

import { isStatusError } from "../apimachinery/errors.js";
import { selectorFromLabelSelector } from "../apimachinery/labels.js";
import { deepCopy, nowRFC3339, type KObject } from "../apimachinery/types.js";
import type { Controller, ReconcileContext, ReconcileResult } from "../client/controller.js";

export const JOBS = "batch/v1/jobs";
const PODS = "v1/pods";
export const JOB_TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking";
export const JOB_COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index";
const BACKOFF_BASE_MS = 10_000;
const BACKOFF_MAX_MS = 6 * 60_000;

type Cond = { type: string; status: string; reason?: string; message?: string; lastProbeTime?: string; lastTransitionTime?: string };

const ms = (t: string | undefined): number | undefined => (t ? Date.parse(t) : undefined);

export function jobFinished(job: KObject): "Complete" | "Failed" | undefined {
  for (const c of (job.status?.conditions ?? []) as Cond[]) {
    if ((c.type === "Complete" || c.type === "Failed") && c.status === "True") return c.type;
  }
  return undefined;
}

function isTerminal(p: KObject): boolean {
  return p.status?.phase === "Succeeded" || p.status?.phase === "Failed";
}

function isReady(p: KObject): boolean {
  return (p.status?.conditions ?? []).some((c: Cond) => c.type === "Ready" && c.status === "True");
}

function podIndex(p: KObject): number | undefined {
  const v = p.metadata.annotations?.[JOB_COMPLETION_INDEX] ?? p.metadata.labels?.[JOB_COMPLETION_INDEX];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** "1,3-5" ↔ a sorted index list, the status.completedIndexes format. */
export function parseIndexes(s: string | undefined): number[] {
  const out: number[] = [];
  for (const part of (s ?? "").split(",")) {
    if (!part) continue;
    const [a, b] = part.split("-").map(Number);
    for (let i = a; i <= (b ?? a); i++) out.push(i);
  }
  return out;
}

export function formatIndexes(ix: Iterable<number>): string {
  const xs = [...new Set(ix)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j] + 1) j++;
    parts.push(j > i ? `${xs[i]}-${xs[j]}` : `${xs[i]}`);
    i = j + 1;
  }
  return parts.join(",");
}

/** When a pod finished: the latest container finishedAt, else its Ready transition. */
function finishTime(p: KObject): number | undefined {
  let t: number | undefined;
  for (const cs of [...(p.status?.containerStatuses ?? []), ...(p.status?.initContainerStatuses ?? [])]) {
    const f = ms(cs?.state?.terminated?.finishedAt);
    if (f !== undefined && (t === undefined || f > t)) t = f;
  }
  if (t !== undefined) return t;
  const ready = (p.status?.conditions ?? []).find((c: Cond) => c.type === "Ready");
  return ms(ready?.lastTransitionTime) ?? ms(p.metadata.creationTimestamp);
}

type PolicyAction = "FailJob" | "Ignore" | "Count" | "FailIndex";

/** The first podFailurePolicy rule matching a failed pod (exit codes or pod conditions). */
export function matchPodFailurePolicy(job: KObject, pod: KObject): { action: PolicyAction; message: string } | undefined {
  const rules = job.spec?.podFailurePolicy?.rules ?? [];
  for (const [i, rule] of rules.entries()) {
    const oe = rule.onExitCodes;
    if (oe) {
      for (const cs of pod.status?.containerStatuses ?? []) {
        if (oe.containerName && oe.containerName !== cs.name) continue;
        const code = cs?.state?.terminated?.exitCode;
        if (code === undefined || code === 0) continue;
        const inSet = (oe.values ?? []).includes(code);
        if ((oe.operator === "In" && inSet) || (oe.operator === "NotIn" && !inSet)) {
          return { action: rule.action, message: `Container ${cs.name} for pod ${pod.metadata.namespace}/${pod.metadata.name} failed with exit code ${code} matching ${rule.action} rule at index ${i}` };
        }
      }
    }
    for (const pat of rule.onPodConditions ?? []) {
      if ((pod.status?.conditions ?? []).some((c: Cond) => c.type === pat.type && c.status === (pat.status ?? "True"))) {
        return { action: rule.action, message: `Pod ${pod.metadata.namespace}/${pod.metadata.name} has condition ${pat.type} matching ${rule.action} rule at index ${i}` };
      }
    }
  }
  return undefined;
}

function setCondition(conds: Cond[], c: Cond, now: string): Cond[] {
  const old = conds.find((x) => x.type === c.type);
  const lastTransitionTime = old && old.status === c.status ? old.lastTransitionTime : now;
  return [...conds.filter((x) => x.type !== c.type), { ...c, lastProbeTime: now, lastTransitionTime }];
}

function newPod(job: KObject, index: number | undefined): KObject {
  const t = deepCopy(job.spec.template ?? {});
  const name = job.metadata.name!;
  const labels = { ...(t.metadata?.labels ?? {}) };
  const annotations = { ...(t.metadata?.annotations ?? {}) };
  const spec = t.spec ?? {};
  if (index !== undefined) {
    annotations[JOB_COMPLETION_INDEX] = String(index);
    labels[JOB_COMPLETION_INDEX] = String(index);
    spec.hostname ??= `${name}-${index}`;
    const env = { name: "JOB_COMPLETION_INDEX", valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${JOB_COMPLETION_INDEX}']` } } };
    for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
      if (!(c.env ?? []).some((e: { name: string }) => e.name === env.name)) c.env = [...(c.env ?? []), env];
    }
  }
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: index !== undefined ? `${name}-${index}-` : `${name}-`,
      namespace: job.metadata.namespace,
      labels,
      annotations,
      finalizers: [JOB_TRACKING_FINALIZER],
      ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name, uid: job.metadata.uid!, controller: true, blockOwnerDeletion: true }],
    },
    spec,
  };
}

async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(isStatusError(err) && err.code === 404)) throw err;
  }
}

/**
 * What this controller wrote but its pod cache may not show yet (upstream's
 * "expectations"): acting on a stale cache would create too many pods or count a pod
 * twice. Entries expire after a minute in case a watch event was lost.
 */
class Expectations {
  private byJob = new Map<string, { creates: Set<string>; deletes: Set<string>; uncounted: Set<string>; at: number }>();
  entry(key: string, now: number) {
    let e = this.byJob.get(key);
    if (!e || now - e.at > 60_000) this.byJob.set(key, (e = { creates: new Set(), deletes: new Set(), uncounted: new Set(), at: now }));
    return e;
  }
  /** True when the cache shows every pod we created and deleted. */
  satisfied(key: string, pods: KObject[], now: number): boolean {
    const e = this.entry(key, now);
    const byName = new Map(pods.map((p) => [p.metadata.name!, p]));
    for (const n of e.creates) if (byName.has(n)) e.creates.delete(n);
    for (const n of e.deletes) if (!byName.has(n) || byName.get(n)!.metadata.deletionTimestamp) e.deletes.delete(n);
    const uids = new Map(pods.map((p) => [p.metadata.uid!, p]));
    for (const u of e.uncounted) if (!uids.get(u)?.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER)) e.uncounted.delete(u);
    return e.creates.size === 0 && e.deletes.size === 0;
  }
  forget(key: string): void {
    this.byJob.delete(key);
  }
}

const expectations = new Expectations();
const expKey = (job: KObject) => `${job.metadata.namespace}/${job.metadata.name}/${job.metadata.uid}`;

async function removeTrackingFinalizer(ctx: ReconcileContext, pod: KObject, job?: KObject): Promise<void> {
  const fin = pod.metadata.finalizers ?? [];
  if (!fin.includes(JOB_TRACKING_FINALIZER)) return;
  if (job) expectations.entry(expKey(job), ctx.clock.now()).uncounted.add(pod.metadata.uid!);
  // A JSON patch with a test op: no resourceVersion needed, and never removes the wrong entry.
  const i = fin.indexOf(JOB_TRACKING_FINALIZER);
  const patch = [
    { op: "test", path: `/metadata/finalizers/${i}`, value: JOB_TRACKING_FINALIZER },
    { op: "remove", path: `/metadata/finalizers/${i}` },
  ];
  await ignoreNotFound(ctx.client.patch(PODS, pod.metadata.namespace, pod.metadata.name!, "json", patch));
}

async function deletePods(ctx: ReconcileContext, job: KObject, pods: KObject[]): Promise<void> {
  for (const p of pods) {
    expectations.entry(expKey(job), ctx.clock.now()).deletes.add(p.metadata.name!);
    await ignoreNotFound(ctx.client.delete(PODS, p.metadata.namespace, p.metadata.name!));
    ctx.recorder.event(job, "Normal", "SuccessfulDelete", `Deleted pod: ${p.metadata.name}`);
  }
}

async function writeStatus(ctx: ReconcileContext, job: KObject, status: Record<string, any>): Promise<KObject> {
  if (JSON.stringify(job.status ?? {}) === JSON.stringify(status)) return job;
  return ctx.client.updateStatus(JOBS, { ...deepCopy(job), status });
}

export const jobController: Controller = {
  name: "job",
  for: JOBS,
  owns: [PODS],
  workers: 2,
  async reconcile(ctx, key): Promise<ReconcileResult> {
    // The job is read fresh: its status counters must never go backwards from a stale cache.
    let job: KObject;
    try {
      job = await ctx.client.get(JOBS, key.namespace, key.name);
    } catch (err) {
      if (isStatusError(err) && err.code === 404) return;
      throw err;
    }
    if (job.metadata.deletionTimestamp) return;
    const now = ctx.clock.now();
    const nowStr = nowRFC3339(new Date(now));
    const uid = job.metadata.uid!;
    const selector = selectorFromLabelSelector(job.spec?.selector);
    const pods = ctx.reader.ownedBy(PODS, uid).filter((p) => p.metadata.ownerReferences?.some((r) => r.controller && r.uid === uid) && selector.matches(p.metadata.labels));
    // Pod events wake us again once the cache catches up with our own writes.
    if (!expectations.satisfied(expKey(job), pods, now)) return;
    const counted = expectations.entry(expKey(job), now).uncounted;
    const indexed = job.spec?.completionMode === "Indexed";
    const status: Record<string, any> = deepCopy(job.status ?? {});
    status.succeeded ??= 0;
    status.failed ??= 0;
    let conds: Cond[] = status.conditions ?? [];
    const finished = jobFinished(job);

    // 1. Tracking: newly finished pods → uncounted; drop finalizers; uncounted → counters.
    const uncounted = { succeeded: [...(status.uncountedTerminatedPods?.succeeded ?? [])] as string[], failed: [...(status.uncountedTerminatedPods?.failed ?? [])] as string[] };
    const completed = new Set(parseIndexes(status.completedIndexes));
    let failJob: { reason: string; message: string } | undefined;
    let newFailures = 0;
    for (const p of pods) {
      const puid = p.metadata.uid!;
      if (!p.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER)) continue;
      if (uncounted.succeeded.includes(puid) || uncounted.failed.includes(puid) || counted.has(puid)) continue;
      if (p.status?.phase === "Succeeded") {
        uncounted.succeeded.push(puid);
        const ix = podIndex(p);
        if (indexed && ix !== undefined) completed.add(ix);
      } else if (p.status?.phase === "Failed") {
        const m = job.spec?.podFailurePolicy ? matchPodFailurePolicy(job, p) : undefined;
        if (m?.action === "Ignore") {
          await removeTrackingFinalizer(ctx, p, job);
          continue;
        }
        if (m?.action === "FailJob") failJob ??= { reason: "PodFailurePolicy", message: m.message };
        uncounted.failed.push(puid);
        newFailures++;
      }
      // Pods deleted before finishing (suspend, deadline, scale-down) are not counted.
      else if (p.metadata.deletionTimestamp && !finished) await removeTrackingFinalizer(ctx, p);
    }
    if (indexed) status.completedIndexes = formatIndexes(completed);
    if (uncounted.succeeded.length || uncounted.failed.length) {
      status.uncountedTerminatedPods = uncounted;
      job = await writeStatus(ctx, job, status);
      for (const p of pods) if (uncounted.succeeded.includes(p.metadata.uid!) || uncounted.failed.includes(p.metadata.uid!)) await removeTrackingFinalizer(ctx, p, job);
      status.succeeded += uncounted.succeeded.length;
      status.failed += uncounted.failed.length;
      status.uncountedTerminatedPods = {};
    }
    // Finished jobs only release finalizers (e.g. pods that were terminating) and expire.
    if (finished) {
      for (const p of pods) if (isTerminal(p) || p.metadata.deletionTimestamp) await removeTrackingFinalizer(ctx, p);
      job = await writeStatus(ctx, job, status);
      return expireFinished(ctx, job, now);
    }

    const active = pods.filter((p) => !isTerminal(p) && !p.metadata.deletionTimestamp);
    status.active = active.length;
    status.ready = active.filter(isReady).length;
    const completions: number | undefined = job.spec?.completions ?? undefined;
    const parallelism: number = job.spec?.parallelism ?? 1;
    const backoffLimit: number = job.spec?.backoffLimit ?? 6;

    // 2. Suspension.
    if (job.spec?.suspend) {
      await deletePods(ctx, job, active);
      status.active = 0;
      status.ready = 0;
      if (!conds.some((c) => c.type === "Suspended" && c.status === "True")) {
        conds = setCondition(conds, { type: "Suspended", status: "True", reason: "JobSuspended", message: "Job suspended" }, nowStr);
        ctx.recorder.event(job, "Normal", "Suspended", "Job suspended");
      }
      status.conditions = conds;
      await writeStatus(ctx, job, status);
      return;
    }
    if (conds.some((c) => c.type === "Suspended" && c.status === "True")) {
      conds = setCondition(conds, { type: "Suspended", status: "False", reason: "JobResumed", message: "Job resumed" }, nowStr);
      ctx.recorder.event(job, "Normal", "Resumed", "Job resumed");
      // The deadline counts from the resume, as upstream resets startTime.
      status.startTime = nowStr;
    }
    status.startTime ??= nowStr;

    // 3. Failure and success criteria.
    const deadline = job.spec?.activeDeadlineSeconds;
    const startMs = ms(status.startTime)!;
    if (!failJob && newFailures > 0 && status.failed > backoffLimit) failJob = { reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" };
    if (!failJob && typeof deadline === "number" && now >= startMs + deadline * 1000) failJob = { reason: "DeadlineExceeded", message: "Job was active longer than specified deadline" };
    let succeeded = false;
    if (indexed) succeeded = completions !== undefined && completed.size >= completions;
    else if (completions !== undefined) succeeded = status.succeeded >= completions;
    else succeeded = status.succeeded > 0 && active.length === 0;
    if (failJob || succeeded) {
      await deletePods(ctx, job, active);
      status.active = 0;
      status.ready = 0;
      if (failJob) {
        conds = setCondition(conds, { type: "FailureTarget", status: "True", ...failJob }, nowStr);
        conds = setCondition(conds, { type: "Failed", status: "True", ...failJob }, nowStr);
        ctx.recorder.event(job, "Warning", failJob.reason, failJob.message);
      } else {
        const c = { reason: "CompletionsReached", message: "Reached expected number of succeeded pods" };
        conds = setCondition(conds, { type: "SuccessCriteriaMet", status: "True", ...c }, nowStr);
        conds = setCondition(conds, { type: "Complete", status: "True", ...c }, nowStr);
        status.completionTime = nowStr;
        ctx.recorder.event(job, "Normal", "Completed", "Job completed");
      }
      status.conditions = conds;
      job = await writeStatus(ctx, job, status);
      return expireFinished(ctx, job, now);
    }

    // 4. Scale active pods toward the wanted number, after any failure back-off.
    let wanted: number;
    let pending: number[] = [];
    if (indexed) {
      const running = new Set(active.map(podIndex));
      for (let i = 0; i < (completions ?? 0); i++) if (!completed.has(i) && !running.has(i)) pending.push(i);
      wanted = Math.min(parallelism, active.length + pending.length);
    } else if (completions !== undefined) wanted = Math.min(parallelism, Math.max(0, completions - status.succeeded));
    else wanted = status.succeeded > 0 ? active.length : parallelism;

    let requeue: number | undefined;
    if (typeof deadline === "number") requeue = Math.max(0, startMs + deadline * 1000 - now);
    if (active.length > wanted) {
      // Newest first, so the longest-running pods keep going.
      const excess = [...active].sort((a, b) => (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? "")).slice(0, active.length - wanted);
      await deletePods(ctx, job, excess);
      status.active = wanted;
    } else if (active.length < wanted) {
      const failedPods = pods.filter((p) => p.status?.phase === "Failed");
      const lastFailure = failedPods.reduce<number | undefined>((m, p) => {
        const t = finishTime(p);
        return t !== undefined && (m === undefined || t > m) ? t : m;
      }, undefined);
      const delay = status.failed > 0 ? Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(status.failed - 1, 20)) : 0;
      const waitMs = lastFailure !== undefined ? lastFailure + delay - now : 0;
      if (status.failed > 0 && waitMs > 0) {
        requeue = requeue === undefined ? waitMs : Math.min(requeue, waitMs);
      } else {
        const n = wanted - active.length;
        for (let k = 0; k < n; k++) {
          const created = await ctx.client.create(PODS, newPod(job, indexed ? pending[k] : undefined));
          expectations.entry(expKey(job), now).creates.add(created.metadata.name!);
          ctx.recorder.event(job, "Normal", "SuccessfulCreate", `Created pod: ${created.metadata.name}`);
        }
        status.active = wanted;
      }
    }
    status.conditions = conds.length ? conds : undefined;
    if (!status.conditions) delete status.conditions;
    await writeStatus(ctx, job, status);
    return requeue !== undefined ? { requeueAfter: requeue } : undefined;
  },
};

/** ttlSecondsAfterFinished: delete the job (and, in the background, its pods) once expired. */
async function expireFinished(ctx: ReconcileContext, job: KObject, now: number): Promise<ReconcileResult> {
  const ttl = job.spec?.ttlSecondsAfterFinished;
  if (typeof ttl !== "number") return;
  const fin = (job.status?.conditions ?? []).find((c: Cond) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
  const at = ms(job.status?.completionTime) ?? ms(fin?.lastTransitionTime) ?? now;
  const left = at + ttl * 1000 - now;
  if (left > 0) return { requeueAfter: left };
  await ignoreNotFound(ctx.client.delete(JOBS, job.metadata.namespace, job.metadata.name!, { propagationPolicy: "Background", preconditions: { uid: job.metadata.uid } }));
  return;
}
