// The Deployment controller (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/):
// one ReplicaSet per pod template, named `<deployment>-<pod-template-hash>`, with the
// hash label added to its selector and template. A changed template gets a new
// ReplicaSet and a rollout — RollingUpdate within maxSurge/maxUnavailable, or Recreate
// (old pods gone first) — while a template that matches an existing ReplicaSet
// (`kubectl rollout undo`) reuses it and renumbers its revision to max+1. Replica
// changes mid-rollout are spread proportionally; spec.paused stops the rollout but
// not scaling; old zero-sized ReplicaSets beyond revisionHistoryLimit are deleted.
// Status carries the replica counts, observedGeneration, collisionCount and the
// Available / Progressing conditions (ProgressDeadlineExceeded after
// progressDeadlineSeconds without progress) that `kubectl rollout status` reads.
// The rollout arithmetic lives in deployment-rollout.ts.

import { deepCopy, nowRFC3339, type KObject } from "../apimachinery/types.js";
import { selectorFromLabelSelector, type LabelSelectorMatcher } from "../apimachinery/labels.js";
import type { Controller, ReconcileContext, ReconcileResult } from "../client/controller.js";
import { POD_TEMPLATE_HASH_LABEL, podTemplateHash, templatesEqualIgnoringHash } from "./podtemplatehash.js";
import { controllerRef, ownerRefTo } from "./replicaset.js";
import {
  CHANGE_CAUSE_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  REVISION_ANNOTATION,
  byCreation,
  maxUnavailableOf,
  newReplicaSetReplicas,
  proportionalScale,
  resolveFenceposts,
  scaleDownOldReplicaSets,
  specReplicas,
  sumSpec,
  sumStatus,
} from "./deployment-rollout.js";

const DEPLOYMENTS = "apps/v1/deployments";
const REPLICASETS = "apps/v1/replicasets";
const PODS = "v1/pods";

interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

/** One reconcile's view: the deployment, its ReplicaSets, and conditions set along the way. */
interface Sync {
  ctx: ReconcileContext;
  d: KObject;
  newRS?: KObject;
  oldRSs: KObject[];
  conditions: Condition[];
}

const revisionOf = (rs: KObject): number => Number(rs.metadata.annotations?.[REVISION_ANNOTATION] ?? 0) || 0;
const codeOf = (err: unknown): number | undefined => (err as { code?: number })?.code;
const allOf = (s: Sync): KObject[] => (s.newRS ? [s.newRS, ...s.oldRSs] : [...s.oldRSs]);

function setCondition(conds: Condition[], c: Condition, now: string): void {
  const i = conds.findIndex((x) => x.type === c.type);
  const old = i >= 0 ? conds[i] : undefined;
  if (old && old.status === c.status && old.reason === c.reason && old.message === c.message) return;
  const next: Condition = { ...c, lastUpdateTime: now, lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : now };
  if (i >= 0) conds[i] = next;
  else conds.push(next);
}

function maxReplicasAnnotation(d: KObject): string {
  const surge = d.spec?.strategy?.type === "RollingUpdate" ? resolveFenceposts(d).maxSurge : 0;
  return String(specReplicas(d) + surge);
}

/** Scales one ReplicaSet (and stamps the desired/max annotations), returning the new object. */
async function scaleReplicaSet(s: Sync, rs: KObject, replicas: number): Promise<KObject> {
  const annotations = { [DESIRED_REPLICAS_ANNOTATION]: String(specReplicas(s.d)), [MAX_REPLICAS_ANNOTATION]: maxReplicasAnnotation(s.d) };
  const same = specReplicas(rs) === replicas && Object.entries(annotations).every(([k, v]) => rs.metadata.annotations?.[k] === v);
  if (same) return rs;
  const updated = await s.ctx.client.patch(REPLICASETS, rs.metadata.namespace, rs.metadata.name!, "merge", { metadata: { annotations }, spec: { replicas } });
  if (specReplicas(rs) !== replicas) {
    const verb = replicas > specReplicas(rs) ? "up" : "down";
    s.ctx.recorder.event(s.d, "Normal", "ScalingReplicaSet", `Scaled ${verb} replica set ${rs.metadata.name} from ${specReplicas(rs)} to ${replicas}`);
  }
  if (s.newRS === rs) s.newRS = updated;
  else s.oldRSs = s.oldRSs.map((x) => (x === rs ? updated : x));
  return updated;
}

