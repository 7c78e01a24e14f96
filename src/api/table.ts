// Cell helpers for server-side tables (`kubectl get` asks for meta.k8s.io/v1 Table,
// https://kubernetes.io/docs/reference/using-api/api-concepts/#receiving-resources-as-tables).
// Durations are rendered like kubectl's HumanDuration (k8s.io/apimachinery/pkg/util/duration)
// so AGE, LAST SEEN and "3 (2m ago)" read exactly as against a real cluster. The server
// always computes every column (wide ones too); kubectl hides priority > 0 without -o wide.

import type { KObject } from "../apimachinery/types.js";
import type { ColumnDefinition } from "./types.js";

/** kubectl's HumanDuration: "5s", "3m2s", "15m", "3h5m", "20h", "2d3h", "45d", "2y10d". */
export function formatAge(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  // Upstream tolerates up to 2s of clock skew as "now".
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    const d = Math.trunc(hours / 24);
    return h === 0 ? `${d}d` : `${d}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.trunc(hours / 24) % 365;
    const y = Math.trunc(hours / 24 / 365);
    return dy === 0 ? `${y}y` : `${y}y${dy}d`;
  }
  return `${Math.trunc(hours / 24 / 365)}y`;
}

/** upstream translateTimestampSince: "<unknown>" for an unset or unparsable time. */
export function ageSince(ts: unknown, now: Date): string {
  if (typeof ts !== "string" || ts === "") return "<unknown>";
  const t = Date.parse(ts);
  if (Number.isNaN(t)) return "<unknown>";
  return formatAge(now.getTime() - t);
}

/** Column builder; names are Title Case as upstream (kubectl upper-cases them). */
export function column(name: string, description: string, opts: { type?: string; priority?: number; format?: string } = {}): ColumnDefinition {
  return { name, type: opts.type ?? "string", format: opts.format ?? "", description, priority: opts.priority ?? 0 };
}

export const AGE_DESCRIPTION =
  "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

export const ageColumn = (): ColumnDefinition => column("Age", AGE_DESCRIPTION);

/** labels.FormatLabels: sorted "k=v,k2=v2", "<none>" when empty. */
export function formatLabels(m: unknown): string {
  if (typeof m !== "object" || m === null || Array.isArray(m)) return "<none>";
  const keys = Object.keys(m).sort();
  if (keys.length === 0) return "<none>";
  return keys.map((k) => `${k}=${String((m as Record<string, unknown>)[k])}`).join(",");
}

/** Value as a string cell, or `fallback` when absent/empty. */
export function str(v: unknown, fallback = ""): string {
  if (v === undefined || v === null || v === "") return fallback;
  return typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : fallback;
}

/** Array or [] (cells must tolerate malformed objects). */
export function list<T = any>(v: unknown): T[] {
  return Array.isArray(v) ? (v as T[]) : [];
}

/** Object or {}. */
export function obj(v: unknown): Record<string, any> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, any>) : {};
}

/** Number of keys of a map field (ConfigMap/Secret DATA). */
export function countKeys(...maps: unknown[]): number {
  return maps.reduce<number>((n, m) => n + Object.keys(obj(m)).length, 0);
}

// ---------------------------------------------------------------------------------------
// Workload tables (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob): upstream's
// printers end each with AGE, then the wide CONTAINERS, IMAGES (layoutContainerCells) and,
// for all but StatefulSet, SELECTOR.

export const CONTAINERS_COLUMN = column("Containers", "Names of each container in the template.", { priority: 1 });
export const IMAGES_COLUMN = column("Images", "Images referenced by each container in the template.", { priority: 1 });

/** layoutContainerCells: "a,b" and "img1,img2". */
export function containerCells(template: unknown): [string, string] {
  const cs = list(obj(obj(template).spec).containers).map(obj);
  return [cs.map((c) => (typeof c.name === "string" ? c.name : "")).join(","), cs.map((c) => (typeof c.image === "string" ? c.image : "")).join(",")];
}

/** AGE, CONTAINERS, IMAGES and (when a description is given) SELECTOR. */
export function workloadColumns(selectorDescription?: string): ColumnDefinition[] {
  const cols = [ageColumn(), CONTAINERS_COLUMN, IMAGES_COLUMN];
  if (selectorDescription !== undefined) cols.push(column("Selector", selectorDescription, { priority: 1 }));
  return cols;
}

/** The cells of workloadColumns: `selector` is the already formatted SELECTOR cell, if any. */
export function workloadCells(o: KObject, now: Date, template: unknown, selector?: string): string[] {
  const cells = [ageSince(o.metadata?.creationTimestamp, now), ...containerCells(template)];
  if (selector !== undefined) cells.push(selector);
  return cells;
}
