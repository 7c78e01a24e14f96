// coordination.k8s.io/v1 Lease: the lock object behind leader election and node
// heartbeats. Validation follows pkg/apis/coordination/validation; columns pkg/printers.
// Reference: https://kubernetes.io/docs/concepts/architecture/leases/

import { fieldError, type StatusCause } from "../apimachinery/errors.js";
import type { KObject } from "../apimachinery/types.js";
import { ageColumn, ageSince, column, obj } from "./table.js";
import type { ResourceDef, TableSpec, ValidationContext } from "./types.js";
import { asInt, asObject, asString, validateObjectMeta, validateObjectMetaUpdate } from "./validation.js";

function validateLease(o: KObject, ctx: ValidationContext): StatusCause[] {
  const errs: StatusCause[] = [];
  if (ctx.operation === "update" && ctx.old) errs.push(...validateObjectMetaUpdate(o.metadata, ctx.old.metadata));
  else errs.push(...validateObjectMeta(o.metadata, { namespaced: true }));
  const spec = asObject(o.spec, "spec", errs) ?? {};
  asString(spec.holderIdentity, "spec.holderIdentity", errs);
  const dur = asInt(spec.leaseDurationSeconds, "spec.leaseDurationSeconds", errs);
  if (dur !== undefined && dur <= 0) errs.push(fieldError.invalid("spec.leaseDurationSeconds", dur, "must be greater than 0"));
  const transitions = asInt(spec.leaseTransitions, "spec.leaseTransitions", errs);
  if (transitions !== undefined && transitions < 0) errs.push(fieldError.invalid("spec.leaseTransitions", transitions, "must be greater than or equal to 0"));
  for (const f of ["acquireTime", "renewTime"]) {
    const t = asString(spec[f], `spec.${f}`, errs);
    if (t !== undefined && Number.isNaN(Date.parse(t))) errs.push(fieldError.invalid(`spec.${f}`, t, "must be an RFC 3339 time"));
  }
  const strategy = asString(spec.strategy, "spec.strategy", errs);
  if (strategy !== undefined && strategy !== "OldestEmulationVersion") errs.push(fieldError.notSupported("spec.strategy", strategy, ["OldestEmulationVersion"]));
  return errs;
}

const leaseTable: TableSpec = {
  columns: [column("Holder", "holderIdentity contains the identity of the holder of a current lease."), ageColumn()],
  cells(o, now) {
    const holder = obj(o.spec).holderIdentity;
    return [typeof holder === "string" ? holder : "", ageSince(o.metadata?.creationTimestamp, now)];
  },
};

export const coordinationResources: ResourceDef[] = [
  {
    group: "coordination.k8s.io",
    version: "v1",
    kind: "Lease",
    plural: "leases",
    singular: "lease",
    namespaced: true,
    // Renewals rewrite spec every few seconds; upstream Leases carry no generation bumps.
    tracksGeneration: false,
    validate: validateLease,
    table: leaseTable,
  },
];
