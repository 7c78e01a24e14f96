// The arithmetic of a Deployment rollout
// (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#rolling-update-deployment
// and #proportional-scaling): maxSurge/maxUnavailable resolved against spec.replicas
// (percent surge rounds up, percent unavailable rounds down, never both zero), how far
// the new ReplicaSet may grow, how far old ones may shrink without dropping below
// the minimum available, and how a replica change mid-rollout is spread over the
// active ReplicaSets in proportion to their size. Pure functions over plain objects:
// the controller (deployment.ts) turns their answers into scale writes.

import type { KObject } from "../apimachinery/types.js";
import { intOrPercentValue } from "../api/apps.js";

export const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";
export const DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas";
export const MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas";
export const CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause";

export const specReplicas = (o: KObject | undefined): number => Number(o?.spec?.replicas ?? 0);
export const availableOf = (o: KObject | undefined): number => Number(o?.status?.availableReplicas ?? 0);
export const sumSpec = (rss: KObject[]): number => rss.reduce((n, rs) => n + specReplicas(rs), 0);
export const sumStatus = (rss: KObject[], field: string): number => rss.reduce((n, rs) => n + Number(rs.status?.[field] ?? 0), 0);

/** An int-or-percent scaled against total (percent: round up or down as asked). */
export function scaledValue(v: unknown, total: number, roundUp: boolean): number {
  const p = intOrPercentValue(v);
  if (!p) return 0;
  if (!p.percent) return p.value;
  const x = (p.value * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/** ResolveFenceposts: the surge and unavailability a rolling update may use. */
export function resolveFenceposts(d: KObject): { maxSurge: number; maxUnavailable: number } {
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  const replicas = specReplicas(d);
  const maxSurge = scaledValue(ru.maxSurge ?? "25%", replicas, true);
  let maxUnavailable = scaledValue(ru.maxUnavailable ?? "25%", replicas, false);
  // Both zero would deadlock the rollout.
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable: Math.min(maxUnavailable, replicas) };
}

export function maxUnavailableOf(d: KObject): number {
  if (d.spec?.strategy?.type !== "RollingUpdate" || specReplicas(d) === 0) return 0;
  return resolveFenceposts(d).maxUnavailable;
}

/** NewRSNewReplicas for RollingUpdate: grow the new RS within replicas + maxSurge. */
export function newReplicaSetReplicas(d: KObject, allRSs: KObject[], newRS: KObject | undefined): number {
  const want = specReplicas(d);
  const current = specReplicas(newRS);
  if (d.spec?.strategy?.type === "Recreate") return want;
  const { maxSurge } = resolveFenceposts(d);
  const total = sumSpec(allRSs);
  const maxTotal = want + maxSurge;
  if (total >= maxTotal) return current;
  const scaleUp = Math.min(maxTotal - total, Math.max(0, want - current));
  return current + scaleUp;
}

/**
 * How many old replicas may go now: never so many that the available pods (counting
 * the new RS's unavailable ones as missing) fall below replicas - maxUnavailable.
 * Returns the target replicas per old RS name.
 */
export function scaleDownOldReplicaSets(d: KObject, oldRSs: KObject[], newRS: KObject | undefined): Map<string, number> {
  const targets = new Map<string, number>();
  const oldCount = sumSpec(oldRSs);
  if (oldCount === 0) return targets;
  const all = newRS ? [...oldRSs, newRS] : oldRSs;
  const minAvailable = specReplicas(d) - maxUnavailableOf(d);
  const newUnavailable = Math.max(0, specReplicas(newRS) - availableOf(newRS));
  let budget = sumSpec(all) - minAvailable - newUnavailable;
  if (budget <= 0) return targets;
  const oldestFirst = [...oldRSs].sort(byCreation);
  // First the unhealthy replicas: removing them costs no availability.
  for (const rs of oldestFirst) {
    if (budget <= 0) break;
    const unhealthy = Math.max(0, specReplicas(rs) - availableOf(rs));
    const cut = Math.min(unhealthy, budget);
    if (cut > 0) {
      targets.set(rs.metadata.name!, specReplicas(rs) - cut);
      budget -= cut;
    }
  }
  // Then healthy ones, only while the available total stays above the minimum.
  const current = (rs: KObject) => targets.get(rs.metadata.name!) ?? specReplicas(rs);
  let availableBudget = sumStatus(all, "availableReplicas") - minAvailable;
  for (const rs of oldestFirst) {
    if (availableBudget <= 0) break;
    const cut = Math.min(current(rs), availableBudget);
    if (cut > 0) {
      targets.set(rs.metadata.name!, current(rs) - cut);
      availableBudget -= cut;
    }
  }
  return targets;
}

export function byCreation(a: KObject, b: KObject): number {
  return (Date.parse(a.metadata.creationTimestamp ?? "") || 0) - (Date.parse(b.metadata.creationTimestamp ?? "") || 0) || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");
}

/**
 * Proportional scaling: spreads (replicas + maxSurge) - current over the active
 * ReplicaSets in proportion to their size; the rounding leftover goes to the largest
 * (newest on ties). Returns target replicas per RS name.
 */
export function proportionalScale(d: KObject, active: KObject[]): Map<string, number> {
  const targets = new Map<string, number>();
  const isRolling = d.spec?.strategy?.type === "RollingUpdate";
  const allowed = specReplicas(d) + (isRolling ? resolveFenceposts(d).maxSurge : 0);
  const current = sumSpec(active);
  const toAdd = allowed - current;
  if (toAdd === 0 || current === 0) return targets;
  let added = 0;
  // Bigger ReplicaSets first (newer on ties when growing, older when shrinking), each
  // getting its rounded share, never beyond what is left to add or remove.
  const order = [...active].sort((a, b) => specReplicas(b) - specReplicas(a) || (toAdd > 0 ? byCreation(b, a) : byCreation(a, b)));
  for (const rs of order) {
    let share = Math.round((specReplicas(rs) * allowed) / current) - specReplicas(rs);
    const left = toAdd - added;
    share = toAdd > 0 ? Math.min(share, left) : Math.max(share, left);
    const next = Math.max(0, specReplicas(rs) + share);
    added += next - specReplicas(rs);
    targets.set(rs.metadata.name!, next);
  }
  const leftover = toAdd - added;
  if (leftover !== 0) {
    const first = order[0];
    targets.set(first.metadata.name!, Math.max(0, targets.get(first.metadata.name!)! + leftover));
  }
  return targets;
}
