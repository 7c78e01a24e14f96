// PATCH dispatch: turns a patch request into the object to store, for the four patch
// types (json, merge, strategic merge, server-side apply), and keeps
// metadata.managedFields for ordinary writes
// (https://kubernetes.io/docs/reference/using-api/server-side-apply/). The patch
// algorithms live in src/apimachinery/patch; this file binds them to the catalogue's
// schema and the request.

import { BadRequest, StatusError, UnsupportedMediaType } from "../apimachinery/errors.js";
import { deepCopy, nowRFC3339, type KObject, type ManagedFieldsEntry } from "../apimachinery/types.js";
import { isPlainObject } from "../apimachinery/equality.js";
import type { ResourceDef } from "../api/types.js";
import { apiVersionOf } from "../api/types.js";
import { schema, typeNameFor } from "../api/schema/registry.js";
import { applyJsonPatch } from "../apimachinery/patch/jsonpatch.js";
import { applyMergePatch } from "../apimachinery/patch/mergepatch.js";
import { applyStrategicMergePatch } from "../apimachinery/patch/strategic.js";
import { serverSideApply } from "../apimachinery/patch/apply.js";
import { updateManagedFields } from "../apimachinery/patch/managedfields.js";

export type PatchKind = "json" | "merge" | "strategic" | "apply";

export function patchKindOf(contentType: string): PatchKind {
  const ct = contentType.split(";")[0]!.trim().toLowerCase();
  switch (ct) {
    case "application/json-patch+json":
      return "json";
    case "application/merge-patch+json":
      return "merge";
    case "application/strategic-merge-patch+json":
      return "strategic";
    case "application/apply-patch+yaml":
    case "application/apply-patch+cbor":
      return "apply";
    default:
      throw new UnsupportedMediaType(contentType);
  }
}

export interface PatchInput {
  def: ResourceDef;
  kind: PatchKind;
  live: KObject | undefined;
  patch: unknown;
  name: string;
  namespace: string | undefined;
  opts: { fieldManager?: string; force?: boolean; subresource?: string };
  now: Date;
}

export interface PatchOutput {
  object: KObject;
  /** A resourceVersion the patch itself demands (a precondition). */
  pinnedResourceVersion?: string;
  /** The merged object came from a JSON document the client did not write in full. */
  skipFieldCheck: boolean;
}

function typeName(def: ResourceDef): string {
  return typeNameFor(def.group, def.version, def.kind) ?? "";
}

export function applyPatch(input: PatchInput): PatchOutput {
  const { def, kind, live, patch } = input;
  const rv = live?.metadata.resourceVersion;
  const pinned = (o: unknown): string | undefined => {
    const v = isPlainObject(o) && isPlainObject(o.metadata) ? o.metadata.resourceVersion : undefined;
    return typeof v === "string" && v !== rv ? v : undefined;
  };
  try {
    switch (kind) {
      case "json": {
        if (!Array.isArray(patch)) throw new BadRequest("json patch must be a JSON array of operations");
        const out = applyJsonPatch(deepCopy(live), patch) as KObject;
        return { object: out, pinnedResourceVersion: pinned(out), skipFieldCheck: false };
      }
      case "merge": {
        if (!isPlainObject(patch)) throw new BadRequest("merge patch must be a JSON object");
        const out = applyMergePatch(deepCopy(live), patch) as KObject;
        return { object: out, pinnedResourceVersion: pinned(out), skipFieldCheck: false };
      }
      case "strategic": {
        if (!isPlainObject(patch)) throw new BadRequest("strategic merge patch must be a JSON object");
        const out = applyStrategicMergePatch(deepCopy(live), patch, schema, typeName(def)) as KObject;
        return { object: out, pinnedResourceVersion: pinned(out), skipFieldCheck: false };
      }
      case "apply": {
        if (!isPlainObject(patch)) throw new BadRequest("apply patch must be a YAML or JSON object");
        const applied = patch as KObject;
        const served = apiVersionOf(def);
        if (applied.apiVersion !== served || applied.kind !== def.kind) {
          throw new BadRequest(
            `apply patch must have apiVersion "${served}" and kind "${def.kind}" (got apiVersion ${JSON.stringify(applied.apiVersion)}, kind ${JSON.stringify(applied.kind)})`,
          );
        }
        if (!isPlainObject(applied.metadata)) applied.metadata = {};
        if (applied.metadata.name !== undefined && applied.metadata.name !== input.name) {
          throw new BadRequest(`the name of the object (${String(applied.metadata.name)}) does not match the name on the URL (${input.name})`);
        }
        applied.metadata.name = input.name;
        if (def.namespaced && input.namespace) {
          if (applied.metadata.namespace && applied.metadata.namespace !== input.namespace) {
            throw new BadRequest("the namespace of the provided object does not match the namespace sent on the request");
          }
          applied.metadata.namespace = input.namespace;
        }
        const pin = typeof applied.metadata.resourceVersion === "string" ? applied.metadata.resourceVersion : undefined;
        const out = serverSideApply({
          live: live ? deepCopy(live) : undefined,
          applied: deepCopy(applied),
          manager: input.opts.fieldManager!,
          force: !!input.opts.force,
          schema,
          typeName: typeName(def),
          apiVersion: served,
          time: nowRFC3339(input.now),
        });
        return { object: out, pinnedResourceVersion: pin && pin !== rv ? pin : undefined, skipFieldCheck: false };
      }
    }
  } catch (e) {
    if (e instanceof StatusError) throw e;
    throw new BadRequest(`unable to apply patch: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** managedFields after a non-apply write by `manager` (default "unknown" like upstream's empty user agent). */
export function trackManagedFields(
  def: ResourceDef,
  old: KObject | undefined,
  updated: KObject,
  manager: string | undefined,
  operation: "Update",
  subresource: string | undefined,
  now: Date,
): ManagedFieldsEntry[] | undefined {
  try {
    const entries = updateManagedFields({
      old,
      updated,
      manager: manager || "unknown",
      operation,
      subresource,
      apiVersion: apiVersionOf(def),
      time: nowRFC3339(now),
      schema,
      typeName: typeName(def),
    });
    return entries.length ? entries : undefined;
  } catch {
    // Ownership bookkeeping must never fail a valid write; keep what was there.
    return old?.metadata.managedFields;
  }
}
