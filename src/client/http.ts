// The Client interface over the Kubernetes REST API
// (https://kubernetes.io/docs/reference/using-api/api-concepts/): resource paths
// (/api/v1/namespaces/NS/pods/NAME, /apis/GROUP/VERSION/…), list/watch query parameters,
// patch media types, DeleteOptions bodies, and Status errors mapped back onto the
// classes of apimachinery/errors.ts. Watches are newline-delimited JSON streams
// (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes).
// Plain requests share one keep-alive agent; watches hold their socket for minutes, so
// they get their own agent and never starve ordinary requests of sockets.

import * as http from "node:http";
import * as https from "node:https";
import type { KList, KObject, WatchEvent } from "../apimachinery/types.js";
import {
  AlreadyExists,
  BadRequest,
  Conflict,
  Forbidden,
  Gone,
  InternalError,
  Invalid,
  MethodNotAllowed,
  NotAcceptable,
  NotFound,
  RequestEntityTooLarge,
  ServiceUnavailable,
  StatusError,
  Timeout,
  TooManyRequests,
  Unauthorized,
  UnsupportedMediaType,
  type Status,
} from "../apimachinery/errors.js";
import { patchContentTypes, type Client, type DeleteOpts, type ListOpts, type PatchOpts, type PatchType, type WatchHandle, type WatchOpts, type WriteOpts } from "./types.js";

export interface HttpClientConfig {
  /** "https://127.0.0.1:6443" (http:// is accepted for tests; kubectl sends no token over it, nor do we). */
  server: string;
  /** PEM of the CA that signed the server certificate; omitted: system roots. */
  ca?: string;
  cert?: string;
  key?: string;
  token?: string;
  insecure?: boolean;
  /** true = namespaced, false = cluster-scoped, undefined = unknown (use the namespace if one is given). */
  scopeOf?: (gvr: string) => boolean | undefined;
  /** Per-request deadline for everything but watches (ms, default 30 000). */
  timeoutMs?: number;
  /** Sockets per server for ordinary requests (default 64). */
  maxSockets?: number;
  userAgent?: string;
  /** Receives the text of each `Warning:` response header. */
  onWarning?: (message: string) => void;
}

export interface RawRequest {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  accept?: string;
}

export interface HttpClient extends Client {
  /** Any API path (e.g. "/version", discovery) answered with JSON; errors as StatusError. */
  request<T = unknown>(method: string, path: string, req?: RawRequest): Promise<T>;
  /** Closes idle keep-alive sockets and all open watches. */
  close(): void;
}

/** Cluster-scoped built-in resources ("group/resource", core group = ""). Everything else built in is namespaced. */
const clusterScoped = new Set([
  "/nodes",
  "/namespaces",
  "/persistentvolumes",
  "/componentstatuses",
  "rbac.authorization.k8s.io/clusterroles",
  "rbac.authorization.k8s.io/clusterrolebindings",
  "storage.k8s.io/storageclasses",
  "storage.k8s.io/csidrivers",
  "storage.k8s.io/csinodes",
  "storage.k8s.io/volumeattachments",
  "apiextensions.k8s.io/customresourcedefinitions",
  "apiregistration.k8s.io/apiservices",
  "admissionregistration.k8s.io/mutatingwebhookconfigurations",
  "admissionregistration.k8s.io/validatingwebhookconfigurations",
  "admissionregistration.k8s.io/validatingadmissionpolicies",
  "admissionregistration.k8s.io/validatingadmissionpolicybindings",
  "scheduling.k8s.io/priorityclasses",
  "networking.k8s.io/ingressclasses",
  "networking.k8s.io/ipaddresses",
  "networking.k8s.io/servicecidrs",
  "node.k8s.io/runtimeclasses",
  "certificates.k8s.io/certificatesigningrequests",
  "flowcontrol.apiserver.k8s.io/flowschemas",
  "flowcontrol.apiserver.k8s.io/prioritylevelconfigurations",
  "authentication.k8s.io/tokenreviews",
  "authentication.k8s.io/selfsubjectreviews",
  "authorization.k8s.io/subjectaccessreviews",
  "authorization.k8s.io/selfsubjectaccessreviews",
  "authorization.k8s.io/selfsubjectrulesreviews",
  "metrics.k8s.io/nodes",
]);

