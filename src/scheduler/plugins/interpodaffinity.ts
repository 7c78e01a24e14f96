// InterPodAffinity: place pods relative to other pods in a topology domain
// (https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#inter-pod-affinity-and-anti-affinity).
// preFilter counts, per (topologyKey, value) domain, the existing pods matching the
// incoming pod's required affinity and anti-affinity terms, and the existing pods whose
// own required anti-affinity rejects the incoming pod; the filter then only looks up the
// node's labels. Preferred terms (both the incoming pod's and existing pods') add or
// subtract their weight per domain for scoring. When neither the pod nor any existing
// pod uses affinity, both stages are skipped, keeping the common case free.

import { selectorFromLabelSelector, type LabelSelectorMatcher } from "../../apimachinery/labels.js";
import { unresolvable, unschedulable, MAX_NODE_SCORE, type CycleContext, type Plugin } from "../framework.js";
import type { NodeInfo, PodInfo, Snapshot } from "../snapshot.js";

export const AFFINITY_MISMATCH = "node(s) didn't match pod affinity rules";
export const ANTI_AFFINITY_MISMATCH = "node(s) didn't match pod anti-affinity rules";
export const EXISTING_ANTI_AFFINITY_MISMATCH = "node(s) didn't satisfy existing pods anti-affinity rules";
/** Weight of an existing pod's *required* affinity term when scoring (upstream hardPodAffinityWeight). */
const HARD_POD_AFFINITY_WEIGHT = 1;

interface Term {
  selector: LabelSelectorMatcher;
  /** Namespaces listed or implied; undefined with nsSelector means "decided by namespace labels". */
  namespaces: Set<string>;
  nsSelector?: LabelSelectorMatcher;
  topologyKey: string;
  weight: number;
}

interface Compiled {
  affinity: Term[];
  anti: Term[];
  preferredAffinity: Term[];
  preferredAnti: Term[];
}

function compileTerm(raw: any, ownerNs: string, weight: number): Term | undefined {
  if (!raw || typeof raw !== "object" || !raw.topologyKey) return undefined;
  let selector: LabelSelectorMatcher;
  let nsSelector: LabelSelectorMatcher | undefined;
  try {
    selector = selectorFromLabelSelector(raw.labelSelector);
    if (raw.namespaceSelector) nsSelector = selectorFromLabelSelector(raw.namespaceSelector);
  } catch {
    return undefined;
  }
  const namespaces = new Set<string>(Array.isArray(raw.namespaces) ? raw.namespaces : []);
  if (namespaces.size === 0 && !nsSelector) namespaces.add(ownerNs);
  return { selector, namespaces, nsSelector, topologyKey: String(raw.topologyKey), weight };
}

function list(v: unknown): any[] {
  return Array.isArray(v) ? v : [];
}

export function compiledTerms(p: PodInfo): Compiled {
  let c = p.cache.get("InterPodAffinity") as Compiled | undefined;
  if (c) return c;
  const aff = p.pod.spec?.affinity ?? {};
  const req = (x: any) => list(x?.requiredDuringSchedulingIgnoredDuringExecution).map((t) => compileTerm(t, p.namespace, 1)).filter((t): t is Term => !!t);
  const pref = (x: any) =>
    list(x?.preferredDuringSchedulingIgnoredDuringExecution)
      .map((w) => compileTerm(w?.podAffinityTerm, p.namespace, Number(w?.weight) || 0))
      .filter((t): t is Term => !!t && t.weight > 0);
  c = { affinity: req(aff.podAffinity), anti: req(aff.podAntiAffinity), preferredAffinity: pref(aff.podAffinity), preferredAnti: pref(aff.podAntiAffinity) };
  p.cache.set("InterPodAffinity", c);
  return c;
}

/** Does the term (of some pod) select pod p? */
export function termMatchesPod(t: Term, p: PodInfo, snap: Snapshot): boolean {
  if (!t.namespaces.has(p.namespace)) {
    if (!t.nsSelector) return false;
    if (!t.nsSelector.empty() && !t.nsSelector.matches(snap.namespaceLabels.get(p.namespace) ?? {})) return false;
  }
  return t.selector.matches(p.labels);
}

type Counts = Map<string, Map<string, number>>;

function bump(c: Counts, key: string, value: string | undefined, n: number): void {
  if (value === undefined) return;
  let m = c.get(key);
  if (!m) c.set(key, (m = new Map()));
  m.set(value, (m.get(value) ?? 0) + n);
}

function countAt(c: Counts, key: string, ni: NodeInfo): number {
  const v = ni.labels[key];
  return v === undefined ? 0 : (c.get(key)?.get(v) ?? 0);
}

interface FilterState {
  existingAnti: Counts;
  affinity: Counts;
  anti: Counts;
  /** No pod matches the affinity terms but the pod matches them itself: the first of a group may go anywhere. */
  selfAffinityOk: boolean;
}

