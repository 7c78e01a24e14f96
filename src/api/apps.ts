// apps/v1: the workload controllers' objects — Deployment, ReplicaSet, StatefulSet,
// DaemonSet and ControllerRevision — with upstream's defaulting (pkg/apis/apps/v1/defaults.go),
// validation (pkg/apis/apps/validation), `kubectl get` columns (pkg/printers) and the
// scale subresource. Reference: https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/
// The pod-template pieces shared with batch/v1 (template checks, int-or-percent rules) live
// here too and are exported for batch.ts; the shared table columns are in table.ts.

import { fieldError, type StatusCause } from "../apimachinery/errors.js";
import type { KObject } from "../apimachinery/types.js";
import { labelSelectorString, labelSelectorToString, selectorFromLabelSelector, type LabelSelectorMatcher } from "../apimachinery/labels.js";
import { ageColumn, ageSince, column, formatLabels, list, obj, workloadCells, workloadColumns } from "./table.js";
import type { ResourceDef, TableSpec, ValidationContext } from "./types.js";
import { defaultPodTemplateSpec, validatePodTemplateSpec } from "./core-podspec.js";
import {
  asInt,
  asObject,
  asString,
  immutableField,
  isDNS1123Subdomain,
  isPlainObject,
  jsonEqual,
  regexError,
  validateLabelSelector,
  validateObjectMeta,
  validateObjectMetaUpdate,
  IS_NEGATIVE_ERROR_MSG,
} from "./validation.js";

// ---------------------------------------------------------------------------------------
// Pod templates: defaulted and validated exactly as a bare Pod's spec (core-podspec.ts).

/** Applies pod defaults to a PodTemplateSpec (no-op for malformed templates). */
export const defaultPodTemplate = defaultPodTemplateSpec;

/** ValidatePodTemplateSpec: template labels/annotations plus the pod spec. */
export const validatePodTemplate = validatePodTemplateSpec;

/** Integer ≥ 0 or absent; wrong JSON type → a cause naming the field. */
export function nonNegativeInt(v: unknown, path: string, errs: StatusCause[]): number | undefined {
  const n = asInt(v, path, errs);
  if (n !== undefined && n < 0) errs.push(fieldError.invalid(path, n, IS_NEGATIVE_ERROR_MSG));
  return n;
}

/** Template labels as a map (malformed → {}), for selector matching. */
export function templateLabels(template: unknown): Record<string, string> {
  const l = obj(obj(obj(template).metadata).labels);
  return Object.fromEntries(Object.entries(l).filter(([, v]) => typeof v === "string")) as Record<string, string>;
}

/**
 * The selector rules every apps/v1 workload shares: required, well-formed, not empty,
 * and matching the template's labels. Returns the compiled selector when usable.
 */
export function validateWorkloadSelector(spec: Record<string, any>, path: string, kindWord: string, errs: StatusCause[]): LabelSelectorMatcher | undefined {
  const selPath = `${path}.selector`;
  if (spec.selector === undefined || spec.selector === null) {
    errs.push(fieldError.required(selPath));
    return undefined;
  }
  const selErrs = validateLabelSelector(spec.selector, selPath);
  errs.push(...selErrs);
  if (selErrs.length) return undefined;
  const sel = spec.selector;
  if (Object.keys(obj(sel.matchLabels)).length + list(sel.matchExpressions).length === 0) {
    errs.push(fieldError.invalid(selPath, sel, `empty selector is invalid for ${kindWord}`));
    return undefined;
  }
  let m: LabelSelectorMatcher;
  try {
    m = selectorFromLabelSelector(sel);
  } catch {
    errs.push(fieldError.invalid(selPath, sel, "invalid label selector"));
    return undefined;
  }
  if (isPlainObject(spec.template) && !m.matches(templateLabels(spec.template))) {
    errs.push(fieldError.invalid(`${path}.template.metadata.labels`, obj(spec.template.metadata).labels ?? null, "`selector` does not match template `labels`"));
  }
  return m;
}

