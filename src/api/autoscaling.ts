// autoscaling HorizontalPodAutoscaler, served as v2 (the storage version) and v1 (converted
// on the way in and out, as upstream's pkg/apis/autoscaling/v1/conversion.go does:
// targetCPUUtilizationPercentage ↔ a Resource cpu Utilization metric; v2-only metrics and
// behavior ride in annotations). Defaults (minReplicas 1, cpu 80%, behavior rules), validation
// (pkg/apis/autoscaling/validation) and the REFERENCE/TARGETS columns follow upstream.
// Reference: https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/

import { fieldError, type StatusCause } from "../apimachinery/errors.js";
import { deepCopy, type KObject } from "../apimachinery/types.js";
import { canonicalQuantity, tryParseQuantity } from "../apimachinery/quantity.js";
import { ageColumn, ageSince, column, list, obj } from "./table.js";
import type { ResourceDef, TableSpec, ValidationContext } from "./types.js";
import { asInt, asObject, asString, isPlainObject, isValidPathSegmentName, invalidEach, objectItems, validateObjectMeta, validateObjectMetaUpdate } from "./validation.js";
import { count, nonNegativeInt } from "./apps.js";

export const METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/metrics";
export const CURRENT_METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/current-metrics";
export const CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions";
export const BEHAVIOR_ANNOTATION = "autoscaling.alpha.kubernetes.io/behavior";

const DEFAULT_CPU_UTILIZATION = 80;

// ---------------------------------------------------------------------------------------
// Defaults (autoscaling/v2 SetDefaults_HorizontalPodAutoscaler)

function scaleUpDefaults() {
  return {
    stabilizationWindowSeconds: 0,
    selectPolicy: "Max",
    policies: [
      { type: "Pods", value: 4, periodSeconds: 15 },
      { type: "Percent", value: 100, periodSeconds: 15 },
    ],
  };
}

function scaleDownDefaults() {
  return { stabilizationWindowSeconds: 300, selectPolicy: "Max", policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] };
}

/** copyHPAScalingRules: the user's non-null fields over the defaults. */
function fillRules(rules: unknown, defaults: Record<string, any>): unknown {
  if (rules === undefined || rules === null) return defaults;
  if (!isPlainObject(rules)) return rules;
  for (const [k, v] of Object.entries(defaults)) if (rules[k] === undefined || rules[k] === null) rules[k] = v;
  return rules;
}

export function defaultHPAv2(o: KObject): void {
  const spec = isPlainObject(o.spec) ? o.spec : undefined;
  if (!spec) return;
  spec.minReplicas ??= 1;
  if (spec.metrics === undefined || spec.metrics === null || (Array.isArray(spec.metrics) && spec.metrics.length === 0)) {
    spec.metrics = [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: DEFAULT_CPU_UTILIZATION } } }];
  }
  // Behavior is only completed when the user gave one; absent means the controller's defaults.
  if (isPlainObject(spec.behavior)) {
    spec.behavior.scaleUp = fillRules(spec.behavior.scaleUp, scaleUpDefaults());
    spec.behavior.scaleDown = fillRules(spec.behavior.scaleDown, scaleDownDefaults());
  }
}

function defaultHPAv1(o: KObject): void {
  if (isPlainObject(o.spec)) o.spec.minReplicas ??= 1;
}

// ---------------------------------------------------------------------------------------
// v1 ↔ v2 conversion

const isCpuUtilization = (m: any) => isPlainObject(m) && m.type === "Resource" && isPlainObject(m.resource) && m.resource.name === "cpu" && typeof obj(m.resource.target).averageUtilization === "number";