/** ReplicaSets controlled by d, adopting orphans its selector matches. */
async function claimReplicaSets(ctx: ReconcileContext, d: KObject, sel: LabelSelectorMatcher): Promise<KObject[]> {
  const owned: KObject[] = [];
  for (const rs of ctx.reader.list(REPLICASETS, { namespace: d.metadata.namespace })) {
    const ref = controllerRef(rs);
    if (ref?.uid === d.metadata.uid) owned.push(rs);
    else if (!ref && !d.metadata.deletionTimestamp && !rs.metadata.deletionTimestamp && sel.matches(rs.metadata.labels ?? {})) {
      const refs = [...(rs.metadata.ownerReferences ?? []), ownerRefTo(d, "apps/v1", "Deployment")];
      try {
        owned.push(await ctx.client.patch(REPLICASETS, rs.metadata.namespace, rs.metadata.name!, "merge", { metadata: { ownerReferences: refs, resourceVersion: rs.metadata.resourceVersion } }));
      } catch (err) {
        if (codeOf(err) !== 404 && codeOf(err) !== 409) throw err;
      }
    }
  }
  return owned.map(deepCopy);
}

/**
 * getAllReplicaSetsAndSyncRevision: finds the ReplicaSet whose template equals the
 * deployment's (ignoring the hash label), gives it revision max(old)+1, and creates it
 * when asked and missing.
 */
async function syncRevision(s: Sync, createReplicas?: number): Promise<void> {
  const { ctx, d } = s;
  const now = nowRFC3339(new Date(ctx.clock.now()));
  const newRevision = String(Math.max(0, ...s.oldRSs.map(revisionOf)) + 1);
  const changeCause = d.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION];
  if (s.newRS) {
    const rs = s.newRS;
    const ann: Record<string, string> = {};
    if (revisionOf(rs) < Number(newRevision)) ann[REVISION_ANNOTATION] = newRevision;
    if (changeCause !== undefined && rs.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION] !== changeCause) ann[CHANGE_CAUSE_ANNOTATION] = changeCause;
    if (Object.keys(ann).length) {
      s.newRS = await ctx.client.patch(REPLICASETS, rs.metadata.namespace, rs.metadata.name!, "merge", { metadata: { annotations: ann } });
    }
    if (!s.conditions.some((c) => c.type === "Progressing")) {
      setCondition(s.conditions, { type: "Progressing", status: "True", reason: "FoundNewReplicaSet", message: `Found new replica set "${rs.metadata.name}"` }, now);
    }
  } else if (createReplicas !== undefined) {
    s.newRS = await createNewReplicaSet(s, newRevision, createReplicas);
    setCondition(s.conditions, { type: "Progressing", status: "True", reason: "NewReplicaSetCreated", message: `Created new replica set "${s.newRS.metadata.name}"` }, now);
  }
  const revision = s.newRS ? String(revisionOf(s.newRS)) : undefined;
  const dAnn: Record<string, string> = {};
  if (revision && d.metadata.annotations?.[REVISION_ANNOTATION] !== revision) dAnn[REVISION_ANNOTATION] = revision;
  if (Object.keys(dAnn).length) {
    const patched = await ctx.client.patch(DEPLOYMENTS, d.metadata.namespace, d.metadata.name!, "merge", { metadata: { annotations: dAnn } });
    s.d = { ...s.d, metadata: patched.metadata };
  }
}

