// Content negotiation for requests and responses
// (https://kubernetes.io/docs/reference/using-api/api-concepts/#alternate-representations-of-resources):
// request bodies in JSON, YAML or Kubernetes protobuf (capped at 3 MiB like upstream),
// responses in JSON, as Tables for human `kubectl get`, or as PartialObjectMetadata.

import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseYaml } from "yaml";
import { BadRequest, RequestEntityTooLarge, UnsupportedMediaType, type StatusError } from "../apimachinery/errors.js";
import { decodeProtobufObject } from "../apimachinery/protobuf.js";
import { findDuplicateFields } from "../api/schema/fieldcheck.js";

export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_BODY_BYTES) {
    req.resume();
    throw new RequestEntityTooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY_BYTES) {
      req.resume();
      throw new RequestEntityTooLarge();
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

export interface DecodedBody {
  value: unknown;
  /** Duplicate field paths found in a JSON/YAML text body (for fieldValidation). */
  duplicates: string[];
}

export function mediaType(contentType: string | undefined): string {
  return (contentType ?? "application/json").split(";")[0]!.trim().toLowerCase();
}

/** Decodes a body by Content-Type. Patch media types other than apply are JSON. */
export function decodeBody(buf: Buffer, contentType: string | undefined): DecodedBody {
  const mt = mediaType(contentType);
  if (buf.length === 0) throw new BadRequest("the request body is empty: an object is required");
  if (mt === "application/vnd.kubernetes.protobuf") {
    return { value: decodeProtobufObject(new Uint8Array(buf)), duplicates: [] };
  }
  const text = buf.toString("utf8");
  if (
    mt === "application/json" ||
    mt === "application/json-patch+json" ||
    mt === "application/merge-patch+json" ||
    mt === "application/strategic-merge-patch+json" ||
    mt === "*/*" ||
    mt === ""
  ) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new BadRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
    }
    return { value, duplicates: safeDuplicates(text) };
  }
  if (mt === "application/yaml" || mt === "application/apply-patch+yaml" || mt === "application/x-yaml" || mt === "text/yaml") {
    let value: unknown;
    try {
      value = parseYaml(text, { uniqueKeys: false, maxAliasCount: 100 });
    } catch (e) {
      throw new BadRequest(`error converting YAML to JSON: ${(e as Error).message.split("\n")[0]}`);
    }
    const trimmed = text.trimStart();
    return { value, duplicates: trimmed.startsWith("{") ? safeDuplicates(text) : [] };
  }
  throw new UnsupportedMediaType(mt);
}

function safeDuplicates(text: string): string[] {
  try {
    return findDuplicateFields(text);
  } catch {
    return [];
  }
}

export interface AcceptInfo {
  table: boolean;
  partialMetadata: boolean;
}

/** Reads `Accept` for the as=Table / as=PartialObjectMetadata(List) forms kubectl asks for. */
export function parseAccept(accept: string | undefined): AcceptInfo {
  const out: AcceptInfo = { table: false, partialMetadata: false };
  if (!accept) return out;
  // Clauses are in preference order; the first one we can serve wins.
  for (const clause of accept.split(",")) {
    const params = clause.split(";").map((s) => s.trim());
    const mt = params[0]!.toLowerCase();
    const as = params.find((p) => p.startsWith("as="))?.slice(3);
    if (as === "Table") {
      out.table = true;
      return out;
    }
    if (as === "PartialObjectMetadata" || as === "PartialObjectMetadataList") {
      out.partialMetadata = true;
      return out;
    }
    if (mt === "application/json" || mt === "*/*" || mt === "application/vnd.kubernetes.protobuf" || mt === "application/yaml") return out;
  }
  return out;
}

export function sendJSON(res: ServerResponse, code: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-cache, private",
    ...headers,
  });
  res.end(text);
}

export function sendStatus(res: ServerResponse, err: StatusError, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const extra: Record<string, string> = { ...headers };
  if (err.code === 429 && err.details?.retryAfterSeconds) extra["Retry-After"] = String(err.details.retryAfterSeconds);
  sendJSON(res, err.code, err.toStatus(), extra);
}

/** Formats warnings as RFC 7234 Warning headers, as the API server does. */
export function warningHeaders(warnings: string[]): Record<string, string[]> {
  if (!warnings.length) return {};
  return { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`) };
}
