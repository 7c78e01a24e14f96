// The PersistentVolume controller (kube-controller-manager's persistentvolume-binder,
// https://kubernetes.io/docs/concepts/storage/persistent-volumes/#lifecycle-of-a-volume-and-claim):
// two reconcilers over claims and volumes.
// Claims: an unbound claim is matched to the smallest Available PersistentVolume of its
// class that satisfies its access modes, volume mode, size and selector (for a
// WaitForFirstConsumer class only once the scheduler chose a node, and only volumes whose
// nodeAffinity allows that node); without one, a class with a provisioner gets the
// volume.kubernetes.io/storage-provisioner annotation and waits for the provisioner.
// Binding writes PV.spec.claimRef, PV phase Bound, PVC.spec.volumeName,
// pv.kubernetes.io/bind-completed and PVC status (phase, capacity, access modes); every
// step is checked first, so a crash in the middle is finished by the next pass. A claim
// whose volume disappeared is Lost.
// Volumes: no claimRef → Available; claim gone (checked against the API, not only the
// cache) → Released, then by reclaim policy: Retain keeps it; Delete of a local-path
// volume waits for the node's provisioner (src/agent/storage/localpath.ts) to remove the
// directory, and deletes the PV once it is marked removed or its node no longer exists;
// Delete without a provisioner fails (no in-tree deleters here).

import type { KObject } from "../apimachinery/types.js";
import { nowRFC3339 } from "../apimachinery/types.js";
import { compareQuantity } from "../apimachinery/quantity.js";
import { selectorFromLabelSelector } from "../apimachinery/labels.js";
import type { Controller, ReconcileContext } from "../client/controller.js";
import {
  BETA_STORAGE_PROVISIONER_ANNOTATION, BIND_COMPLETED_ANNOTATION, BOUND_BY_CONTROLLER_ANNOTATION, LOCAL_PATH_PROVISIONER, LOCAL_PATH_REMOVED_ANNOTATION,
  PROVISIONED_BY_ANNOTATION, SELECTED_NODE_ANNOTATION, STORAGE_CLASSES, STORAGE_PROVISIONER_ANNOTATION,
} from "../api/storage.js";
import { termMatches } from "../scheduler/plugins/nodeaffinity.js";

export const PVS = "v1/persistentvolumes";
export const PVCS = "v1/persistentvolumeclaims";
const NODES = "v1/nodes";
const BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class";
/** Unbound claims are looked at again this often (upstream's 15 s resync), for new volumes. */
const UNBOUND_RESYNC_MS = 15_000;

function codeOf(err: unknown): number | undefined {
  return (err as { code?: number })?.code;
}

/** GetPersistentVolumeClaimClass / GetPersistentVolumeClass: the beta annotation wins. */
export function classOf(o: KObject): string {
  const ann = o.metadata?.annotations?.[BETA_CLASS_ANNOTATION];
  return typeof ann === "string" ? ann : typeof o.spec?.storageClassName === "string" ? o.spec.storageClassName : "";
}

function isWaitForFirstConsumer(ctx: ReconcileContext, claim: KObject): boolean {
  const name = classOf(claim);
  return Boolean(name) && ctx.reader.get(STORAGE_CLASSES, undefined, name)?.volumeBindingMode === "WaitForFirstConsumer";
}

/** The PV's required node affinity admits the node (no affinity admits every node). */
export function volumeAllowsNode(pv: KObject, node: KObject | undefined): boolean {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms;
  if (!Array.isArray(terms)) return true;
  if (!node) return false;
  return terms.some((t) => termMatches(t, { name: node.metadata.name ?? "", labels: node.metadata.labels ?? {} }));
}

/** Whether the volume can serve the claim (class, modes, size, selector), ignoring claimRef. */
export function volumeSatisfiesClaim(pv: KObject, claim: KObject): boolean {
  if (classOf(pv) !== classOf(claim)) return false;
  if ((pv.spec?.volumeMode ?? "Filesystem") !== (claim.spec?.volumeMode ?? "Filesystem")) return false;
  const have: string[] = pv.spec?.accessModes ?? [];
  if (!((claim.spec?.accessModes ?? []) as string[]).every((m) => have.includes(m))) return false;
  const want = claim.spec?.resources?.requests?.storage;
  const size = pv.spec?.capacity?.storage;
  if (want !== undefined && (size === undefined || compareQuantity(String(size), String(want)) < 0)) return false;
  if (claim.spec?.selector) {
    try {
      if (!selectorFromLabelSelector(claim.spec.selector).matches(pv.metadata.labels ?? {})) return false;
    } catch {
      return false;
    }
  }
  return true;
}

