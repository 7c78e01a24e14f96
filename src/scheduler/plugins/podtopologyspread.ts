// PodTopologySpread: spread matching pods evenly over topology domains (zones, hosts…)
// (https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/).
// For each constraint, preFilter counts the pods matching its labelSelector (in the
// pod's namespace, not terminating) per domain, over the nodes that pass
// nodeAffinityPolicy (default Honor: the pod's nodeSelector/required affinity) and
// nodeTaintsPolicy (default Ignore). DoNotSchedule constraints filter: placing the pod
// must keep count(domain) + self − min(count) ≤ maxSkew (min is 0 while fewer than
// minDomains domains exist). ScheduleAnyway constraints score: fewer matching pods in
// the node's domain is better.

import { selectorFromLabelSelector, type LabelSelector, type LabelSelectorMatcher } from "../../apimachinery/labels.js";
import { unresolvable, unschedulable, MAX_NODE_SCORE, type CycleContext, type Plugin } from "../framework.js";
import type { NodeInfo, PodInfo } from "../snapshot.js";
import { podMatchesNodeSelectorAndAffinity } from "./nodeaffinity.js";
import { firstUntoleratedTaint } from "./tainttoleration.js";

export const SPREAD_MISMATCH = "node(s) didn't match pod topology spread constraints";
export const SPREAD_MISSING_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)";

interface Constraint {
  maxSkew: number;
  topologyKey: string;
  hard: boolean;
  selector: LabelSelectorMatcher;
  minDomains: number;
  honorAffinity: boolean;
  honorTaints: boolean;
  selfMatch: number;
}

function compile(p: PodInfo): Constraint[] {
  let c = p.cache.get("PodTopologySpread") as Constraint[] | undefined;
  if (c) return c;
  c = [];
  for (const raw of Array.isArray(p.pod.spec?.topologySpreadConstraints) ? p.pod.spec.topologySpreadConstraints : []) {
    if (!raw?.topologyKey) continue;
    let sel: LabelSelector | undefined = raw.labelSelector ?? undefined;
    // matchLabelKeys pins the selector to this pod's values of those labels (e.g. pod-template-hash).
    const keys: string[] = Array.isArray(raw.matchLabelKeys) ? raw.matchLabelKeys : [];
    if (sel && keys.length) {
      const extra = keys.filter((k) => p.labels[k] !== undefined).map((k) => ({ key: k, operator: "In", values: [p.labels[k]!] }));
      sel = { ...sel, matchExpressions: [...(sel.matchExpressions ?? []), ...extra] };
    }
    let selector: LabelSelectorMatcher;
    try {
      selector = selectorFromLabelSelector(sel);
    } catch {
      continue;
    }
    c.push({
      maxSkew: Math.max(1, Number(raw.maxSkew) || 1),
      topologyKey: String(raw.topologyKey),
      hard: (raw.whenUnsatisfiable ?? "DoNotSchedule") === "DoNotSchedule",
      selector,
      minDomains: Number(raw.minDomains) || 1,
      honorAffinity: (raw.nodeAffinityPolicy ?? "Honor") === "Honor",
      honorTaints: raw.nodeTaintsPolicy === "Honor",
      selfMatch: selector.matches(p.labels) ? 1 : 0,
    });
  }
  p.cache.set("PodTopologySpread", c);
  return c;
}

/** Per constraint: domain value → number of matching pods (every eligible domain present, maybe 0). */
function countDomains(ctx: CycleContext, cs: Constraint[]): Map<string, number>[] {
  const counts = cs.map(() => new Map<string, number>());
  for (const ni of ctx.snapshot.nodeList) {
    if (!eligible(ctx.pod, cs, ni)) continue;
    for (let i = 0; i < cs.length; i++) {
      const c = cs[i]!;
      const v = ni.labels[c.topologyKey]!;
      let n = 0;
      for (const ep of ni.pods.values()) {
        if (ep.namespace === ctx.pod.namespace && !ep.terminating && c.selector.matches(ep.labels)) n++;
      }
      counts[i]!.set(v, (counts[i]!.get(v) ?? 0) + n);
    }
  }
  return counts;
}

/** The node counts toward domains: it has every topology key and passes the policies. */
function eligible(p: PodInfo, cs: Constraint[], ni: NodeInfo): boolean {
  for (const c of cs) if (ni.labels[c.topologyKey] === undefined) return false;
  if (cs.some((c) => c.honorAffinity) && !podMatchesNodeSelectorAndAffinity(p, ni)) return false;
  if (cs.some((c) => c.honorTaints) && firstUntoleratedTaint(ni.taints, p.tolerations)) return false;
  return true;
}

interface FilterState {
  hard: Constraint[];
  counts: Map<string, number>[];
  minMatch: number[];
}

export const podTopologySpread: Plugin = {
  name: "PodTopologySpread",
  weight: 2,
  preFilter(ctx) {
    const hard = compile(ctx.pod).filter((c) => c.hard);
    if (hard.length === 0) return "skip";
    const counts = countDomains(ctx, hard);
    const minMatch = hard.map((c, i) => {
      const m = counts[i]!;
      if (m.size < c.minDomains) return 0;
      let min = Infinity;
      for (const n of m.values()) if (n < min) min = n;
      return min === Infinity ? 0 : min;
    });
    ctx.state.set("PodTopologySpread", { hard, counts, minMatch } satisfies FilterState);
    return undefined;
  },
  filter(ctx, ni) {
    const st = ctx.state.get("PodTopologySpread") as FilterState;
    for (let i = 0; i < st.hard.length; i++) {
      const c = st.hard[i]!;
      const v = ni.labels[c.topologyKey];
      if (v === undefined) return unresolvable(SPREAD_MISSING_LABEL);
      const skew = (st.counts[i]!.get(v) ?? 0) + c.selfMatch - st.minMatch[i]!;
      if (skew > c.maxSkew) return unschedulable(SPREAD_MISMATCH);
    }
    return undefined;
  },
  preScore(ctx) {
    const soft = compile(ctx.pod).filter((c) => !c.hard);
    if (soft.length === 0) return "skip";
    const counts = countDomains(ctx, soft);
    // Constraints over many domains weigh more (upstream topologyNormalizingWeight).
    const weights = counts.map((m) => Math.log(m.size + 2));
    ctx.state.set("PodTopologySpread/score", { soft, counts, weights });
    return undefined;
  },
  score(ctx, ni) {
    const st = ctx.state.get("PodTopologySpread/score") as { soft: Constraint[]; counts: Map<string, number>[]; weights: number[] };
    let s = 0;
    for (let i = 0; i < st.soft.length; i++) {
      const c = st.soft[i]!;
      const v = ni.labels[c.topologyKey];
      // Nodes without the key cannot be placed in any domain: marked, scored 0 below.
      if (v === undefined) return -1;
      s += (st.counts[i]!.get(v) ?? 0) * st.weights[i]! + (c.maxSkew - 1);
    }
    return s;
  },
  normalizeScore(_ctx, scores) {
    let min = Infinity;
    let max = -Infinity;
    for (const s of scores) {
      if (s < 0) continue;
      if (s < min) min = s;
      if (s > max) max = s;
    }
    for (let i = 0; i < scores.length; i++) {
      const s = scores[i]!;
      if (s < 0) scores[i] = 0;
      else if (max === 0) scores[i] = MAX_NODE_SCORE;
      else scores[i] = Math.floor((MAX_NODE_SCORE * (max + min - s)) / max);
    }
  },
};
