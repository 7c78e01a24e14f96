// REST handlers for resource requests: maps RequestInfo + query parameters onto the
// registry's verbs (https://kubernetes.io/docs/reference/using-api/api-concepts/),
// renders Tables when asked, and streams watches as newline-delimited JSON (one shared
// serialization per event and form, watchencoding.ts; per-watcher backpressure, watchstream.ts).

import type { IncomingMessage, ServerResponse } from "node:http";
import { BadRequest, MethodNotAllowed, NotFoundPath, StatusError } from "../apimachinery/errors.js";
import type { KObject } from "../apimachinery/types.js";
import type { ResourceDef } from "../api/types.js";
import type { Registry } from "./registry.js";
import type { RequestInfo } from "./requestinfo.js";
import { decodeBody, parseAccept, readBody, sendJSON, warningHeaders, type AcceptInfo } from "./negotiation.js";
import { parseFieldValidation } from "./fieldvalidation.js";
import { patchKindOf } from "./patching.js";
import { deleteCollection, deleteObject, type DeleteOptions } from "./deletion.js";
import { watchObjects } from "./watch.js";
import { watchFrame, type WatchWrapper } from "./watchencoding.js";
import { DEFAULT_WATCH_BUFFER_LIMIT, WatchStream } from "./watchstream.js";
import { bindPod, evictPod, finalizeNamespace, getScale, patchScale, updateScale } from "./subresources.js";
import { parseIncludeObject, partialObjectMetadata, toTable } from "./tables.js";
import { checkBody } from "./fieldvalidation.js";
import { Selection } from "./selection.js";
import { createTokenRequest, decodeTokenRequestBody } from "./tokenrequest.js";

/** Subresources served by other handlers (streaming through the node agent). */
export type StreamingHandler = (req: IncomingMessage, res: ServerResponse, def: ResourceDef, info: RequestInfo, query: URLSearchParams) => Promise<void>;

export interface HandlerDeps {
  registry: Registry;
  streaming?: StreamingHandler;
  /** Default and max watch duration when timeoutSeconds is absent (upstream: 30–60 min). */
  defaultWatchTimeoutSeconds?: number;
  /** Unsent bytes a watch may queue before it is closed as unresponsive (default 8 MiB). */
  watchBufferLimitBytes?: number;
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new BadRequest(`invalid value for ${name}: ${JSON.stringify(v)}: must be an integer`);
  return n;
}

function dryRun(q: URLSearchParams): boolean {
  const all = q.getAll("dryRun");
  for (const v of all) if (v !== "All") throw new BadRequest(`dryRun: Unsupported value: "${v}": supported values: "All"`);
  return all.length > 0;
}

/** The field manager of a write: ?fieldManager= or the user agent's program name. */
function fieldManager(req: IncomingMessage, q: URLSearchParams): string {
  const fm = q.get("fieldManager");
  if (fm) {
    if (fm.length > 128) throw new BadRequest("fieldManager: Too long: may not be more than 128 bytes");
    return fm;
  }
  const ua = req.headers["user-agent"] ?? "";
  return ua.split("/")[0] || "unknown";
}

