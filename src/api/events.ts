// events.k8s.io/v1 Event: the newer face of core v1 Events. Both are one stored resource
// (core "events"); this view renames fields (regarding ↔ involvedObject, note ↔ message,
// deprecated* ↔ count/firstTimestamp/lastTimestamp/source, reportingController ↔
// reportingComponent) as upstream's pkg/apis/events/v1/conversion.go, and applies the
// stricter create rules of pkg/apis/core/validation/events.go for this API.
// Reference: https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/event-v1/

import { fieldError, type StatusCause } from "../apimachinery/errors.js";
import { deepCopy, type KObject } from "../apimachinery/types.js";
import { column, obj } from "./table.js";
import { eventCells } from "./core-cluster.js";
import type { ResourceDef, TableSpec, ValidationContext } from "./types.js";
import { asObject, asString, immutableField, invalidEach, isQualifiedName, validateObjectMeta, validateObjectMetaUpdate } from "./validation.js";

/** [events.k8s.io/v1 field, core v1 field] pairs that only change name. */
const RENAMES: [string, string][] = [
  ["regarding", "involvedObject"],
  ["note", "message"],
  ["deprecatedSource", "source"],
  ["deprecatedFirstTimestamp", "firstTimestamp"],
  ["deprecatedLastTimestamp", "lastTimestamp"],
  ["deprecatedCount", "count"],
  ["reportingController", "reportingComponent"],
];
const SHARED = ["eventTime", "series", "action", "reason", "related", "reportingInstance", "type"];

function convert(src: KObject, apiVersion: string, pairs: [string, string][]): KObject {
  const out: KObject = { apiVersion, kind: "Event", metadata: deepCopy(src.metadata ?? {}) };
  for (const [from, to] of pairs) if (src[from] !== undefined) out[to] = deepCopy(src[from]);
  for (const f of SHARED) if (src[f] !== undefined) out[f] = deepCopy(src[f]);
  return out;
}

/** events.k8s.io/v1 → core v1 (storage). */
export function eventsV1ToCore(e: KObject): KObject {
  return convert(e, "v1", RENAMES);
}

/** core v1 (storage) → events.k8s.io/v1. */
export function coreToEventsV1(e: KObject): KObject {
  return convert(
    e,
    "events.k8s.io/v1",
    RENAMES.map(([a, b]) => [b, a]),
  );
}

// ---------------------------------------------------------------------------------------
// Validation (events.k8s.io/v1 is strict on create; updates may only touch series/metadata)

const LIMIT_128 = 128;
const NOTE_LIMIT = 1024;

function requiredBounded(o: KObject, f: string, limit: number, errs: StatusCause[]): string | undefined {
  const v = asString(o[f], f, errs);
  if (v === undefined || v === "") {
    if (o[f] === undefined || o[f] === null || o[f] === "") errs.push(fieldError.required(f));
    return undefined;
  }
  if (v.length > limit) errs.push(fieldError.invalid(f, "", `can have at most ${limit} characters`));
  return v;
}

const isSet = (v: unknown) => v !== undefined && v !== null && v !== "" && v !== 0;

function validateEventCreate(o: KObject, errs: StatusCause[]): void {
  errs.push(...validateObjectMeta(o.metadata, { namespaced: true }));
  const rc = requiredBounded(o, "reportingController", Number.MAX_SAFE_INTEGER, errs);
  if (rc) errs.push(...invalidEach(rc, isQualifiedName(rc), "reportingController"));
  requiredBounded(o, "reportingInstance", LIMIT_128, errs);
  requiredBounded(o, "action", LIMIT_128, errs);
  requiredBounded(o, "reason", LIMIT_128, errs);
  const note = asString(o.note, "note", errs);
  if (note && note.length > NOTE_LIMIT) errs.push(fieldError.invalid("note", "", `can have at most ${NOTE_LIMIT} characters`));
  const regarding = asObject(o.regarding, "regarding", errs) ?? {};
  const ns = o.metadata?.namespace;
  if (regarding.namespace ? regarding.namespace !== ns : ns !== "default" && ns !== "" && ns !== undefined) {
    errs.push(fieldError.invalid("regarding.namespace", regarding.namespace ?? "", "does not match event.namespace"));
  }
  const series = asObject(o.series, "series", errs);
  if (series) {
    if (typeof series.count !== "number" || series.count < 2) errs.push(fieldError.invalid("series.count", "", `should be at least 2`));
    if (!series.lastObservedTime) errs.push(fieldError.required("series.lastObservedTime"));
  }
  const et = asString(o.eventTime, "eventTime", errs);
  if (!et) {
    if (o.eventTime === undefined || o.eventTime === null || o.eventTime === "") errs.push(fieldError.required("eventTime"));
  } else if (Number.isNaN(Date.parse(et))) errs.push(fieldError.invalid("eventTime", et, "must be an RFC 3339 time"));
  if (o.type !== "Normal" && o.type !== "Warning") errs.push(fieldError.invalid("type", "", `has invalid value: ${o.type ?? ""}`));
  for (const f of ["deprecatedFirstTimestamp", "deprecatedLastTimestamp", "deprecatedCount"]) if (isSet(o[f])) errs.push(fieldError.invalid(f, "", "needs to be unset"));
  const src = obj(o.deprecatedSource);
  if (isSet(src.component) || isSet(src.host)) errs.push(fieldError.invalid("deprecatedSource", "", "needs to be unset"));
}

