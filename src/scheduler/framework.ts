// The scheduling framework: one attempt to place one pod, as a pipeline of plugins
// (https://kubernetes.io/docs/concepts/scheduling-eviction/scheduling-framework/):
// preFilter (per pod) → filter (per node, first failure wins) → preScore → score
// (0..100 per plugin, normalized, weighted) → select (highest total, random among ties).
// Like Nomad's AllocMetric, every attempt counts why nodes were rejected; the counts
// become the FailedScheduling message ("0/3 nodes are available: 3 Insufficient cpu.")
// and the input of `tug why`. Nodes are sampled like kube-scheduler's
// percentageOfNodesToScore (https://kubernetes.io/docs/concepts/scheduling-eviction/scheduler-perf-tuning/),
// starting where the previous attempt stopped, so large clusters stay O(sample) per pod.

import type { KObject } from "../apimachinery/types.js";
import { podInfoFromPod, type NodeInfo, type PodInfo, type Snapshot } from "./snapshot.js";

export const MAX_NODE_SCORE = 100;

/** Why a node (or, from preFilter, every node) cannot take the pod. */
export interface FilterFailure {
  reasons: string[];
  /** UnschedulableAndUnresolvable upstream: evicting pods would not help (preemption skips the node). */
  unresolvable?: boolean;
  plugin?: string;
}

export function unschedulable(...reasons: string[]): FilterFailure {
  return { reasons };
}

export function unresolvable(...reasons: string[]): FilterFailure {
  return { reasons, unresolvable: true };
}

/** Per-attempt data: the pod, the cache, and plugin scratch state (upstream CycleState). */
export interface CycleContext {
  pod: PodInfo;
  snapshot: Snapshot;
  state: Map<string, unknown>;
}

export interface Plugin {
  name: string;
  /** Score weight (upstream defaults: TaintToleration 3, NodeAffinity/InterPodAffinity/PodTopologySpread 2, others 1). */
  weight?: number;
  /** Once per attempt: "skip" turns this plugin's filter off; a failure rejects every node. */
  preFilter?(ctx: CycleContext): FilterFailure | "skip" | undefined;
  /** Must be cheap and pure: undefined = the node fits. */
  filter?(ctx: CycleContext, node: NodeInfo): FilterFailure | undefined;
  /** Once per attempt over the feasible nodes: "skip" turns scoring off for this plugin. */
  preScore?(ctx: CycleContext, nodes: NodeInfo[]): "skip" | undefined;
  score?(ctx: CycleContext, node: NodeInfo): number;
  /** Rescales raw scores in place to 0..MAX_NODE_SCORE. */
  normalizeScore?(ctx: CycleContext, scores: number[]): void;
  /**
   * After a node is chosen, before the Binding: the writes this plugin needs first
   * (upstream PreBind), as data; the scheduler applies them and binds only if they succeed.
   */
  preBind?(pod: PodInfo, node: string, snapshot: Snapshot): PreBindPatch[];
}

/** A merge patch the scheduler applies before binding (e.g. a claim's selected-node). */
export interface PreBindPatch {
  gvr: string;
  namespace?: string;
  name: string;
  patch: Record<string, unknown>;
}

/** The rejection histogram of one attempt (Nomad's AllocMetric). */
export interface AttemptMetric {
  nodesAvailable: number;
  nodesEvaluated: number;
  nodesFeasible: number;
  /** reason → number of nodes rejected for it */
  reasons: Map<string, number>;
  /** plugin → number of nodes it rejected */
  rejectedBy: Map<string, number>;
  /** Set when a preFilter rejected the pod for every node. */
  preFilterMessage?: string;
  /** Best totals of the scored nodes, highest first (a few, for `tug why`). */
  topScores: { node: string; score: number }[];
  durationMs: number;
}

export interface ScheduleResult {
  node?: string;
  metric: AttemptMetric;
  /** For unschedulable pods: each evaluated node's failure (preemption reads these). */
  failures?: Map<string, FilterFailure>;
}

export interface FrameworkOptions {
  /** 0 = adaptive (upstream default); otherwise 1..100. */
  percentageOfNodesToScore?: number;
  /** Deterministic tie breaking in tests. */
  random?: () => number;
}

const MIN_FEASIBLE_NODES_TO_FIND = 100;
const MIN_FEASIBLE_PERCENTAGE = 5;
const BASE_PERCENTAGE = 50;

/** How many feasible nodes are enough (upstream numFeasibleNodesToFind). */
export function numFeasibleNodesToFind(numAllNodes: number, percentage = 0): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  let pct = percentage;
  if (pct <= 0) pct = Math.max(BASE_PERCENTAGE - Math.floor(numAllNodes / 125), MIN_FEASIBLE_PERCENTAGE);
  if (pct >= 100) return numAllNodes;
  return Math.max(Math.floor((numAllNodes * pct) / 100), MIN_FEASIBLE_NODES_TO_FIND);
}

