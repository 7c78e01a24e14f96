// Ingress routing rules (https://kubernetes.io/docs/concepts/services-networking/ingress/):
// which Ingresses this controller handles (IngressClass by spec.ingressClassName, the
// legacy kubernetes.io/ingress.class annotation, or none when our class is the default,
// https://kubernetes.io/docs/concepts/services-networking/ingress/#default-ingress-class),
// and the pure matching of a request's host and path against their rules. Hosts: an
// exact host beats a wildcard (`*.foo.com` matches exactly one extra label), which beats
// rules without a host. Paths: the longest matching path wins, Exact before Prefix at
// equal length; Prefix matches element-wise on `/` ("/foo" matches "/foo/bar", not
// "/foobar"; trailing slashes ignored); ImplementationSpecific is a plain string prefix
// here (like Traefik, k3s' ingress). Conflicting identical rules go to the oldest Ingress.
// A request whose host group has no matching path falls through to the less specific
// groups, then to the oldest defaultBackend; nothing matching means 404.

import type { KObject } from "../../apimachinery/types.js";

export const INGRESS_CONTROLLER = "tugboat.dev/ingress";
export const DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class";
export const LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class";

export type PathType = "Exact" | "Prefix" | "ImplementationSpecific";

export interface ServiceBackend {
  name: string;
  port: { number?: number; name?: string };
}

export interface Backend {
  /** The Ingress's namespace: service backends live beside it. */
  namespace: string;
  service?: ServiceBackend;
  /** A resource backend (not served: answered 503). */
  resource?: { apiGroup?: string; kind: string; name: string };
}

export interface Route {
  host: string;
  path: string;
  pathType: PathType;
  backend: Backend;
  ingress: { namespace: string; name: string };
}

export interface RouteTable {
  exact: Map<string, Route[]>;
  /** Keyed by the suffix after "*" (".foo.com"). */
  wildcard: Map<string, Route[]>;
  any: Route[];
  defaultBackend?: Route;
}

/** Does this controller handle the Ingress, given the cluster's IngressClasses? */
export function handlesIngress(ing: KObject, classes: KObject[], controller = INGRESS_CONTROLLER): boolean {
  const ours = (name: string) => classes.some((c) => c.metadata.name === name && c.spec?.controller === controller);
  const named: unknown = ing.spec?.ingressClassName ?? ing.metadata.annotations?.[LEGACY_CLASS_ANNOTATION];
  if (typeof named === "string" && named !== "") return ours(named);
  const defaults = classes.filter((c) => c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === "true");
  // With several defaults upstream refuses to pick; we handle it only when we are the one.
  return defaults.length === 1 && defaults[0]!.spec?.controller === controller;
}

/** "Host:port" / "[::1]:port" / "HOST." → "host". */
export function normalizeHost(host: string | undefined): string {
  if (!host) return "";
  let h = host.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(1, h.indexOf("]") > 0 ? h.indexOf("]") : undefined);
  const colon = h.indexOf(":");
  if (colon >= 0 && h.indexOf(":", colon + 1) < 0) h = h.slice(0, colon);
  return h.replace(/\.+$/, "");
}

const trimSlash = (p: string) => p.replace(/\/+$/, "");

/** Does a request path match one rule path of a type? */
export function pathMatches(pathType: PathType, rulePath: string, reqPath: string): boolean {
  if (pathType === "Exact") return reqPath === rulePath;
  if (pathType === "ImplementationSpecific") return reqPath.startsWith(rulePath || "/");
  const prefix = trimSlash(rulePath);
  if (prefix === "") return true;
  const req = trimSlash(reqPath);
  return req === prefix || req.startsWith(prefix + "/");
}

/** How specific a rule path is: longer first, Exact before the others at equal length. */
function specificity(r: Route): number {
  const len = r.pathType === "Prefix" ? trimSlash(r.path).length : r.path.length;
  return len * 2 + (r.pathType === "Exact" ? 1 : 0);
}

function byAge(a: KObject, b: KObject): number {
  const ta = Date.parse(a.metadata.creationTimestamp ?? "") || 0;
  const tb = Date.parse(b.metadata.creationTimestamp ?? "") || 0;
  return ta - tb || `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`);
}

function backendOf(namespace: string, b: any): Backend | undefined {
  if (!b || typeof b !== "object") return undefined;
  if (b.service && typeof b.service.name === "string") {
    const port = b.service.port ?? {};
    return { namespace, service: { name: b.service.name, port: { ...(typeof port.number === "number" ? { number: port.number } : {}), ...(typeof port.name === "string" && port.name ? { name: port.name } : {}) } } };
  }
  if (b.resource && typeof b.resource.name === "string") return { namespace, resource: { apiGroup: b.resource.apiGroup, kind: String(b.resource.kind ?? ""), name: b.resource.name } };
  return undefined;
}

/** The routing table of the handled Ingresses (already filtered by class). */
export function buildRouteTable(ingresses: KObject[]): RouteTable {
  const table: RouteTable = { exact: new Map(), wildcard: new Map(), any: [] };
  const sorted = [...ingresses].sort(byAge);
  for (const ing of sorted) {
    const namespace = ing.metadata.namespace!;
    const ref = { namespace, name: ing.metadata.name! };
    const def = backendOf(namespace, ing.spec?.defaultBackend);
    if (def && !table.defaultBackend) table.defaultBackend = { host: "", path: "/", pathType: "Prefix", backend: def, ingress: ref };
    for (const rule of Array.isArray(ing.spec?.rules) ? ing.spec.rules : []) {
      const host = normalizeHost(typeof rule?.host === "string" ? rule.host : "");
      for (const p of Array.isArray(rule?.http?.paths) ? rule.http.paths : []) {
        const backend = backendOf(namespace, p?.backend);
        if (!backend) continue;
        const pathType: PathType = p.pathType === "Exact" || p.pathType === "Prefix" ? p.pathType : "ImplementationSpecific";
        const route: Route = { host, path: typeof p.path === "string" && p.path ? p.path : "/", pathType, backend, ingress: ref };
        let group: Route[];
        if (host === "") group = table.any;
        else if (host.startsWith("*.")) {
          const suffix = host.slice(1);
          group = table.wildcard.get(suffix) ?? [];
          table.wildcard.set(suffix, group);
        } else {
          group = table.exact.get(host) ?? [];
          table.exact.set(host, group);
        }
        group.push(route);
      }
      // A rule with a host but no paths routes that host to the default backend.
    }
  }
  // Stable sort keeps the oldest Ingress first among equally specific rules.
  const order = (g: Route[]) => g.sort((a, b) => specificity(b) - specificity(a));
  for (const g of table.exact.values()) order(g);
  for (const g of table.wildcard.values()) order(g);
  order(table.any);
  return table;
}

/** The route for a request, or undefined (→ 404). The path is taken without its query. */
export function matchRoute(table: RouteTable, hostHeader: string | undefined, url: string): Route | undefined {
  const host = normalizeHost(hostHeader);
  const q = url.indexOf("?");
  const path = q >= 0 ? url.slice(0, q) : url;
  const groups: Route[][] = [];
  const exact = table.exact.get(host);
  if (exact) groups.push(exact);
  const dot = host.indexOf(".");
  if (dot > 0) {
    const wild = table.wildcard.get(host.slice(dot));
    if (wild) groups.push(wild);
  }
  groups.push(table.any);
  for (const g of groups) {
    for (const r of g) if (pathMatches(r.pathType, r.path, path)) return r;
  }
  return table.defaultBackend;
}