function preBoundTo(pv: KObject, claim: KObject): boolean {
  const ref = pv.spec?.claimRef;
  return Boolean(ref) && ref.name === claim.metadata.name && (ref.namespace ?? "") === claim.metadata.namespace && (!ref.uid || ref.uid === claim.metadata.uid);
}

/**
 * findBestMatchForClaim: a volume pre-bound to this claim wins; otherwise the smallest
 * Available volume that satisfies it. `node` restricts to volumes reachable from it.
 */
export function findMatchingVolume(claim: KObject, volumes: readonly KObject[], node?: { node: KObject | undefined }): KObject | undefined {
  let best: KObject | undefined;
  for (const pv of volumes) {
    if (pv.metadata.deletionTimestamp) continue;
    if (pv.spec?.claimRef && !preBoundTo(pv, claim)) continue;
    if (pv.status?.phase === "Released" || pv.status?.phase === "Failed") continue;
    if (!volumeSatisfiesClaim(pv, claim)) continue;
    if (node && !volumeAllowsNode(pv, node.node)) continue;
    if (pv.spec?.claimRef) return pv;
    if (!best || compareQuantity(String(pv.spec.capacity.storage), String(best.spec.capacity.storage)) < 0) best = pv;
  }
  return best;
}

function claimRefFor(claim: KObject): Record<string, unknown> {
  return { kind: "PersistentVolumeClaim", namespace: claim.metadata.namespace, name: claim.metadata.name, uid: claim.metadata.uid, apiVersion: "v1", resourceVersion: claim.metadata.resourceVersion };
}

async function setVolumePhase(ctx: ReconcileContext, pv: KObject, phase: string, message?: string): Promise<KObject> {
  if (pv.status?.phase === phase && (pv.status?.message ?? undefined) === message) return pv;
  const status: Record<string, unknown> = { phase, lastPhaseTransitionTime: nowRFC3339(new Date(ctx.clock.now())) };
  if (message) status.message = message;
  return ctx.client.updateStatus(PVS, { ...structuredClone(pv), status });
}

/** Binds volume and claim: each write only when still missing. */
async function bind(ctx: ReconcileContext, pv: KObject, claim: KObject): Promise<void> {
  let vol = pv;
  if (vol.spec?.claimRef?.uid !== claim.metadata.uid) {
    const next = structuredClone(vol);
    next.spec.claimRef = claimRefFor(claim);
    if (!pv.spec?.claimRef) next.metadata.annotations = { ...(next.metadata.annotations ?? {}), [BOUND_BY_CONTROLLER_ANNOTATION]: "yes" };
    vol = await ctx.client.update(PVS, next);
  }
  vol = await setVolumePhase(ctx, vol, "Bound");
  let c = claim;
  if (c.spec?.volumeName !== vol.metadata.name || c.metadata.annotations?.[BIND_COMPLETED_ANNOTATION] !== "yes") {
    const next = structuredClone(c);
    const annotations: Record<string, string> = { ...(next.metadata.annotations ?? {}), [BIND_COMPLETED_ANNOTATION]: "yes" };
    if (!c.spec?.volumeName) annotations[BOUND_BY_CONTROLLER_ANNOTATION] = "yes";
    next.metadata.annotations = annotations;
    next.spec.volumeName = vol.metadata.name;
    c = await ctx.client.update(PVCS, next);
  }
  const status = { ...(c.status ?? {}), phase: "Bound", accessModes: vol.spec.accessModes, capacity: vol.spec.capacity };
  if (JSON.stringify(status) !== JSON.stringify(c.status ?? {})) await ctx.client.updateStatus(PVCS, { ...structuredClone(c), status });
  ctx.log.info("bound claim", { claim: `${claim.metadata.namespace}/${claim.metadata.name}`, volume: vol.metadata.name });
}

async function setClaimPhase(ctx: ReconcileContext, claim: KObject, phase: string): Promise<void> {
  if (claim.status?.phase === phase) return;
  await ctx.client.updateStatus(PVCS, { ...structuredClone(claim), status: { ...(claim.status ?? {}), phase } });
}

