// Cluster-level core/v1 resources: Namespace, Node and (core/v1) Event — their defaults,
// validation, `kubectl get` tables and field selectors
// (https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/namespace-v1/,
// .../node-v1/, .../event-v1/). Node STATUS/ROLES and event OBJECT/SOURCE cells follow
// kubectl's printNode and printEvent.

import { fieldError, type StatusCause } from "../apimachinery/errors.js";
import type { KObject } from "../apimachinery/types.js";
import { ageColumn, ageSince, column, list, obj, str } from "./table.js";
import type { ResourceDef, ValidationContext } from "./types.js";
import {
  asArray, asBool, asObject, asString, invalidEach, isDNS1123Label, isDNS1123Subdomain, isPlainObject, isQualifiedName,
  isValidLabelValue, objectItems, validateEnum, validateObjectMeta, validateObjectMetaUpdate,
} from "./validation.js";

// ---------------------------------------------------------------------------------------
// Namespace

const STANDARD_FINALIZERS = new Set(["kubernetes", "orphan", "foregroundDeletion"]);

function validateNamespace(ns: KObject, ctx: ValidationContext): StatusCause[] {
  const errs = ctx.operation === "create" ? validateObjectMeta(ns.metadata, { namespaced: false, nameFn: isDNS1123Label }) : validateObjectMetaUpdate(ns.metadata, ctx.old?.metadata);
  const spec = asObject(ns.spec, "spec", errs) ?? {};
  asArray(spec.finalizers, "spec.finalizers", errs)?.forEach((f, i) => {
    const p = `spec.finalizers[${i}]`;
    if (typeof f !== "string") return errs.push(fieldError.typeInvalid(p, f, "must be of type string"));
    errs.push(...invalidEach(f, isQualifiedName(f), p));
    if (!f.includes("/") && !STANDARD_FINALIZERS.has(f)) errs.push(fieldError.invalid(p, f, "name is neither a standard finalizer name nor is it fully qualified"));
  });
  const status = asObject(ns.status, "status", errs) ?? {};
  if (status.phase !== undefined) errs.push(...validateEnum(status.phase, ["Active", "Terminating"], "status.phase"));
  return errs;
}

export const namespaceResource: ResourceDef = {
  group: "",
  version: "v1",
  kind: "Namespace",
  plural: "namespaces",
  singular: "namespace",
  namespaced: false,
  shortNames: ["ns"],
  subresources: ["status", "finalize"],
  tracksGeneration: false,
  defaults(ns) {
    if (!isPlainObject(ns.status)) ns.status = {};
    if (!ns.status.phase) ns.status.phase = "Active";
    // SetDefaults_Namespace: the immutable kubernetes.io/metadata.name label selects namespaces by name.
    const name = ns.metadata?.name;
    if (typeof name === "string" && name && isPlainObject(ns.metadata)) {
      if (!isPlainObject(ns.metadata.labels)) ns.metadata.labels = {};
      ns.metadata.labels["kubernetes.io/metadata.name"] = name;
    }
  },
  prepareForCreate(ns) {
    // Every namespace starts with the "kubernetes" finalizer the namespace controller removes.
    if (!isPlainObject(ns.spec)) ns.spec = {};
    const fins = Array.isArray(ns.spec.finalizers) ? ns.spec.finalizers : [];
    ns.spec.finalizers = fins.includes("kubernetes") ? fins : [...fins, "kubernetes"];
    ns.status = { phase: "Active" };
  },
  validate: validateNamespace,
  table: {
    columns: [column("Status", "The status of the namespace"), ageColumn()],
    cells: (ns, now) => [str(obj(ns.status).phase), ageSince(ns.metadata?.creationTimestamp, now)],
  },
};

// ---------------------------------------------------------------------------------------
// Node

const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

function validateTaints(v: unknown, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  const seen = new Set<string>();
  for (const [t, tp] of objectItems(v, path, errs)) {
    const key = asString(t.key, `${tp}.key`, errs) ?? "";
    errs.push(...invalidEach(key, isQualifiedName(key), `${tp}.key`));
    const value = asString(t.value, `${tp}.value`, errs) ?? "";
    errs.push(...invalidEach(value, isValidLabelValue(value), `${tp}.value`));
    if (!t.effect) errs.push(fieldError.required(`${tp}.effect`));
    else errs.push(...validateEnum(t.effect, TAINT_EFFECTS, `${tp}.effect`));
    const k = `${key}:${t.effect}`;
    if (seen.has(k)) errs.push(fieldError.duplicate(tp, t));
    seen.add(k);
  }
  return errs;
}

