// The resource metrics API, metrics.k8s.io/v1beta1 (PodMetrics and NodeMetrics), as
// metrics-server serves it behind the aggregator
// (https://kubernetes.io/docs/tasks/debug/debug-cluster/resource-metrics-pipeline/).
// Tugboat serves it from the API server itself: usage comes from a MetricsSource (hollow
// nodes in-process, real agents later), labels come from the Pod/Node objects in the
// registry so `kubectl top -l` and the HPA's selector work. Read-only: get and list.

import type { IncomingMessage, ServerResponse } from "node:http";
import { MethodNotAllowed, NotFound, NotFoundPath, toStatusError } from "../apimachinery/errors.js";
import type { KObject } from "../apimachinery/types.js";
import { parseLabelSelector, type LabelSelectorMatcher } from "../apimachinery/labels.js";
import { checkFieldSelector, matchFields, parseFieldSelector, type FieldSelector } from "../apimachinery/fields.js";
import { sendJSON, sendStatus } from "./negotiation.js";
import type { Registry } from "./registry.js";
import type { UserInfo } from "./authn.js";

export const METRICS_GROUP = "metrics.k8s.io";
export const METRICS_VERSION = "v1beta1";
const GV = `${METRICS_GROUP}/${METRICS_VERSION}`;

export interface ResourceUsage {
  /** A CPU quantity, e.g. "12345678n". */
  cpu: string;
  /** A memory quantity, e.g. "2048Ki". */
  memory: string;
}

export interface PodMetricsSample {
  namespace: string;
  name: string;
  /** RFC 3339 time at the end of the window. */
  timestamp: string;
  /** A duration, e.g. "30s". */
  window: string;
  containers: { name: string; usage: ResourceUsage }[];
}

export interface NodeMetricsSample {
  name: string;
  timestamp: string;
  window: string;
  usage: ResourceUsage;
}

/** Where usage numbers come from (a kubelet's summary API upstream). */
export interface MetricsSource {
  podMetrics(): Iterable<PodMetricsSample>;
  nodeMetrics(): Iterable<NodeMetricsSample>;
}

/**
 * Several sources as one (hollow nodes in-process plus real agents). When two report the
 * same pod or node, the sample with the later timestamp wins.
 */
export class CompositeMetricsSource implements MetricsSource {
  private readonly sources: MetricsSource[];

  constructor(sources: MetricsSource[] = []) {
    this.sources = [...sources];
  }

  add(source: MetricsSource): void {
    this.sources.push(source);
  }

  remove(source: MetricsSource): void {
    const i = this.sources.indexOf(source);
    if (i >= 0) this.sources.splice(i, 1);
  }

  podMetrics(): Iterable<PodMetricsSample> {
    return newest(this.sources.flatMap((s) => [...s.podMetrics()]), (p) => `${p.namespace}/${p.name}`);
  }

  nodeMetrics(): Iterable<NodeMetricsSample> {
    return newest(this.sources.flatMap((s) => [...s.nodeMetrics()]), (n) => n.name);
  }
}

function newest<T extends { timestamp: string }>(items: T[], key: (t: T) => string): T[] {
  const out = new Map<string, T>();
  for (const it of items) {
    const k = key(it);
    const prev = out.get(k);
    if (!prev || Date.parse(it.timestamp) > Date.parse(prev.timestamp)) out.set(k, it);
  }
  return [...out.values()];
}

const podResource = { name: "pods", singularName: "", namespaced: true, kind: "PodMetrics", verbs: ["get", "list"] };
const nodeResource = { name: "nodes", singularName: "", namespaced: false, kind: "NodeMetrics", verbs: ["get", "list"] };

/** The entry for Discovery's extraGroups (ApiServerOptions.extraDiscovery) so `kubectl top` finds the group. */
export function metricsDiscoveryGroup(): { group: string; version: string; resources: object[]; aggregated: object[] } {
  const agg = (r: typeof podResource) => ({
    resource: r.name,
    responseKind: { group: METRICS_GROUP, version: METRICS_VERSION, kind: r.kind },
    scope: r.namespaced ? "Namespaced" : "Cluster",
    singularResource: r.name.replace(/s$/, ""),
    verbs: r.verbs,
  });
  return { group: METRICS_GROUP, version: METRICS_VERSION, resources: [nodeResource, podResource], aggregated: [agg(nodeResource), agg(podResource)] };
}

function podMetricsObject(p: PodMetricsSample, labels: Record<string, string> | undefined, created: string | undefined): KObject {
  return {
    kind: "PodMetrics",
    apiVersion: GV,
    metadata: { name: p.name, namespace: p.namespace, creationTimestamp: created ?? p.timestamp, ...(labels ? { labels } : {}) },
    timestamp: p.timestamp,
    window: p.window,
    containers: p.containers.map((c) => ({ name: c.name, usage: { cpu: c.usage.cpu, memory: c.usage.memory } })),
  };
}

function nodeMetricsObject(n: NodeMetricsSample, labels: Record<string, string> | undefined, created: string | undefined): KObject {
  return {
    kind: "NodeMetrics",
    apiVersion: GV,
    metadata: { name: n.name, creationTimestamp: created ?? n.timestamp, ...(labels ? { labels } : {}) },
    timestamp: n.timestamp,
    window: n.window,
    usage: { cpu: n.usage.cpu, memory: n.usage.memory },
  };
}