/**
 * The FitError text: "0/N nodes are available: <count reason, …>." then the preemption
 * part. Reasons are ordered by their message text; a preFilter rejection replaces the list.
 */
export function fitErrorMessage(numAllNodes: number, metric: Pick<AttemptMetric, "reasons" | "preFilterMessage">, postFilterMessage?: string): string {
  if (numAllNodes === 0) return "no nodes available to schedule pods";
  let msg = `0/${numAllNodes} nodes are available:`;
  if (metric.preFilterMessage) msg += ` ${metric.preFilterMessage}.`;
  else {
    const parts = [...metric.reasons.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([r, n]) => `${n} ${r}`);
    if (parts.length) msg += ` ${parts.join(", ")}.`;
  }
  if (postFilterMessage) msg += ` ${postFilterMessage}`;
  return msg;
}

export function newMetric(nodesAvailable: number): AttemptMetric {
  return { nodesAvailable, nodesEvaluated: 0, nodesFeasible: 0, reasons: new Map(), rejectedBy: new Map(), topScores: [], durationMs: 0 };
}

function count(m: Map<string, number>, k: string, n = 1): void {
  m.set(k, (m.get(k) ?? 0) + n);
}

export class Framework {
  private nextStartNodeIndex = 0;
  private readonly random: () => number;
  /**
   * Scratch arrays reused by every attempt (feasible nodes, score totals, one plugin's
   * scores): a cycle runs to completion before the next starts, and at 500 nodes per
   * pod fresh arrays were ~12 KB of garbage per pod.
   */
  private readonly feasibleBuf: NodeInfo[] = [];
  private readonly totalsBuf: number[] = [];
  private readonly scoresBuf: number[] = [];

  constructor(
    readonly plugins: Plugin[],
    private readonly opts: FrameworkOptions = {},
  ) {
    this.random = opts.random ?? Math.random;
  }

  newContext(pod: PodInfo, snapshot: Snapshot): CycleContext {
    return { pod, snapshot, state: new Map() };
  }

  /** Runs preFilters; returns the plugins whose filter applies, or a failure for all nodes. */
  preFilter(ctx: CycleContext): { filters: Plugin[] } | { failure: FilterFailure } {
    const filters: Plugin[] = [];
    for (const p of this.plugins) {
      if (!p.filter && !p.preFilter) continue;
      const r = p.preFilter?.(ctx);
      if (r === "skip") continue;
      if (r) return { failure: { ...r, plugin: p.name } };
      if (p.filter) filters.push(p);
    }
    return { filters };
  }

  /** First failing filter for one node (upstream RunFilterPlugins). */
  runFilters(ctx: CycleContext, filters: Plugin[], node: NodeInfo): FilterFailure | undefined {
    for (let i = 0; i < filters.length; i++) {
      const p = filters[i]!;
      const r = p.filter!(ctx, node);
      if (r) return r.plugin ? r : { ...r, plugin: p.name };
    }
    return undefined;
  }

  /** One scheduling attempt for the pod against the snapshot. */
  schedule(pod: PodInfo, snapshot: Snapshot, clockNow: () => number = Date.now): ScheduleResult {
    const t0 = clockNow();
    const nodes = snapshot.nodeList;
    const n = nodes.length;
    const metric = newMetric(n);
    const finish = (r: ScheduleResult): ScheduleResult => {
      metric.durationMs = clockNow() - t0;
      return r;
    };
    if (n === 0) return finish({ metric, failures: new Map() });
    const ctx = this.newContext(pod, snapshot);
    const pre = this.preFilter(ctx);
    if ("failure" in pre) {
      metric.preFilterMessage = pre.failure.reasons.join(", ");
      metric.nodesEvaluated = n;
      count(metric.rejectedBy, pre.failure.plugin ?? "", n);
      const failures = new Map<string, FilterFailure>();
      for (const ni of nodes) failures.set(ni.name, pre.failure);
      return finish({ metric, failures });
    }
    const filters = pre.filters;
    const want = numFeasibleNodesToFind(n, this.opts.percentageOfNodesToScore);
    const feasible = this.feasibleBuf;
    feasible.length = 0;
    let failures: Map<string, FilterFailure> | undefined;
    const fail = (ni: NodeInfo, r: FilterFailure) => {
      for (const reason of r.reasons) count(metric.reasons, reason);
      count(metric.rejectedBy, r.plugin ?? "");
      (failures ??= new Map()).set(ni.name, r);
    };
    // A nominated node (set by an earlier preemption) is tried first, as upstream does.
    const nominated = pod.pod.status?.nominatedNodeName as string | undefined;
    const nominatedInfo = nominated ? snapshot.get(nominated) : undefined;
    if (nominatedInfo && !this.runFilters(ctx, filters, nominatedInfo)) {
      metric.nodesEvaluated = 1;
      metric.nodesFeasible = 1;
      return finish({ node: nominatedInfo.name, metric });
    }
    let evaluated = 0;
    const start = this.nextStartNodeIndex % n;
    for (let i = 0; i < n && feasible.length < want; i++) {
      const ni = nodes[(start + i) % n]!;
      evaluated++;
      const r = filters.length ? this.runFilters(ctx, filters, ni) : undefined;
      if (r) fail(ni, r);
      else feasible.push(ni);
    }
    this.nextStartNodeIndex = (start + evaluated) % n;
    metric.nodesEvaluated = evaluated;
    metric.nodesFeasible = feasible.length;
    if (feasible.length === 0) return finish({ metric, failures: failures ?? new Map() });
    if (feasible.length === 1) {
      const only = feasible[0]!.name;
      feasible.length = 0;
      return finish({ node: only, metric });
    }
    const totals = this.score(ctx, feasible, this.totalsBuf, this.scoresBuf);
    // Highest total wins; ties are broken uniformly at random (reservoir sampling).
    let best = -1;
    let bestScore = -Infinity;
    let ties = 0;
    for (let i = 0; i < feasible.length; i++) {
      const s = totals[i]!;
      if (s > bestScore) {
        bestScore = s;
        best = i;
        ties = 1;
      } else if (s === bestScore) {
        ties++;
        if (this.random() * ties < 1) best = i;
      }
    }
    metric.topScores = topN(feasible, totals, 3);
    const chosen = feasible[best]!.name;
    // Don't keep the nodes alive through the scratch array until the next attempt.
    feasible.length = 0;
    return finish({ node: chosen, metric });
  }