/** Long-running workloads: restartPolicy Always, no activeDeadlineSeconds. */
export function validateLongRunningTemplate(template: unknown, path: string, kind: string): StatusCause[] {
  const spec = obj(obj(template).spec);
  const errs: StatusCause[] = [];
  if (spec.restartPolicy !== undefined && spec.restartPolicy !== "Always") {
    errs.push(fieldError.notSupported(`${path}.spec.restartPolicy`, spec.restartPolicy, ["Always"]));
  }
  if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds !== null) {
    errs.push(fieldError.forbidden(`${path}.spec.activeDeadlineSeconds`, `activeDeadlineSeconds in ${kind} is not Supported`));
  }
  return errs;
}

// ---------------------------------------------------------------------------------------
// intstr.IntOrString rules (maxSurge, maxUnavailable, PDB minAvailable …).

const PERCENT_FMT = "[0-9]+%";
const PERCENT_MSG = "a valid percent string must be a numeric string followed by an ending '%'";

/** The integer or percent number of an int-or-string; undefined when malformed. */
export function intOrPercentValue(v: unknown): { value: number; percent: boolean } | undefined {
  if (typeof v === "number" && Number.isInteger(v)) return { value: v, percent: false };
  if (typeof v === "string" && /^[0-9]+%$/.test(v)) return { value: Number(v.slice(0, -1)), percent: true };
  return undefined;
}

export function validatePositiveIntOrPercent(v: unknown, path: string): StatusCause[] {
  if (typeof v === "string") {
    return /^[0-9]+%$/.test(v) ? [] : [fieldError.invalid(path, v, regexError(PERCENT_MSG, PERCENT_FMT, "1%", "93%"))];
  }
  if (typeof v === "number" && Number.isInteger(v)) return v < 0 ? [fieldError.invalid(path, v, IS_NEGATIVE_ERROR_MSG)] : [];
  return [fieldError.invalid(path, v ?? null, "must be an integer or percentage (e.g '5%')")];
}

export function validateNotMoreThan100Percent(v: unknown, path: string): StatusCause[] {
  const p = intOrPercentValue(v);
  return p && p.percent && p.value > 100 ? [fieldError.invalid(path, v, "must not be greater than 100%")] : [];
}

// ---------------------------------------------------------------------------------------
// Table pieces.

/** A count cell from a status field (malformed → 0). */
export const count = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

// ---------------------------------------------------------------------------------------
// Shared ResourceDef plumbing.

type SpecValidator = (spec: Record<string, any>, ctx: ValidationContext, errs: StatusCause[]) => void;

/**
 * Wraps a kind's spec checks with ObjectMeta (create/update) checks and the "spec must be an
 * object" guard; status writes only check status counters.
 */
function workloadValidate(specValidator: SpecValidator, statusCounters: string[]): ResourceDef["validate"] {
  return (o: KObject, ctx: ValidationContext) => {
    const errs: StatusCause[] = [];
    if (ctx.operation === "update" && ctx.old) errs.push(...validateObjectMetaUpdate(o.metadata, ctx.old.metadata));
    else errs.push(...validateObjectMeta(o.metadata, { namespaced: true }));
    if (ctx.subresource === "status") {
      const st = asObject(o.status, "status", errs) ?? {};
      for (const f of statusCounters) nonNegativeInt(st[f], `status.${f}`, errs);
      nonNegativeInt(st.observedGeneration, "status.observedGeneration", errs);
      return errs;
    }
    if (o.spec === undefined || o.spec === null) {
      errs.push(fieldError.required("spec"));
      return errs;
    }
    const spec = asObject(o.spec, "spec", errs);
    if (spec) specValidator(spec, ctx, errs);
    return errs;
  };
}

function specOf(o: KObject): Record<string, any> | undefined {
  return isPlainObject(o.spec) ? o.spec : undefined;
}

const scaleSpec = { specReplicasPath: "spec.replicas", statusReplicasPath: "status.replicas", selector: (o: KObject) => labelSelectorString(obj(o.spec).selector) };

/** Selector immutability shared by Deployment, ReplicaSet, DaemonSet, StatefulSet in apps/v1. */
function selectorImmutable(spec: Record<string, any>, ctx: ValidationContext, errs: StatusCause[]): void {
  if (ctx.operation === "update" && ctx.old) errs.push(...immutableField(spec.selector, obj(ctx.old.spec).selector, "spec.selector"));
}