function validateCIDR(v: string, path: string): StatusCause[] {
  const m = /^(.+)\/(\d{1,3})$/.exec(v);
  const ok = m && ((/^\d+\.\d+\.\d+\.\d+$/.test(m[1]!) && Number(m[2]) <= 32) || (m[1]!.includes(":") && Number(m[2]) <= 128));
  return ok ? [] : [fieldError.invalid(path, v, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")];
}

function validateNode(node: KObject, ctx: ValidationContext): StatusCause[] {
  const errs = ctx.operation === "create" ? validateObjectMeta(node.metadata, { namespaced: false }) : validateObjectMetaUpdate(node.metadata, ctx.old?.metadata);
  const spec = asObject(node.spec, "spec", errs) ?? {};
  errs.push(...validateTaints(spec.taints, "spec.taints"));
  asBool(spec.unschedulable, "spec.unschedulable", errs);
  const cidrs = asArray(spec.podCIDRs, "spec.podCIDRs", errs) ?? [];
  cidrs.forEach((c, i) => {
    if (typeof c !== "string") errs.push(fieldError.typeInvalid(`spec.podCIDRs[${i}]`, c, "must be of type string"));
    else errs.push(...validateCIDR(c, `spec.podCIDRs[${i}]`));
  });
  if (cidrs.length && typeof spec.podCIDR === "string" && spec.podCIDR && cidrs[0] !== spec.podCIDR) {
    errs.push(fieldError.invalid("spec.podCIDRs", cidrs, "first value must match `podCIDR`"));
  }
  if (ctx.operation === "update" && ctx.old) {
    const oldSpec = obj(ctx.old.spec);
    const oldCIDRs = list(oldSpec.podCIDRs);
    if (oldCIDRs.length && JSON.stringify(oldCIDRs) !== JSON.stringify(cidrs)) {
      errs.push(fieldError.forbidden("spec.podCIDRs", 'node updates may not change podCIDR except from "" to valid'));
    }
    if (oldSpec.providerID && oldSpec.providerID !== spec.providerID) {
      errs.push(fieldError.forbidden("spec.providerID", 'node updates may not change providerID except from "" to valid'));
    }
  }
  const status = asObject(node.status, "status", errs) ?? {};
  objectItems(status.conditions, "status.conditions", errs);
  objectItems(status.addresses, "status.addresses", errs);
  asObject(status.capacity, "status.capacity", errs);
  asObject(status.allocatable, "status.allocatable", errs);
  return errs;
}

/** findNodeRoles: node-role.kubernetes.io/<role> labels and the legacy kubernetes.io/role. */
export function nodeRoles(node: KObject): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(obj(node.metadata?.labels))) {
    if (k.startsWith("node-role.kubernetes.io/")) {
      const role = k.slice("node-role.kubernetes.io/".length);
      if (role) roles.add(role);
    } else if (k === "kubernetes.io/role" && typeof v === "string" && v) roles.add(v);
  }
  return [...roles].sort().join(",") || "<none>";
}

export function nodeStatus(node: KObject): string {
  const ready = list(obj(node.status).conditions).map(obj).find((c) => c.type === "Ready");
  const parts = [ready ? (ready.status === "True" ? "Ready" : "NotReady") : "Unknown"];
  if (obj(node.spec).unschedulable === true) parts.push("SchedulingDisabled");
  return parts.join(",");
}

function nodeAddress(node: KObject, type: string): string {
  const a = list(obj(node.status).addresses).map(obj).find((x) => x.type === type);
  return str(a?.address, "<none>");
}

function nodeCells(node: KObject, now: Date): unknown[] {
  const info = obj(obj(node.status).nodeInfo);
  return [
    nodeStatus(node), nodeRoles(node), ageSince(node.metadata?.creationTimestamp, now), str(info.kubeletVersion),
    nodeAddress(node, "InternalIP"), nodeAddress(node, "ExternalIP"), str(info.osImage, "<unknown>"),
    str(info.kernelVersion, "<unknown>"), str(info.containerRuntimeVersion, "<unknown>"),
  ];
}

