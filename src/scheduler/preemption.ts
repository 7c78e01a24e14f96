// Preemption, after kube-scheduler's DefaultPreemption PostFilter plugin
// (https://kubernetes.io/docs/concepts/scheduling-eviction/pod-priority-preemption/#preemption).
// When a pod fits nowhere, each node whose failure eviction could fix (not
// "unresolvable") gets a dry run: remove every lower-priority pod, check the filters,
// then add pods back from the most important down while the pod still fits; those that
// cannot come back are the victims. Victims whose PodDisruptionBudget has no
// disruptions left are reprieved first, so budgets are respected when possible
// (best-effort, as upstream). The candidate node is chosen by: fewest PDB violations,
// lowest highest-victim priority, smallest priority sum, fewest victims, newest victims.
// This file only decides; the scheduler writes nominatedNodeName and deletes victims.

import type { LabelSelectorMatcher } from "../apimachinery/labels.js";
import { fitErrorMessage, newMetric, type CycleContext, type FilterFailure, type Framework } from "./framework.js";
import { addPodToNode, cloneNodeInfo, removePodFromNode, type NodeInfo, type PodInfo, type Snapshot } from "./snapshot.js";

export const NOT_HELPFUL = "Preemption is not helpful for scheduling";
export const NO_VICTIMS = "No preemption victims found for incoming pod";

export interface DisruptionBudget {
  namespace: string;
  selector: LabelSelectorMatcher;
  disruptionsAllowed: number;
}

export interface PreemptionResult {
  /** Appended to the FailedScheduling message ("preemption: …"). */
  message: string;
  nominatedNode?: string;
  victims: PodInfo[];
}

interface Candidate {
  node: string;
  victims: PodInfo[];
  pdbViolations: number;
}

/** Higher priority first, then the pod that started (was created) earlier (upstream MoreImportantPod). */
function moreImportant(a: PodInfo, b: PodInfo): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  return startMs(a) - startMs(b);
}

function startMs(p: PodInfo): number {
  const s = Date.parse(p.pod.status?.startTime ?? "");
  return Number.isFinite(s) ? s : p.creationMs;
}

/** Splits pods (most important first) into those whose eviction would break a PDB and the rest. */
function splitByPDB(pods: PodInfo[], pdbs: DisruptionBudget[]): { violating: PodInfo[]; ok: PodInfo[] } {
  const allowed = pdbs.map((b) => b.disruptionsAllowed);
  const violating: PodInfo[] = [];
  const ok: PodInfo[] = [];
  for (const p of pods) {
    let violates = false;
    pdbs.forEach((b, i) => {
      if (b.namespace !== p.namespace || b.selector.empty() || !b.selector.matches(p.labels)) return;
      allowed[i]!--;
      if (allowed[i]! < 0) violates = true;
    });
    (violates ? violating : ok).push(p);
  }
  return { violating, ok };
}

/** The dry run on one node: victims, or why preemption cannot help there. */
function selectVictimsOnNode(fw: Framework, ctx: CycleContext, filters: Parameters<Framework["runFilters"]>[1], ni: NodeInfo, pdbs: DisruptionBudget[]): Candidate | FilterFailure {
  const lower = [...ni.pods.values()].filter((p) => p.priority < ctx.pod.priority);
  if (lower.length === 0) return { reasons: [NO_VICTIMS], unresolvable: true };
  const trial = cloneNodeInfo(ni);
  for (const p of lower) removePodFromNode(trial, p.key);
  const still = fw.runFilters(ctx, filters, trial);
  if (still) return still;
  lower.sort(moreImportant);
  const { violating, ok } = splitByPDB(lower, pdbs);
  const victims: PodInfo[] = [];
  let pdbViolations = 0;
  const reprieve = (p: PodInfo): boolean => {
    addPodToNode(trial, p);
    if (!fw.runFilters(ctx, filters, trial)) return true;
    removePodFromNode(trial, p.key);
    victims.push(p);
    return false;
  };
  for (const p of violating) if (!reprieve(p)) pdbViolations++;
  for (const p of ok) reprieve(p);
  // Fitting with every pod back means eviction was not what helped (stale affinity state…).
  if (victims.length === 0) return { reasons: [NOT_HELPFUL], unresolvable: true };
  return { node: ni.name, victims, pdbViolations };
}

function pickCandidate(cands: Candidate[]): Candidate {
  const key = (c: Candidate) => {
    const highest = Math.max(...c.victims.map((v) => v.priority));
    // Offset keeps negative priorities from making a bigger set look cheaper (upstream adds MaxInt32+1).
    const sum = c.victims.reduce((a, v) => a + v.priority + 2 ** 31, 0);
    const newestOfHighest = Math.max(...c.victims.filter((v) => v.priority === highest).map(startMs));
    return [c.pdbViolations, highest, sum, c.victims.length, -newestOfHighest];
  };
  let best = cands[0]!;
  let bestKey = key(best);
  for (const c of cands.slice(1)) {
    const k = key(c);
    for (let i = 0; i < k.length; i++) {
      if (k[i]! < bestKey[i]!) {
        best = c;
        bestKey = k;
        break;
      }
      if (k[i]! > bestKey[i]!) break;
    }
  }
  return best;
}

/** Decides whether and where the pod can preempt, given the attempt's per-node failures. */
export function selectPreemption(fw: Framework, snapshot: Snapshot, pod: PodInfo, failures: Map<string, FilterFailure>, pdbs: DisruptionBudget[] = []): PreemptionResult {
  if (pod.pod.spec?.preemptionPolicy === "Never") return { message: "preemption: not eligible due to preemptionPolicy=Never.", victims: [] };
  // A pod already nominated somewhere waits for the victims there to go away.
  const nominated = pod.pod.status?.nominatedNodeName as string | undefined;
  const nominatedInfo = nominated ? snapshot.get(nominated) : undefined;
  if (nominatedInfo && failures.get(nominated!)?.unresolvable !== true) {
    for (const p of nominatedInfo.pods.values()) {
      if (p.terminating && p.priority < pod.priority) {
        return { message: "preemption: not eligible due to a terminating pod on the nominated node.", victims: [], nominatedNode: nominated };
      }
    }
  }
  const ctx = fw.newContext(pod, snapshot);
  const pre = fw.preFilter(ctx);
  const metric = newMetric(snapshot.numNodes());
  const cands: Candidate[] = [];
  const note = (r: FilterFailure) => {
    for (const reason of r.reasons) metric.reasons.set(reason, (metric.reasons.get(reason) ?? 0) + 1);
  };
  for (const ni of snapshot.nodeList) {
    const f = failures.get(ni.name);
    if (!f || f.unresolvable || "failure" in pre) {
      note({ reasons: [NOT_HELPFUL] });
      continue;
    }
    const r = selectVictimsOnNode(fw, ctx, pre.filters, ni, pdbs);
    if ("node" in r) cands.push(r);
    else note(r);
  }
  if (cands.length === 0) return { message: `preemption: ${fitErrorMessage(snapshot.numNodes(), metric)}`, victims: [] };
  const best = pickCandidate(cands);
  return { message: "", nominatedNode: best.node, victims: best.victims };
}