// ---------------------------------------------------------------------------------------
// Deployment

function defaultDeployment(o: KObject): void {
  const spec = specOf(o);
  if (!spec) return;
  spec.replicas ??= 1;
  if (spec.strategy === undefined || spec.strategy === null) spec.strategy = {};
  const st = spec.strategy;
  if (isPlainObject(st)) {
    if (st.type === undefined || st.type === null || st.type === "") st.type = "RollingUpdate";
    if (st.type === "RollingUpdate") {
      if (st.rollingUpdate === undefined || st.rollingUpdate === null) st.rollingUpdate = {};
      if (isPlainObject(st.rollingUpdate)) {
        st.rollingUpdate.maxUnavailable ??= "25%";
        st.rollingUpdate.maxSurge ??= "25%";
      }
    }
  }
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  defaultPodTemplate(spec.template);
}

const validateDeploymentSpec: SpecValidator = (spec, ctx, errs) => {
  nonNegativeInt(spec.replicas, "spec.replicas", errs);
  validateWorkloadSelector(spec, "spec", "deployment", errs);
  selectorImmutable(spec, ctx, errs);
  errs.push(...validatePodTemplate(spec.template, "spec.template"));
  errs.push(...validateLongRunningTemplate(spec.template, "spec.template", "ReplicaSet"));
  const strategy = asObject(spec.strategy, "spec.strategy", errs);
  if (strategy) {
    if (strategy.type === "Recreate") {
      if (strategy.rollingUpdate !== undefined && strategy.rollingUpdate !== null) {
        errs.push(fieldError.forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"));
      }
    } else if (strategy.type === "RollingUpdate") {
      const ru = asObject(strategy.rollingUpdate, "spec.strategy.rollingUpdate", errs);
      if (!ru) {
        if (strategy.rollingUpdate === undefined || strategy.rollingUpdate === null) {
          errs.push(fieldError.required("spec.strategy.rollingUpdate", "Required value: this should be defaulted and never be nil"));
        }
      } else {
        const p = "spec.strategy.rollingUpdate";
        errs.push(...validatePositiveIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`));
        errs.push(...validatePositiveIntOrPercent(ru.maxSurge, `${p}.maxSurge`));
        if (intOrPercentValue(ru.maxUnavailable)?.value === 0 && intOrPercentValue(ru.maxSurge)?.value === 0) {
          errs.push(fieldError.invalid(`${p}.maxUnavailable`, ru.maxUnavailable, "may not be 0 when `maxSurge` is 0"));
        }
        errs.push(...validateNotMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`));
      }
    } else {
      errs.push(fieldError.notSupported("spec.strategy.type", strategy.type ?? "", ["Recreate", "RollingUpdate"]));
    }
  }
  const minReady = nonNegativeInt(spec.minReadySeconds, "spec.minReadySeconds", errs) ?? 0;
  nonNegativeInt(spec.revisionHistoryLimit, "spec.revisionHistoryLimit", errs);
  const pds = nonNegativeInt(spec.progressDeadlineSeconds, "spec.progressDeadlineSeconds", errs);
  if (pds !== undefined && pds >= 0 && pds <= minReady) {
    errs.push(fieldError.invalid("spec.progressDeadlineSeconds", pds, "must be greater than minReadySeconds"));
  }
};

/** Deployment's SELECTOR cell is the plain selector string ("" when unset, "<invalid>" on error). */
function deploymentSelectorCell(sel: unknown): string {
  try {
    return selectorFromLabelSelector(sel as never).toString();
  } catch {
    return "<invalid>";
  }
}

const deploymentTable: TableSpec = {
  columns: [
    column("Ready", "Number of the pod with ready state"),
    column("Up-to-date", "Total number of non-terminating pods targeted by this deployment that have the desired template spec."),
    column("Available", "Total number of available non-terminating pods (ready for at least minReadySeconds) targeted by this deployment."),
    ...workloadColumns("Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment. It must match the pod template's labels."),
  ],
  cells(o, now) {
    const spec = obj(o.spec);
    const st = obj(o.status);
    return [`${count(st.readyReplicas)}/${count(spec.replicas)}`, count(st.updatedReplicas), count(st.availableReplicas), ...workloadCells(o, now, spec.template, deploymentSelectorCell(spec.selector))];
  },
};