async function createNewReplicaSet(s: Sync, revision: string, replicas: number): Promise<KObject> {
  const { ctx, d } = s;
  const collisionCount = Number(d.status?.collisionCount ?? 0);
  const hash = podTemplateHash(d.spec.template, collisionCount);
  const template = deepCopy(d.spec.template ?? {});
  template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash } };
  const selector = deepCopy(d.spec.selector);
  selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
  const annotations: Record<string, string> = {
    [REVISION_ANNOTATION]: revision,
    [DESIRED_REPLICAS_ANNOTATION]: String(specReplicas(d)),
    [MAX_REPLICAS_ANNOTATION]: maxReplicasAnnotation(d),
  };
  const cause = d.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION];
  if (cause !== undefined) annotations[CHANGE_CAUSE_ANNOTATION] = cause;
  const rs: KObject = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      namespace: d.metadata.namespace,
      labels: template.metadata.labels,
      annotations,
      ownerReferences: [ownerRefTo(d, "apps/v1", "Deployment")],
    },
    spec: { replicas, minReadySeconds: d.spec.minReadySeconds ?? 0, selector, template },
  };
  try {
    const created = await ctx.client.create(REPLICASETS, rs);
    ctx.recorder.event(d, "Normal", "ScalingReplicaSet", `Scaled up replica set ${created.metadata.name} from 0 to ${replicas}`);
    return created;
  } catch (err) {
    if (codeOf(err) !== 409) throw err;
    const existing = await ctx.client.get(REPLICASETS, d.metadata.namespace, rs.metadata.name!);
    if (controllerRef(existing)?.uid === d.metadata.uid && templatesEqualIgnoringHash(existing.spec?.template, d.spec.template)) return existing;
    // A hash collision with someone else's ReplicaSet: bump collisionCount and retry with a new name.
    await ctx.client.updateStatus(DEPLOYMENTS, { ...d, status: { ...(d.status ?? {}), collisionCount: collisionCount + 1 } });
    throw new Error(`replica set ${rs.metadata.name} already exists with another template; collisionCount now ${collisionCount + 1}`);
  }
}

/** The "scale" path: replicas changed, or the deployment is paused. */
async function scaleOnly(s: Sync): Promise<void> {
  const d = s.d;
  const active = allOf(s).filter((rs) => specReplicas(rs) > 0);
  if (active.length <= 1) {
    const target = active[0] ?? s.newRS ?? [...s.oldRSs].sort(byCreation).pop();
    if (target) await scaleReplicaSet(s, target, specReplicas(d));
    return;
  }
  if (s.newRS && specReplicas(s.newRS) === specReplicas(d) && Number(s.newRS.status?.availableReplicas ?? 0) === specReplicas(d)) {
    for (const rs of s.oldRSs) if (specReplicas(rs) > 0) await scaleReplicaSet(s, rs, 0);
    return;
  }
  const targets = proportionalScale(d, active);
  for (const rs of active) {
    const t = targets.get(rs.metadata.name!);
    if (t !== undefined) await scaleReplicaSet(s, rs, t);
  }
}

/** Returns true when something was scaled (status is written and the step ends). */
async function rollingUpdate(s: Sync): Promise<boolean> {
  await syncRevision(s, newReplicaSetReplicas(s.d, allOf(s), undefined));
  const newRS = s.newRS!;
  const target = newReplicaSetReplicas(s.d, allOf(s), newRS);
  if (target !== specReplicas(newRS)) {
    await scaleReplicaSet(s, newRS, target);
    return true;
  }
  const targets = scaleDownOldReplicaSets(s.d, s.oldRSs, s.newRS);
  for (const rs of [...s.oldRSs]) {
    const t = targets.get(rs.metadata.name!);
    if (t !== undefined && t !== specReplicas(rs)) await scaleReplicaSet(s, rs, t);
  }
  return targets.size > 0;
}

