// policy/v1 PodDisruptionBudget: how many of a set of pods must stay up during voluntary
// disruptions (evictions, drains). Validation follows pkg/apis/policy/validation; columns
// pkg/printers. Reference: https://kubernetes.io/docs/concepts/workloads/pods/disruptions/

import { fieldError, type StatusCause } from "../apimachinery/errors.js";
import type { KObject } from "../apimachinery/types.js";
import { ageColumn, ageSince, column, obj } from "./table.js";
import type { ResourceDef, TableSpec, ValidationContext } from "./types.js";
import { asObject, objectItems, validateLabelSelector, validateObjectMeta, validateObjectMetaUpdate } from "./validation.js";
import { count, nonNegativeInt, validateNotMoreThan100Percent, validatePositiveIntOrPercent } from "./apps.js";

const UNHEALTHY_POLICIES = ["AlwaysAllow", "IfHealthyBudget"];

const isSet = (v: unknown) => v !== undefined && v !== null;

function validatePDB(o: KObject, ctx: ValidationContext): StatusCause[] {
  const errs: StatusCause[] = [];
  if (ctx.operation === "update" && ctx.old) errs.push(...validateObjectMetaUpdate(o.metadata, ctx.old.metadata));
  else errs.push(...validateObjectMeta(o.metadata, { namespaced: true }));
  if (ctx.subresource === "status") {
    const st = asObject(o.status, "status", errs) ?? {};
    for (const f of ["disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods", "observedGeneration"]) nonNegativeInt(st[f], `status.${f}`, errs);
    objectItems(st.conditions, "status.conditions", errs);
    return errs;
  }
  const spec: Record<string, any> = asObject(o.spec, "spec", errs) ?? {};
  if (isSet(spec.minAvailable) && isSet(spec.maxUnavailable)) errs.push(fieldError.invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set"));
  for (const f of ["minAvailable", "maxUnavailable"]) {
    if (!isSet(spec[f])) continue;
    errs.push(...validatePositiveIntOrPercent(spec[f], `spec.${f}`));
    errs.push(...validateNotMoreThan100Percent(spec[f], `spec.${f}`));
  }
  errs.push(...validateLabelSelector(spec.selector, "spec.selector"));
  const up = spec.unhealthyPodEvictionPolicy;
  if (isSet(up) && !UNHEALTHY_POLICIES.includes(up as string)) errs.push(fieldError.notSupported("spec.unhealthyPodEvictionPolicy", up, UNHEALTHY_POLICIES));
  return errs;
}

/** IntOrString.String(): the number or the string; "N/A" when unset. */
function intOrStringCell(v: unknown): string {
  return typeof v === "number" || typeof v === "string" ? String(v) : "N/A";
}

const pdbTable: TableSpec = {
  columns: [
    column("Min Available", "The minimum number of pods that must be available."),
    column("Max Unavailable", "The maximum number of pods that may be unavailable."),
    column("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time.", { type: "integer" }),
    ageColumn(),
  ],
  cells(o, now) {
    const spec = obj(o.spec);
    return [intOrStringCell(spec.minAvailable), intOrStringCell(spec.maxUnavailable), count(obj(o.status).disruptionsAllowed), ageSince(o.metadata?.creationTimestamp, now)];
  },
};

export const policyResources: ResourceDef[] = [
  {
    group: "policy",
    version: "v1",
    kind: "PodDisruptionBudget",
    plural: "poddisruptionbudgets",
    singular: "poddisruptionbudget",
    namespaced: true,
    shortNames: ["pdb"],
    subresources: ["status"],
    validate: validatePDB,
    table: pdbTable,
  },
];
