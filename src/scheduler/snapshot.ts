// The scheduler's cache of the cluster, after kube-scheduler's internal cache and
// NodeInfo snapshot (https://kubernetes.io/docs/concepts/scheduling-eviction/scheduling-framework/
// and pkg/scheduler/framework/types.go upstream). One NodeInfo per node holds what the
// plugins read: allocatable, requested (sum of bound and *assumed* pods), the pods
// themselves, used host ports, images and labels. It is built from informer events and
// updated incrementally; an "assumed" pod is placed on its node the moment the scheduler
// decides, before the binding is written, so the next pod already sees the capacity
// taken. JavaScript runs one scheduling cycle to completion without interleaving, so
// the cycle reads this cache directly instead of cloning a snapshot per cycle.

import type { KObject } from "../apimachinery/types.js";
import { tryParseQuantity, toMillis, toBytes } from "../apimachinery/quantity.js";

/** Amounts in integer units: cpu in millicores, memory/storage in bytes, others as counted. */
export interface Resources {
  milliCPU: number;
  memory: number;
  ephemeralStorage: number;
  /** Extended and hugepages resources by name (nvidia.com/gpu, hugepages-2Mi …). */
  scalar: Record<string, number>;
}

export interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

/** A pod with the numbers the plugins need computed once (not once per node). */
export interface PodInfo {
  pod: KObject;
  key: string;
  uid: string;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  nodeName: string;
  priority: number;
  creationMs: number;
  /** Fit requests: max(sum of containers (+ sidecars), each init container) + overhead. */
  requests: Resources;
  /** Names of the extended/hugepages resources requested (> 0): NodeResourcesFit walks only these. */
  scalarRequests: string[];
  /** Requests with upstream's non-zero defaults (100m cpu, 200Mi memory) for scoring. */
  nonZeroCPU: number;
  nonZeroMemory: number;
  hostPorts: HostPort[];
  tolerations: Toleration[];
  images: string[];
  hasAffinity: boolean;
  hasRequiredAntiAffinity: boolean;
  terminating: boolean;
  /** Compiled forms cached by plugins (affinity terms…), keyed by plugin name. */
  cache: Map<string, unknown>;
}

export interface NodeInfo {
  name: string;
  node: KObject;
  labels: Record<string, string>;
  allocatable: Resources;
  allowedPods: number;
  requested: Resources;
  nonZeroCPU: number;
  nonZeroMemory: number;
  pods: Map<string, PodInfo>;
  /** Pods with (anti-)affinity terms, so inter-pod affinity stays cheap when there are none. */
  podsWithAffinity: number;
  podsWithRequiredAntiAffinity: number;
  usedPorts: HostPort[];
  taints: Taint[];
  /** Has a NoSchedule or NoExecute taint (one the TaintToleration filter checks). */
  hardTaints: boolean;
  /** Has a PreferNoSchedule taint (one TaintToleration's score counts). */
  softTaints: boolean;
  unschedulable: boolean;
  /** Normalized image name → size in bytes. */
  images: Map<string, number>;
  /**
   * The numbers NodeResourcesFit and the resource scores read for every sampled node,
   * copied from the fields above into one small typed array (indexes FIT_*) whenever
   * they change. The fields live in several objects and boxed doubles scattered over
   * the heap; in a busy process that is a handful of cache misses per node, the
   * filter's main cost at 500 nodes per pod.
   */
  fit: Float64Array;
}

export const FIT_ALLOWED_PODS = 0;
export const FIT_PODS = 1;
export const FIT_ALLOC_CPU = 2;
export const FIT_REQ_CPU = 3;
export const FIT_ALLOC_MEMORY = 4;
export const FIT_REQ_MEMORY = 5;
export const FIT_ALLOC_EPHEMERAL = 6;
export const FIT_REQ_EPHEMERAL = 7;
export const FIT_NONZERO_CPU = 8;
export const FIT_NONZERO_MEMORY = 9;
const FIT_LEN = 10;