// ---------------------------------------------------------------------------------------
// ReplicaSet

function defaultReplicaSet(o: KObject): void {
  const spec = specOf(o);
  if (!spec) return;
  spec.replicas ??= 1;
  defaultPodTemplate(spec.template);
}

const validateReplicaSetSpec: SpecValidator = (spec, ctx, errs) => {
  nonNegativeInt(spec.replicas, "spec.replicas", errs);
  nonNegativeInt(spec.minReadySeconds, "spec.minReadySeconds", errs);
  // Upstream's ReplicaSet validation reuses the deployment wording here.
  validateWorkloadSelector(spec, "spec", "deployment", errs);
  selectorImmutable(spec, ctx, errs);
  errs.push(...validatePodTemplate(spec.template, "spec.template"));
  errs.push(...validateLongRunningTemplate(spec.template, "spec.template", "ReplicaSet"));
};

const replicaSetTable: TableSpec = {
  columns: [
    column("Desired", "Replicas is the number of desired pods.", { type: "integer" }),
    column("Current", "Replicas is the most recently observed number of non-terminating pods.", { type: "integer" }),
    column("Ready", "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.", { type: "integer" }),
    ...workloadColumns("Selector is a label query over pods that should match the replica count."),
  ],
  cells(o, now) {
    const spec = obj(o.spec);
    const st = obj(o.status);
    return [count(spec.replicas), count(st.replicas), count(st.readyReplicas), ...workloadCells(o, now, spec.template, labelSelectorToString(spec.selector))];
  },
};

// ---------------------------------------------------------------------------------------
// StatefulSet

function defaultStatefulSet(o: KObject): void {
  const spec = specOf(o);
  if (!spec) return;
  if (!spec.podManagementPolicy) spec.podManagementPolicy = "OrderedReady";
  if (spec.updateStrategy === undefined || spec.updateStrategy === null) spec.updateStrategy = {};
  const us = spec.updateStrategy;
  if (isPlainObject(us)) {
    if (!us.type) {
      us.type = "RollingUpdate";
      us.rollingUpdate ??= {};
    }
    if (us.type === "RollingUpdate" && isPlainObject(us.rollingUpdate)) us.rollingUpdate.partition ??= 0;
  }
  if (spec.persistentVolumeClaimRetentionPolicy === undefined || spec.persistentVolumeClaimRetentionPolicy === null) spec.persistentVolumeClaimRetentionPolicy = {};
  const rp = spec.persistentVolumeClaimRetentionPolicy;
  if (isPlainObject(rp)) {
    if (!rp.whenDeleted) rp.whenDeleted = "Retain";
    if (!rp.whenScaled) rp.whenScaled = "Retain";
  }
  spec.replicas ??= 1;
  spec.revisionHistoryLimit ??= 10;
  defaultPodTemplate(spec.template);
  // Claim templates get PVC defaults, as kubectl shows them back.
  for (const pvc of list(spec.volumeClaimTemplates)) {
    if (!isPlainObject(pvc)) continue;
    if (isPlainObject(pvc.spec)) pvc.spec.volumeMode ??= "Filesystem";
    if (pvc.status === undefined || pvc.status === null) pvc.status = {};
    if (isPlainObject(pvc.status) && !pvc.status.phase) pvc.status.phase = "Pending";
  }
}

/** Fields of a StatefulSet spec that may change after creation. */
const STS_MUTABLE = ["replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit", "persistentVolumeClaimRetentionPolicy", "minReadySeconds"];

