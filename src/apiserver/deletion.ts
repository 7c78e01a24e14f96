// Deletion semantics (https://kubernetes.io/docs/concepts/architecture/garbage-collection/
// and https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination):
// preconditions, graceful deletion of scheduled pods (deletionTimestamp = now + grace,
// the kubelet finishes with grace 0), finalizers that hold an object in "deleting",
// propagationPolicy turned into the orphan / foregroundDeletion finalizers that the
// garbage collector acts on, and namespaces that enter Terminating until the
// namespace controller has emptied them.

import { Conflict, NotFound } from "../apimachinery/errors.js";
import { deepCopy, nowRFC3339, type KList, type KObject } from "../apimachinery/types.js";
import { RevisionMismatchError, KeyNotFoundError } from "../store/types.js";
import type { ResourceDef } from "../api/types.js";
import type { Registry, ListOptions } from "./registry.js";

export interface DeleteOptions {
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface DeleteResult {
  object: KObject;
  /** True when the object is gone from the store; false when deletion is pending. */
  deleted: boolean;
}

const ORPHAN = "orphan";
const FOREGROUND = "foregroundDeletion";

function isPod(def: ResourceDef): boolean {
  return def.group === "" && def.plural === "pods";
}

function isNamespace(def: ResourceDef): boolean {
  return def.group === "" && def.plural === "namespaces";
}

/** The grace period this delete asks for; 0 = remove now. */
function gracePeriod(def: ResourceDef, obj: KObject, opts: DeleteOptions): number {
  if (!isPod(def)) return 0;
  // Unscheduled and finished pods have nothing to stop: upstream deletes them at once.
  if (!obj.spec?.nodeName) return 0;
  if (obj.status?.phase === "Succeeded" || obj.status?.phase === "Failed") return 0;
  let g = opts.gracePeriodSeconds ?? obj.spec?.terminationGracePeriodSeconds ?? 30;
  if (g < 0) g = 0;
  return g;
}

function withFinalizers(obj: KObject, policy: DeleteOptions["propagationPolicy"]): void {
  if (!policy) return;
  let f = (obj.metadata.finalizers ?? []).filter((x) => x !== ORPHAN && x !== FOREGROUND);
  if (policy === "Orphan") f = [...f, ORPHAN];
  if (policy === "Foreground") f = [...f, FOREGROUND];
  if (f.length) obj.metadata.finalizers = f;
  else delete obj.metadata.finalizers;
}

export async function deleteObject(
  reg: Registry,
  def: ResourceDef,
  namespace: string | undefined,
  name: string,
  opts: DeleteOptions = {},
): Promise<DeleteResult> {
  const key = reg.objects.key(def, namespace, name);
  for (let attempt = 0; ; attempt++) {
    const cur = await reg.getWithRevision(def, namespace, name);
    const live = cur.obj;
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== live.metadata.uid) {
      throw new Conflict(def.plural, name, def.group, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${live.metadata.uid}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== live.metadata.resourceVersion) {
      throw new Conflict(
        def.plural,
        name,
        def.group,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${live.metadata.resourceVersion}`,
      );
    }
    const req = reg.admissionRequest("delete", def, live, undefined, { dryRun: opts.dryRun });
    await reg.admit(req);

    const next = deepCopy(live);
    withFinalizers(next, opts.propagationPolicy);
    const grace = gracePeriod(def, live, opts);
    const now = reg.now();
    let pending = (next.metadata.finalizers ?? []).length > 0 || grace > 0;
    if (isNamespace(def)) {
      pending = true;
      next.status = { ...(next.status ?? {}), phase: "Terminating" };
    }
    try {
      if (live.metadata.deletionTimestamp) {
        // Already deleting: only a shorter grace period (or a new finalizer policy) changes anything.
        const remaining = live.metadata.deletionGracePeriodSeconds ?? 0;
        if (pending && grace >= remaining && JSON.stringify(next.metadata.finalizers) === JSON.stringify(live.metadata.finalizers)) {
          return { object: live, deleted: false };
        }
        if (!pending || (grace === 0 && !(next.metadata.finalizers ?? []).length && !isNamespace(def))) {
          return await removeNow(reg, def, key, cur.rev, live, opts, req);
        }
        next.metadata.deletionTimestamp = nowRFC3339(new Date(now.getTime() + grace * 1000));
        next.metadata.deletionGracePeriodSeconds = grace;
      } else if (!pending) {
        return await removeNow(reg, def, key, cur.rev, live, opts, req);
      } else {
        next.metadata.deletionTimestamp = nowRFC3339(new Date(now.getTime() + grace * 1000));
        next.metadata.deletionGracePeriodSeconds = grace;
        if (next.metadata.generation !== undefined) next.metadata.generation += 1;
      }
      if (opts.dryRun) return { object: next, deleted: false };
      const rev = await reg.store.update(key, reg.objects.encode(def, next), cur.rev);
      next.metadata.resourceVersion = String(rev);
      return { object: next, deleted: false };
    } catch (e) {
      if (e instanceof RevisionMismatchError && attempt < 8) continue;
      if (e instanceof RevisionMismatchError) throw new Conflict(def.plural, name, def.group);
      if (e instanceof KeyNotFoundError) throw new NotFound(def.plural, name, def.group);
      throw e;
    }
  }
}

async function removeNow(
  reg: Registry,
  def: ResourceDef,
  key: string,
  rev: number,
  live: KObject,
  opts: DeleteOptions,
  req: ReturnType<Registry["admissionRequest"]>,
): Promise<DeleteResult> {
  if (opts.dryRun) return { object: live, deleted: true };
  const d = await reg.store.delete(key, rev);
  await reg.release(req);
  const object = deepCopy(live);
  object.metadata.resourceVersion = String(d.revision);
  return { object, deleted: true };
}

export async function deleteCollection(
  reg: Registry,
  def: ResourceDef,
  namespace: string | undefined,
  listOpts: ListOptions,
  opts: DeleteOptions,
): Promise<KList> {
  const list = await reg.list(def, namespace, { labelSelector: listOpts.labelSelector, fieldSelector: listOpts.fieldSelector });
  const items: KObject[] = [];
  for (const o of list.items) {
    try {
      items.push((await deleteObject(reg, def, o.metadata.namespace, o.metadata.name!, opts)).object);
    } catch (e) {
      if (!(e instanceof NotFound)) throw e;
    }
  }
  return { ...list, items };
}