/** Copies a node's counts into its `fit` array (after any change to them). */
function syncFit(ni: NodeInfo): void {
  const f = ni.fit;
  f[FIT_ALLOWED_PODS] = ni.allowedPods;
  f[FIT_PODS] = ni.pods.size;
  f[FIT_ALLOC_CPU] = ni.allocatable.milliCPU;
  f[FIT_REQ_CPU] = ni.requested.milliCPU;
  f[FIT_ALLOC_MEMORY] = ni.allocatable.memory;
  f[FIT_REQ_MEMORY] = ni.requested.memory;
  f[FIT_ALLOC_EPHEMERAL] = ni.allocatable.ephemeralStorage;
  f[FIT_REQ_EPHEMERAL] = ni.requested.ephemeralStorage;
  f[FIT_NONZERO_CPU] = ni.nonZeroCPU;
  f[FIT_NONZERO_MEMORY] = ni.nonZeroMemory;
}

export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

export function emptyResources(): Resources {
  return { milliCPU: 0, memory: 0, ephemeralStorage: 0, scalar: {} };
}

function isScalarResource(name: string): boolean {
  return name.startsWith("hugepages-") || name.includes("/");
}

/** Parses a ResourceList ({cpu: "500m", memory: "1Gi"}) into integer units; bad values count as 0. */
export function resourcesFromList(list: Record<string, unknown> | undefined | null): Resources {
  const r = emptyResources();
  if (!list || typeof list !== "object") return r;
  for (const [name, v] of Object.entries(list)) {
    const q = tryParseQuantity(typeof v === "number" ? String(v) : v);
    if (!q) continue;
    if (name === "cpu") r.milliCPU = toMillis(q);
    else if (name === "memory") r.memory = toBytes(q);
    else if (name === "ephemeral-storage") r.ephemeralStorage = toBytes(q);
    else if (isScalarResource(name)) r.scalar[name] = toBytes(q);
  }
  return r;
}

function addInto(a: Resources, b: Resources, sign = 1): void {
  a.milliCPU += sign * b.milliCPU;
  a.memory += sign * b.memory;
  a.ephemeralStorage += sign * b.ephemeralStorage;
  for (const [k, v] of Object.entries(b.scalar)) a.scalar[k] = (a.scalar[k] ?? 0) + sign * v;
}

function maxInto(a: Resources, b: Resources): void {
  a.milliCPU = Math.max(a.milliCPU, b.milliCPU);
  a.memory = Math.max(a.memory, b.memory);
  a.ephemeralStorage = Math.max(a.ephemeralStorage, b.ephemeralStorage);
  for (const [k, v] of Object.entries(b.scalar)) a.scalar[k] = Math.max(a.scalar[k] ?? 0, v);
}

/**
 * Effective pod requests (upstream resource.PodRequests): regular containers plus
 * restartable init containers (sidecars) are summed; each regular init container runs
 * alone with the sidecars started before it, so the total is the max of those; then the
 * RuntimeClass overhead is added. Also returns the non-zero cpu/memory used for scoring.
 */
export function podRequests(spec: any): { requests: Resources; nonZeroCPU: number; nonZeroMemory: number } {
  const sum = emptyResources();
  let nzCPU = 0;
  let nzMem = 0;
  const nonZero = (r: Resources) => {
    nzCPU += r.milliCPU || DEFAULT_MILLI_CPU_REQUEST;
    nzMem += r.memory || DEFAULT_MEMORY_REQUEST;
  };
  for (const c of Array.isArray(spec?.containers) ? spec.containers : []) {
    const r = resourcesFromList(c?.resources?.requests);
    addInto(sum, r);
    nonZero(r);
  }
  const sidecars = emptyResources();
  const initMax = emptyResources();
  let nzInitCPU = 0;
  let nzInitMem = 0;
  let nzSideCPU = 0;
  let nzSideMem = 0;
  for (const c of Array.isArray(spec?.initContainers) ? spec.initContainers : []) {
    const r = resourcesFromList(c?.resources?.requests);
    if (c?.restartPolicy === "Always") {
      addInto(sum, r);
      addInto(sidecars, r);
      nonZero(r);
      nzSideCPU += r.milliCPU || DEFAULT_MILLI_CPU_REQUEST;
      nzSideMem += r.memory || DEFAULT_MEMORY_REQUEST;
    } else {
      const withSidecars = emptyResources();
      addInto(withSidecars, r);
      addInto(withSidecars, sidecars);
      maxInto(initMax, withSidecars);
      nzInitCPU = Math.max(nzInitCPU, (r.milliCPU || DEFAULT_MILLI_CPU_REQUEST) + nzSideCPU);
      nzInitMem = Math.max(nzInitMem, (r.memory || DEFAULT_MEMORY_REQUEST) + nzSideMem);
    }
  }
  maxInto(sum, initMax);
  nzCPU = Math.max(nzCPU, nzInitCPU);
  nzMem = Math.max(nzMem, nzInitMem);
  const overhead = resourcesFromList(spec?.overhead);
  addInto(sum, overhead);
  return { requests: sum, nonZeroCPU: nzCPU + overhead.milliCPU, nonZeroMemory: nzMem + overhead.memory };
}

