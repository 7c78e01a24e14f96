// Core/v1 storage resources: PersistentVolume and PersistentVolumeClaim — defaults
// (reclaim policy, volume mode, Pending phase), validation (access modes, capacity,
// exactly one volume source, claim immutability except storage growth) and the 1.32
// `kubectl get pv|pvc` tables
// (https://kubernetes.io/docs/reference/kubernetes-api/config-and-storage-resources/persistent-volume-v1/,
// https://kubernetes.io/docs/concepts/storage/persistent-volumes/).

import { fieldError, type StatusCause } from "../apimachinery/errors.js";
import { canonicalQuantity, compareQuantity, tryParseQuantity } from "../apimachinery/quantity.js";
import type { KObject } from "../apimachinery/types.js";
import { ageColumn, ageSince, column, list, obj, str } from "./table.js";
import type { ResourceDef, ValidationContext } from "./types.js";
import {
  asArray, asObject, asString, immutableField, invalidEach, isDNS1123Subdomain, isPlainObject, jsonEqual,
  validateEnum, validateLabelSelector, validateObjectMeta, validateObjectMetaUpdate, type JSONObject,
} from "./validation.js";

const ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];
const VOLUME_MODES = ["Block", "Filesystem"];
const RECLAIM_POLICIES = ["Delete", "Recycle", "Retain"];
const PV_SOURCES = [
  "gcePersistentDisk", "awsElasticBlockStore", "hostPath", "glusterfs", "nfs", "rbd", "iscsi", "cinder", "cephfs",
  "fc", "flocker", "flexVolume", "azureFile", "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk",
  "portworxVolume", "scaleIO", "local", "storageos", "csi",
];

/** GetAccessModesAsString: RWO,ROX,RWX,RWOP in that order. */
export function accessModesString(modes: unknown): string {
  const m = new Set(list(modes));
  const out: string[] = [];
  if (m.has("ReadWriteOnce")) out.push("RWO");
  if (m.has("ReadOnlyMany")) out.push("ROX");
  if (m.has("ReadWriteMany")) out.push("RWX");
  if (m.has("ReadWriteOncePod")) out.push("RWOP");
  return out.join(",");
}

function validateAccessModes(v: unknown, path: string, required: string, errs: StatusCause[]): void {
  const modes = asArray(v, path, errs);
  if (v != null && !modes) return;
  if (!modes || modes.length === 0) errs.push(fieldError.required(path, required));
  for (const m of modes ?? []) if (!ACCESS_MODES.includes(m as string)) errs.push(fieldError.notSupported(path, m, ACCESS_MODES));
  if (modes?.includes("ReadWriteOncePod") && modes.length > 1) errs.push(fieldError.forbidden(path, "may not use ReadWriteOncePod with other access modes"));
}

function validateStorageClassName(spec: JSONObject, path: string, errs: StatusCause[]): void {
  const sc = asString(spec.storageClassName, path, errs);
  if (sc) errs.push(...invalidEach(sc, isDNS1123Subdomain(sc), path));
}