/** The controller for claims; `said` remembers the last event per claim so resyncs stay quiet. */
export function persistentVolumeClaimController(): Controller {
  const said = new Map<string, string>();
  const event = (ctx: ReconcileContext, claim: KObject, type: "Normal" | "Warning", reason: string, message: string) => {
    const k = `${claim.metadata.uid}`;
    if (said.get(k) === `${reason}:${message}`) return;
    said.set(k, `${reason}:${message}`);
    if (said.size > 10_000) said.delete(said.keys().next().value!);
    ctx.recorder.event(claim, type, reason, message);
  };
  return {
    name: "persistentvolume-binder-claims",
    for: PVCS,
    // A volume naming a claim (a provisioner's new PV) wakes that claim.
    watches: [{ gvr: PVS, map: (pv) => (pv.spec?.claimRef?.name ? [{ namespace: pv.spec.claimRef.namespace, name: pv.spec.claimRef.name }] : []) }],
    reads: [STORAGE_CLASSES, NODES],
    async reconcile(ctx, key) {
      const claim = ctx.reader.get(PVCS, key.namespace, key.name);
      if (!claim || claim.metadata.deletionTimestamp) return;
      const volumeName: string | undefined = claim.spec?.volumeName;
      if (volumeName) {
        const pv = ctx.reader.get(PVS, undefined, volumeName);
        if (!pv) {
          if (claim.metadata.annotations?.[BIND_COMPLETED_ANNOTATION]) {
            await setClaimPhase(ctx, claim, "Lost");
            event(ctx, claim, "Warning", "ClaimLost", "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!");
          } else await setClaimPhase(ctx, claim, "Pending");
          return { requeueAfter: UNBOUND_RESYNC_MS };
        }
        const ref = pv.spec?.claimRef;
        if (!ref || preBoundTo(pv, claim)) return void (await bind(ctx, pv, claim));
        if (claim.metadata.annotations?.[BIND_COMPLETED_ANNOTATION]) {
          await setClaimPhase(ctx, claim, "Lost");
          event(ctx, claim, "Warning", "ClaimMisbound", "Two claims are bound to the same volume, this one is bound incorrectly");
        } else {
          await setClaimPhase(ctx, claim, "Pending");
          event(ctx, claim, "Warning", "FailedBinding", `volume "${volumeName}" already bound to a different claim.`);
        }
        return { requeueAfter: UNBOUND_RESYNC_MS };
      }
      // Unbound: find a volume, or ask for one.
      const delayed = isWaitForFirstConsumer(ctx, claim);
      const selected = claim.metadata.annotations?.[SELECTED_NODE_ANNOTATION];
      const volumes = ctx.reader.list(PVS);
      // A volume a provisioner made for this very claim (claimRef with its uid) is taken as is.
      const provisioned = volumes.find((v) => !v.metadata.deletionTimestamp && v.spec?.claimRef?.uid === claim.metadata.uid && preBoundTo(v, claim));
      const pv =
        provisioned ??
        (!delayed ? findMatchingVolume(claim, volumes) : selected ? findMatchingVolume(claim, volumes, { node: ctx.reader.get(NODES, undefined, selected) }) : undefined);
      if (pv) return void (await bind(ctx, pv, claim));
      await setClaimPhase(ctx, claim, "Pending");
      const className = classOf(claim);
      if (!className) {
        event(ctx, claim, "Normal", "FailedBinding", "no persistent volumes available for this claim and no storage class is set");
        return { requeueAfter: UNBOUND_RESYNC_MS };
      }
      const sc = ctx.reader.get(STORAGE_CLASSES, undefined, className);
      if (!sc) {
        event(ctx, claim, "Warning", "ProvisioningFailed", `storageclass.storage.k8s.io "${className}" not found`);
        return { requeueAfter: UNBOUND_RESYNC_MS };
      }
      if (delayed && !selected) {
        event(ctx, claim, "Normal", "WaitForFirstConsumer", "waiting for first consumer to be created before binding");
        return { requeueAfter: UNBOUND_RESYNC_MS };
      }
      const provisioner = String(sc.provisioner ?? "");
      const ann = claim.metadata.annotations ?? {};
      if (provisioner && (ann[STORAGE_PROVISIONER_ANNOTATION] !== provisioner || ann[BETA_STORAGE_PROVISIONER_ANNOTATION] !== provisioner)) {
        await ctx.client.patch(PVCS, claim.metadata.namespace, claim.metadata.name!, "merge", { metadata: { annotations: { [STORAGE_PROVISIONER_ANNOTATION]: provisioner, [BETA_STORAGE_PROVISIONER_ANNOTATION]: provisioner } } });
      }
      event(ctx, claim, "Normal", "ExternalProvisioning", `Waiting for a volume to be created either by the external provisioner '${provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`);
      return { requeueAfter: UNBOUND_RESYNC_MS };
    },
  };
}

