// The core/v1 Pod resource: defaults (SetDefaults_Pod on top of the PodSpec defaults),
// create/update/status validation, QoS class, the `kubectl get pods` table and pod field
// selectors (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/,
// https://kubernetes.io/docs/concepts/workloads/pods/pod-qos/). The STATUS/RESTARTS cells
// follow kubectl's printPod so a pod reads "Init:0/1", "CrashLoopBackOff", "Terminating"…
// exactly as against a real cluster.

import { fieldError, type StatusCause } from "../apimachinery/errors.js";
import { tryParseQuantity } from "../apimachinery/quantity.js";
import type { KObject } from "../apimachinery/types.js";
import { defaultPodSpec, validatePodSpec, validateTolerations } from "./core-podspec.js";
import { ageColumn, ageSince, column, list, obj, str } from "./table.js";
import type { ResourceDef, ValidationContext } from "./types.js";
import {
  asObject, invalidEach, isDNS1123Subdomain, isPlainObject, isValidIP, jsonEqual, objectItems,
  validateObjectMeta, validateObjectMetaUpdate, inclusiveRangeError, type JSONObject,
} from "./validation.js";

/** SetDefaults_Pod: requests default to limits; hostNetwork ports; enableServiceLinks. */
export function defaultPod(pod: KObject): void {
  if (!isPlainObject(pod.spec)) return;
  const spec = pod.spec;
  for (const key of ["containers", "initContainers"]) {
    for (const c of Array.isArray(spec[key]) ? spec[key] : []) {
      if (!isPlainObject(c) || !isPlainObject(c.resources) || !isPlainObject(c.resources.limits)) continue;
      if (!isPlainObject(c.resources.requests)) c.resources.requests = {};
      for (const [k, v] of Object.entries(c.resources.limits)) if (!(k in c.resources.requests)) c.resources.requests[k] = v;
    }
  }
  if (spec.enableServiceLinks === undefined || spec.enableServiceLinks === null) spec.enableServiceLinks = true;
  if (spec.hostNetwork === true) {
    for (const key of ["containers", "initContainers"]) {
      for (const c of Array.isArray(spec[key]) ? spec[key] : []) {
        for (const p of isPlainObject(c) && Array.isArray(c.ports) ? c.ports : []) if (isPlainObject(p) && !p.hostPort) p.hostPort = p.containerPort;
      }
    }
  }
  if (typeof spec.terminationGracePeriodSeconds === "number" && spec.terminationGracePeriodSeconds < 0) {
    // Negative grace periods were never meaningful; upstream rewrites them to 1.
    spec.terminationGracePeriodSeconds = 1;
  }
  defaultPodSpec(spec);
}

