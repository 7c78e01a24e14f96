// scheduling.k8s.io/v1 PriorityClass: named pod priorities for scheduling and preemption,
// including the two built-in system classes. Validation follows
// pkg/apis/scheduling/validation; columns pkg/printers. Reference:
// https://kubernetes.io/docs/concepts/scheduling-eviction/pod-priority-preemption/

import { fieldError, type StatusCause } from "../apimachinery/errors.js";
import type { KObject } from "../apimachinery/types.js";
import { ageColumn, ageSince, column } from "./table.js";
import type { ResourceDef, TableSpec, ValidationContext } from "./types.js";
import { asBool, asInt, asString, immutableField, validateObjectMeta, validateObjectMetaUpdate } from "./validation.js";

export const HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000;
export const SYSTEM_CRITICAL_PRIORITY = 2 * HIGHEST_USER_DEFINABLE_PRIORITY;
const PREEMPTION_POLICIES = ["Never", "PreemptLowerPriority"];

/** The classes every cluster has (and the apiserver creates at startup upstream). */
export const SYSTEM_PRIORITY_CLASSES: KObject[] = [
  {
    apiVersion: "scheduling.k8s.io/v1",
    kind: "PriorityClass",
    metadata: { name: "system-node-critical" },
    value: SYSTEM_CRITICAL_PRIORITY + 1000,
    description: "Used for system critical pods that must not be moved from their current node.",
    preemptionPolicy: "PreemptLowerPriority",
  },
  {
    apiVersion: "scheduling.k8s.io/v1",
    kind: "PriorityClass",
    metadata: { name: "system-cluster-critical" },
    value: SYSTEM_CRITICAL_PRIORITY,
    description: "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
    preemptionPolicy: "PreemptLowerPriority",
  },
];

function systemClassError(name: string, value: unknown, globalDefault: boolean): string | undefined {
  const known = SYSTEM_PRIORITY_CLASSES.find((c) => c.metadata.name === name);
  if (!known) return `${name} is not a known system priority class`;
  if (known.value !== value) return `value of ${name} PriorityClass must be ${known.value}`;
  if (globalDefault) return `globalDefault of ${name} PriorityClass must be false`;
  return undefined;
}

function defaultPriorityClass(o: KObject): void {
  o.preemptionPolicy ??= "PreemptLowerPriority";
}

function validatePriorityClass(o: KObject, ctx: ValidationContext): StatusCause[] {
  const errs: StatusCause[] = [];
  const old = ctx.operation === "update" ? ctx.old : undefined;
  if (old) errs.push(...validateObjectMetaUpdate(o.metadata, old.metadata));
  else errs.push(...validateObjectMeta(o.metadata, { namespaced: false }));
  const value = asInt(o.value, "value", errs);
  if (o.value === undefined || o.value === null) errs.push(fieldError.required("value"));
  const globalDefault = asBool(o.globalDefault, "globalDefault", errs) ?? false;
  asString(o.description, "description", errs);
  const name = typeof o.metadata?.name === "string" ? o.metadata.name : "";
  if (name.startsWith("system-")) {
    const e = systemClassError(name, value, globalDefault);
    if (e) errs.push(fieldError.forbidden("metadata.name", `priority class names with 'system-' prefix are reserved for system use only. error: ${e}`));
  } else if (value !== undefined && value > HIGHEST_USER_DEFINABLE_PRIORITY) {
    errs.push(fieldError.forbidden("value", `maximum allowed value of a user defined priority is ${HIGHEST_USER_DEFINABLE_PRIORITY}`));
  }
  const pp = o.preemptionPolicy;
  if (pp !== undefined && pp !== null && !PREEMPTION_POLICIES.includes(pp)) errs.push(fieldError.notSupported("preemptionPolicy", pp, PREEMPTION_POLICIES));
  if (old) {
    if (o.value !== old.value) errs.push(fieldError.forbidden("value", "may not be changed in an update."));
    errs.push(...immutableField(o.preemptionPolicy, old.preemptionPolicy, "preemptionPolicy"));
  }
  return errs;
}

const priorityClassTable: TableSpec = {
  columns: [
    column("Value", "value represents the integer value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec.", { type: "integer" }),
    column("Global-Default", "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class.", { type: "boolean" }),
    ageColumn(),
    column("PreemptionPolicy", "preemptionPolicy is the Policy for preempting pods with lower priority."),
  ],
  cells(o, now) {
    return [typeof o.value === "number" ? o.value : 0, o.globalDefault === true, ageSince(o.metadata?.creationTimestamp, now), typeof o.preemptionPolicy === "string" ? o.preemptionPolicy : ""];
  },
};

export const schedulingResources: ResourceDef[] = [
  {
    group: "scheduling.k8s.io",
    version: "v1",
    kind: "PriorityClass",
    plural: "priorityclasses",
    singular: "priorityclass",
    namespaced: false,
    shortNames: ["pc"],
    tracksGeneration: false,
    defaults: defaultPriorityClass,
    validate: validatePriorityClass,
    table: priorityClassTable,
  },
];
