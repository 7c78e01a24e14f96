// The StatefulSet controller (https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/):
// pods with stable identities `<name>-<ordinal>` (ordinals from spec.ordinals.start),
// stable hostnames under spec.serviceName, and per-pod PersistentVolumeClaims
// `<claim>-<name>-<ordinal>` created before their pod and kept when the pod is replaced.
// OrderedReady creates pod i only when 0..i-1 are Running and Ready and removes the
// highest ordinal first, one at a time; Parallel does both at once. Because pod names are
// the identity, a replacement is created only once the old pod is gone from the API, so
// two pods never share an identity. Updates follow the revision history
// (controllerrevision.ts): RollingUpdate replaces pods from the highest ordinal down to
// the partition, one at a time; OnDelete waits for the user to delete pods.

import { AlreadyExists, isStatusError } from "../apimachinery/errors.js";
import { selectorFromLabelSelector } from "../apimachinery/labels.js";
import { deepCopy, type KObject, type OwnerReference } from "../apimachinery/types.js";
import type { Controller, ReconcileContext, ReconcileResult } from "../client/controller.js";
import { CONTROLLER_REVISIONS, REVISION_HASH_LABEL, revisionHash, syncHistory, templateFromRevision, truncateHistory } from "./controllerrevision.js";

export const STATEFULSETS = "apps/v1/statefulsets";
const PODS = "v1/pods";
const PVCS = "v1/persistentvolumeclaims";
export const STS_POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";
export const POD_INDEX_LABEL = "apps.kubernetes.io/pod-index";

type Cond = { type: string; status: string; lastTransitionTime?: string };

function isRunningAndReady(p: KObject): boolean {
  return p.status?.phase === "Running" && (p.status?.conditions ?? []).some((c: Cond) => c.type === "Ready" && c.status === "True");
}

function isAvailable(p: KObject, minReadySeconds: number, now: number): boolean {
  if (!isRunningAndReady(p)) return false;
  if (minReadySeconds <= 0) return true;
  const ready = (p.status?.conditions ?? []).find((c: Cond) => c.type === "Ready");
  const since = ready?.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : now;
  return since + minReadySeconds * 1000 <= now;
}

const isFinished = (p: KObject) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed";

export function podOrdinal(setName: string, podName: string): number | undefined {
  const m = /^(.*)-(\d+)$/.exec(podName);
  return m && m[1] === setName ? Number(m[2]) : undefined;
}

export function claimName(claim: string, setName: string, ordinal: number): string {
  return `${claim}-${setName}-${ordinal}`;
}

function setRef(sts: KObject): OwnerReference {
  return { apiVersion: "apps/v1", kind: "StatefulSet", name: sts.metadata.name!, uid: sts.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

/** The pod for one ordinal at one revision (template taken from that revision). */
function newPod(sts: KObject, template: Record<string, any>, hash: string, ordinal: number): KObject {
  const t = deepCopy(template);
  const name = `${sts.metadata.name}-${ordinal}`;
  const spec = t.spec ?? {};
  spec.hostname = name;
  if (sts.spec?.serviceName) spec.subdomain = sts.spec.serviceName;
  const volumes = (spec.volumes ?? []) as { name: string }[];
  for (const c of sts.spec?.volumeClaimTemplates ?? []) {
    const v = { name: c.metadata.name, persistentVolumeClaim: { claimName: claimName(c.metadata.name, sts.metadata.name!, ordinal) } };
    const i = volumes.findIndex((x) => x.name === v.name);
    if (i >= 0) volumes[i] = v;
    else volumes.push(v);
  }
  if (volumes.length) spec.volumes = volumes;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: sts.metadata.namespace,
      labels: { ...(t.metadata?.labels ?? {}), [STS_POD_NAME_LABEL]: name, [POD_INDEX_LABEL]: String(ordinal), [REVISION_HASH_LABEL]: hash },
      annotations: { ...(t.metadata?.annotations ?? {}) },
      ownerReferences: [setRef(sts)],
    },
    spec,
  };
}

async function tolerate<T>(p: Promise<T>, ...codes: number[]): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isStatusError(err) && codes.includes(err.code)) return undefined;
    throw err;
  }
}