const namespacedGroups = new Set([
  "",
  "apps",
  "batch",
  "autoscaling",
  "policy",
  "networking.k8s.io",
  "discovery.k8s.io",
  "coordination.k8s.io",
  "events.k8s.io",
  "rbac.authorization.k8s.io",
  "storage.k8s.io",
  "metrics.k8s.io",
  "authorization.k8s.io",
]);

interface ParsedGVR {
  group: string;
  resource: string;
  /** "/api/v1" or "/apis/apps/v1" */
  prefix: string;
}

const parsedGVRs = new Map<string, ParsedGVR>();

function parseGVR(gvr: string): ParsedGVR {
  let p = parsedGVRs.get(gvr);
  if (p) return p;
  const parts = typeof gvr === "string" ? gvr.split("/") : [];
  if (parts.some((s) => !s || s.includes("?") || s.includes("#"))) throw new BadRequest(`resource "${gvr}": expected "v1/pods" or "apps/v1/deployments"`);
  if (parts.length === 2) p = { group: "", resource: parts[1]!, prefix: `/api/${parts[0]}` };
  else if (parts.length === 3) p = { group: parts[0]!, resource: parts[2]!, prefix: `/apis/${parts[0]}/${parts[1]}` };
  else throw new BadRequest(`resource "${gvr}": expected "v1/pods" or "apps/v1/deployments"`);
  parsedGVRs.set(gvr, p);
  return p;
}

/** Scope of built-in resources; undefined for resources this table does not know (CRDs). */
export function builtinScope(gvr: string): boolean | undefined {
  const { group, resource } = parseGVR(gvr);
  if (clusterScoped.has(`${group}/${resource}`)) return false;
  return namespacedGroups.has(group) ? true : undefined;
}

/** A Status's reason → the catalogue class; the code decides when the reason is unknown. */
const byReason: Record<string, Function> = {
  NotFound,
  AlreadyExists,
  Conflict,
  Invalid,
  BadRequest,
  Unauthorized,
  Forbidden,
  MethodNotAllowed,
  NotAcceptable,
  Expired: Gone,
  Gone,
  RequestEntityTooLarge,
  UnsupportedMediaType,
  TooManyRequests,
  InternalError,
  ServiceUnavailable,
  Timeout,
};

const byCode: Record<number, Function> = {
  400: BadRequest,
  401: Unauthorized,
  403: Forbidden,
  404: NotFound,
  405: MethodNotAllowed,
  406: NotAcceptable,
  409: Conflict,
  410: Gone,
  413: RequestEntityTooLarge,
  415: UnsupportedMediaType,
  422: Invalid,
  429: TooManyRequests,
  500: InternalError,
  503: ServiceUnavailable,
  504: Timeout,
};

const defaultReasons: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  406: "NotAcceptable",
  409: "Conflict",
  410: "Gone",
  413: "RequestEntityTooLarge",
  415: "UnsupportedMediaType",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

/**
 * The server's Status as the matching catalogue class, with its code, reason, message
 * and details exactly as sent: the base constructor runs with the subclass as new.target,
 * so `instanceof NotFound` holds without re-deriving the message.
 */
export function statusErrorFromStatus(status: Partial<Status>, httpCode: number): StatusError {
  const code = typeof status.code === "number" && status.code > 0 ? status.code : httpCode;
  const reason = status.reason || defaultReasons[code] || "Unknown";
  const message = status.message || `the server responded with ${code} ${reason}`;
  const cls = byReason[reason] ?? byCode[code];
  const args = [code, reason, message, status.details];
  return cls ? (Reflect.construct(StatusError, args, cls) as StatusError) : new StatusError(code, reason, message, status.details);
}

function errorFromBody(code: number, body: string): StatusError {
  try {
    const parsed = JSON.parse(body);
    if (parsed && typeof parsed === "object" && parsed.kind === "Status") return statusErrorFromStatus(parsed, code);
  } catch {
    // not JSON: a proxy's or a panic's text
  }
  const text = body.trim().slice(0, 1024);
  return statusErrorFromStatus({ message: text || undefined }, code);
}

function queryString(q: Record<string, string | number | boolean | undefined> | undefined): string {
  if (!q) return "";
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === "") continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

