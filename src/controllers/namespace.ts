// The namespace controller: empties a terminating namespace
// (https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/ and
// https://kubernetes.io/docs/tasks/administer-cluster/namespaces/#deleting-a-namespace).
// When a namespace has a deletionTimestamp, it deletes every namespaced object in it
// across all resource types, waits until they are gone (objects with finalizers or
// grace periods take a while), reports progress in status.conditions, and finally
// removes the "kubernetes" finalizer through PUT namespaces/NAME/finalize, after which
// the API server removes the namespace.

import { deepCopy, nowRFC3339, type KObject } from "../apimachinery/types.js";
import type { Controller, ReconcileContext } from "../client/controller.js";
import type { ResourceInfo } from "./garbagecollector.js";

const NAMESPACES = "v1/namespaces";
const FINALIZER = "kubernetes";

interface Condition {
  type: string;
  status: "True" | "False";
  reason: string;
  message: string;
  lastTransitionTime?: string;
}

function codeOf(err: unknown): number | undefined {
  return (err as { code?: number })?.code;
}

/** Resources whose collections cannot be deleted are deleted one by one. */
async function deleteAllIn(ctx: ReconcileContext, gvr: string, namespace: string): Promise<void> {
  try {
    await ctx.client.deleteCollection(gvr, { namespace });
    return;
  } catch (err) {
    if (codeOf(err) !== 405) throw err;
  }
  const list = await ctx.client.list(gvr, { namespace });
  for (const o of list.items) {
    if (o.metadata.deletionTimestamp) continue;
    try {
      await ctx.client.delete(gvr, namespace, o.metadata.name!);
    } catch (err) {
      if (codeOf(err) !== 404) throw err;
    }
  }
}

/** The controller for the given resource types (only namespaced ones are used). */
export function namespaceController(resources: ResourceInfo[]): Controller {
  const namespaced = resources.filter((r) => r.namespaced);
  return {
    name: "namespace",
    for: NAMESPACES,
    workers: 2,
    async reconcile(ctx, key) {
      const cached = ctx.reader.get(NAMESPACES, undefined, key.name);
      if (!cached?.metadata.deletionTimestamp) return;
      if (!(cached.spec?.finalizers ?? []).includes(FINALIZER)) return;
      const ns = key.name;

      const failures: string[] = [];
      for (const r of namespaced) {
        try {
          await deleteAllIn(ctx, r.gvr, ns);
        } catch (err) {
          failures.push(`${r.gvr}: ${(err as Error).message}`);
        }
      }
      // Count what is left; objects with finalizers name them in the condition.
      let remaining = 0;
      const remainingByResource: string[] = [];
      const finalizers = new Set<string>();
      for (const r of namespaced) {
        let items: KObject[];
        try {
          items = (await ctx.client.list(r.gvr, { namespace: ns })).items;
        } catch (err) {
          failures.push(`${r.gvr}: ${(err as Error).message}`);
          continue;
        }
        if (items.length === 0) continue;
        remaining += items.length;
        remainingByResource.push(`${r.gvr.split("/").pop()} has ${items.length} resource instances`);
        for (const o of items) for (const f of o.metadata.finalizers ?? []) finalizers.add(f);
      }

      const conditions: Condition[] = [
        {
          type: "NamespaceDeletionContentFailure",
          status: failures.length ? "True" : "False",
          reason: failures.length ? "ContentDeletionFailed" : "ContentDeleted",
          message: failures.length ? `Failed to delete all resource types, ${failures.length} remaining: ${failures.join(", ")}` : "All content successfully deleted, may be waiting on finalization",
        },
        {
          type: "NamespaceContentRemaining",
          status: remaining ? "True" : "False",
          reason: remaining ? "SomeResourcesRemain" : "ContentRemoved",
          message: remaining ? `Some resources are remaining: ${remainingByResource.join(", ")}` : "All content successfully removed",
        },
        {
          type: "NamespaceFinalizersRemaining",
          status: finalizers.size ? "True" : "False",
          reason: finalizers.size ? "SomeFinalizersRemain" : "ContentHasNoFinalizers",
          message: finalizers.size ? `Some content in the namespace has finalizers remaining: ${[...finalizers].sort().join(", ")}` : "All content-preserving finalizers finished",
        },
      ];
      await writeConditions(ctx, ns, conditions);

      if (failures.length) throw new Error(`namespace ${ns}: ${failures.join("; ")}`);
      // Deletion is pending on grace periods or finalizers: look again shortly.
      if (remaining > 0) return { requeueAfter: 2_000 };

      const live = await ctx.client.get(NAMESPACES, undefined, ns);
      const next = deepCopy(live);
      next.spec = { ...(next.spec ?? {}), finalizers: (live.spec?.finalizers ?? []).filter((f: string) => f !== FINALIZER) };
      await ctx.client.update(NAMESPACES, next, { subresource: "finalize" });
    },
  };
}

/** Writes the deletion conditions (keeping lastTransitionTime when a status did not change). */
async function writeConditions(ctx: ReconcileContext, ns: string, conditions: Condition[]): Promise<void> {
  let live: KObject;
  try {
    live = await ctx.client.get(NAMESPACES, undefined, ns);
  } catch (err) {
    if (codeOf(err) === 404) return;
    throw err;
  }
  const old: Condition[] = live.status?.conditions ?? [];
  const now = nowRFC3339(new Date(ctx.clock.now()));
  const merged = conditions.map((c) => {
    const prev = old.find((o) => o.type === c.type);
    return { ...c, lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now };
  });
  const unchanged =
    live.status?.phase === "Terminating" &&
    merged.every((c) => {
      const p = old.find((o) => o.type === c.type);
      return p && p.status === c.status && p.reason === c.reason && p.message === c.message;
    });
  if (unchanged) return;
  const next = deepCopy(live);
  next.status = { ...(next.status ?? {}), phase: "Terminating", conditions: [...old.filter((o) => !merged.some((m) => m.type === o.type)), ...merged] };
  try {
    await ctx.client.updateStatus(NAMESPACES, next);
  } catch (err) {
    // A concurrent write or the namespace vanishing is fine: the next pass rewrites them.
    if (codeOf(err) !== 409 && codeOf(err) !== 404) throw err;
  }
}