/** Image references as nodes report them: a bare name means ":latest". */
export function normalizeImage(image: string): string {
  const lastSlash = image.lastIndexOf("/");
  if (image.includes("@") || image.slice(lastSlash + 1).includes(":")) return image;
  return `${image}:latest`;
}

export function podInfoFromPod(pod: KObject, priority?: number): PodInfo {
  const spec = pod.spec ?? {};
  const meta = pod.metadata ?? {};
  const { requests, nonZeroCPU, nonZeroMemory } = podRequests(spec);
  const hostPorts: HostPort[] = [];
  const images: string[] = [];
  for (const list of [spec.initContainers, spec.containers]) {
    for (const c of Array.isArray(list) ? list : []) {
      if (typeof c?.image === "string") images.push(normalizeImage(c.image));
      for (const p of Array.isArray(c?.ports) ? c.ports : []) {
        if (typeof p?.hostPort === "number" && p.hostPort > 0) {
          hostPorts.push({ ip: p.hostIP || "0.0.0.0", protocol: p.protocol || "TCP", port: p.hostPort });
        }
      }
    }
  }
  const aff = spec.affinity ?? {};
  const hasAffinity = !!(aff.podAffinity || aff.podAntiAffinity);
  const created = Date.parse(meta.creationTimestamp ?? "");
  return {
    pod,
    key: meta.namespace ? `${meta.namespace}/${meta.name}` : (meta.name ?? ""),
    uid: meta.uid ?? "",
    namespace: meta.namespace ?? "",
    name: meta.name ?? "",
    labels: meta.labels ?? {},
    nodeName: spec.nodeName ?? "",
    priority: priority ?? (typeof spec.priority === "number" ? spec.priority : 0),
    creationMs: Number.isFinite(created) ? created : 0,
    requests,
    scalarRequests: Object.keys(requests.scalar).filter((k) => requests.scalar[k]! > 0),
    nonZeroCPU,
    nonZeroMemory,
    hostPorts,
    tolerations: Array.isArray(spec.tolerations) ? spec.tolerations : [],
    images,
    hasAffinity,
    hasRequiredAntiAffinity: (aff.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length ?? 0) > 0,
    terminating: !!meta.deletionTimestamp,
    cache: new Map(),
  };
}

function newNodeInfo(name: string): NodeInfo {
  return {
    name,
    node: { metadata: { name } },
    labels: {},
    allocatable: emptyResources(),
    allowedPods: 0,
    requested: emptyResources(),
    nonZeroCPU: 0,
    nonZeroMemory: 0,
    pods: new Map(),
    podsWithAffinity: 0,
    podsWithRequiredAntiAffinity: 0,
    usedPorts: [],
    taints: [],
    hardTaints: false,
    softTaints: false,
    unschedulable: false,
    images: new Map(),
    fit: new Float64Array(FIT_LEN),
  };
}

function setNode(ni: NodeInfo, node: KObject): void {
  ni.node = node;
  ni.labels = node.metadata?.labels ?? {};
  // Allocatable is what the agent offers to pods; fall back to capacity for nodes that report only that.
  const alloc = node.status?.allocatable ?? node.status?.capacity;
  ni.allocatable = resourcesFromList(alloc);
  const pods = tryParseQuantity(alloc?.pods);
  ni.allowedPods = pods ? toBytes(pods) : 0;
  ni.taints = Array.isArray(node.spec?.taints) ? node.spec.taints : [];
  ni.hardTaints = ni.taints.some((t) => t?.effect === "NoSchedule" || t?.effect === "NoExecute");
  ni.softTaints = ni.taints.some((t) => t?.effect === "PreferNoSchedule");
  ni.unschedulable = !!node.spec?.unschedulable;
  ni.images = new Map();
  for (const img of Array.isArray(node.status?.images) ? node.status.images : []) {
    for (const n of Array.isArray(img?.names) ? img.names : []) ni.images.set(normalizeImage(n), Number(img.sizeBytes) || 0);
  }
  syncFit(ni);
}