function writeQuery(opts: WriteOpts | undefined): Record<string, string | undefined> {
  return {
    dryRun: opts?.dryRun ? "All" : undefined,
    fieldManager: opts?.fieldManager,
    fieldValidation: opts?.fieldValidation,
  };
}

function deleteOptions(opts: DeleteOpts | undefined): Record<string, unknown> {
  const body: Record<string, unknown> = { kind: "DeleteOptions", apiVersion: "v1" };
  if (opts?.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
  if (opts?.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
  if (opts?.preconditions) body.preconditions = opts.preconditions;
  if (opts?.dryRun) body.dryRun = ["All"];
  return body;
}

/** "299 - \"message\"" → "message" (RFC 7234 warn-text). */
function warningText(h: string): string {
  const m = /^\d{3}\s+\S+\s+"((?:[^"\\]|\\.)*)"/.exec(h);
  return m ? m[1]!.replace(/\\(.)/g, "$1") : h;
}

interface Response {
  status: number;
  body: string;
}

export function createHttpClient(cfg: HttpClientConfig): HttpClient {
  let base: URL;
  try {
    base = new URL(cfg.server);
  } catch {
    throw new BadRequest(`server: "${cfg.server}" is not a URL`);
  }
  if (base.protocol !== "https:" && base.protocol !== "http:") throw new BadRequest(`server: "${cfg.server}" must be an http(s) URL`);
  const secure = base.protocol === "https:";
  const pathBase = base.pathname.replace(/\/+$/, "");
  const timeoutMs = cfg.timeoutMs ?? 30_000;
  const scopeOf = cfg.scopeOf ?? builtinScope;
  const userAgent = cfg.userAgent ?? "tugboat/0.1";

  const tls = secure ? { ca: cfg.ca, cert: cfg.cert, key: cfg.key, rejectUnauthorized: !cfg.insecure } : {};
  const mkAgent = (o: http.AgentOptions) => (secure ? new https.Agent({ ...o, ...tls }) : new http.Agent(o));
  const agent = mkAgent({ keepAlive: true, maxSockets: cfg.maxSockets ?? 64, keepAliveMsecs: 30_000 });
  const watchAgent = mkAgent({ keepAlive: true, keepAliveMsecs: 30_000 });
  const transport = secure ? https : http;
  const openWatches = new Set<http.ClientRequest>();

  const baseHeaders: Record<string, string> = { "User-Agent": userAgent };
  if (cfg.token && secure) baseHeaders.Authorization = `Bearer ${cfg.token}`;

  function namespaceFor(gvr: string, ns: string | undefined, required: boolean): string | undefined {
    const namespaced = scopeOf(gvr);
    if (namespaced === false) return undefined;
    if (namespaced === true && required && !ns) throw new BadRequest(`metadata.namespace: required for namespaced resource ${gvr}`);
    return ns || undefined;
  }

  function collectionPath(gvr: string, ns: string | undefined): string {
    const p = parseGVR(gvr);
    return ns ? `${p.prefix}/namespaces/${encodeURIComponent(ns)}/${p.resource}` : `${p.prefix}/${p.resource}`;
  }

  function itemPath(gvr: string, ns: string | undefined, name: string | undefined, sub?: string): string {
    if (!name || typeof name !== "string") throw new BadRequest(`metadata.name: required for ${gvr}`);
    const path = `${collectionPath(gvr, namespaceFor(gvr, ns, true))}/${encodeURIComponent(name)}`;
    return sub ? `${path}/${sub.split("/").map(encodeURIComponent).join("/")}` : path;
  }

  function reportWarnings(res: http.IncomingMessage): void {
    const w = res.headers.warning;
    if (!w || !cfg.onWarning) return;
    for (const h of Array.isArray(w) ? w : [w]) cfg.onWarning(warningText(h));
  }

  function networkError(method: string, path: string, e: Error & { code?: string }): StatusError {
    if (e instanceof StatusError) return e;
    const err = new ServiceUnavailable(`${method} ${base.origin}${path}: ${e.code ?? e.message}`);
    (err as { cause?: unknown }).cause = e;
    return err;
  }

  function send(method: string, path: string, req: RawRequest = {}): Promise<Response> {
    const headers: Record<string, string> = { ...baseHeaders, Accept: req.accept ?? "application/json" };
    let payload: Buffer | undefined;
    if (req.body !== undefined) {
      payload = Buffer.from(typeof req.body === "string" ? req.body : JSON.stringify(req.body));
      headers["Content-Type"] = req.contentType ?? "application/json";
      headers["Content-Length"] = String(payload.length);
    }
    const fullPath = pathBase + path + queryString(req.query);
    return new Promise<Response>((resolve, reject) => {
      const r = transport.request(
        { protocol: base.protocol, hostname: base.hostname.replace(/^\[(.*)\]$/, "$1"), port: base.port || (secure ? 443 : 80), method, path: fullPath, headers, agent },
        (res) => {
          reportWarnings(res);
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
          });
          res.on("error", (e) => {
            clearTimeout(timer);
            reject(networkError(method, path, e));
          });
        },
      );
      // A whole-request deadline (setTimeout on the request only measures idleness).
      const timer = setTimeout(() => r.destroy(new Timeout(`${method} ${path}: no answer within ${timeoutMs / 1000}s`)), timeoutMs);
      r.on("error", (e) => {
        clearTimeout(timer);
        reject(networkError(method, path, e));
      });
      r.end(payload);
    });
  }

  async function request<T = unknown>(method: string, path: string, req?: RawRequest): Promise<T> {
    const res = await send(method, path, req);
    if (res.status < 200 || res.status >= 300) throw errorFromBody(res.status, res.body);
    if (!res.body) return {} as T;
    try {
      return JSON.parse(res.body) as T;
    } catch {
      throw new InternalError(`${method} ${path}: the server answered ${res.status} with a body that is not JSON`);
    }
  }

  function listQuery(opts: ListOpts | WatchOpts | undefined): Record<string, string | number | boolean | undefined> {
    return {
      labelSelector: opts?.labelSelector,
      fieldSelector: opts?.fieldSelector,
      resourceVersion: opts?.resourceVersion,
    };
  }

  function objectName(obj: KObject): string | undefined {
    if (!obj || typeof obj !== "object" || !obj.metadata || typeof obj.metadata !== "object") throw new BadRequest("metadata: required");
    return obj.metadata.name;
  }

  const client: HttpClient = {
    request,

    // Every method is async so bad input surfaces as a rejected promise, never a synchronous throw.

    async get(gvr, namespace, name) {
      return request<KObject>("GET", itemPath(gvr, namespace, name));
    },

    async list(gvr, opts = {}) {
      const path = collectionPath(gvr, namespaceFor(gvr, opts.namespace, false));
      return request<KList>("GET", path, { query: { ...listQuery(opts), limit: opts.limit, continue: opts.continue } });
    },

    async create(gvr, obj, opts) {
      objectName(obj);
      const path = collectionPath(gvr, namespaceFor(gvr, obj.metadata.namespace, true));
      return request<KObject>("POST", path, { body: obj, query: writeQuery(opts) });
    },

    async createSubresource(gvr, namespace, name, subresource, body) {
      return request<KObject>("POST", itemPath(gvr, namespace, name, subresource), { body });
    },

    async update(gvr, obj, opts) {
      // opts.subresource: PUT …/status or …/finalize (namespaces).
      return request<KObject>("PUT", itemPath(gvr, obj?.metadata?.namespace, objectName(obj), opts?.subresource), { body: obj, query: writeQuery(opts) });
    },

    async updateStatus(gvr, obj, opts) {
      return request<KObject>("PUT", itemPath(gvr, obj?.metadata?.namespace, objectName(obj), "status"), { body: obj, query: writeQuery(opts) });
    },

    async patch(gvr, namespace, name, type: PatchType, patch, opts: PatchOpts = {}) {
      const contentType = patchContentTypes[type];
      if (!contentType) throw new BadRequest(`patch type "${type}": supported values: ${Object.keys(patchContentTypes).join(", ")}`);
      const query: Record<string, string | boolean | undefined> = writeQuery(opts);
      if (opts.force !== undefined && type === "apply") query.force = opts.force;
      return request<KObject>("PATCH", itemPath(gvr, namespace, name, opts.subresource), { body: patch, contentType, query });
    },

    async delete(gvr, namespace, name, opts) {
      return request<KObject>("DELETE", itemPath(gvr, namespace, name), { body: deleteOptions(opts) });
    },

    async deleteCollection(gvr, opts = {}) {
      const path = collectionPath(gvr, namespaceFor(gvr, opts.namespace, false));
      await request("DELETE", path, { body: deleteOptions(opts), query: { ...listQuery(opts), limit: opts.limit, continue: opts.continue } });
    },

    async watch(gvr, opts, onEvent) {
      const path = collectionPath(gvr, namespaceFor(gvr, opts.namespace, false));
      const query = {
        ...listQuery(opts),
        allowWatchBookmarks: opts.allowWatchBookmarks ? true : undefined,
        timeoutSeconds: opts.timeoutSeconds,
        watch: true,
      };
      return openWatch(path, query, onEvent);
    },

    close() {
      for (const r of openWatches) r.destroy();
      openWatches.clear();
      agent.destroy();
      watchAgent.destroy();
    },
  };

  function openWatch(path: string, query: Record<string, string | number | boolean | undefined>, onEvent: (ev: WatchEvent) => void): Promise<WatchHandle> {
    const fullPath = pathBase + path + queryString(query);
    const headers = { ...baseHeaders, Accept: "application/json" };
    return new Promise<WatchHandle>((resolveHandle, rejectHandle) => {
      let finish!: () => void;
      const done = new Promise<void>((r) => (finish = r));
      let stopped = false;
      let established = false;
      const r = transport.request({
        protocol: base.protocol,
        hostname: base.hostname.replace(/^\[(.*)\]$/, "$1"),
        port: base.port || (secure ? 443 : 80),
        method: "GET",
        path: fullPath,
        headers,
        agent: watchAgent,
      });
      openWatches.add(r);
      const end = () => {
        openWatches.delete(r);
        clearTimeout(timer);
        finish();
      };
      const stop = () => {
        if (stopped) return;
        stopped = true;
        r.destroy();
        end();
      };
      // Only the wait for the response head is bounded; the stream itself lasts as long as the server keeps it.
      const timer = setTimeout(() => r.destroy(new Timeout(`GET ${path} (watch): no answer within ${timeoutMs / 1000}s`)), timeoutMs);
      r.on("error", (e) => {
        if (!established) {
          end();
          rejectHandle(networkError("GET", path, e));
        } else end();
      });
      r.on("close", end);
      r.on("response", (res) => {
        clearTimeout(timer);
        reportWarnings(res);
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            end();
            rejectHandle(errorFromBody(res.statusCode ?? 0, Buffer.concat(chunks).toString("utf8")));
          });
          res.on("error", (e) => {
            end();
            rejectHandle(networkError("GET", path, e));
          });
          return;
        }
        established = true;
        resolveHandle({ stop, done });
        res.setEncoding("utf8");
        let pending = "";
        const deliver = (line: string): boolean => {
          if (stopped || !line.trim()) return true;
          let ev: WatchEvent;
          let undecodable = false;
          try {
            ev = JSON.parse(line) as WatchEvent;
          } catch {
            // The stream is out of step; report it as the server would (an ERROR Status) and end the watch.
            undecodable = true;
            ev = { type: "ERROR", object: new InternalError(`watch ${path}: undecodable event: ${line.slice(0, 200)}`).toStatus() as unknown as KObject };
          }
          try {
            onEvent(ev);
          } catch (e) {
            // A failing handler ends this watch (the caller re-lists); it must not take the process down.
            process.emitWarning(`watch ${path}: event handler threw: ${(e as Error)?.message ?? e}`);
            stop();
            return false;
          }
          if (undecodable) stop();
          return !stopped;
        };
        res.on("data", (chunk: string) => {
          pending += chunk;
          let start = 0;
          let nl: number;
          while ((nl = pending.indexOf("\n", start)) >= 0) {
            const line = pending.slice(start, nl);
            start = nl + 1;
            if (!deliver(line)) return;
          }
          pending = start ? pending.slice(start) : pending;
        });
        res.on("end", () => {
          if (pending) deliver(pending);
          pending = "";
          end();
        });
        res.on("error", end);
      });
      r.end();
    });
  }

  return client;
}
