// Subresources with their own shapes: scale (autoscaling/v1 Scale over a workload's
// replicas, https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/deployment-v1/#Scale),
// pods/binding (the scheduler's placement), pods/eviction (API-initiated eviction
// honouring PodDisruptionBudgets, https://kubernetes.io/docs/concepts/scheduling-eviction/api-eviction/)
// and namespaces/finalize. status is an ordinary update with subresource "status".

import { BadRequest, Conflict, InternalError, NotFound, StatusError, TooManyRequests } from "../apimachinery/errors.js";
import { deepCopy, nowRFC3339, type KObject } from "../apimachinery/types.js";
import { isPlainObject } from "../apimachinery/equality.js";
import { selectorFromLabelSelector } from "../apimachinery/labels.js";
import { RevisionMismatchError } from "../store/types.js";
import type { ResourceDef } from "../api/types.js";
import type { Registry } from "./registry.js";
import { applyPatch, type PatchKind } from "./patching.js";
import { deleteObject, type DeleteOptions } from "./deletion.js";

function getPath(obj: any, path: string): unknown {
  return path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

function setPath(obj: any, path: string, v: unknown): void {
  const parts = path.split(".");
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    if (!isPlainObject(cur[p])) cur[p] = {};
    cur = cur[p];
  }
  cur[parts[parts.length - 1]!] = v;
}

function scaleDef(def: ResourceDef) {
  if (!def.scale) throw new NotFound(`${def.plural}/scale`, "", def.group);
  return def.scale;
}

export function toScale(def: ResourceDef, obj: KObject): KObject {
  const s = scaleDef(def);
  return {
    apiVersion: "autoscaling/v1",
    kind: "Scale",
    metadata: {
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      uid: obj.metadata.uid,
      resourceVersion: obj.metadata.resourceVersion,
      creationTimestamp: obj.metadata.creationTimestamp,
    },
    spec: { replicas: (getPath(obj, s.specReplicasPath) as number | undefined) ?? 0 },
    status: { replicas: (getPath(obj, s.statusReplicasPath) as number | undefined) ?? 0, selector: s.selector(obj) },
  };
}

export async function getScale(reg: Registry, def: ResourceDef, ns: string | undefined, name: string): Promise<KObject> {
  scaleDef(def);
  return toScale(def, await reg.get(def, ns, name));
}