/** Creates missing claims for an ordinal and keeps their owner references in line with the retention policy. */
async function syncClaims(ctx: ReconcileContext, sts: KObject, ordinal: number, pod: KObject | undefined, condemned: boolean): Promise<void> {
  const policy = sts.spec?.persistentVolumeClaimRetentionPolicy ?? {};
  for (const c of sts.spec?.volumeClaimTemplates ?? []) {
    const name = claimName(c.metadata.name, sts.metadata.name!, ordinal);
    const want: OwnerReference[] = [];
    if (policy.whenDeleted === "Delete") want.push(setRef(sts));
    if (policy.whenScaled === "Delete" && condemned && pod) want.push({ apiVersion: "v1", kind: "Pod", name: pod.metadata.name!, uid: pod.metadata.uid!, blockOwnerDeletion: true });
    const existing = ctx.reader.get(PVCS, sts.metadata.namespace, name);
    if (!existing) {
      const pvc: KObject = {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: {
          name,
          namespace: sts.metadata.namespace,
          labels: { ...(c.metadata.labels ?? {}), ...(sts.spec?.selector?.matchLabels ?? {}) },
          annotations: c.metadata.annotations,
          ...(want.length ? { ownerReferences: want } : {}),
        },
        spec: deepCopy(c.spec),
      };
      try {
        await ctx.client.create(PVCS, pvc);
        ctx.recorder.event(sts, "Normal", "SuccessfulCreate", `create Claim ${name} Pod ${sts.metadata.name}-${ordinal} in StatefulSet ${sts.metadata.name} success`);
      } catch (err) {
        if (!(err instanceof AlreadyExists)) throw err;
      }
      continue;
    }
    if (existing.metadata.deletionTimestamp) continue;
    // Only our own references are managed; other owners are left alone.
    const others = (existing.metadata.ownerReferences ?? []).filter((r) => r.uid !== sts.metadata.uid && !(r.kind === "Pod" && r.name === `${sts.metadata.name}-${ordinal}`));
    const next = [...others, ...want];
    if (JSON.stringify(next) !== JSON.stringify(existing.metadata.ownerReferences ?? [])) {
      const upd = deepCopy(existing);
      upd.metadata.ownerReferences = next.length ? next : undefined;
      if (!next.length) delete upd.metadata.ownerReferences;
      await tolerate(ctx.client.update(PVCS, upd), 404, 409);
    }
  }
}

async function deletePod(ctx: ReconcileContext, sts: KObject, pod: KObject): Promise<void> {
  // A stale cache may show a pod we already deleted: the uid precondition makes that a no-op.
  const gone = await tolerate(ctx.client.delete(PODS, pod.metadata.namespace, pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } }), 404, 409);
  if (gone) ctx.recorder.event(sts, "Normal", "SuccessfulDelete", `delete Pod ${pod.metadata.name} in StatefulSet ${sts.metadata.name} successful`);
}