function parseAnnotation(annotations: Record<string, string>, key: string): unknown {
  const raw = annotations[key];
  if (raw === undefined) return undefined;
  delete annotations[key];
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

type Fields = Record<string, any>;

/**
 * The frame both directions share: a copy of `from` whose annotations `convert` may read
 * (and remove) or write, carrying scaleTargetRef, minReplicas, maxReplicas and the status
 * fields both versions have; `convert` returns the version's own spec and status fields.
 */
function convertHPA(from: KObject, apiVersion: string, convert: (annotations: Record<string, string>, spec: Fields, status: Fields) => { spec: Fields; status: Fields }): KObject {
  const src = deepCopy(from);
  const meta = { ...(src.metadata ?? {}) };
  const annotations: Record<string, string> = { ...(meta.annotations ?? {}) };
  const spec = obj(src.spec);
  const status = obj(src.status);
  const own = convert(annotations, spec, status);
  if (Object.keys(annotations).length) meta.annotations = annotations;
  else delete meta.annotations;

  const out: KObject = {
    ...src,
    apiVersion,
    kind: "HorizontalPodAutoscaler",
    metadata: meta,
    spec: {
      scaleTargetRef: spec.scaleTargetRef,
      ...(spec.minReplicas !== undefined ? { minReplicas: spec.minReplicas } : {}),
      maxReplicas: spec.maxReplicas,
      ...own.spec,
    },
  };
  if (src.status !== undefined) {
    const st: Fields = {};
    for (const f of ["observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas"]) if (status[f] !== undefined) st[f] = status[f];
    out.status = { ...st, ...own.status };
  }
  return out;
}

/** autoscaling/v1 → autoscaling/v2 (storage). v2 defaults are applied, as a read from storage would. */
export function hpaV1ToV2(v1: KObject): KObject {
  const out = convertHPA(v1, "autoscaling/v2", (annotations, spec, status) => {
    const metrics: unknown[] = [];
    const other = parseAnnotation(annotations, METRICS_ANNOTATION);
    if (Array.isArray(other)) metrics.push(...other);
    if (spec.targetCPUUtilizationPercentage !== undefined && spec.targetCPUUtilizationPercentage !== null) {
      metrics.push({ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: spec.targetCPUUtilizationPercentage } } });
    }
    const behavior = parseAnnotation(annotations, BEHAVIOR_ANNOTATION);

    let currentMetrics: unknown[] | undefined;
    if (typeof status.currentCPUUtilizationPercentage === "number") {
      currentMetrics = [{ type: "Resource", resource: { name: "cpu", current: { averageUtilization: status.currentCPUUtilizationPercentage } } }];
    }
    const annotatedCurrent = parseAnnotation(annotations, CURRENT_METRICS_ANNOTATION);
    if (Array.isArray(annotatedCurrent)) currentMetrics = annotatedCurrent;
    const conditions = parseAnnotation(annotations, CONDITIONS_ANNOTATION);
    return {
      spec: { ...(metrics.length ? { metrics } : {}), ...(isPlainObject(behavior) ? { behavior } : {}) },
      status: { ...(currentMetrics ? { currentMetrics } : {}), ...(Array.isArray(conditions) ? { conditions } : {}) },
    };
  });
  defaultHPAv2(out);
  return out;
}

/** autoscaling/v2 (storage) → autoscaling/v1. */
export function hpaV2ToV1(v2: KObject): KObject {
  return convertHPA(v2, "autoscaling/v1", (annotations, spec, status) => {
    const metrics = list(spec.metrics);
    const cpu = metrics.find(isCpuUtilization);
    const other = metrics.filter((m) => !isCpuUtilization(m));
    if (other.length) annotations[METRICS_ANNOTATION] = JSON.stringify(other);
    if (spec.behavior !== undefined && spec.behavior !== null) annotations[BEHAVIOR_ANNOTATION] = JSON.stringify(spec.behavior);
    const current = list(status.currentMetrics);
    if (current.length) annotations[CURRENT_METRICS_ANNOTATION] = JSON.stringify(current);
    if (list(status.conditions).length) annotations[CONDITIONS_ANNOTATION] = JSON.stringify(status.conditions);
    const curCpu = current.map(obj).find((m) => m.type === "Resource" && obj(m.resource).name === "cpu" && typeof obj(obj(m.resource).current).averageUtilization === "number");
    return {
      spec: cpu ? { targetCPUUtilizationPercentage: cpu.resource.target.averageUtilization } : {},
      status: curCpu ? { currentCPUUtilizationPercentage: curCpu.resource.current.averageUtilization } : {},
    };
  });
}

// ---------------------------------------------------------------------------------------
// Validation (on the v2 shape; v1 requests are converted first, as upstream validates the
// internal type — so their errors name v2 paths, like upstream's)

const METRIC_TYPES = ["Object", "Pods", "Resource", "ContainerResource", "External"];
const SOURCE_FIELD: Record<string, string> = { Object: "object", Pods: "pods", Resource: "resource", ContainerResource: "containerResource", External: "external" };
const TARGET_TYPES = ["Utilization", "Value", "AverageValue"];

