// storage.k8s.io/v1 StorageClass: the classes of storage a cluster offers for dynamic
// provisioning (https://kubernetes.io/docs/concepts/storage/storage-classes/) — defaults
// (reclaimPolicy Delete, volumeBindingMode Immediate), validation after
// pkg/apis/storage/validation (a qualified provisioner name, immutable provisioner,
// parameters, reclaimPolicy and volumeBindingMode), the `kubectl get storageclass`
// columns, the default-class annotation
// (https://kubernetes.io/docs/tasks/administer-cluster/change-default-storage-class/) and
// Tugboat's built-in class `local-path`, which the node-side provisioner
// (src/agent/storage/localpath.ts) serves with directories under the agent's data dir.

import { fieldError, type StatusCause } from "../apimachinery/errors.js";
import type { KObject } from "../apimachinery/types.js";
import { ageColumn, ageSince, column, str } from "./table.js";
import type { ResourceDef, ValidationContext } from "./types.js";
import { asArray, asBool, asObject, asString, asStringMap, immutableField, invalidEach, isQualifiedName, jsonEqual, validateEnum, validateObjectMeta, validateObjectMetaUpdate } from "./validation.js";

export const STORAGE_CLASSES = "storage.k8s.io/v1/storageclasses";
/** Marks the class a claim without storageClassName gets (DefaultStorageClass admission). */
export const DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class";
/** The pre-GA spelling upstream still honours. */
export const BETA_DEFAULT_CLASS_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class";
/** The provisioner name Tugboat's local-path provisioner answers to. */
export const LOCAL_PATH_PROVISIONER = "tugboat.io/local-path";
export const LOCAL_PATH_CLASS = "local-path";

// Annotations of the PersistentVolume binding protocol
// (https://kubernetes.io/docs/concepts/storage/persistent-volumes/#binding), shared by
// the PV controller, the scheduler's VolumeBinding plugin and the provisioner.
/** On a claim: the controller finished binding it (it never goes back to Pending). */
export const BIND_COMPLETED_ANNOTATION = "pv.kubernetes.io/bind-completed";
/** On a claim or volume: the controller (not the user) set volumeName / claimRef. */
export const BOUND_BY_CONTROLLER_ANNOTATION = "pv.kubernetes.io/bound-by-controller";
/** On a volume: the provisioner that created it (and will delete it). */
export const PROVISIONED_BY_ANNOTATION = "pv.kubernetes.io/provisioned-by";
/** On a claim: the provisioner asked to create its volume. */
export const STORAGE_PROVISIONER_ANNOTATION = "volume.kubernetes.io/storage-provisioner";
export const BETA_STORAGE_PROVISIONER_ANNOTATION = "volume.beta.kubernetes.io/storage-provisioner";
/** On a WaitForFirstConsumer claim: the node the scheduler chose for its first pod. */
export const SELECTED_NODE_ANNOTATION = "volume.kubernetes.io/selected-node";
/**
 * On a Released local-path volume: the node-side provisioner removed its directory, so
 * the PV object may go (the provisioner deletes it; the PV controller does if it cannot).
 */
export const LOCAL_PATH_REMOVED_ANNOTATION = "tugboat.io/local-path-removed";

const RECLAIM_POLICIES = ["Delete", "Retain"];
const BINDING_MODES = ["Immediate", "WaitForFirstConsumer"];
/** Upstream caps the total size of parameters keys and values at 256 KiB. */
const MAX_PARAMETERS_BYTES = 256 * 1024;

/** The class Tugboat creates at bootstrap: node-local directories, bound where the pod lands. */
export const LOCAL_PATH_STORAGE_CLASS: KObject = {
  apiVersion: "storage.k8s.io/v1",
  kind: "StorageClass",
  metadata: { name: LOCAL_PATH_CLASS, annotations: { [DEFAULT_CLASS_ANNOTATION]: "true" } },
  provisioner: LOCAL_PATH_PROVISIONER,
  reclaimPolicy: "Delete",
  volumeBindingMode: "WaitForFirstConsumer",
  allowVolumeExpansion: false,
};

/** IsDefaultAnnotation: either spelling set to "true". */
export function isDefaultStorageClass(sc: KObject): boolean {
  const a = sc.metadata?.annotations ?? {};
  return a[DEFAULT_CLASS_ANNOTATION] === "true" || a[BETA_DEFAULT_CLASS_ANNOTATION] === "true";
}

/**
 * The default class among `classes`: upstream picks the newest of several defaults
 * (then the name, for a stable answer) rather than refusing the claim.
 */
export function defaultStorageClass(classes: readonly KObject[]): KObject | undefined {
  return classes
    .filter(isDefaultStorageClass)
    .sort((a, b) => String(b.metadata.creationTimestamp ?? "").localeCompare(String(a.metadata.creationTimestamp ?? "")) || String(a.metadata.name).localeCompare(String(b.metadata.name)))[0];
}