const validateStatefulSetSpec: SpecValidator = (spec, ctx, errs) => {
  const pmp = spec.podManagementPolicy;
  if (pmp === undefined || pmp === null || pmp === "") errs.push(fieldError.required("spec.podManagementPolicy"));
  else if (pmp !== "OrderedReady" && pmp !== "Parallel") errs.push(fieldError.invalid("spec.podManagementPolicy", pmp, "must be 'OrderedReady' or 'Parallel'"));

  const us = asObject(spec.updateStrategy, "spec.updateStrategy", errs);
  if (spec.updateStrategy === undefined || spec.updateStrategy === null || (us && !us.type)) {
    errs.push(fieldError.required("spec.updateStrategy"));
  } else if (!us) {
    // wrong JSON type, already reported
  } else if (us.type === "OnDelete") {
    if (us.rollingUpdate !== undefined && us.rollingUpdate !== null) {
      errs.push(fieldError.invalid("spec.updateStrategy.rollingUpdate", us.rollingUpdate, "only allowed for updateStrategy 'RollingUpdate'"));
    }
  } else if (us.type === "RollingUpdate") {
    const ru = asObject(us.rollingUpdate, "spec.updateStrategy.rollingUpdate", errs);
    if (ru) {
      nonNegativeInt(ru.partition, "spec.updateStrategy.rollingUpdate.partition", errs);
      if (ru.maxUnavailable !== undefined && ru.maxUnavailable !== null) {
        const p = "spec.updateStrategy.rollingUpdate.maxUnavailable";
        errs.push(...validatePositiveIntOrPercent(ru.maxUnavailable, p));
        if (intOrPercentValue(ru.maxUnavailable)?.value === 0) errs.push(fieldError.invalid(p, ru.maxUnavailable, "must be greater than 0"));
        errs.push(...validateNotMoreThan100Percent(ru.maxUnavailable, p));
      }
    }
  } else {
    errs.push(fieldError.invalid("spec.updateStrategy", us, "must be 'RollingUpdate' or 'OnDelete'"));
  }

  const rp = asObject(spec.persistentVolumeClaimRetentionPolicy, "spec.persistentVolumeClaimRetentionPolicy", errs);
  if (rp) {
    for (const f of ["whenDeleted", "whenScaled"]) {
      if (rp[f] !== "Retain" && rp[f] !== "Delete") errs.push(fieldError.notSupported(`spec.persistentVolumeClaimRetentionPolicy.${f}`, rp[f] ?? "", ["Retain", "Delete"]));
    }
  }
  nonNegativeInt(spec.replicas, "spec.replicas", errs);
  nonNegativeInt(spec.minReadySeconds, "spec.minReadySeconds", errs);
  nonNegativeInt(spec.revisionHistoryLimit, "spec.revisionHistoryLimit", errs);
  const ord = asObject(spec.ordinals, "spec.ordinals", errs);
  if (ord) nonNegativeInt(ord.start, "spec.ordinals.start", errs);
  asString(spec.serviceName, "spec.serviceName", errs);

  validateWorkloadSelector(spec, "spec", "statefulset", errs);
  // Claim templates become pod volumes named after them, so mounts may refer to them.
  const claimNames = list(spec.volumeClaimTemplates).map((c) => (isPlainObject(c) && isPlainObject(c.metadata) ? c.metadata.name : undefined)).filter((n): n is string => typeof n === "string");
  errs.push(...validatePodTemplate(spec.template, "spec.template", claimNames));
  errs.push(...validateLongRunningTemplate(spec.template, "spec.template", "StatefulSet"));

  if (ctx.operation === "update" && ctx.old) {
    const a = { ...spec };
    const b = { ...obj(ctx.old.spec) };
    for (const f of STS_MUTABLE) {
      delete a[f];
      delete b[f];
    }
    if (!jsonEqual(a, b)) {
      errs.push(
        fieldError.forbidden(
          "spec",
          "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ),
      );
    }
  }
};

const statefulSetTable: TableSpec = {
  columns: [column("Ready", "Number of the pod with ready state"), ...workloadColumns()],
  cells(o, now) {
    const spec = obj(o.spec);
    return [`${count(obj(o.status).readyReplicas)}/${count(spec.replicas)}`, ...workloadCells(o, now, spec.template)];
  },
};

// ---------------------------------------------------------------------------------------
// DaemonSet

function defaultDaemonSet(o: KObject): void {
  const spec = specOf(o);
  if (!spec) return;
  if (spec.updateStrategy === undefined || spec.updateStrategy === null) spec.updateStrategy = {};
  const us = spec.updateStrategy;
  if (isPlainObject(us)) {
    if (!us.type) us.type = "RollingUpdate";
    if (us.type === "RollingUpdate") {
      if (us.rollingUpdate === undefined || us.rollingUpdate === null) us.rollingUpdate = {};
      if (isPlainObject(us.rollingUpdate)) {
        us.rollingUpdate.maxUnavailable ??= 1;
        us.rollingUpdate.maxSurge ??= 0;
      }
    }
  }
  spec.revisionHistoryLimit ??= 10;
  defaultPodTemplate(spec.template);
}

const validateDaemonSetSpec: SpecValidator = (spec, ctx, errs) => {
  validateWorkloadSelector(spec, "spec", "daemonset", errs);
  selectorImmutable(spec, ctx, errs);
  errs.push(...validatePodTemplate(spec.template, "spec.template"));
  const tspec = obj(obj(spec.template).spec);
  if (tspec.restartPolicy !== undefined && tspec.restartPolicy !== "Always") {
    errs.push(fieldError.notSupported("spec.template.spec.restartPolicy", tspec.restartPolicy, ["Always"]));
  }
  if (tspec.activeDeadlineSeconds !== undefined && tspec.activeDeadlineSeconds !== null) {
    errs.push(fieldError.invalid("spec.template.spec.activeDeadlineSeconds", tspec.activeDeadlineSeconds, "activeDeadlineSeconds in DaemonSet is not Supported"));
  }
  nonNegativeInt(spec.minReadySeconds, "spec.minReadySeconds", errs);
  nonNegativeInt(spec.revisionHistoryLimit, "spec.revisionHistoryLimit", errs);
  const us = asObject(spec.updateStrategy, "spec.updateStrategy", errs);
  if (!us) return;
  if (us.type === "OnDelete") return;
  if (us.type !== "RollingUpdate") {
    errs.push(fieldError.notSupported("spec.updateStrategy", us.type ?? "", ["RollingUpdate", "OnDelete"]));
    return;
  }
  const p = "spec.updateStrategy.rollingUpdate";
  if (us.rollingUpdate === undefined || us.rollingUpdate === null) {
    errs.push(fieldError.required(p));
    return;
  }
  const ru = asObject(us.rollingUpdate, p, errs);
  if (!ru) return;
  errs.push(...validatePositiveIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`));
  errs.push(...validatePositiveIntOrPercent(ru.maxSurge, `${p}.maxSurge`));
  errs.push(...validateNotMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`));
  errs.push(...validateNotMoreThan100Percent(ru.maxSurge, `${p}.maxSurge`));
  const hasUnavailable = (intOrPercentValue(ru.maxUnavailable)?.value ?? 0) !== 0;
  const hasSurge = (intOrPercentValue(ru.maxSurge)?.value ?? 0) !== 0;
  if (hasUnavailable && hasSurge) errs.push(fieldError.invalid(`${p}.maxSurge`, ru.maxSurge, "may not be set when maxUnavailable is non-zero"));
  else if (!hasUnavailable && !hasSurge) errs.push(fieldError.required(`${p}.maxUnavailable`, "Required value: cannot be 0 when maxSurge is 0"));
};