function validateQuantityAt(v: unknown, path: string, errs: StatusCause[], positive: boolean): void {
  const q = tryParseQuantity(typeof v === "number" ? String(v) : v);
  if (!q) {
    errs.push(fieldError.invalid(path, v, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
    return;
  }
  if (q.nanos < 0n) errs.push(fieldError.invalid(path, canonicalQuantity(String(v)), "must be greater than or equal to 0"));
  else if (positive && q.nanos === 0n) errs.push(fieldError.invalid(path, "0", "must be greater than zero"));
}

// ---------------------------------------------------------------------------------------
// PersistentVolume

function validatePV(pv: KObject, ctx: ValidationContext): StatusCause[] {
  const errs = ctx.operation === "create" ? validateObjectMeta(pv.metadata, { namespaced: false }) : validateObjectMetaUpdate(pv.metadata, ctx.old?.metadata);
  if (ctx.subresource === "status") return errs;
  const spec = asObject(pv.spec, "spec", errs);
  if (!spec) return pv.spec == null ? [...errs, fieldError.required("spec")] : errs;
  validateAccessModes(spec.accessModes, "spec.accessModes", "Required value", errs);
  const cap = asObject(spec.capacity, "spec.capacity", errs);
  if (spec.capacity == null || (cap && Object.keys(cap).length === 0)) errs.push(fieldError.required("spec.capacity"));
  else if (cap) {
    if (!("storage" in cap) || Object.keys(cap).length > 1) errs.push(fieldError.notSupported("spec.capacity", cap, ["storage"]));
    for (const [k, v] of Object.entries(cap)) validateQuantityAt(v, `spec.capacity[${k}]`, errs, false);
  }
  if (spec.persistentVolumeReclaimPolicy != null) errs.push(...validateEnum(spec.persistentVolumeReclaimPolicy, RECLAIM_POLICIES, "spec.persistentVolumeReclaimPolicy"));
  if (spec.volumeMode != null) errs.push(...validateEnum(spec.volumeMode, VOLUME_MODES, "spec.volumeMode"));
  validateStorageClassName(spec, "spec.storageClassName", errs);
  const sources = PV_SOURCES.filter((k) => spec[k] != null);
  if (sources.length === 0) errs.push(fieldError.required("spec", "Required value: must specify a volume type"));
  for (const s of sources.slice(1)) errs.push(fieldError.forbidden(`spec.${s}`, "may not specify more than 1 volume type"));
  for (const s of sources) {
    const src = asObject(spec[s], `spec.${s}`, errs);
    if (src && (s === "hostPath" || s === "local" || s === "nfs") && !src.path) errs.push(fieldError.required(`spec.${s}.path`));
    if (src && s === "csi" && !src.driver) errs.push(fieldError.required("spec.csi.driver"));
  }
  if (spec.local != null && spec.nodeAffinity == null) errs.push(fieldError.required("spec.nodeAffinity", "Required value: Local volume requires node affinity"));
  asObject(spec.claimRef, "spec.claimRef", errs);
  if (ctx.operation === "update" && ctx.old) {
    const oldSpec = obj(ctx.old.spec);
    const pick = (o: JSONObject) => Object.fromEntries(PV_SOURCES.filter((k) => o[k] != null).map((k) => [k, o[k]]));
    if (!jsonEqual(pick(spec), pick(oldSpec))) errs.push(fieldError.forbidden("spec.persistentvolumesource", "spec.persistentvolumesource is immutable after creation"));
    errs.push(...immutableField(spec.volumeMode, oldSpec.volumeMode, "volumeMode"));
    if (oldSpec.nodeAffinity != null) errs.push(...immutableField(spec.nodeAffinity, oldSpec.nodeAffinity, "nodeAffinity"));
  }
  return errs;
}

/** GetPersistentVolumeClass / GetPersistentVolumeClaimClass: the beta annotation wins. */
function storageClassOf(o: KObject): string {
  const ann = obj(o.metadata?.annotations)["volume.beta.kubernetes.io/storage-class"];
  return typeof ann === "string" ? ann : str(obj(o.spec).storageClassName);
}

function quantityCell(v: unknown): string {
  if (v === undefined || v === null) return "0";
  try {
    return canonicalQuantity(typeof v === "number" ? v : String(v));
  } catch {
    return String(v);
  }
}

function pvCells(pv: KObject, now: Date): unknown[] {
  const spec = obj(pv.spec);
  const ref = spec.claimRef ? obj(spec.claimRef) : undefined;
  const claim = ref ? `${str(ref.namespace)}/${str(ref.name)}` : "";
  const phase = pv.metadata?.deletionTimestamp ? "Terminating" : str(obj(pv.status).phase);
  return [
    quantityCell(obj(spec.capacity).storage), accessModesString(spec.accessModes), str(spec.persistentVolumeReclaimPolicy),
    phase, claim, storageClassOf(pv), str(spec.volumeAttributesClassName, "<unset>"), str(obj(pv.status).reason),
    ageSince(pv.metadata?.creationTimestamp, now), str(spec.volumeMode, "<unset>"),
  ];
}

export const persistentVolumeResource: ResourceDef = {
  group: "",
  version: "v1",
  kind: "PersistentVolume",
  plural: "persistentvolumes",
  singular: "persistentvolume",
  namespaced: false,
  shortNames: ["pv"],
  subresources: ["status"],
  tracksGeneration: false,
  defaults(pv) {
    if (!isPlainObject(pv.spec)) return;
    if (!pv.spec.persistentVolumeReclaimPolicy) pv.spec.persistentVolumeReclaimPolicy = "Retain";
    if (!pv.spec.volumeMode) pv.spec.volumeMode = "Filesystem";
    if (isPlainObject(pv.spec.hostPath)) pv.spec.hostPath.type ??= "";
    if (!isPlainObject(pv.status)) pv.status = {};
    if (!pv.status.phase) pv.status.phase = "Pending";
  },
  validate: validatePV,
  table: {
    columns: [
      column("Capacity", "capacity is the description of the persistent volume's resources and capacity."),
      column("Access Modes", "accessModes contains all ways the volume can be mounted."),
      column("Reclaim Policy", "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim."),
      column("Status", "phase indicates if a volume is available, bound to a claim, or released by a claim."),
      column("Claim", "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim."),
      column("StorageClass", "storageClassName is the name of StorageClass to which this persistent volume belongs."),
      column("VolumeAttributesClass", "Name of VolumeAttributesClass to which this persistent volume belongs."),
      column("Reason", "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI."),
      ageColumn(),
      column("VolumeMode", "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.", { priority: 1 }),
    ],
    cells: pvCells,
  },
};

// ---------------------------------------------------------------------------------------
// PersistentVolumeClaim

function validatePVCSpec(spec: JSONObject, errs: StatusCause[]): void {
  validateAccessModes(spec.accessModes, "spec.accessModes", "Required value: at least 1 access mode is required", errs);
  errs.push(...validateLabelSelector(spec.selector, "spec.selector"));
  const res = asObject(spec.resources, "spec.resources", errs) ?? {};
  const req = asObject(res.requests, "spec.resources.requests", errs) ?? {};
  if (req.storage === undefined) errs.push(fieldError.required("spec.resources[storage]"));
  else validateQuantityAt(req.storage, "spec.resources[storage]", errs, true);
  if (spec.volumeMode != null) errs.push(...validateEnum(spec.volumeMode, VOLUME_MODES, "spec.volumeMode"));
  validateStorageClassName(spec, "spec.storageClassName", errs);
  asString(spec.volumeName, "spec.volumeName", errs);
}

function validatePVC(pvc: KObject, ctx: ValidationContext): StatusCause[] {
  if (ctx.operation === "create") {
    const errs = validateObjectMeta(pvc.metadata, { namespaced: true });
    const spec = asObject(pvc.spec, "spec", errs);
    if (spec) validatePVCSpec(spec, errs);
    else if (pvc.spec == null) validatePVCSpec({}, errs);
    return errs;
  }
  const old = ctx.old ?? pvc;
  const errs = validateObjectMetaUpdate(pvc.metadata, old.metadata);
  if (ctx.subresource === "status") return errs;
  const spec = asObject(pvc.spec, "spec", errs);
  if (!spec) return errs;
  validatePVCSpec(spec, errs);
  const oldSpec = obj(old.spec);
  // Only a bound claim may change its storage request; volumeName may be set once.
  const a: JSONObject = JSON.parse(JSON.stringify(oldSpec));
  const b: JSONObject = JSON.parse(JSON.stringify(spec));
  if (!oldSpec.volumeName) a.volumeName = b.volumeName;
  if (obj(pvc.status).phase === "Bound" && isPlainObject(b.resources) && isPlainObject(b.resources.requests)) {
    b.resources.requests.storage = obj(obj(oldSpec.resources).requests).storage;
    a.volumeAttributesClassName = b.volumeAttributesClassName;
  }
  if (!jsonEqual(a, b)) errs.push(fieldError.forbidden("spec", "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"));
  const newSize = obj(obj(spec.resources).requests).storage;
  const oldSize = obj(obj(oldSpec.resources).requests).storage;
  if (tryParseQuantity(String(newSize)) && tryParseQuantity(String(oldSize)) && compareQuantity(String(newSize), String(oldSize)) < 0) {
    errs.push(fieldError.forbidden("spec.resources.requests.storage", "field can not be less than previous value"));
  }
  errs.push(...immutableField(spec.volumeMode, oldSpec.volumeMode, "volumeMode"));
  return errs;
}

function pvcCells(pvc: KObject, now: Date): unknown[] {
  const spec = obj(pvc.spec);
  const status = obj(pvc.status);
  const phase = pvc.metadata?.deletionTimestamp ? "Terminating" : str(status.phase);
  let capacity = "";
  let modes = "";
  if (spec.volumeName) {
    modes = accessModesString(status.accessModes);
    capacity = quantityCell(obj(status.capacity).storage);
  }
  const vac = str(status.currentVolumeAttributesClassName) || str(spec.volumeAttributesClassName, "<unset>");
  return [phase, str(spec.volumeName), capacity, modes, storageClassOf(pvc), vac, ageSince(pvc.metadata?.creationTimestamp, now), str(spec.volumeMode, "<unset>")];
}

export const persistentVolumeClaimResource: ResourceDef = {
  group: "",
  version: "v1",
  kind: "PersistentVolumeClaim",
  plural: "persistentvolumeclaims",
  singular: "persistentvolumeclaim",
  namespaced: true,
  shortNames: ["pvc"],
  subresources: ["status"],
  tracksGeneration: false,
  defaults(pvc) {
    if (isPlainObject(pvc.spec) && !pvc.spec.volumeMode) pvc.spec.volumeMode = "Filesystem";
    if (!isPlainObject(pvc.status)) pvc.status = {};
    if (!pvc.status.phase) pvc.status.phase = "Pending";
  },
  validate: validatePVC,
  table: {
    columns: [
      column("Status", "phase represents the current phase of PersistentVolumeClaim."),
      column("Volume", "volumeName is the binding reference to the PersistentVolume backing this claim."),
      column("Capacity", "capacity represents the actual resources of the underlying volume."),
      column("Access Modes", "accessModes contains the actual access modes the volume backing the PVC has."),
      column("StorageClass", "storageClassName is the name of the StorageClass required by the claim."),
      column("VolumeAttributesClass", "volumeAttributesClassName may be used to set the VolumeAttributesClass used by this claim."),
      ageColumn(),
      column("VolumeMode", "volumeMode defines what type of volume is required by the claim.", { priority: 1 }),
    ],
    cells: pvcCells,
  },
};