export async function handleResource(req: IncomingMessage, res: ServerResponse, info: RequestInfo, query: URLSearchParams, deps: HandlerDeps): Promise<void> {
  const reg = deps.registry;
  const def = reg.catalogue.lookup(info.group, info.version, info.resource);
  if (!def) throw new NotFoundPath();
  const ns = def.namespaced ? info.namespace : undefined;
  if (def.namespaced && info.namespace === undefined && info.name) throw new NotFoundPath();
  const sub = info.subresource;
  if (sub === "token" && def.group === "" && def.plural === "serviceaccounts" && ns && info.name) {
    if (info.verb !== "create") throw new MethodNotAllowed();
    const b = decodeTokenRequestBody(await readBody(req), req.headers["content-type"]);
    return sendJSON(res, 201, await createTokenRequest(reg, ns, info.name, b));
  }
  // nodes/N/proxy/<path>: the rest of the path goes to the node agent (podproxy.ts).
  if (sub?.startsWith("proxy/") && def.group === "" && def.plural === "nodes" && info.name && deps.streaming) return deps.streaming(req, res, def, info, query);
  if (sub && !(def.subresources ?? []).includes(sub as never)) throw new NotFoundPath();
  if (sub && !info.name) throw new NotFoundPath();
  const accept = parseAccept(req.headers.accept);
  const send = (code: number, obj: KObject, warnings: string[] = []) => {
    let out: unknown = obj;
    if (accept.table && obj.kind === def.kind && !sub) {
      out = toTable(def, [obj], { resourceVersion: obj.metadata.resourceVersion }, parseIncludeObject(query.get("includeObject")));
    } else if (accept.partialMetadata && obj.kind === def.kind) out = partialObjectMetadata(obj);
    sendJSON(res, code, out, warningHeaders(warnings));
  };

  if (sub === "log" || sub === "exec" || sub === "attach" || sub === "portforward" || sub === "proxy") {
    if (!deps.streaming) throw new StatusError(503, "ServiceUnavailable", `${def.plural}/${sub} is not available: no node streaming configured`);
    return deps.streaming(req, res, def, info, query);
  }

  const body = async () => {
    const buf = await readBody(req);
    return decodeBody(buf, req.headers["content-type"]);
  };
  const fv = () => parseFieldValidation(query.get("fieldValidation"));
  const opts = () => ({ dryRun: dryRun(query), fieldManager: fieldManager(req, query), fieldValidation: fv() });

  switch (info.verb) {
    case "get": {
      if (sub === "scale") return send(200, await getScale(reg, def, ns, info.name!));
      return send(200, await reg.get(def, ns, info.name!));
    }
    case "list": {
      const list = await reg.list(def, ns, {
        labelSelector: query.get("labelSelector") ?? undefined,
        fieldSelector: query.get("fieldSelector") ?? undefined,
        limit: intParam(query, "limit"),
        continue: query.get("continue") ?? undefined,
        resourceVersion: query.get("resourceVersion") ?? undefined,
      });
      if (accept.table) return sendJSON(res, 200, toTable(def, list.items, list.metadata, parseIncludeObject(query.get("includeObject"))));
      if (accept.partialMetadata) {
        return sendJSON(res, 200, { kind: "PartialObjectMetadataList", apiVersion: "meta.k8s.io/v1", metadata: list.metadata, items: list.items.map(partialObjectMetadata) });
      }
      return sendJSON(res, 200, list);
    }
    case "watch":
      return serveWatch(req, res, def, ns, info, query, deps, accept);
    case "create": {
      const b = await body();
      if (sub === "binding" && def.plural === "pods") return send(201, await bindPod(reg, def, ns!, info.name!, b.value));
      if (sub === "eviction" && def.plural === "pods") return send(201, await evictPod(reg, def, ns!, info.name!, b.value));
      if (sub || info.name) throw new MethodNotAllowed();
      const o = opts();
      const dupWarnings = duplicateCheck(def, b.duplicates, o.fieldValidation);
      const r = await reg.create(def, ns, b.value, o);
      return send(201, r.object, [...dupWarnings, ...r.warnings]);
    }
    case "update": {
      const b = await body();
      const o = opts();
      if (sub === "scale") return send(200, await updateScale(reg, def, ns, info.name!, b.value, o));
      if (sub === "finalize") return send(200, await finalizeNamespace(reg, def, info.name!, b.value));
      if (sub && sub !== "status") throw new MethodNotAllowed();
      const dupWarnings = duplicateCheck(def, b.duplicates, o.fieldValidation);
      const r = await reg.update(def, ns, info.name!, b.value, { ...o, subresource: sub });
      return send(200, r.object, [...dupWarnings, ...r.warnings]);
    }
    case "patch": {
      const kind = patchKindOf(req.headers["content-type"] ?? "");
      const b = await body();
      const o = opts();
      if (sub === "scale") return send(200, await patchScale(reg, def, ns, info.name!, kind, b.value, o));
      if (sub && sub !== "status") throw new MethodNotAllowed();
      const force = query.get("force");
      if (force !== null && kind !== "apply") throw new BadRequest("force: Invalid value: force is only supported for apply patches");
      const dupWarnings = kind === "apply" ? duplicateCheck(def, b.duplicates, o.fieldValidation) : [];
      const r = await reg.patch(def, ns, info.name!, kind, b.value, { ...o, subresource: sub, force: force === "true" });
      return send(r.created ? 201 : 200, r.object, [...dupWarnings, ...r.warnings]);
    }
    case "delete": {
      if (sub) throw new MethodNotAllowed();
      const r = await deleteObject(reg, def, ns, info.name!, await deleteOptions(req, query));
      return send(200, r.object);
    }
    case "deletecollection": {
      const list = await deleteCollection(
        reg,
        def,
        ns,
        { labelSelector: query.get("labelSelector") ?? undefined, fieldSelector: query.get("fieldSelector") ?? undefined },
        await deleteOptions(req, query),
      );
      return sendJSON(res, 200, list);
    }
    default:
      throw new MethodNotAllowed();
  }
}