const daemonSetTable: TableSpec = {
  columns: [
    column("Desired", "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).", { type: "integer" }),
    column("Current", "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.", { type: "integer" }),
    column("Ready", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.", { type: "integer" }),
    column("Up-to-date", "The total number of nodes that are running updated daemon pod", { type: "integer" }),
    column("Available", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)", { type: "integer" }),
    column("Node Selector", "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node."),
    ...workloadColumns("A label query over pods that are managed by the daemon set. Must match in order to be controlled. It must match the pod template's labels."),
  ],
  cells(o, now) {
    const spec = obj(o.spec);
    const st = obj(o.status);
    return [
      count(st.desiredNumberScheduled),
      count(st.currentNumberScheduled),
      count(st.numberReady),
      count(st.updatedNumberScheduled),
      count(st.numberAvailable),
      formatLabels(obj(obj(spec.template).spec).nodeSelector),
      ...workloadCells(o, now, spec.template, labelSelectorToString(spec.selector)),
    ];
  },
};

// ---------------------------------------------------------------------------------------
// ControllerRevision: an immutable snapshot of a StatefulSet/DaemonSet template.

function validateControllerRevision(o: KObject, ctx: ValidationContext): StatusCause[] {
  const errs: StatusCause[] = [];
  if (ctx.operation === "update" && ctx.old) {
    errs.push(...validateObjectMetaUpdate(o.metadata, ctx.old.metadata));
    errs.push(...immutableField(o.data, ctx.old.data, "data"));
  } else {
    errs.push(...validateObjectMeta(o.metadata, { namespaced: true, nameFn: isDNS1123Subdomain }));
  }
  if (o.data === undefined || o.data === null) errs.push(fieldError.required("data", "Required value: data is mandatory"));
  nonNegativeInt(o.revision, "revision", errs);
  return errs;
}

const controllerRevisionTable: TableSpec = {
  columns: [column("Controller", "Controller of the object"), column("Revision", "Revision indicates the revision of the state represented by Data."), ageColumn()],
  cells(o, now) {
    const ref = list(o.metadata?.ownerReferences).map(obj).find((r) => r.controller === true);
    let controller = "<none>";
    if (ref) {
      const apiVersion = typeof ref.apiVersion === "string" ? ref.apiVersion : "";
      const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
      const kind = String(ref.kind ?? "");
      controller = kind ? `${(group ? `${kind}.${group}` : kind).toLowerCase()}/${ref.name}` : String(ref.name ?? "");
    }
    return [controller, count(o.revision), ageSince(o.metadata?.creationTimestamp, now)];
  },
};

// ---------------------------------------------------------------------------------------

const base = { group: "apps", version: "v1", namespaced: true } as const;

export const appsResources: ResourceDef[] = [
  {
    ...base,
    kind: "Deployment",
    plural: "deployments",
    singular: "deployment",
    shortNames: ["deploy"],
    categories: ["all"],
    subresources: ["status", "scale"],
    scale: scaleSpec,
    defaults: defaultDeployment,
    validate: workloadValidate(validateDeploymentSpec, ["replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas"]),
    table: deploymentTable,
  },
  {
    ...base,
    kind: "ReplicaSet",
    plural: "replicasets",
    singular: "replicaset",
    shortNames: ["rs"],
    categories: ["all"],
    subresources: ["status", "scale"],
    scale: scaleSpec,
    defaults: defaultReplicaSet,
    validate: workloadValidate(validateReplicaSetSpec, ["replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas"]),
    table: replicaSetTable,
    fieldSelectors: { "status.replicas": (o) => String(count(obj(o.status).replicas)) },
  },
  {
    ...base,
    kind: "StatefulSet",
    plural: "statefulsets",
    singular: "statefulset",
    shortNames: ["sts"],
    categories: ["all"],
    subresources: ["status", "scale"],
    scale: scaleSpec,
    defaults: defaultStatefulSet,
    validate: workloadValidate(validateStatefulSetSpec, ["replicas", "readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas"]),
    table: statefulSetTable,
  },
  {
    ...base,
    kind: "DaemonSet",
    plural: "daemonsets",
    singular: "daemonset",
    shortNames: ["ds"],
    categories: ["all"],
    subresources: ["status"],
    defaults: defaultDaemonSet,
    validate: workloadValidate(validateDaemonSetSpec, [
      "currentNumberScheduled",
      "numberMisscheduled",
      "desiredNumberScheduled",
      "numberReady",
      "updatedNumberScheduled",
      "numberAvailable",
      "numberUnavailable",
    ]),
    table: daemonSetTable,
  },
  {
    ...base,
    kind: "ControllerRevision",
    plural: "controllerrevisions",
    singular: "controllerrevision",
    tracksGeneration: false,
    validate: validateControllerRevision,
    table: controllerRevisionTable,
  },
];