function positiveQuantity(v: unknown, path: string, errs: StatusCause[]): void {
  if (v === undefined || v === null) return;
  const q = tryParseQuantity(typeof v === "number" ? String(v) : v);
  if (!q) errs.push(fieldError.invalid(path, v, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
  else if (q.nanos <= 0n) errs.push(fieldError.invalid(path, v, "must be positive"));
}

function validateTarget(t: Record<string, any>, path: string, errs: StatusCause[]): void {
  if (!t.type) errs.push(fieldError.required(`${path}.type`, "Required value: must specify a metric target type"));
  else if (!TARGET_TYPES.includes(t.type)) errs.push(fieldError.invalid(`${path}.type`, t.type, "must be either Utilization, Value, or AverageValue"));
  positiveQuantity(t.value, `${path}.value`, errs);
  positiveQuantity(t.averageValue, `${path}.averageValue`, errs);
  const u = asInt(t.averageUtilization, `${path}.averageUtilization`, errs);
  if (u !== undefined && u < 1) errs.push(fieldError.invalid(`${path}.averageUtilization`, u, "must be greater than 0"));
}

function validateMetricName(metric: unknown, path: string, errs: StatusCause[]): void {
  const m = asObject(metric, path, errs) ?? {};
  if (!m.name) errs.push(fieldError.required(`${path}.name`, "Required value: must specify a metric name"));
}

function validateSource(type: string, src: Record<string, any>, path: string, errs: StatusCause[]): void {
  const target = asObject(src.target, `${path}.target`, errs) ?? {};
  validateTarget(target, `${path}.target`, errs);
  const hasValue = target.value !== undefined && target.value !== null;
  const hasAvg = target.averageValue !== undefined && target.averageValue !== null;
  const hasUtil = target.averageUtilization !== undefined && target.averageUtilization !== null;
  if (type === "Resource" || type === "ContainerResource") {
    if (!src.name) errs.push(fieldError.required(`${path}.name`, "Required value: must specify a resource name"));
    if (type === "ContainerResource" && !src.container) errs.push(fieldError.required(`${path}.container`, "Required value: must specify a container"));
    if (!hasUtil && !hasAvg) errs.push(fieldError.required(`${path}.target.averageUtilization`, "Required value: must set either a target raw value or a target utilization"));
    if (hasUtil && hasAvg) errs.push(fieldError.forbidden(`${path}.target.averageValue`, "may not set both a target raw value and a target utilization"));
  } else if (type === "Pods") {
    validateMetricName(src.metric, `${path}.metric`, errs);
    if (!hasAvg) errs.push(fieldError.required(`${path}.target.averageValue`, "Required value: must specify a positive target averageValue"));
  } else {
    if (type === "Object") {
      const ref = asObject(src.describedObject, `${path}.describedObject`, errs) ?? {};
      if (!ref.kind) errs.push(fieldError.required(`${path}.describedObject.kind`));
      if (!ref.name) errs.push(fieldError.required(`${path}.describedObject.name`));
    }
    validateMetricName(src.metric, `${path}.metric`, errs);
    if (!hasValue && !hasAvg) errs.push(fieldError.required(`${path}.target.value`, "Required value: must set either a target value or averageValue"));
  }
}

function validateScalingRules(rules: unknown, path: string, errs: StatusCause[]): void {
  const r = asObject(rules, path, errs);
  if (!r) return;
  const w = asInt(r.stabilizationWindowSeconds, `${path}.stabilizationWindowSeconds`, errs);
  if (w !== undefined && w < 0) errs.push(fieldError.invalid(`${path}.stabilizationWindowSeconds`, w, "must be greater than or equal to zero"));
  if (w !== undefined && w > 3600) errs.push(fieldError.invalid(`${path}.stabilizationWindowSeconds`, w, "must be less than or equal to 3600"));
  if (r.selectPolicy !== undefined && r.selectPolicy !== null && !["Max", "Min", "Disabled"].includes(r.selectPolicy)) {
    errs.push(fieldError.notSupported(`${path}.selectPolicy`, r.selectPolicy, ["Max", "Min", "Disabled"]));
  }
  const policies = objectItems(r.policies, `${path}.policies`, errs);
  if (policies.length === 0) errs.push(fieldError.required(`${path}.policies`, "Required value: must specify at least one Policy"));
  for (const [p, pp] of policies) {
    if (p.type !== "Pods" && p.type !== "Percent") errs.push(fieldError.notSupported(`${pp}.type`, p.type ?? "", ["Pods", "Percent"]));
    const value = asInt(p.value, `${pp}.value`, errs) ?? 0;
    if (value <= 0) errs.push(fieldError.invalid(`${pp}.value`, value, "must be greater than zero"));
    const period = asInt(p.periodSeconds, `${pp}.periodSeconds`, errs) ?? 0;
    if (period <= 0) errs.push(fieldError.invalid(`${pp}.periodSeconds`, period, "must be greater than zero"));
    if (period > 1800) errs.push(fieldError.invalid(`${pp}.periodSeconds`, period, "must be less than or equal to 1800"));
  }
}

function validateHPASpec(spec: Record<string, any>, errs: StatusCause[]): void {
  const min = asInt(spec.minReplicas, "spec.minReplicas", errs);
  if (min !== undefined && min < 1) errs.push(fieldError.invalid("spec.minReplicas", min, "must be greater than or equal to 1"));
  const max = asInt(spec.maxReplicas, "spec.maxReplicas", errs) ?? 0;
  if (max < 1) errs.push(fieldError.invalid("spec.maxReplicas", max, "must be greater than 0"));
  if (min !== undefined && max < min) errs.push(fieldError.invalid("spec.maxReplicas", max, "must be greater than or equal to `minReplicas`"));
  const ref = asObject(spec.scaleTargetRef, "spec.scaleTargetRef", errs) ?? {};
  for (const f of ["kind", "name"]) {
    const v = asString(ref[f], `spec.scaleTargetRef.${f}`, errs);
    if (!v) {
      if (ref[f] === undefined || ref[f] === null || ref[f] === "") errs.push(fieldError.required(`spec.scaleTargetRef.${f}`));
    } else errs.push(...invalidEach(v, isValidPathSegmentName(v), `spec.scaleTargetRef.${f}`));
  }
  for (const [m, p] of objectItems(spec.metrics, "spec.metrics", errs)) {
    if (!m.type) errs.push(fieldError.required(`${p}.type`, "Required value: must specify a metric source type"));
    else if (!METRIC_TYPES.includes(m.type)) errs.push(fieldError.notSupported(`${p}.type`, m.type, METRIC_TYPES));
    const present = Object.values(SOURCE_FIELD).filter((f) => m[f] !== undefined && m[f] !== null);
    const expected = SOURCE_FIELD[m.type];
    if (expected) {
      const src = asObject(m[expected], `${p}.${expected}`, errs);
      if (m[expected] === undefined || m[expected] === null) errs.push(fieldError.required(`${p}.${expected}`, "Required value: must populate information for the given metric source"));
      else if (src) validateSource(m.type, src, `${p}.${expected}`, errs);
    }
    for (const f of present) if (f !== expected) errs.push(fieldError.forbidden(`${p}.${f}`, "must populate the given metric source only"));
  }
  const behavior = asObject(spec.behavior, "spec.behavior", errs);
  if (behavior) {
    validateScalingRules(behavior.scaleUp, "spec.behavior.scaleUp", errs);
    validateScalingRules(behavior.scaleDown, "spec.behavior.scaleDown", errs);
  }
}

function validateHPA(toV2: (o: KObject) => KObject): ResourceDef["validate"] {
  return (o: KObject, ctx: ValidationContext) => {
    const errs: StatusCause[] = [];
    if (ctx.operation === "update" && ctx.old) errs.push(...validateObjectMetaUpdate(o.metadata, ctx.old.metadata));
    else errs.push(...validateObjectMeta(o.metadata, { namespaced: true }));
    if (ctx.subresource === "status") {
      const st = asObject(o.status, "status", errs) ?? {};
      nonNegativeInt(st.currentReplicas, "status.currentReplicas", errs);
      nonNegativeInt(st.desiredReplicas, "status.desiredReplicas", errs);
      return errs;
    }
    if (!isPlainObject(o.spec)) {
      errs.push(o.spec === undefined || o.spec === null ? fieldError.required("spec.scaleTargetRef.kind") : fieldError.typeInvalid("spec", o.spec, "must be of type object"));
      return errs;
    }
    // A v1 percentage of the wrong type would vanish in conversion: report it first.
    if ("targetCPUUtilizationPercentage" in o.spec) asInt(o.spec.targetCPUUtilizationPercentage, "spec.targetCPUUtilizationPercentage", errs);
    if (errs.length) return errs;
    validateHPASpec(obj(toV2(o).spec), errs);
    return errs;
  };
}

// ---------------------------------------------------------------------------------------
// Table (computed on the v2 shape for both versions)

function q(v: unknown): string {
  if (typeof v !== "string" && typeof v !== "number") return "<unknown>";
  try {
    return canonicalQuantity(v);
  } catch {
    return String(v);
  }
}

/** formatHPAMetrics: up to two "current/target" pairs. */
export function formatHPAMetrics(specs: unknown, statuses: unknown): string {
  const ms = list(specs).map(obj);
  const st = list(statuses).map(obj);
  if (ms.length === 0) return "<none>";
  const out = ms.map((m, i) => {
    const s = st[i] ?? {};
    switch (m.type) {
      case "External":
      case "Object": {
        const src = obj(m[m.type === "External" ? "external" : "object"]);
        const cur = obj(obj(s[m.type === "External" ? "external" : "object"]).current);
        const target = obj(src.target);
        if (target.averageValue !== undefined) return `${cur.averageValue !== undefined ? q(cur.averageValue) : "<unknown>"}/${q(target.averageValue)} (avg)`;
        return `${cur.value !== undefined ? q(cur.value) : "<unknown>"}/${q(target.value)}`;
      }
      case "Pods": {
        const cur = obj(obj(s.pods).current);
        return `${cur.averageValue !== undefined ? q(cur.averageValue) : "<unknown>"}/${q(obj(obj(m.pods).target).averageValue)}`;
      }
      case "Resource":
      case "ContainerResource": {
        const key = m.type === "Resource" ? "resource" : "containerResource";
        const src = obj(m[key]);
        const target = obj(src.target);
        const cur = obj(obj(s[key]).current);
        if (target.averageValue !== undefined) return `${src.name}: ${cur.averageValue !== undefined ? q(cur.averageValue) : "<unknown>"}/${q(target.averageValue)}`;
        const c = typeof cur.averageUtilization === "number" ? `${cur.averageUtilization}%` : "<unknown>";
        const t = typeof target.averageUtilization === "number" ? `${target.averageUtilization}%` : "<auto>";
        return `${src.name}: ${c}/${t}`;
      }
      default:
        return "<unknown type>";
    }
  });
  return out.length > 2 ? `${out.slice(0, 2).join(", ")} + ${out.length - 2} more...` : out.join(", ");
}

function hpaTable(toV2: (o: KObject) => KObject): TableSpec {
  return {
    columns: [
      column("Reference", "scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count."),
      column("Targets", "metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used)."),
      column("MinPods", "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down."),
      column("MaxPods", "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up. It cannot be less that minReplicas."),
      column("Replicas", "currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler."),
      ageColumn(),
    ],
    cells(o, now) {
      const v2 = toV2(o);
      const spec = obj(v2.spec);
      const ref = obj(spec.scaleTargetRef);
      const minPods = typeof spec.minReplicas === "number" ? String(spec.minReplicas) : "<unset>";
      return [`${ref.kind ?? ""}/${ref.name ?? ""}`, formatHPAMetrics(spec.metrics, obj(v2.status).currentMetrics), minPods, count(spec.maxReplicas), count(obj(v2.status).currentReplicas), ageSince(o.metadata?.creationTimestamp, now)];
    },
  };
}

const identity = (o: KObject) => o;
const base = { group: "autoscaling", kind: "HorizontalPodAutoscaler", plural: "horizontalpodautoscalers", singular: "horizontalpodautoscaler", namespaced: true } as const;

export const autoscalingResources: ResourceDef[] = [
  {
    ...base,
    version: "v2",
    shortNames: ["hpa"],
    categories: ["all"],
    subresources: ["status"],
    defaults: defaultHPAv2,
    validate: validateHPA(identity),
    table: hpaTable(identity),
  },
  {
    ...base,
    version: "v1",
    shortNames: ["hpa"],
    categories: ["all"],
    subresources: ["status"],
    storageVersion: "v2",
    toStorage: hpaV1ToV2,
    fromStorage: hpaV2ToV1,
    defaults: defaultHPAv1,
    validate: validateHPA(hpaV1ToV2),
    table: hpaTable(hpaV1ToV2),
  },
];