/** Adds a pod's usage to a node (also used on clones during preemption's what-if). */
export function addPodToNode(ni: NodeInfo, p: PodInfo): void {
  ni.pods.set(p.key, p);
  addInto(ni.requested, p.requests);
  ni.nonZeroCPU += p.nonZeroCPU;
  ni.nonZeroMemory += p.nonZeroMemory;
  if (p.hasAffinity) ni.podsWithAffinity++;
  if (p.hasRequiredAntiAffinity) ni.podsWithRequiredAntiAffinity++;
  for (const hp of p.hostPorts) ni.usedPorts.push(hp);
  syncFit(ni);
}

export function removePodFromNode(ni: NodeInfo, key: string): PodInfo | undefined {
  const p = ni.pods.get(key);
  if (!p) return undefined;
  ni.pods.delete(key);
  addInto(ni.requested, p.requests, -1);
  ni.nonZeroCPU -= p.nonZeroCPU;
  ni.nonZeroMemory -= p.nonZeroMemory;
  if (p.hasAffinity) ni.podsWithAffinity--;
  if (p.hasRequiredAntiAffinity) ni.podsWithRequiredAntiAffinity--;
  if (p.hostPorts.length) {
    for (const hp of p.hostPorts) {
      const i = ni.usedPorts.indexOf(hp);
      if (i >= 0) ni.usedPorts.splice(i, 1);
    }
  }
  syncFit(ni);
  return p;
}

/** A copy whose pods and usage can be changed without touching the cache (preemption dry runs). */
export function cloneNodeInfo(ni: NodeInfo): NodeInfo {
  return {
    ...ni,
    requested: { ...ni.requested, scalar: { ...ni.requested.scalar } },
    pods: new Map(ni.pods),
    usedPorts: [...ni.usedPorts],
    fit: ni.fit.slice(),
  };
}

interface PodState {
  info: PodInfo;
  assumed: boolean;
  /** When the binding call returned; unconfirmed assumed pods expire after a while. */
  bindingFinishedAt?: number;
}

/**
 * The cache: nodes (in a stable array for round-robin sampling) and bound/assumed pods.
 * Pods may arrive before their node; they are kept on a placeholder that is not
 * schedulable until the Node object appears.
 */
/**
 * Read access to the storage objects VolumeBinding needs (claims, volumes, classes),
 * backed by the scheduler's informers; absent in snapshots built without storage.
 */
export interface VolumeLister {
  claim(namespace: string, name: string): KObject | undefined;
  volume(name: string): KObject | undefined;
  storageClass(name: string): KObject | undefined;
}

export class Snapshot {
  private readonly infos = new Map<string, NodeInfo>();
  /** PVCs, PVs and StorageClasses (VolumeBinding skips itself when unset). */
  volumes?: VolumeLister;
  /** Nodes with a Node object, in insertion order (the sampling order). */
  nodeList: NodeInfo[] = [];
  private readonly nodeIndex = new Map<string, number>();
  private readonly pods = new Map<string, PodState>();
  /** Namespace labels for affinity terms with a namespaceSelector. */
  namespaceLabels = new Map<string, Record<string, string>>();
  /** Number of nodes that have each normalized image (for ImageLocality's spread). */
  readonly imageNodes = new Map<string, number>();
  /** Pods anywhere with (anti-)affinity: lets InterPodAffinity skip its scan when zero. */
  podsWithAffinity = 0;
  podsWithRequiredAntiAffinity = 0;
  /**
   * Nodes that are cordoned, and nodes with a NoSchedule/NoExecute taint: kept as the
   * nodes change so NodeUnschedulable and TaintToleration can skip their per-node
   * filter in a cluster that has none (their verdict would be "fits" everywhere).
   */
  unschedulableNodes = 0;
  hardTaintedNodes = 0;

  /** Builds a snapshot from plain objects (plugin table tests, benchmarks). */
  static fromObjects(nodes: KObject[], pods: KObject[] = []): Snapshot {
    const s = new Snapshot();
    for (const n of nodes) s.upsertNode(n);
    for (const p of pods) if (p.spec?.nodeName) s.upsertPod(podInfoFromPod(p));
    return s;
  }

  get(name: string): NodeInfo | undefined {
    const ni = this.infos.get(name);
    return ni && this.nodeIndex.has(name) ? ni : undefined;
  }

  numNodes(): number {
    return this.nodeList.length;
  }