/** Writes Scale.spec.replicas into the workload (honouring a resourceVersion precondition). */
export async function updateScale(
  reg: Registry,
  def: ResourceDef,
  ns: string | undefined,
  name: string,
  scale: unknown,
  opts: { dryRun?: boolean; fieldManager?: string } = {},
): Promise<KObject> {
  const s = scaleDef(def);
  if (!isPlainObject(scale)) throw new BadRequest("the body of the request must be a Scale object");
  const replicas = (scale as any).spec?.replicas;
  if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0) {
    throw new StatusError(422, "Invalid", `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`, {
      name,
      group: "autoscaling",
      kind: "Scale",
      causes: [{ reason: "FieldValueInvalid", field: "spec.replicas", message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0` }],
    });
  }
  const pin = (scale as any).metadata?.resourceVersion as string | undefined;
  for (let attempt = 0; ; attempt++) {
    const cur = await reg.getWithRevision(def, ns, name);
    if (pin && pin !== cur.obj.metadata.resourceVersion) throw new Conflict(def.plural, name, def.group);
    const next = deepCopy(cur.obj);
    setPath(next, s.specReplicasPath, replicas);
    try {
      const out = await reg.commitUpdate(def, cur, next, { dryRun: opts.dryRun, fieldManager: opts.fieldManager, subresource: "scale" }, "Update");
      return toScale(def, out);
    } catch (e) {
      if (e instanceof RevisionMismatchError && !pin && attempt < 8) continue;
      if (e instanceof RevisionMismatchError) throw new Conflict(def.plural, name, def.group);
      throw e;
    }
  }
}

export async function patchScale(
  reg: Registry,
  def: ResourceDef,
  ns: string | undefined,
  name: string,
  kind: PatchKind,
  patch: unknown,
  opts: { dryRun?: boolean; fieldManager?: string } = {},
): Promise<KObject> {
  const current = await getScale(reg, def, ns, name);
  // The Scale type has no merge keys, so every patch type reduces to JSON merging.
  const out = applyPatch({ def, kind: kind === "apply" ? "merge" : kind, live: current, patch, name, namespace: ns, opts: {}, now: reg.now() });
  const pinned = out.pinnedResourceVersion;
  if (!pinned) delete out.object.metadata.resourceVersion;
  return updateScale(reg, def, ns, name, out.object, opts);
}

/** POST pods/NAME/binding: assigns the pod to a node exactly once. */
export async function bindPod(reg: Registry, podDef: ResourceDef, ns: string, name: string, binding: unknown): Promise<KObject> {
  if (!isPlainObject(binding)) throw new BadRequest("the body of the request must be a Binding object");
  const target = (binding as any).target;
  if (!isPlainObject(target) || typeof target.name !== "string" || !target.name) {
    throw new StatusError(422, "Invalid", `Binding "${name}" is invalid: target.name: Required value`, {
      name,
      kind: "Binding",
      causes: [{ reason: "FieldValueRequired", field: "target.name", message: "Required value" }],
    });
  }
  const bname = (binding as any).metadata?.name;
  if (bname && bname !== name) throw new BadRequest(`the name of the object (${bname}) does not match the name on the URL (${name})`);
  for (let attempt = 0; ; attempt++) {
    const cur = await reg.getWithRevision(podDef, ns, name);
    const pod = deepCopy(cur.obj);
    if (pod.metadata.deletionTimestamp) throw new Conflict("pods", name, "", `pod ${name} is being deleted, cannot be assigned to a host`);
    if (pod.spec?.nodeName) throw new Conflict("pods", name, "", `pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
    const uid = (binding as any).metadata?.uid;
    if (uid && uid !== pod.metadata.uid) throw new Conflict("pods", name, "", `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${pod.metadata.uid}`);
    pod.spec.nodeName = target.name;
    const conds: any[] = (pod.status.conditions ?? []).filter((c: any) => c.type !== "PodScheduled");
    conds.push({ type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: nowRFC3339(reg.now()) });
    pod.status = { ...pod.status, conditions: conds };
    try {
      // Binding changes spec and status together, bypassing the pod update rules.
      const rev = await reg.store.update(reg.objects.key(podDef, ns, name), reg.objects.encode(podDef, pod), cur.rev);
      pod.metadata.resourceVersion = String(rev);
      return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 } as unknown as KObject;
    } catch (e) {
      if (e instanceof RevisionMismatchError && attempt < 8) continue;
      throw e;
    }
  }
}

/** POST pods/NAME/eviction: delete the pod unless a PodDisruptionBudget forbids it. */
export async function evictPod(reg: Registry, podDef: ResourceDef, ns: string, name: string, eviction: unknown): Promise<KObject> {
  if (!isPlainObject(eviction)) throw new BadRequest("the body of the request must be an Eviction object");
  const deleteOptions = ((eviction as any).deleteOptions ?? {}) as DeleteOptions;
  const pod = await reg.get(podDef, ns, name);
  const terminal = pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
  const pdbDef = reg.catalogue.lookup("policy", "v1", "poddisruptionbudgets");
  if (pdbDef && !terminal && !pod.metadata.deletionTimestamp) {
    const pdbs = (await reg.list(pdbDef, ns)).items.filter((p) => selectorFromLabelSelector(p.spec?.selector).matches(pod.metadata.labels));
    if (pdbs.length > 1) throw new InternalError("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.");
    const pdb = pdbs[0];
    if (pdb) {
      const allowed = pdb.status?.disruptionsAllowed ?? 0;
      if (allowed <= 0 || (pdb.status?.observedGeneration ?? 0) < (pdb.metadata.generation ?? 0)) {
        // Retry-after 0, as upstream: with a Retry-After header client-go would retry silently
        // inside one request, and `kubectl drain` could never report the refusal and retry.
        const err = new TooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0);
        err.details!.causes = [{ reason: "DisruptionBudget", message: `The disruption budget ${pdb.metadata.name} needs ${pdb.status?.desiredHealthy ?? 0} healthy pods and has ${pdb.status?.currentHealthy ?? 0} currently` }];
        throw err;
      }
      const next = deepCopy(pdb);
      next.status.disruptionsAllowed = allowed - 1;
      next.status.disruptedPods = { ...(next.status.disruptedPods ?? {}), [name]: nowRFC3339(reg.now()) };
      try {
        await reg.store.update(reg.objects.key(pdbDef, ns, pdb.metadata.name!), reg.objects.encode(pdbDef, next), Number(pdb.metadata.resourceVersion));
      } catch (e) {
        if (e instanceof RevisionMismatchError) throw new TooManyRequests("Operation cannot be fulfilled: the disruption budget changed, retry", 1);
        throw e;
      }
    }
  }
  await deleteObject(reg, podDef, ns, name, deleteOptions);
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 } as unknown as KObject;
}

/** PUT namespaces/NAME/finalize: replaces spec.finalizers; an emptied terminating namespace goes away. */
export async function finalizeNamespace(reg: Registry, nsDef: ResourceDef, name: string, body: unknown): Promise<KObject> {
  if (!isPlainObject(body)) throw new BadRequest("the body of the request must be a Namespace object");
  for (let attempt = 0; ; attempt++) {
    const cur = await reg.getWithRevision(nsDef, undefined, name);
    const next = deepCopy(cur.obj);
    next.spec = { ...(next.spec ?? {}), finalizers: (body as any).spec?.finalizers ?? [] };
    if (!next.spec.finalizers.length) delete next.spec.finalizers;
    try {
      const key = reg.objects.key(nsDef, undefined, name);
      if (next.metadata.deletionTimestamp && reg.finalized(nsDef, next)) {
        const rev = await reg.deleteKey(key, cur.rev);
        next.metadata.resourceVersion = String(rev);
        return next;
      }
      const rev = await reg.store.update(key, reg.objects.encode(nsDef, next), cur.rev);
      next.metadata.resourceVersion = String(rev);
      return next;
    } catch (e) {
      if (e instanceof RevisionMismatchError && attempt < 8) continue;
      throw e;
    }
  }
}
