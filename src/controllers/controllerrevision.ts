// Revision history for StatefulSets and DaemonSets, stored as apps/v1 ControllerRevisions
// (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/controller-revision-v1/).
// Like upstream's controller history package, a revision's data is the template patch
// `{spec: {template: {..., $patch: "replace"}}}`; its name is `<owner>-<hash>` where the
// hash is FNV-32a over the canonical JSON, rendered with Kubernetes' "safe" alphabet.
// Pods carry the hash in the `controller-revision-hash` label, so "is this pod current"
// is a label comparison. Revisions beyond revisionHistoryLimit that no pod uses are pruned.

import { AlreadyExists, isStatusError } from "../apimachinery/errors.js";
import { deepEqual } from "../apimachinery/equality.js";
import { deepCopy, type KObject } from "../apimachinery/types.js";
import type { ReconcileContext } from "../client/controller.js";

export const CONTROLLER_REVISIONS = "apps/v1/controllerrevisions";
export const REVISION_HASH_LABEL = "controller-revision-hash";

/** JSON with object keys sorted, so equal values hash equally. */
export function canonicalJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJSON).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJSON(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

function fnv32a(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (const b of Buffer.from(s, "utf8")) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

// apimachinery's rand.SafeEncodeString alphabet: no vowels (no words) and no look-alikes.
const SAFE = "bcdfghjklmnpqrstvwxz2456789";

/** A short label-safe hash of any JSON value; collisionCount perturbs it as upstream does. */
export function safeHash(v: unknown, collisionCount = 0): string {
  const h = fnv32a(canonicalJSON(v) + (collisionCount ? String(collisionCount) : ""));
  return [...String(h)].map((c) => SAFE[c.charCodeAt(0) % SAFE.length]).join("");
}

/** The revision data for a pod template (what upstream's getPatch stores). */
export function revisionData(template: unknown): Record<string, unknown> {
  return { spec: { template: { ...(deepCopy(template) as Record<string, unknown>), $patch: "replace" } } };
}

/** The template stored in a revision. */
export function templateFromRevision(rev: KObject): Record<string, any> {
  const t = { ...(rev.data?.spec?.template ?? {}) };
  delete t.$patch;
  return t;
}

export interface RevisionOwner {
  obj: KObject;
  apiVersion: string;
  kind: string;
}

export interface History {
  /** All revisions owned by the object, oldest revision number first. */
  revisions: KObject[];
  /** The revision matching the current template (created or bumped when needed). */
  update: KObject;
}

/**
 * Finds or creates the revision for the owner's current template. An equal older revision
 * is re-numbered to be the newest (a rollback), as upstream does.
 */
export async function syncHistory(ctx: ReconcileContext, owner: RevisionOwner): Promise<History> {
  const o = owner.obj;
  const ns = o.metadata.namespace;
  let revisions = ctx.reader
    .ownedBy(CONTROLLER_REVISIONS, o.metadata.uid!)
    .filter((r) => r.metadata.ownerReferences?.some((ref) => ref.controller && ref.uid === o.metadata.uid));
  revisions = [...revisions].sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0));
  const data = revisionData(o.spec?.template);
  const maxRev = revisions.reduce((m, r) => Math.max(m, r.revision ?? 0), 0);
  const equal = revisions.filter((r) => deepEqual(r.data, data));
  let update = equal[equal.length - 1];
  if (update && (update.revision ?? 0) < maxRev) {
    const next = deepCopy(update);
    next.revision = maxRev + 1;
    update = await ctx.client.update(CONTROLLER_REVISIONS, next);
    revisions = revisions.map((r) => (r.metadata.name === update.metadata.name ? update : r));
  }
  if (!update) {
    let collisions = o.status?.collisionCount ?? 0;
    for (;;) {
      const hash = safeHash(o.spec?.template, collisions);
      const rev: KObject = {
        apiVersion: "apps/v1",
        kind: "ControllerRevision",
        metadata: {
          name: `${o.metadata.name}-${hash}`,
          namespace: ns,
          labels: { ...(o.spec?.selector?.matchLabels ?? {}), [REVISION_HASH_LABEL]: hash },
          ownerReferences: [{ apiVersion: owner.apiVersion, kind: owner.kind, name: o.metadata.name!, uid: o.metadata.uid!, controller: true, blockOwnerDeletion: true }],
        },
        data,
        revision: maxRev + 1,
      };
      try {
        update = await ctx.client.create(CONTROLLER_REVISIONS, rev);
        break;
      } catch (err) {
        if (!(err instanceof AlreadyExists)) throw err;
        const existing = await ctx.client.get(CONTROLLER_REVISIONS, ns, rev.metadata.name!);
        // Our own revision from a stale cache: take it. Otherwise a true hash collision.
        if (existing.metadata.ownerReferences?.some((r) => r.uid === o.metadata.uid) && deepEqual(existing.data, data)) {
          update = existing;
          break;
        }
        collisions++;
      }
    }
    revisions = [...revisions.filter((r) => r.metadata.name !== update.metadata.name), update];
  }
  return { revisions, update };
}

/** The hash a revision's pods are labelled with. */
export function revisionHash(rev: KObject): string {
  return rev.metadata.labels?.[REVISION_HASH_LABEL] ?? rev.metadata.name!.slice(rev.metadata.name!.lastIndexOf("-") + 1);
}

/** Deletes the oldest revisions beyond `limit` that no live pod and no status field refers to. */
export async function truncateHistory(ctx: ReconcileContext, history: History, inUse: Set<string>, limit: number): Promise<void> {
  const candidates = history.revisions.filter((r) => !inUse.has(r.metadata.name!) && !inUse.has(revisionHash(r)) && r.metadata.name !== history.update.metadata.name);
  const excess = candidates.length - Math.max(0, limit);
  for (const r of candidates.slice(0, Math.max(0, excess))) {
    try {
      await ctx.client.delete(CONTROLLER_REVISIONS, r.metadata.namespace, r.metadata.name!);
    } catch (err) {
      if (!(isStatusError(err) && err.code === 404)) throw err;
    }
  }
}