  upsertNode(node: KObject): NodeInfo {
    const name = node.metadata.name ?? "";
    let ni = this.infos.get(name);
    if (!ni) this.infos.set(name, (ni = newNodeInfo(name)));
    for (const img of ni.images.keys()) this.imageNodes.set(img, (this.imageNodes.get(img) ?? 1) - 1);
    if (this.nodeIndex.has(name)) this.countNode(ni, -1);
    setNode(ni, node);
    this.countNode(ni, 1);
    for (const img of ni.images.keys()) this.imageNodes.set(img, (this.imageNodes.get(img) ?? 0) + 1);
    if (!this.nodeIndex.has(name)) {
      this.nodeIndex.set(name, this.nodeList.length);
      this.nodeList.push(ni);
    }
    return ni;
  }

  removeNode(name: string): void {
    const ni = this.infos.get(name);
    const idx = this.nodeIndex.get(name);
    if (!ni || idx === undefined) return;
    for (const img of ni.images.keys()) this.imageNodes.set(img, (this.imageNodes.get(img) ?? 1) - 1);
    this.countNode(ni, -1);
    // Swap-remove keeps removal O(1); the sampling order changing is harmless.
    const last = this.nodeList.pop()!;
    if (last !== ni) {
      this.nodeList[idx] = last;
      this.nodeIndex.set(last.name, idx);
    }
    this.nodeIndex.delete(name);
    // Pods still bound to a deleted node stay on a placeholder until they go away.
    if (ni.pods.size === 0) this.infos.delete(name);
    else ni.node = { metadata: { name } };
  }

  private countNode(ni: NodeInfo, sign: number): void {
    if (ni.unschedulable) this.unschedulableNodes += sign;
    if (ni.hardTaints) this.hardTaintedNodes += sign;
  }

  private placeholder(name: string): NodeInfo {
    let ni = this.infos.get(name);
    if (!ni) this.infos.set(name, (ni = newNodeInfo(name)));
    return ni;
  }

  private attach(info: PodInfo): void {
    addPodToNode(this.placeholder(info.nodeName), info);
    if (info.hasAffinity) this.podsWithAffinity++;
    if (info.hasRequiredAntiAffinity) this.podsWithRequiredAntiAffinity++;
  }

  private detach(info: PodInfo): void {
    const ni = this.infos.get(info.nodeName);
    if (!ni) return;
    if (removePodFromNode(ni, info.key)) {
      if (info.hasAffinity) this.podsWithAffinity--;
      if (info.hasRequiredAntiAffinity) this.podsWithRequiredAntiAffinity--;
    }
    if (ni.pods.size === 0 && !this.nodeIndex.has(ni.name)) this.infos.delete(ni.name);
  }

  /** A bound pod as the informer sees it (confirms an assumed pod). */
  upsertPod(info: PodInfo): void {
    const prev = this.pods.get(info.key);
    if (prev) this.detach(prev.info);
    this.attach(info);
    this.pods.set(info.key, { info, assumed: false });
  }

  removePod(key: string): PodInfo | undefined {
    const prev = this.pods.get(key);
    if (!prev) return undefined;
    this.detach(prev.info);
    this.pods.delete(key);
    return prev.info;
  }

  /** Places a pod on a node before its binding is written. */
  assume(info: PodInfo, nodeName: string): PodInfo {
    const placed: PodInfo = { ...info, nodeName };
    const prev = this.pods.get(info.key);
    if (prev) this.detach(prev.info);
    this.attach(placed);
    this.pods.set(info.key, { info: placed, assumed: true });
    return placed;
  }

  /** The binding call returned; the informer will confirm the pod soon. */
  finishBinding(key: string, now: number): void {
    const st = this.pods.get(key);
    if (st?.assumed) st.bindingFinishedAt = now;
  }

  /** Undoes assume() after a failed binding. */
  forget(key: string): void {
    const st = this.pods.get(key);
    if (st?.assumed) this.removePod(key);
  }

  isAssumed(key: string): boolean {
    return this.pods.get(key)?.assumed ?? false;
  }

  /** Drops assumed pods whose binding finished before `before` but never showed up bound. */
  expireAssumed(before: number): string[] {
    const out: string[] = [];
    for (const [k, st] of this.pods) {
      if (st.assumed && st.bindingFinishedAt !== undefined && st.bindingFinishedAt < before) {
        this.removePod(k);
        out.push(k);
      }
    }
    return out;
  }

  podCount(): number {
    return this.pods.size;
  }
}