async function recreate(s: Sync): Promise<boolean> {
  await syncRevision(s);
  let scaled = false;
  for (const rs of [...s.oldRSs]) {
    if (specReplicas(rs) > 0) {
      await scaleReplicaSet(s, rs, 0);
      scaled = true;
    }
  }
  if (scaled) return true;
  // Recreate means no old pod runs beside a new one: wait until they are all gone.
  const oldUids = new Set(s.oldRSs.map((rs) => rs.metadata.uid));
  const oldPods = s.ctx.reader.list(PODS, { namespace: s.d.metadata.namespace }).filter((p) => oldUids.has(controllerRef(p)?.uid) && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
  if (oldPods.length > 0) return true;
  if (!s.newRS) await syncRevision(s, specReplicas(s.d));
  await scaleReplicaSet(s, s.newRS!, specReplicas(s.d));
  return false;
}

async function cleanupHistory(s: Sync): Promise<void> {
  const limit = s.d.spec?.revisionHistoryLimit;
  if (limit === undefined || limit === null) return;
  const idle = s.oldRSs
    .filter((rs) => specReplicas(rs) === 0 && Number(rs.status?.replicas ?? 0) === 0 && !rs.metadata.deletionTimestamp && rs.status?.observedGeneration === rs.metadata.generation)
    .sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
  for (const rs of idle.slice(0, Math.max(0, idle.length - Number(limit)))) {
    try {
      await s.ctx.client.delete(REPLICASETS, rs.metadata.namespace, rs.metadata.name!, { preconditions: { uid: rs.metadata.uid } });
    } catch (err) {
      if (codeOf(err) !== 404 && codeOf(err) !== 409) throw err;
    }
  }
}

/** Computes and writes status; returns when to look again for the progress deadline. */
async function syncStatus(s: Sync): Promise<ReconcileResult> {
  const { ctx, d } = s;
  const nowMs = ctx.clock.now();
  const now = nowRFC3339(new Date(nowMs));
  const all = allOf(s);
  const want = specReplicas(d);
  const available = sumStatus(all, "availableReplicas");
  const status: Record<string, any> = {
    observedGeneration: d.metadata.generation,
    replicas: sumStatus(all, "replicas"),
    updatedReplicas: Number(s.newRS?.status?.replicas ?? 0),
    readyReplicas: sumStatus(all, "readyReplicas"),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, sumSpec(all) - available),
  };
  if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
  const conds = s.conditions;
  if (available >= want - maxUnavailableOf(d)) {
    setCondition(conds, { type: "Available", status: "True", reason: "MinimumReplicasAvailable", message: "Deployment has minimum availability." }, now);
  } else {
    setCondition(conds, { type: "Available", status: "False", reason: "MinimumReplicasUnavailable", message: "Deployment does not have minimum availability." }, now);
  }
  let requeueAfter: number | undefined;
  const progressing = conds.find((c) => c.type === "Progressing");
  const rsName = s.newRS?.metadata.name ?? d.metadata.name;
  if (d.spec?.paused) {
    setCondition(conds, { type: "Progressing", status: "Unknown", reason: "DeploymentPaused", message: "Deployment is paused" }, now);
  } else if (progressing?.reason === "DeploymentPaused") {
    setCondition(conds, { type: "Progressing", status: "Unknown", reason: "DeploymentResumed", message: "Deployment is resumed" }, now);
  } else {
    const old = d.status ?? {};
    const complete = status.updatedReplicas === want && status.replicas === want && available === want && status.observedGeneration >= (d.metadata.generation ?? 0);
    const moved =
      status.updatedReplicas > Number(old.updatedReplicas ?? 0) ||
      status.replicas - status.updatedReplicas < Number(old.replicas ?? 0) - Number(old.updatedReplicas ?? 0) ||
      status.readyReplicas > Number(old.readyReplicas ?? 0) ||
      available > Number(old.availableReplicas ?? 0);
    const deadline = d.spec?.progressDeadlineSeconds;
    if (complete) {
      setCondition(conds, { type: "Progressing", status: "True", reason: "NewReplicaSetAvailable", message: `ReplicaSet "${rsName}" has successfully progressed.` }, now);
    } else if (moved) {
      const i = conds.findIndex((c) => c.type === "Progressing");
      const c: Condition = { type: "Progressing", status: "True", reason: "ReplicaSetUpdated", message: `ReplicaSet "${rsName}" is progressing.`, lastUpdateTime: now, lastTransitionTime: progressing?.status === "True" ? progressing.lastTransitionTime : now };
      if (i >= 0) conds[i] = c;
      else conds.push(c);
    } else if (deadline !== undefined && deadline !== null && progressing && progressing.status === "True") {
      const since = Date.parse(progressing.lastUpdateTime ?? "") || nowMs;
      const left = since + deadline * 1000 - nowMs;
      if (left <= 0) {
        setCondition(conds, { type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: `ReplicaSet "${rsName}" has timed out progressing.` }, now);
        ctx.recorder.event(d, "Warning", "ProgressDeadlineExceeded", `Deployment "${d.metadata.name}" has timed out progressing.`);
      } else requeueAfter = left + 1000;
    }
    if (!complete && requeueAfter === undefined && deadline && conds.find((c) => c.type === "Progressing")?.status === "True") requeueAfter = deadline * 1000 + 1000;
  }
  status.conditions = conds;
  const prev = { ...(d.status ?? {}) };
  if (JSON.stringify(prev) !== JSON.stringify(status)) {
    const fresh = ctx.reader.get(DEPLOYMENTS, d.metadata.namespace, d.metadata.name!) ?? d;
    await ctx.client.updateStatus(DEPLOYMENTS, { ...deepCopy(fresh), status });
  }
  return requeueAfter !== undefined ? { requeueAfter } : undefined;
}