export const nodeResource: ResourceDef = {
  group: "",
  version: "v1",
  kind: "Node",
  plural: "nodes",
  keepStatusOnCreate: true,
  singular: "node",
  namespaced: false,
  shortNames: ["no"],
  subresources: ["status", "proxy"],
  tracksGeneration: false,
  defaults(node) {
    // SetDefaults_NodeStatus: allocatable defaults to capacity.
    if (isPlainObject(node.status) && isPlainObject(node.status.capacity) && node.status.allocatable == null) {
      node.status.allocatable = { ...node.status.capacity };
    }
  },
  validate: validateNode,
  table: {
    columns: [
      column("Status", "The status of the node"),
      column("Roles", "The roles of the node"),
      ageColumn(),
      column("Version", "Kubelet Version reported by the node."),
      column("Internal-IP", "List of addresses reachable to the node. Queried from cloud provider, if available.", { priority: 1 }),
      column("External-IP", "List of addresses reachable to the node. Queried from cloud provider, if available.", { priority: 1 }),
      column("OS-Image", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).", { priority: 1 }),
      column("Kernel-Version", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", { priority: 1 }),
      column("Container-Runtime", "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).", { priority: 1 }),
    ],
    cells: nodeCells,
  },
  fieldSelectors: {
    "spec.unschedulable": (n) => String(obj(n.spec).unschedulable === true),
  },
};

// ---------------------------------------------------------------------------------------
// Event (core/v1)

const EVENT_TEXT_LIMIT = 128;
const EVENT_NOTE_LIMIT = 1024;

function validateEvent(ev: KObject, ctx: ValidationContext): StatusCause[] {
  const errs = ctx.operation === "create" ? validateObjectMeta(ev.metadata, { namespaced: true }) : validateObjectMetaUpdate(ev.metadata, ctx.old?.metadata);
  if (ev.involvedObject === undefined || ev.involvedObject === null) {
    errs.push(fieldError.required("involvedObject"));
    return errs;
  }
  const io = asObject(ev.involvedObject, "involvedObject", errs);
  if (!io) return errs;
  const ns = str(ev.metadata?.namespace);
  const ioNs = asString(io.namespace, "involvedObject.namespace", errs) ?? "";
  if (!ev.eventTime) {
    // Legacy events: the event lives in its object's namespace ("default" for cluster-scoped objects).
    if (ioNs === "" ? ns !== "" && ns !== "default" : ns !== ioNs) errs.push(fieldError.invalid("involvedObject.namespace", ioNs, "does not match event.namespace"));
  } else {
    if (!ioNs && ns !== "default" && ns !== "kube-system") errs.push(fieldError.invalid("involvedObject.namespace", ioNs, "does not match event.namespace"));
    const rc = asString(ev.reportingComponent, "reportingComponent", errs) ?? "";
    if (!rc) errs.push(fieldError.required("reportingController"));
    else errs.push(...invalidEach(rc, isQualifiedName(rc), "reportingController"));
    for (const [k, limit] of [["reportingController", EVENT_TEXT_LIMIT], ["reportingInstance", EVENT_TEXT_LIMIT], ["action", EVENT_TEXT_LIMIT], ["reason", EVENT_TEXT_LIMIT], ["message", EVENT_NOTE_LIMIT]] as const) {
      const field = k === "reportingController" ? "reportingComponent" : k;
      const v = ev[field];
      if (typeof v === "string" && v.length > limit) errs.push(fieldError.invalid(k, "", `can have at most ${limit} characters`));
    }
  }
  if (ns) errs.push(...invalidEach(ns, isDNS1123Subdomain(ns), "namespace"));
  for (const k of ["reason", "message", "type", "action"]) asString(ev[k], k, errs);
  asObject(ev.source, "source", errs);
  if (ev.count !== undefined && (typeof ev.count !== "number" || !Number.isInteger(ev.count))) errs.push(fieldError.typeInvalid("count", ev.count, "must be of type integer"));
  return errs;
}

/** printEvent's cells for a core v1 Event (events.k8s.io converts to this shape first). */
export function eventCells(ev: KObject, now: Date): unknown[] {
  const first = ev.firstTimestamp ? ageSince(ev.firstTimestamp, now) : ageSince(ev.eventTime, now);
  let last = ev.lastTimestamp ? ageSince(ev.lastTimestamp, now) : first;
  let count = typeof ev.count === "number" ? ev.count : 0;
  if (isPlainObject(ev.series)) {
    last = ageSince(ev.series.lastObservedTime, now);
    count = typeof ev.series.count === "number" ? ev.series.count : 0;
  } else if (count === 0) count = 1;
  const io = obj(ev.involvedObject);
  const kind = str(io.kind).toLowerCase();
  const target = io.name ? `${kind}/${io.name}` : kind;
  const src = obj(ev.source);
  const component = str(src.component) || str(ev.reportingComponent);
  const host = str(src.host) || str(ev.reportingInstance);
  const source = host ? `${component}, ${host}` : component;
  return [last, str(ev.type), str(ev.reason), target, str(io.fieldPath), source, str(ev.message).trim(), first, count];
}

export const eventResource: ResourceDef = {
  group: "",
  version: "v1",
  kind: "Event",
  plural: "events",
  singular: "event",
  namespaced: true,
  shortNames: ["ev"],
  tracksGeneration: false,
  validate: validateEvent,
  table: {
    columns: [
      column("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
      column("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
      column("Reason", "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
      column("Object", "The object that this event is about."),
      column("Subobject", "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.", { priority: 1 }),
      column("Source", "The component reporting this event. Should be a short machine understandable string.", { priority: 1 }),
      column("Message", "A human-readable description of the status of this operation."),
      column("First Seen", "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)", { priority: 1 }),
      column("Count", "The number of times this event has occurred.", { priority: 1 }),
    ],
    cells: eventCells,
  },
  fieldSelectors: {
    "involvedObject.kind": (e) => str(obj(e.involvedObject).kind),
    "involvedObject.namespace": (e) => str(obj(e.involvedObject).namespace),
    "involvedObject.name": (e) => str(obj(e.involvedObject).name),
    "involvedObject.uid": (e) => str(obj(e.involvedObject).uid),
    "involvedObject.apiVersion": (e) => str(obj(e.involvedObject).apiVersion),
    "involvedObject.resourceVersion": (e) => str(obj(e.involvedObject).resourceVersion),
    "involvedObject.fieldPath": (e) => str(obj(e.involvedObject).fieldPath),
    reason: (e) => str(e.reason),
    reportingComponent: (e) => str(e.reportingComponent),
    source: (e) => str(obj(e.source).component) || str(e.reportingComponent),
    type: (e) => str(e.type),
  },
};
