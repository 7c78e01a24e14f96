// JSON Merge Patch (RFC 7386, https://www.rfc-editor.org/rfc/rfc7386) as the API server
// applies `application/merge-patch+json` bodies
// (https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/#use-a-json-merge-patch-to-update-a-deployment):
// objects merge key by key, `null` deletes a key, anything else (arrays included)
// replaces. `kubectl scale` sends one of these to `/scale`.

import { BadRequest } from "../errors.js";
import { clone, getOwn, isObject, setKey, type JsonObject } from "./schemawalk.js";

function merge(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else setKey(out, k, merge(getOwn(out, k), v));
  }
  return out;
}

/**
 * Applies an RFC 7386 merge patch to a copy of `doc`. The API server only accepts an
 * object as the top-level patch (upstream answers anything else with 400), so a
 * non-object body is a BadRequest rather than a whole-document replacement.
 */
export function applyMergePatch(doc: unknown, patch: unknown): unknown {
  if (!isObject(patch)) throw new BadRequest("invalid JSON merge patch: the body must be a JSON object");
  return merge(clone(doc), patch);
}