function defaultStorageClassFields(o: KObject): void {
  o.reclaimPolicy ??= "Delete";
  o.volumeBindingMode ??= "Immediate";
}

function validateTopologies(v: unknown, errs: StatusCause[]): void {
  const terms = asArray(v, "allowedTopologies", errs) ?? [];
  terms.forEach((t, i) => {
    const base = `allowedTopologies[${i}]`;
    const term = asObject(t, base, errs);
    if (!term) return;
    const exprs = asArray(term.matchLabelExpressions, `${base}.matchLabelExpressions`, errs) ?? [];
    if (exprs.length === 0) errs.push(fieldError.required(`${base}.matchLabelExpressions`, "Required value: must have at least one label requirement"));
    exprs.forEach((e, j) => {
      const p = `${base}.matchLabelExpressions[${j}]`;
      const req = asObject(e, p, errs);
      if (!req) return;
      const key = asString(req.key, `${p}.key`, errs);
      if (!key) errs.push(fieldError.required(`${p}.key`));
      else errs.push(...invalidEach(key, isQualifiedName(key), `${p}.key`));
      const values = asArray(req.values, `${p}.values`, errs) ?? [];
      if (values.length === 0) errs.push(fieldError.required(`${p}.values`, "Required value: must specify as least one value"));
    });
  });
}

function validateStorageClass(o: KObject, ctx: ValidationContext): StatusCause[] {
  const old = ctx.operation === "update" ? ctx.old : undefined;
  const errs = old ? validateObjectMetaUpdate(o.metadata, old.metadata) : validateObjectMeta(o.metadata, { namespaced: false });
  const provisioner = asString(o.provisioner, "provisioner", errs);
  if (!provisioner) {
    if (o.provisioner === undefined || o.provisioner === null || o.provisioner === "") errs.push(fieldError.required("provisioner"));
  } else errs.push(...invalidEach(provisioner, isQualifiedName(provisioner.toLowerCase()), "provisioner"));
  const params = asStringMap(o.parameters, "parameters", errs) ?? {};
  let size = 0;
  for (const [k, v] of Object.entries(params)) {
    if (k === "") errs.push(fieldError.invalid("parameters", k, "field can not be empty."));
    size += k.length + v.length;
  }
  if (size > MAX_PARAMETERS_BYTES) errs.push(fieldError.tooLong("parameters", MAX_PARAMETERS_BYTES));
  if (o.reclaimPolicy != null) errs.push(...validateEnum(o.reclaimPolicy, RECLAIM_POLICIES, "reclaimPolicy"));
  if (o.volumeBindingMode == null) errs.push(fieldError.required("volumeBindingMode"));
  else errs.push(...validateEnum(o.volumeBindingMode, BINDING_MODES, "volumeBindingMode"));
  asBool(o.allowVolumeExpansion, "allowVolumeExpansion", errs);
  for (const [i, m] of (asArray(o.mountOptions, "mountOptions", errs) ?? []).entries()) asString(m, `mountOptions[${i}]`, errs);
  validateTopologies(o.allowedTopologies, errs);
  if (old) {
    if (o.provisioner !== old.provisioner) errs.push(fieldError.forbidden("provisioner", "updates to provisioner are forbidden."));
    if (!jsonEqual(o.parameters ?? {}, old.parameters ?? {})) errs.push(fieldError.forbidden("parameters", "updates to parameters are forbidden."));
    if (o.reclaimPolicy !== old.reclaimPolicy) errs.push(fieldError.forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."));
    errs.push(...immutableField(o.volumeBindingMode, old.volumeBindingMode, "volumeBindingMode"));
  }
  return errs;
}

export const storageClassResource: ResourceDef = {
  group: "storage.k8s.io",
  version: "v1",
  kind: "StorageClass",
  plural: "storageclasses",
  singular: "storageclass",
  namespaced: false,
  shortNames: ["sc"],
  tracksGeneration: false,
  defaults: defaultStorageClassFields,
  validate: validateStorageClass,
  table: {
    nameCell: (o) => {
      const a = o.metadata.annotations ?? {};
      return a[DEFAULT_CLASS_ANNOTATION] === "true" || a[BETA_DEFAULT_CLASS_ANNOTATION] === "true" ? `${o.metadata.name} (default)` : String(o.metadata.name ?? "");
    },
    columns: [
      column("Provisioner", "provisioner indicates the type of the provisioner."),
      column("ReclaimPolicy", "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete."),
      column("VolumeBindingMode", "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound. When unset, VolumeBindingImmediate is used."),
      column("AllowVolumeExpansion", "allowVolumeExpansion shows whether the storage class allow volume expand.", { type: "boolean" }),
      ageColumn(),
    ],
    cells(o, now) {
      return [str(o.provisioner), str(o.reclaimPolicy, "Delete"), str(o.volumeBindingMode, "Immediate"), o.allowVolumeExpansion === true, ageSince(o.metadata?.creationTimestamp, now)];
    },
  },
};

export const storageResources: ResourceDef[] = [storageClassResource];