export const interPodAffinity: Plugin = {
  name: "InterPodAffinity",
  weight: 2,
  preFilter(ctx) {
    const snap = ctx.snapshot;
    const own = compiledTerms(ctx.pod);
    if (own.affinity.length === 0 && own.anti.length === 0 && snap.podsWithRequiredAntiAffinity === 0) return "skip";
    const st: FilterState = { existingAnti: new Map(), affinity: new Map(), anti: new Map(), selfAffinityOk: false };
    let affinityMatches = 0;
    for (const ni of snap.nodeList) {
      if (ni.pods.size === 0) continue;
      const scanOwn = own.affinity.length > 0 || own.anti.length > 0;
      if (!scanOwn && ni.podsWithRequiredAntiAffinity === 0) continue;
      for (const ep of ni.pods.values()) {
        if (ep.hasRequiredAntiAffinity) {
          for (const t of compiledTerms(ep).anti) if (termMatchesPod(t, ctx.pod, snap)) bump(st.existingAnti, t.topologyKey, ni.labels[t.topologyKey], 1);
        }
        if (!scanOwn) continue;
        if (own.affinity.length && own.affinity.every((t) => termMatchesPod(t, ep, snap))) {
          affinityMatches++;
          for (const t of own.affinity) bump(st.affinity, t.topologyKey, ni.labels[t.topologyKey], 1);
        }
        for (const t of own.anti) if (termMatchesPod(t, ep, snap)) bump(st.anti, t.topologyKey, ni.labels[t.topologyKey], 1);
      }
    }
    st.selfAffinityOk = affinityMatches === 0 && own.affinity.every((t) => termMatchesPod(t, ctx.pod, snap));
    ctx.state.set("InterPodAffinity", st);
    return undefined;
  },
  filter(ctx, ni) {
    const st = ctx.state.get("InterPodAffinity") as FilterState;
    for (const [key, values] of st.existingAnti) {
      const v = ni.labels[key];
      if (v !== undefined && (values.get(v) ?? 0) > 0) return unschedulable(EXISTING_ANTI_AFFINITY_MISMATCH);
    }
    const own = compiledTerms(ctx.pod);
    for (const t of own.anti) if (countAt(st.anti, t.topologyKey, ni) > 0) return unschedulable(ANTI_AFFINITY_MISMATCH);
    if (own.affinity.length) {
      for (const t of own.affinity) {
        if (ni.labels[t.topologyKey] === undefined) return unresolvable(AFFINITY_MISMATCH);
        if (!st.selfAffinityOk && countAt(st.affinity, t.topologyKey, ni) === 0) return unresolvable(AFFINITY_MISMATCH);
      }
    }
    return undefined;
  },
  preScore(ctx) {
    const snap = ctx.snapshot;
    const own = compiledTerms(ctx.pod);
    const hasOwn = own.preferredAffinity.length > 0 || own.preferredAnti.length > 0;
    if (!hasOwn && snap.podsWithAffinity === 0) return "skip";
    const scores: Counts = new Map();
    for (const ni of snap.nodeList) {
      if (ni.pods.size === 0 || (!hasOwn && ni.podsWithAffinity === 0)) continue;
      for (const ep of ni.pods.values()) {
        for (const t of own.preferredAffinity) if (termMatchesPod(t, ep, snap)) bump(scores, t.topologyKey, ni.labels[t.topologyKey], t.weight);
        for (const t of own.preferredAnti) if (termMatchesPod(t, ep, snap)) bump(scores, t.topologyKey, ni.labels[t.topologyKey], -t.weight);
        if (!ep.hasAffinity) continue;
        const theirs = compiledTerms(ep);
        for (const t of theirs.affinity) if (termMatchesPod(t, ctx.pod, snap)) bump(scores, t.topologyKey, ni.labels[t.topologyKey], HARD_POD_AFFINITY_WEIGHT);
        for (const t of theirs.preferredAffinity) if (termMatchesPod(t, ctx.pod, snap)) bump(scores, t.topologyKey, ni.labels[t.topologyKey], t.weight);
        for (const t of theirs.preferredAnti) if (termMatchesPod(t, ctx.pod, snap)) bump(scores, t.topologyKey, ni.labels[t.topologyKey], -t.weight);
      }
    }
    if (scores.size === 0) return "skip";
    ctx.state.set("InterPodAffinity/score", scores);
    return undefined;
  },
  score(ctx, ni) {
    const scores = ctx.state.get("InterPodAffinity/score") as Counts;
    let s = 0;
    for (const key of scores.keys()) s += countAt(scores, key, ni);
    return s;
  },
  normalizeScore(_ctx: CycleContext, scores: number[]) {
    let min = Infinity;
    let max = -Infinity;
    for (const s of scores) {
      if (s < min) min = s;
      if (s > max) max = s;
    }
    const diff = max - min;
    for (let i = 0; i < scores.length; i++) scores[i] = diff > 0 ? Math.floor((MAX_NODE_SCORE * (scores[i]! - min)) / diff) : 0;
  },
};
