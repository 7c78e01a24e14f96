// TaintToleration: a node's NoSchedule/NoExecute taints keep off pods that don't
// tolerate them; PreferNoSchedule taints only lower the node's score
// (https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/).
// The filter message names the first untolerated taint as upstream does:
// `node(s) had untolerated taint {key: value}`.

import { defaultNormalizeScore, unresolvable, type Plugin } from "../framework.js";
import type { Taint, Toleration } from "../snapshot.js";

/** Upstream Toleration.ToleratesTaint. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key !== undefined && t.key !== "" && t.key !== taint.key) return false;
  const op = t.operator || "Equal";
  if (op === "Exists") return true;
  // An empty key only makes sense with Exists; with Equal it tolerates nothing.
  if (!t.key) return false;
  return op === "Equal" && (t.value ?? "") === (taint.value ?? "");
}

export function tolerated(tolerations: Toleration[], taint: Taint): boolean {
  for (const t of tolerations) if (toleratesTaint(t, taint)) return true;
  return false;
}

/** The first NoSchedule/NoExecute taint the tolerations don't cover. */
export function firstUntoleratedTaint(taints: Taint[], tolerations: Toleration[]): Taint | undefined {
  for (const taint of taints) {
    if (taint.effect !== "NoSchedule" && taint.effect !== "NoExecute") continue;
    if (!tolerated(tolerations, taint)) return taint;
  }
  return undefined;
}

export function untoleratedTaintMessage(taint: Taint): string {
  return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ""}}`;
}

export const taintToleration: Plugin = {
  name: "TaintToleration",
  weight: 3,
  // With no NoSchedule/NoExecute taint on any node the filter would pass everywhere: skip it.
  preFilter: (ctx) => (ctx.snapshot.hardTaintedNodes > 0 ? undefined : "skip"),
  filter(ctx, ni) {
    if (!ni.hardTaints) return undefined;
    const taint = firstUntoleratedTaint(ni.taints, ctx.pod.tolerations);
    return taint ? unresolvable(untoleratedTaintMessage(taint)) : undefined;
  },
  // Raw score: number of untolerated PreferNoSchedule taints; fewer is better.
  score(ctx, ni) {
    // A flag on the node itself: most nodes have no PreferNoSchedule taint, and this
    // avoids touching their taint arrays at all.
    if (!ni.softTaints) return 0;
    let n = 0;
    for (const taint of ni.taints) {
      if (taint.effect !== "PreferNoSchedule") continue;
      let ok = false;
      for (const t of ctx.pod.tolerations) {
        if ((!t.effect || t.effect === "PreferNoSchedule") && toleratesTaint(t, taint)) ok = true;
      }
      if (!ok) n++;
    }
    return n;
  },
  normalizeScore: (_ctx, scores) => defaultNormalizeScore(scores, true),
};