export const statefulSetController: Controller = {
  name: "statefulset",
  for: STATEFULSETS,
  owns: [PODS, CONTROLLER_REVISIONS],
  reads: [PVCS],
  async reconcile(ctx, key): Promise<ReconcileResult> {
    const sts = ctx.reader.get(STATEFULSETS, key.namespace, key.name);
    if (!sts || sts.metadata.deletionTimestamp) return;
    const now = ctx.clock.now();
    const name = sts.metadata.name!;
    const uid = sts.metadata.uid!;
    const selector = selectorFromLabelSelector(sts.spec?.selector);
    const history = await syncHistory(ctx, { obj: sts, apiVersion: "apps/v1", kind: "StatefulSet" });
    const updateRev = history.update;
    const currentRev = history.revisions.find((r) => r.metadata.name === sts.status?.currentRevision) ?? updateRev;
    const updateHash = revisionHash(updateRev);
    const currentHash = revisionHash(currentRev);

    const pods = ctx.reader
      .ownedBy(PODS, uid)
      .filter((p) => p.metadata.ownerReferences?.some((r) => r.controller && r.uid === uid) && selector.matches(p.metadata.labels) && podOrdinal(name, p.metadata.name!) !== undefined);
    const byOrdinal = new Map(pods.map((p) => [podOrdinal(name, p.metadata.name!)!, p]));
    const start: number = sts.spec?.ordinals?.start ?? 0;
    const replicas: number = sts.spec?.replicas ?? 1;
    const inRange = (o: number) => o >= start && o < start + replicas;
    const ordered = (sts.spec?.podManagementPolicy ?? "OrderedReady") === "OrderedReady";
    const strategy = sts.spec?.updateStrategy ?? { type: "RollingUpdate" };
    const partition: number = strategy.type === "RollingUpdate" ? (strategy.rollingUpdate?.partition ?? 0) : 0;
    const condemned = pods.filter((p) => !inRange(podOrdinal(name, p.metadata.name!)!)).sort((a, b) => podOrdinal(name, b.metadata.name!)! - podOrdinal(name, a.metadata.name!)!);

    // 1. Create and repair pods in ordinal order.
    let blocked = false;
    for (let o = start; o < start + replicas && !blocked; o++) {
      const pod = byOrdinal.get(o);
      if (!pod) {
        // Below the partition, new pods keep the current revision; otherwise the update revision.
        const useCurrent = strategy.type === "RollingUpdate" && o - start < partition;
        const rev = useCurrent ? currentRev : updateRev;
        await syncClaims(ctx, sts, o, undefined, false);
        try {
          await ctx.client.create(PODS, newPod(sts, useCurrent ? templateFromRevision(rev) : sts.spec.template, revisionHash(rev), o));
          ctx.recorder.event(sts, "Normal", "SuccessfulCreate", `create Pod ${name}-${o} in StatefulSet ${name} successful`);
        } catch (err) {
          if (!(err instanceof AlreadyExists)) throw err;
        }
        if (ordered) blocked = true;
        continue;
      }
      await syncClaims(ctx, sts, o, pod, false);
      if (pod.metadata.deletionTimestamp) {
        // Same identity: wait until the old pod is gone before its replacement.
        if (ordered) blocked = true;
        continue;
      }
      if (isFinished(pod)) {
        await deletePod(ctx, sts, pod);
        if (ordered) blocked = true;
        continue;
      }
      if (ordered && !isRunningAndReady(pod)) blocked = true;
    }

    // 2. Scale down, highest ordinal first.
    if (!blocked && condemned.length) {
      const victims = ordered ? (condemned.some((p) => p.metadata.deletionTimestamp) ? [] : condemned.slice(0, 1)) : condemned.filter((p) => !p.metadata.deletionTimestamp);
      for (const p of victims) {
        await syncClaims(ctx, sts, podOrdinal(name, p.metadata.name!)!, p, true);
        await deletePod(ctx, sts, p);
      }
      blocked = ordered || victims.length > 0;
    }

    // 3. Rolling update: highest ordinal down to the partition, one pod at a time, all others healthy.
    if (!blocked && !condemned.length && strategy.type === "RollingUpdate") {
      const live = [...byOrdinal.entries()].filter(([o]) => inRange(o)).sort((a, b) => b[0] - a[0]);
      const allHealthy = live.length === replicas && live.every(([, p]) => isRunningAndReady(p) && !p.metadata.deletionTimestamp);
      if (allHealthy) {
        const target = live.find(([o, p]) => o - start >= partition && p.metadata.labels?.[REVISION_HASH_LABEL] !== updateHash);
        if (target) await deletePod(ctx, sts, target[1]);
      }
    }

    // 4. Status.
    const minReady: number = sts.spec?.minReadySeconds ?? 0;
    // Like upstream, terminating pods still count until they are gone.
    const counted = pods;
    const status: Record<string, any> = {
      ...(deepCopy(sts.status ?? {}) as object),
      observedGeneration: sts.metadata.generation,
      replicas: counted.length,
      readyReplicas: counted.filter(isRunningAndReady).length,
      availableReplicas: counted.filter((p) => isAvailable(p, minReady, now)).length,
      currentReplicas: counted.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] === currentHash).length,
      updatedReplicas: counted.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] === updateHash).length,
      currentRevision: currentRev.metadata.name,
      updateRevision: updateRev.metadata.name,
    };
    // The rollout is done when every wanted pod runs the update revision.
    if (status.updatedReplicas === replicas && status.replicas === replicas && pods.every((p) => isRunningAndReady(p))) {
      status.currentRevision = updateRev.metadata.name;
      status.currentReplicas = status.updatedReplicas;
    }
    if (JSON.stringify(status) !== JSON.stringify(sts.status ?? {})) {
      await tolerate(ctx.client.updateStatus(STATEFULSETS, { ...deepCopy(sts), status }), 404);
    }
    const inUse = new Set<string>([status.currentRevision, status.updateRevision, ...pods.map((p) => p.metadata.labels?.[REVISION_HASH_LABEL] ?? "")]);
    await truncateHistory(ctx, history, inUse, sts.spec?.revisionHistoryLimit ?? 10);
    // minReadySeconds: look again when the youngest ready pod becomes available.
    if (minReady > 0 && status.availableReplicas < status.readyReplicas) return { requeueAfter: 1000 };
    return;
  },
};