function duplicateCheck(def: ResourceDef, duplicates: string[], mode: ReturnType<typeof parseFieldValidation>): string[] {
  if (!duplicates.length) return [];
  // checkBody formats and enforces duplicates exactly like unknown fields.
  return checkBody(def, { apiVersion: undefined, kind: undefined, metadata: {} } as unknown as KObject, mode, duplicates).filter((w) => w.startsWith("duplicate"));
}

async function deleteOptions(req: IncomingMessage, query: URLSearchParams): Promise<DeleteOptions> {
  const buf = await readBody(req);
  let o: Record<string, any> = {};
  if (buf.length) {
    const d = decodeBody(buf, req.headers["content-type"]);
    if (d.value && typeof d.value === "object") o = d.value as Record<string, any>;
  }
  const grace = intParam(query, "gracePeriodSeconds") ?? o.gracePeriodSeconds;
  const policy = query.get("propagationPolicy") ?? o.propagationPolicy ?? (o.orphanDependents === true ? "Orphan" : o.orphanDependents === false ? "Background" : undefined);
  if (policy !== undefined && policy !== "Orphan" && policy !== "Background" && policy !== "Foreground") {
    throw new BadRequest(`propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`);
  }
  const dry = query.getAll("dryRun").length > 0 || (Array.isArray(o.dryRun) && o.dryRun.includes("All"));
  return { gracePeriodSeconds: grace, propagationPolicy: policy, preconditions: o.preconditions, dryRun: dry };
}

async function serveWatch(
  req: IncomingMessage,
  res: ServerResponse,
  def: ResourceDef,
  ns: string | undefined,
  info: RequestInfo,
  query: URLSearchParams,
  deps: HandlerDeps,
  accept: AcceptInfo,
): Promise<void> {
  const max = deps.defaultWatchTimeoutSeconds ?? 1800;
  const timeout = intParam(query, "timeoutSeconds") ?? Math.floor(max * (1 + Math.random()));
  let fieldSelector = query.get("fieldSelector") ?? undefined;
  if (info.name) fieldSelector = [fieldSelector, `metadata.name=${info.name}`].filter(Boolean).join(",");
  // Reject bad selectors with a Status before the stream starts.
  new Selection(def, query.get("labelSelector") ?? undefined, fieldSelector);
  // The form decides which shared bytes (watchencoding.ts) this watcher gets.
  const wrapper: WatchWrapper = accept.table
    ? { as: "Table", include: parseIncludeObject(query.get("includeObject")) }
    : accept.partialMetadata
      ? { as: "PartialObjectMetadata" }
      : { as: "Object" };
  let first = true; // a Table watch's first object event carries the column definitions
  res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache, private", "Transfer-Encoding": "chunked" });
  res.flushHeaders();
  let done = false;
  let w: { stop(): void } | undefined;
  const out = new WatchStream(res, deps.watchBufferLimitBytes ?? DEFAULT_WATCH_BUFFER_LIMIT, () => {
    done = true;
    clearTimeout(timer);
    w?.stop();
  });
  const finish = () => out.end();
  const timer = setTimeout(finish, timeout * 1000);
  req.on("close", finish);
  res.on("close", finish);
  let replaying = true;
  w = await watchObjects(
    deps.registry,
    def,
    ns,
    {
      labelSelector: query.get("labelSelector") ?? undefined,
      fieldSelector,
      resourceVersion: query.get("resourceVersion") ?? undefined,
      allowWatchBookmarks: query.get("allowWatchBookmarks") === "true",
    },
    (ev) => {
      if (done) return;
      const columns = first && wrapper.as === "Table" && ev.type !== "BOOKMARK" && ev.type !== "ERROR";
      if (columns) first = false;
      out.push(watchFrame(def, ev, wrapper, columns), replaying);
      if (ev.type === "ERROR") finish();
    },
  );
  replaying = false;
  if (done) w.stop();
}