/** The claim named by claimRef, read from the API when the cache does not have it (it may lag). */
async function liveClaim(ctx: ReconcileContext, ref: any): Promise<KObject | undefined> {
  const cached = ctx.reader.get(PVCS, ref.namespace, ref.name);
  if (cached && cached.metadata.uid === ref.uid) return cached;
  try {
    return await ctx.client.get(PVCS, ref.namespace, ref.name);
  } catch (err) {
    if (codeOf(err) === 404) return undefined;
    throw err;
  }
}

/** The node a local volume lives on (from its required node affinity on kubernetes.io/hostname). */
export function volumeNode(pv: KObject): string | undefined {
  for (const t of pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? []) {
    for (const e of t?.matchExpressions ?? []) if (e?.key === "kubernetes.io/hostname" && e.operator === "In" && e.values?.length === 1) return e.values[0];
  }
  return undefined;
}

export function persistentVolumeController(): Controller {
  return {
    name: "persistentvolume-binder-volumes",
    for: PVS,
    // A claim's changes (bound, deleted) wake the volume it names.
    watches: [{ gvr: PVCS, map: (c) => (c.spec?.volumeName ? [{ name: c.spec.volumeName }] : []) }],
    reads: [NODES],
    async reconcile(ctx, key) {
      const pv = ctx.reader.get(PVS, undefined, key.name);
      if (!pv || pv.metadata.deletionTimestamp) return;
      const ref = pv.spec?.claimRef;
      if (!ref?.name) return void (await setVolumePhase(ctx, pv, "Available"));
      if (!ref.uid) return void (await setVolumePhase(ctx, pv, "Available")); // pre-bound by name: the claim side binds
      const claim = await liveClaim(ctx, ref);
      if (claim && claim.metadata.uid === ref.uid) {
        if (claim.spec?.volumeName === pv.metadata.name) return void (await setVolumePhase(ctx, pv, "Bound"));
        if (!claim.spec?.volumeName) return; // half bound: the claim reconciler finishes it
        // The claim went to another volume: a volume we bound is free again.
        if (pv.metadata.annotations?.[BOUND_BY_CONTROLLER_ANNOTATION]) {
          const next = structuredClone(pv);
          delete next.spec.claimRef;
          delete next.metadata.annotations?.[BOUND_BY_CONTROLLER_ANNOTATION];
          await setVolumePhase(ctx, await ctx.client.update(PVS, next), "Available");
        }
        return;
      }
      // The claim is gone: Released, then reclaim.
      if (pv.status?.phase === "Failed") return; // reclaiming failed before; an admin decides
      const released = await setVolumePhase(ctx, pv, "Released");
      const policy = pv.spec?.persistentVolumeReclaimPolicy ?? "Retain";
      if (policy === "Retain") return;
      if (policy === "Recycle") {
        await setVolumePhase(ctx, released, "Failed", "Recycle is not supported: use Delete or Retain");
        return;
      }
      const provisioner = pv.metadata.annotations?.[PROVISIONED_BY_ANNOTATION];
      if (provisioner === LOCAL_PATH_PROVISIONER) {
        const node = volumeNode(pv);
        const nodeGone = node !== undefined && !ctx.reader.get(NODES, undefined, node);
        if (!pv.metadata.annotations?.[LOCAL_PATH_REMOVED_ANNOTATION] && !nodeGone) return { requeueAfter: UNBOUND_RESYNC_MS };
        try {
          await ctx.client.delete(PVS, undefined, pv.metadata.name!, { preconditions: { uid: pv.metadata.uid } });
          ctx.log.info("deleted released volume", { volume: pv.metadata.name, nodeGone });
        } catch (err) {
          if (codeOf(err) !== 404 && codeOf(err) !== 409) throw err;
        }
        return;
      }
      if (provisioner) return; // another (external) provisioner deletes its own volumes
      await setVolumePhase(ctx, released, "Failed", `error getting deleter volume plugin for volume "${pv.metadata.name}": no deletable volume plugin matched`);
      ctx.recorder.event(pv, "Warning", "VolumeFailedDelete", `error getting deleter volume plugin for volume "${pv.metadata.name}": no deletable volume plugin matched`);
    },
  };
}