interface Query {
  labels?: LabelSelectorMatcher;
  fields?: FieldSelector;
}

function parseQuery(q: URLSearchParams): Query {
  const out: Query = {};
  const ls = q.get("labelSelector");
  if (ls) out.labels = parseLabelSelector(ls);
  const fs = q.get("fieldSelector");
  if (fs) {
    out.fields = parseFieldSelector(fs);
    checkFieldSelector(out.fields);
  }
  return out;
}

/**
 * Serves /apis/metrics.k8s.io[/v1beta1[/…]] and returns false for every other path, in
 * the shape of ApiServerOptions.extraHandlers.
 */
export function metricsHandler(
  source: MetricsSource,
  registry: Registry,
): (req: IncomingMessage, res: ServerResponse, url: URL, user: UserInfo) => Promise<boolean> {
  const podsDef = () => registry.def("v1/pods");
  const nodesDef = () => registry.def("v1/nodes");

  /** The registry's objects by key, for labels (and the creation time metrics-server copies). */
  async function objects(kind: "pods" | "nodes", namespace?: string): Promise<Map<string, KObject>> {
    const list = await registry.list(kind === "pods" ? podsDef() : nodesDef(), namespace);
    return new Map(list.items.map((o) => [kind === "pods" ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name!, o]));
  }

  function keep(q: Query, obj: KObject | undefined, name: string, namespace?: string): boolean {
    if (q.labels && !q.labels.matches(obj?.metadata.labels ?? {})) return false;
    if (q.fields && !matchFields(q.fields, (f) => (f === "metadata.name" ? name : f === "metadata.namespace" ? namespace : undefined))) return false;
    return true;
  }

  async function pods(q: Query, namespace?: string, name?: string): Promise<object> {
    const objs = await objects("pods", namespace);
    const samples = [...source.podMetrics()].filter((p) => (!namespace || p.namespace === namespace) && (!name || p.name === name));
    if (name) {
      const p = samples[0];
      if (!p) throw new NotFound("pods", name, METRICS_GROUP);
      const o = objs.get(`${p.namespace}/${p.name}`);
      return podMetricsObject(p, o?.metadata.labels, o?.metadata.creationTimestamp);
    }
    const items = samples
      .filter((p) => keep(q, objs.get(`${p.namespace}/${p.name}`), p.name, p.namespace))
      .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name))
      .map((p) => {
        const o = objs.get(`${p.namespace}/${p.name}`);
        return podMetricsObject(p, o?.metadata.labels, o?.metadata.creationTimestamp);
      });
    return { kind: "PodMetricsList", apiVersion: GV, metadata: {}, items };
  }

  async function nodes(q: Query, name?: string): Promise<object> {
    const objs = await objects("nodes");
    const samples = [...source.nodeMetrics()].filter((n) => !name || n.name === name);
    if (name) {
      const n = samples[0];
      if (!n) throw new NotFound("nodes", name, METRICS_GROUP);
      const o = objs.get(n.name);
      return nodeMetricsObject(n, o?.metadata.labels, o?.metadata.creationTimestamp);
    }
    const items = samples
      .filter((n) => keep(q, objs.get(n.name), n.name))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((n) => {
        const o = objs.get(n.name);
        return nodeMetricsObject(n, o?.metadata.labels, o?.metadata.creationTimestamp);
      });
    return { kind: "NodeMetricsList", apiVersion: GV, metadata: {}, items };
  }

  async function route(method: string, parts: string[], q: URLSearchParams): Promise<object | undefined> {
    // parts[0] = "apis", parts[1] = group
    if (parts.length === 2) {
      return { kind: "APIGroup", apiVersion: "v1", name: METRICS_GROUP, versions: [{ groupVersion: GV, version: METRICS_VERSION }], preferredVersion: { groupVersion: GV, version: METRICS_VERSION } };
    }
    if (parts[2] !== METRICS_VERSION) return undefined;
    const rest = parts.slice(3);
    if (rest.length === 0) return { kind: "APIResourceList", apiVersion: "v1", groupVersion: GV, resources: [nodeResource, podResource] };
    if (method !== "GET") throw new MethodNotAllowed();
    if (rest[0] === "pods" && rest.length === 1) return pods(parseQuery(q));
    if (rest[0] === "nodes" && rest.length <= 2) return nodes(parseQuery(q), rest[1]);
    if (rest[0] === "namespaces" && rest.length >= 3 && rest.length <= 4 && rest[2] === "pods") return pods(parseQuery(q), rest[1], rest[3]);
    return undefined;
  }

  return async (req, res, url) => {
    const parts = url.pathname.split("/").filter(Boolean);
    if (parts[0] !== "apis" || parts[1] !== METRICS_GROUP) return false;
    try {
      const body = await route(req.method ?? "GET", parts, url.searchParams);
      if (!body) throw new NotFoundPath();
      sendJSON(res, 200, body);
    } catch (e) {
      sendStatus(res, toStatusError(e));
    }
    return true;
  };
}
