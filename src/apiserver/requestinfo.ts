// Request routing: turns a URL path and method into what Kubernetes calls RequestInfo
// (verb, API group/version, namespace, resource, name, subresource), following the
// path layout in https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-uris.

export interface RequestInfo {
  /** False for non-resource paths (/version, /healthz, /openapi/…). */
  isResourceRequest: boolean;
  path: string;
  verb: string;
  apiPrefix: "api" | "apis" | "";
  group: string;
  version: string;
  namespace?: string;
  resource: string;
  name?: string;
  subresource?: string;
  /** Path parts after the group/version, e.g. ["namespaces", "default"] for discovery. */
  parts: string[];
}

/** Namespace subresources that are not namespaced resource paths. */
const namespaceSubresources = new Set(["status", "finalize"]);

export function parseRequestInfo(method: string, pathname: string, query: URLSearchParams): RequestInfo {
  const path = pathname.replace(/\/+$/, "") || "/";
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const info: RequestInfo = {
    isResourceRequest: false,
    path,
    verb: method.toLowerCase(),
    apiPrefix: "",
    group: "",
    version: "",
    resource: "",
    parts: [],
  };
  if (parts[0] !== "api" && parts[0] !== "apis") return info;
  info.apiPrefix = parts[0];
  let rest: string[];
  if (parts[0] === "api") {
    if (parts.length < 2) return info;
    info.version = parts[1]!;
    rest = parts.slice(2);
  } else {
    if (parts.length < 3) {
      if (parts.length === 2) info.group = parts[1]!;
      return info;
    }
    info.group = parts[1]!;
    info.version = parts[2]!;
    rest = parts.slice(3);
  }
  info.parts = rest;
  if (rest.length === 0) return info;
  info.isResourceRequest = true;
  // Legacy /watch/ prefix: GET …/watch/pods == GET …/pods?watch=true.
  let watchPrefix = false;
  if (rest[0] === "watch") {
    watchPrefix = true;
    rest = rest.slice(1);
  }
  if (rest[0] === "namespaces" && rest.length > 1) {
    info.namespace = rest[1];
    if (rest.length > 2 && !namespaceSubresources.has(rest[2]!)) rest = rest.slice(2);
  }
  info.resource = rest[0] ?? "";
  info.name = rest[1];
  info.subresource = rest[2];
  if (rest.length > 3) info.subresource = rest.slice(2).join("/");

  const m = method.toUpperCase();
  const watch = watchPrefix || query.get("watch") === "true" || query.get("watch") === "1";
  if (m === "GET" || m === "HEAD") info.verb = info.name ? (watch ? "watch" : "get") : watch ? "watch" : "list";
  else if (m === "POST") info.verb = "create";
  else if (m === "PUT") info.verb = "update";
  else if (m === "PATCH") info.verb = "patch";
  else if (m === "DELETE") info.verb = info.name ? "delete" : "deletecollection";
  return info;
}