  /** Weighted sum of normalized plugin scores per node (into `totals` when given). */
  score(ctx: CycleContext, nodes: NodeInfo[], totals: number[] = [], scores: number[] = []): number[] {
    totals.length = nodes.length;
    totals.fill(0);
    scores.length = nodes.length;
    for (const p of this.plugins) {
      if (!p.score) continue;
      if (p.preScore?.(ctx, nodes) === "skip") continue;
      for (let i = 0; i < nodes.length; i++) scores[i] = p.score(ctx, nodes[i]!);
      p.normalizeScore?.(ctx, scores);
      const w = p.weight ?? 1;
      for (let i = 0; i < nodes.length; i++) totals[i]! += w * scores[i]!;
    }
    return totals;
  }
}

/** The k best totals without sorting every node (k is tiny). */
function topN(nodes: NodeInfo[], totals: number[], k: number): { node: string; score: number }[] {
  const best: { node: string; score: number }[] = [];
  for (let i = 0; i < nodes.length; i++) {
    const s = totals[i]!;
    if (best.length === k && s <= best[k - 1]!.score) continue;
    let j = best.length < k ? best.length : k - 1;
    while (j > 0 && best[j - 1]!.score < s) j--;
    best.splice(j, 0, { node: nodes[i]!.name, score: s });
    if (best.length > k) best.pop();
  }
  return best;
}

/** Upstream DefaultNormalizeScore: scale to 0..100 by the maximum, optionally reversed. */
export function defaultNormalizeScore(scores: number[], reverse: boolean): void {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  for (let i = 0; i < scores.length; i++) {
    if (max === 0) scores[i] = reverse ? MAX_NODE_SCORE : 0;
    else {
      const v = Math.floor((MAX_NODE_SCORE * scores[i]!) / max);
      scores[i] = reverse ? MAX_NODE_SCORE - v : v;
    }
  }
}

/** Test helper: runs one plugin's preFilter + filter for a plain pod on a named node. */
export function runFilterPlugin(plugin: Plugin, pod: KObject, snapshot: Snapshot, nodeName: string): FilterFailure | undefined {
  const ctx: CycleContext = { pod: podInfoFromPod(pod), snapshot, state: new Map() };
  const pre = plugin.preFilter?.(ctx);
  if (pre === "skip") return undefined;
  if (pre) return pre;
  const ni = snapshot.get(nodeName);
  if (!ni) throw new Error(`node ${nodeName} not in snapshot`);
  return plugin.filter?.(ctx, ni);
}

/** Test helper: one plugin's normalized scores for a plain pod over the named nodes (all by default). */
export function runScorePlugin(plugin: Plugin, pod: KObject, snapshot: Snapshot, nodeNames?: string[]): Record<string, number> {
  const ctx: CycleContext = { pod: podInfoFromPod(pod), snapshot, state: new Map() };
  const nodes = nodeNames ? nodeNames.map((n) => snapshot.get(n)!) : snapshot.nodeList;
  const pre = plugin.preFilter?.(ctx);
  if (pre && pre !== "skip") throw new Error(`preFilter rejected the pod: ${pre.reasons.join(", ")}`);
  const out: Record<string, number> = {};
  if (plugin.preScore?.(ctx, nodes) === "skip") {
    for (const n of nodes) out[n.name] = 0;
    return out;
  }
  const scores = nodes.map((n) => plugin.score!(ctx, n));
  plugin.normalizeScore?.(ctx, scores);
  nodes.forEach((n, i) => (out[n.name] = scores[i]!));
  return out;
}