const IMMUTABLE = ["regarding", "reason", "note", "deprecatedSource", "deprecatedFirstTimestamp", "deprecatedLastTimestamp", "deprecatedCount", "type", "action", "related", "reportingController", "reportingInstance"];

function validateEvent(o: KObject, ctx: ValidationContext): StatusCause[] {
  const errs: StatusCause[] = [];
  if (ctx.operation === "update" && ctx.old) {
    errs.push(...validateObjectMetaUpdate(o.metadata, ctx.old.metadata));
    for (const f of IMMUTABLE) errs.push(...immutableField(o[f] ?? null, ctx.old[f] ?? null, f));
    // eventTime may only change below microsecond precision (i.e. not at all in JSON).
    errs.push(...immutableField(o.eventTime ?? null, ctx.old.eventTime ?? null, "eventTime"));
    return errs;
  }
  validateEventCreate(o, errs);
  return errs;
}

// ---------------------------------------------------------------------------------------
// Table: the same columns kubectl shows for core events.

const eventTable: TableSpec = {
  columns: [
    column("Last Seen", "Optional; The time at which the most recent occurrence of this event was recorded."),
    column("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
    column("Reason", "reason is why the action was taken. It is human-readable."),
    column("Object", "The object that this event is about."),
    column("Subobject", "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go-field access statement.", { priority: 1 }),
    column("Source", "The component reporting this event.", { priority: 1 }),
    column("Message", "A human-readable description of the status of this operation."),
    column("First Seen", "The time at which the event was first recorded.", { priority: 1 }),
    column("Count", "The number of times this event has occurred.", { priority: 1 }),
  ],
  // Served objects are events.k8s.io; printed as their core form, so both APIs show the same cells.
  cells: (e, now) => eventCells(e.apiVersion === "v1" ? e : eventsV1ToCore(e), now),
};

/** Field selectors of events.k8s.io, readable from either stored (core) or served shape. */
function regardingField(f: string) {
  return (o: KObject) => {
    const r = obj(o.regarding ?? o.involvedObject)[f];
    return r === undefined ? undefined : String(r);
  };
}

export const eventsResources: ResourceDef[] = [
  {
    group: "events.k8s.io",
    version: "v1",
    kind: "Event",
    plural: "events",
    singular: "event",
    namespaced: true,
    shortNames: ["ev"],
    storageResource: { group: "", plural: "events" },
    storageVersion: "v1",
    toStorage: eventsV1ToCore,
    fromStorage: coreToEventsV1,
    tracksGeneration: false,
    validate: validateEvent,
    table: eventTable,
    fieldSelectors: {
      "regarding.kind": regardingField("kind"),
      "regarding.namespace": regardingField("namespace"),
      "regarding.name": regardingField("name"),
      "regarding.uid": regardingField("uid"),
      "regarding.apiVersion": regardingField("apiVersion"),
      "regarding.resourceVersion": regardingField("resourceVersion"),
      "regarding.fieldPath": regardingField("fieldPath"),
      reason: (o) => o.reason,
      reportingController: (o) => o.reportingController ?? o.reportingComponent,
      type: (o) => o.type,
    },
  },
];
