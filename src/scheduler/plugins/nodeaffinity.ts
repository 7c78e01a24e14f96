// NodeAffinity: spec.nodeSelector and spec.affinity.nodeAffinity
// (https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#node-affinity).
// Required terms are ORed, expressions within a term ANDed; operators In, NotIn,
// Exists, DoesNotExist, Gt, Lt on node labels, and In/NotIn on the field metadata.name.
// Preferred terms add their weight to the node's score. The pod's selector is compiled
// once per pod (cached on PodInfo), so the per-node check is a few map lookups.

import { defaultNormalizeScore, unresolvable, type Plugin } from "../framework.js";
import type { NodeInfo, PodInfo } from "../snapshot.js";

export const NODE_AFFINITY_MISMATCH = "node(s) didn't match Pod's node affinity/selector";

export interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

interface CompiledNodeAffinity {
  nodeSelector: [string, string][];
  /** undefined = no required affinity */
  required?: NodeSelectorTerm[];
  preferred: { weight: number; term: NodeSelectorTerm }[];
}

function parseInt10(s: string | undefined): number | undefined {
  if (s === undefined || !/^-?\d+$/.test(s)) return undefined;
  return Number(s);
}

/** One requirement against a label map (upstream's NodeSelectorRequirement semantics). */
export function requirementMatches(r: NodeSelectorRequirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = has ? labels[r.key] : undefined;
  const values = r.values ?? [];
  switch (r.operator) {
    case "In":
      return has && values.includes(v!);
    case "NotIn":
      return !has || !values.includes(v!);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
    case "Gt":
    case "Lt": {
      const want = parseInt10(values[0]);
      const got = parseInt10(v);
      if (values.length !== 1 || want === undefined || got === undefined) return false;
      return r.operator === "Gt" ? got > want : got < want;
    }
    default:
      return false;
  }
}

/** A term matches when all its expressions and fields match; an empty term matches nothing. */
export function termMatches(term: NodeSelectorTerm, ni: Pick<NodeInfo, "name" | "labels">): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  for (const r of exprs) if (!requirementMatches(r, ni.labels)) return false;
  for (const r of fields) {
    // metadata.name is the only supported field selector key.
    if (r.key !== "metadata.name") return false;
    if (!requirementMatches(r, { "metadata.name": ni.name })) return false;
  }
  return true;
}

function compile(p: PodInfo): CompiledNodeAffinity {
  let c = p.cache.get("NodeAffinity") as CompiledNodeAffinity | undefined;
  if (c) return c;
  const spec = p.pod.spec ?? {};
  const na = spec.affinity?.nodeAffinity ?? {};
  const req = na.requiredDuringSchedulingIgnoredDuringExecution;
  c = {
    nodeSelector: Object.entries((spec.nodeSelector ?? {}) as Record<string, string>),
    required: req ? (Array.isArray(req.nodeSelectorTerms) ? req.nodeSelectorTerms : []) : undefined,
    preferred: (Array.isArray(na.preferredDuringSchedulingIgnoredDuringExecution) ? na.preferredDuringSchedulingIgnoredDuringExecution : [])
      .filter((t: any) => t?.preference && Number(t.weight) > 0)
      .map((t: any) => ({ weight: Number(t.weight), term: t.preference })),
  };
  p.cache.set("NodeAffinity", c);
  return c;
}

/** nodeSelector AND (any required term); used by PodTopologySpread's nodeAffinityPolicy too. */
export function podMatchesNodeSelectorAndAffinity(p: PodInfo, ni: Pick<NodeInfo, "name" | "labels">): boolean {
  const c = compile(p);
  for (const [k, v] of c.nodeSelector) if (ni.labels[k] !== v) return false;
  if (c.required) {
    let any = false;
    for (const t of c.required) if (termMatches(t, ni)) { any = true; break; }
    if (!any) return false;
  }
  return true;
}

export const nodeAffinity: Plugin = {
  name: "NodeAffinity",
  weight: 2,
  preFilter(ctx) {
    const c = compile(ctx.pod);
    return c.nodeSelector.length || c.required ? undefined : "skip";
  },
  filter: (ctx, ni) => (podMatchesNodeSelectorAndAffinity(ctx.pod, ni) ? undefined : unresolvable(NODE_AFFINITY_MISMATCH)),
  preScore: (ctx) => (compile(ctx.pod).preferred.length ? undefined : "skip"),
  score(ctx, ni) {
    let s = 0;
    for (const p of compile(ctx.pod).preferred) if (termMatches(p.term, ni)) s += p.weight;
    return s;
  },
  normalizeScore: (_ctx, scores) => defaultNormalizeScore(scores, false),
};