function isScalingEvent(d: KObject, all: KObject[]): boolean {
  return all.some((rs) => specReplicas(rs) > 0 && rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION] !== undefined && rs.metadata.annotations[DESIRED_REPLICAS_ANNOTATION] !== String(specReplicas(d)));
}

function safeSelector(sel: unknown): LabelSelectorMatcher | undefined {
  try {
    const m = selectorFromLabelSelector(sel as never);
    return m.toString() === "" ? undefined : m;
  } catch {
    return undefined;
  }
}

export function deploymentController(): Controller {
  return {
    name: "deployment",
    for: DEPLOYMENTS,
    owns: [REPLICASETS],
    reads: [PODS],
    workers: 2,
    async reconcile(ctx, key) {
      const cached = ctx.reader.get(DEPLOYMENTS, key.namespace, key.name);
      if (!cached) return;
      const d = deepCopy(cached);
      const sel = safeSelector(d.spec?.selector);
      if (!sel) return;
      const rsList = (await claimReplicaSets(ctx, d, sel)).sort(byCreation);
      const newRS = rsList.find((rs) => templatesEqualIgnoringHash(rs.spec?.template, d.spec.template));
      const s: Sync = { ctx, d, newRS, oldRSs: rsList.filter((rs) => rs !== newRS), conditions: deepCopy(d.status?.conditions ?? []) };
      if (d.metadata.deletionTimestamp) return syncStatus(s);
      if (d.spec.paused) {
        await syncRevision(s);
        await scaleOnly(s);
        await cleanupHistory(s);
        return syncStatus(s);
      }
      if (isScalingEvent(d, allOf(s))) {
        await syncRevision(s);
        await scaleOnly(s);
        return syncStatus(s);
      }
      const busy = d.spec.strategy?.type === "Recreate" ? await recreate(s) : await rollingUpdate(s);
      if (!busy && s.newRS && specReplicas(s.newRS) === specReplicas(d) && s.oldRSs.every((rs) => specReplicas(rs) === 0)) await cleanupHistory(s);
      return syncStatus(s);
    },
  };
}