/** GetPodQOS over cpu/memory of containers and init containers. */
export function podQOSClass(pod: KObject): "Guaranteed" | "Burstable" | "BestEffort" {
  const spec = obj(pod.spec);
  const requests = new Map<string, bigint>();
  const limits = new Map<string, bigint>();
  let guaranteed = true;
  for (const c of [...list(spec.containers), ...list(spec.initContainers)]) {
    const res = obj(obj(c).resources);
    for (const [name, raw] of Object.entries(obj(res.requests))) {
      if (name !== "cpu" && name !== "memory") continue;
      const q = tryParseQuantity(String(raw));
      if (q && q.nanos > 0n) requests.set(name, (requests.get(name) ?? 0n) + q.nanos);
    }
    const found = new Set<string>();
    for (const [name, raw] of Object.entries(obj(res.limits))) {
      if (name !== "cpu" && name !== "memory") continue;
      const q = tryParseQuantity(String(raw));
      if (q && q.nanos > 0n) {
        found.add(name);
        limits.set(name, (limits.get(name) ?? 0n) + q.nanos);
      }
    }
    if (!found.has("cpu") || !found.has("memory")) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return "BestEffort";
  if (guaranteed) {
    for (const [name, req] of requests) if (limits.get(name) !== req) guaranteed = false;
  }
  return guaranteed && requests.size === limits.size ? "Guaranteed" : "Burstable";
}

/** Pod registry PrepareForCreate: a new pod starts Pending with its QoS class. */
function prepareForCreate(pod: KObject): void {
  const gated = isPlainObject(pod.spec) && Array.isArray(pod.spec.schedulingGates) && pod.spec.schedulingGates.length > 0;
  pod.status = { phase: "Pending", qosClass: podQOSClass(pod) };
  if (gated) {
    pod.status.conditions = [{ type: "PodScheduled", status: "False", reason: "SchedulingGated", message: "Scheduling is blocked due to non-empty scheduling gates" }];
  }
}

export const UPDATABLE_POD_SPEC_FIELDS = [
  "`spec.containers[*].image`",
  "`spec.initContainers[*].image`",
  "`spec.activeDeadlineSeconds`",
  "`spec.tolerations` (only additions to existing tolerations)",
  "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
];

/** A short "what changed" listing standing in for upstream's cmp.Diff. */
function specDiff(a: unknown, b: unknown, path = ""): string[] {
  if (jsonEqual(a, b)) return [];
  if (isPlainObject(a) && isPlainObject(b)) {
    return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort().flatMap((k) => specDiff(a[k], b[k], path ? `${path}.${k}` : k));
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) return a.flatMap((x, i) => specDiff(x, b[i], `${path}[${i}]`));
  return [`- ${path}: ${JSON.stringify(a) ?? "nil"}`, `+ ${path}: ${JSON.stringify(b) ?? "nil"}`];
}

function validateOnlyAddedTolerations(newT: unknown, oldT: unknown, path: string): StatusCause[] {
  const news = list(newT);
  for (const old of list(oldT)) {
    const found = news.some((n) => isPlainObject(n) && isPlainObject(old) && jsonEqual({ ...old, tolerationSeconds: n.tolerationSeconds }, n));
    if (!found) return [fieldError.forbidden(path, "existing toleration can not be modified except its tolerationSeconds")];
  }
  return validateTolerations(newT, path);
}

function validatePodUpdate(pod: KObject, old: KObject): StatusCause[] {
  const errs = validateObjectMetaUpdate(pod.metadata, old.metadata);
  errs.push(...validatePodSpec(pod.spec));
  const spec = obj(pod.spec);
  const oldSpec = obj(old.spec);
  errs.push(...validateOnlyAddedTolerations(spec.tolerations, oldSpec.tolerations, "spec.tolerations"));
  if (jsonEqual(spec, oldSpec)) return errs;
  if (typeof spec.activeDeadlineSeconds === "number") {
    const n = spec.activeDeadlineSeconds;
    if (n < 0 || n > 2147483647) return [...errs, fieldError.invalid("spec.activeDeadlineSeconds", n, inclusiveRangeError(0, 2147483647))];
    if (typeof oldSpec.activeDeadlineSeconds === "number" && oldSpec.activeDeadlineSeconds < n) {
      return [...errs, fieldError.invalid("spec.activeDeadlineSeconds", n, "must be less than or equal to previous value")];
    }
  } else if (oldSpec.activeDeadlineSeconds != null) {
    errs.push(fieldError.invalid("spec.activeDeadlineSeconds", null, "must not update from a positive integer to nil value"));
  }
  // Copy the mutable fields from the new spec onto the old one; anything else that differs is forbidden.
  const munged: JSONObject = JSON.parse(JSON.stringify(spec));
  const mungeImages = (key: string) => {
    const oldList = list(oldSpec[key]);
    const newList = list(munged[key]);
    if (oldList.length !== newList.length) return;
    newList.forEach((c, i) => {
      if (isPlainObject(c) && isPlainObject(oldList[i]) && c.image) c.image = oldList[i].image;
    });
  };
  mungeImages("containers");
  mungeImages("initContainers");
  munged.activeDeadlineSeconds = oldSpec.activeDeadlineSeconds;
  munged.tolerations = oldSpec.tolerations;
  if (typeof oldSpec.terminationGracePeriodSeconds === "number" && oldSpec.terminationGracePeriodSeconds < 0 && spec.terminationGracePeriodSeconds === 1) {
    munged.terminationGracePeriodSeconds = oldSpec.terminationGracePeriodSeconds;
  }
  if (!jsonEqual(munged, oldSpec)) {
    const diff = specDiff(oldSpec, munged);
    errs.push(fieldError.forbidden("spec", `pod updates may not change fields other than ${UPDATABLE_POD_SPEC_FIELDS.join(",")}\n  core.PodSpec{\n${diff.map((l) => "  " + l).join("\n")}\n  }\n`));
  }
  return errs;
}

function validatePodStatusUpdate(pod: KObject, old: KObject): StatusCause[] {
  const errs = validateObjectMetaUpdate(pod.metadata, old.metadata);
  const status = asObject(pod.status, "status", errs) ?? {};
  if (obj(pod.spec).nodeName !== obj(old.spec).nodeName) errs.push(fieldError.forbidden("status.nodeName", "may not be changed directly"));
  const nominated = status.nominatedNodeName;
  if (typeof nominated === "string" && nominated && nominated !== obj(old.status).nominatedNodeName) {
    errs.push(...invalidEach(nominated, isDNS1123Subdomain(nominated), "status.nominatedNodeName"));
  }
  for (const [ip, p] of objectItems(status.podIPs, "status.podIPs", errs)) {
    if (typeof ip.ip !== "string") errs.push(fieldError.required(`${p}.ip`));
    else errs.push(...invalidEach(ip.ip, isValidIP(ip.ip), `${p}.ip`));
  }
  for (const k of ["conditions", "containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"]) objectItems(status[k], `status.${k}`, errs);
  return errs;
}

function validateEphemeralContainersUpdate(pod: KObject, old: KObject): StatusCause[] {
  const errs = validateObjectMetaUpdate(pod.metadata, old.metadata);
  const spec = obj(pod.spec);
  const oldSpec = obj(old.spec);
  if (!jsonEqual({ ...spec, ephemeralContainers: undefined }, { ...oldSpec, ephemeralContainers: undefined })) {
    errs.push(fieldError.forbidden("spec", "pod updates may not change fields other than `spec.ephemeralContainers`"));
  }
  const byName = new Map(list(oldSpec.ephemeralContainers).map((c) => [obj(c).name, c]));
  for (const [c, p] of objectItems(spec.ephemeralContainers, "spec.ephemeralContainers", errs)) {
    if (!c.name) errs.push(fieldError.required(`${p}.name`));
    if (!c.image) errs.push(fieldError.required(`${p}.image`));
    const prev = byName.get(c.name);
    if (prev && !jsonEqual(prev, c)) errs.push(fieldError.forbidden(p, "existing ephemeral containers may not be changed"));
    byName.delete(c.name);
  }
  if (byName.size) errs.push(fieldError.forbidden("spec.ephemeralContainers", "existing ephemeral containers may not be removed"));
  return errs;
}

function validatePod(pod: KObject, ctx: ValidationContext): StatusCause[] {
  if (ctx.operation === "create") {
    return [...validateObjectMeta(pod.metadata, { namespaced: true }), ...validatePodSpec(pod.spec)];
  }
  const old = ctx.old ?? pod;
  if (ctx.subresource === "status") return validatePodStatusUpdate(pod, old);
  if (ctx.subresource === "ephemeralcontainers") return validateEphemeralContainersUpdate(pod, old);
  if (ctx.subresource === "binding") return validateObjectMetaUpdate(pod.metadata, old.metadata);
  return validatePodUpdate(pod, old);
}

// ---------------------------------------------------------------------------------------
// Table

interface PodRow {
  ready: string;
  status: string;
  restarts: string;
}

function terminatedAt(cs: JSONObject): number {
  const t = obj(obj(cs.lastState).terminated).finishedAt;
  const ms = typeof t === "string" ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? 0 : ms;
}

/** kubectl's printPod: READY, STATUS and RESTARTS. */
export function podSummary(pod: KObject, now: Date): PodRow {
  const spec = obj(pod.spec);
  const status = obj(pod.status);
  const initSpecs = new Map<string, JSONObject>(list(spec.initContainers).map((c) => [obj(c).name, obj(c)]));
  const isSidecar = (name: unknown) => initSpecs.get(String(name))?.restartPolicy === "Always";
  const total = list(spec.containers).length + [...initSpecs.values()].filter((c) => c.restartPolicy === "Always").length;
  let ready = 0;
  let restarts = 0;
  let sidecarRestarts = 0;
  let lastRestart = 0;
  let lastSidecarRestart = 0;
  let reason = str(status.reason) || str(status.phase);
  const conditions = list(status.conditions).map(obj);
  if (conditions.some((c) => c.type === "PodScheduled" && c.reason === "SchedulingGated")) reason = "SchedulingGated";

  let initializing = false;
  const initStatuses = list(status.initContainerStatuses).map(obj);
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i]!;
    const rc = typeof cs.restartCount === "number" ? cs.restartCount : 0;
    restarts += rc;
    lastRestart = Math.max(lastRestart, terminatedAt(cs));
    if (isSidecar(cs.name)) {
      sidecarRestarts += rc;
      lastSidecarRestart = Math.max(lastSidecarRestart, terminatedAt(cs));
    }
    const state = obj(cs.state);
    const term = state.terminated ? obj(state.terminated) : undefined;
    const waiting = state.waiting ? obj(state.waiting) : undefined;
    if (term && term.exitCode === 0) continue;
    if (isSidecar(cs.name) && cs.started === true) {
      if (cs.ready === true) ready++;
      continue;
    }
    if (term) {
      if (!term.reason) reason = term.signal ? `Init:Signal:${term.signal}` : `Init:ExitCode:${term.exitCode ?? 0}`;
      else reason = `Init:${term.reason}`;
    } else if (waiting && waiting.reason && waiting.reason !== "PodInitializing") {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${initSpecs.size}`;
    }
    initializing = true;
    break;
  }

  const initializedTrue = conditions.some((c) => c.type === "Initialized" && c.status === "True");
  if (!initializing || initializedTrue) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = list(status.containerStatuses).map(obj);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i]!;
      restarts += typeof cs.restartCount === "number" ? cs.restartCount : 0;
      lastRestart = Math.max(lastRestart, terminatedAt(cs));
      const state = obj(cs.state);
      const waiting = state.waiting ? obj(state.waiting) : undefined;
      const term = state.terminated ? obj(state.terminated) : undefined;
      if (waiting && waiting.reason) reason = waiting.reason;
      else if (term && term.reason) reason = term.reason;
      else if (term) reason = term.signal ? `Signal:${term.signal}` : `ExitCode:${term.exitCode ?? 0}`;
      else if (cs.ready === true && state.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === "Completed" && hasRunning) {
      reason = conditions.some((c) => c.type === "Ready" && c.status === "True") ? "Running" : "NotReady";
    }
  }

  const phase = str(status.phase);
  if (pod.metadata?.deletionTimestamp && status.reason === "NodeLost") reason = "Unknown";
  else if (pod.metadata?.deletionTimestamp && phase !== "Succeeded" && phase !== "Failed") reason = "Terminating";

  const restartsCell = restarts !== 0 && lastRestart > 0 ? `${restarts} (${ageSince(new Date(lastRestart).toISOString(), now)} ago)` : String(restarts);
  return { ready: `${ready}/${total}`, status: reason, restarts: restartsCell };
}

export function podIP(pod: KObject): string {
  const status = obj(pod.status);
  const first = obj(list(status.podIPs)[0]).ip;
  return str(first) || str(status.podIP);
}

function podCells(pod: KObject, now: Date): unknown[] {
  const { ready, status, restarts } = podSummary(pod, now);
  const spec = obj(pod.spec);
  const st = obj(pod.status);
  const gates = list(spec.readinessGates).map(obj);
  let readinessGates = "<none>";
  if (gates.length) {
    const conds = list(st.conditions).map(obj);
    const trueCount = gates.filter((g) => conds.find((c) => c.type === g.conditionType)?.status === "True").length;
    readinessGates = `${trueCount}/${gates.length}`;
  }
  return [
    ready, status, restarts, ageSince(pod.metadata?.creationTimestamp, now),
    podIP(pod) || "<none>", str(spec.nodeName, "<none>"), str(st.nominatedNodeName, "<none>"), readinessGates,
  ];
}

export const podResource: ResourceDef = {
  group: "",
  version: "v1",
  kind: "Pod",
  plural: "pods",
  singular: "pod",
  namespaced: true,
  shortNames: ["po"],
  categories: ["all"],
  subresources: ["status", "binding", "eviction", "log", "exec", "attach", "portforward", "ephemeralcontainers"],
  tracksGeneration: false,
  defaults: defaultPod,
  prepareForCreate,
  validate: validatePod,
  table: {
    columns: [
      column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
      column("Status", "The aggregate status of the containers in this pod."),
      column("Restarts", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
      ageColumn(),
      column("IP", "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", { priority: 1 }),
      column("Node", "NodeName indicates in which node this pod is scheduled.", { priority: 1 }),
      column("Nominated Node", "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.", { priority: 1 }),
      column("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness.", { priority: 1 }),
    ],
    cells: podCells,
  },
  fieldSelectors: {
    "spec.nodeName": (o) => str(obj(o.spec).nodeName),
    "spec.restartPolicy": (o) => str(obj(o.spec).restartPolicy),
    "spec.schedulerName": (o) => str(obj(o.spec).schedulerName),
    "spec.serviceAccountName": (o) => str(obj(o.spec).serviceAccountName),
    "spec.hostNetwork": (o) => String(obj(o.spec).hostNetwork === true),
    "status.phase": (o) => str(obj(o.status).phase),
    "status.podIP": (o) => podIP(o),
    "status.nominatedNodeName": (o) => str(obj(o.status).nominatedNodeName),
  },
};

