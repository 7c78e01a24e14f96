// Server-side field validation (https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation):
// `fieldValidation=Strict` rejects unknown or duplicate fields with 400, `Warn` (the
// default) answers with Warning headers, `Ignore` drops them silently. Unknown fields
// are never stored. Values of the wrong JSON type are always a 400, as upstream's
// decoder refuses them.

import { BadRequest } from "../apimachinery/errors.js";
import type { KObject } from "../apimachinery/types.js";
import type { ResourceDef } from "../api/types.js";
import { typeNameFor } from "../api/schema/registry.js";
import { checkFields } from "../api/schema/fieldcheck.js";

export type FieldValidation = "Strict" | "Warn" | "Ignore";

export function parseFieldValidation(v: string | null | undefined): FieldValidation | undefined {
  if (v === null || v === undefined || v === "") return undefined;
  if (v === "Strict" || v === "Warn" || v === "Ignore") return v;
  throw new BadRequest(`fieldValidation parameter unsupported: ${v}. Supported values are "Strict", "Warn" and "Ignore"`);
}

/** Splits "spec.containers[0].foo" into ["spec", "containers", 0, "foo"]. */
function pathTokens(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const part of path.split(".")) {
    const m = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) {
      out.push(part);
      continue;
    }
    if (m[1]) out.push(m[1]);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

function prune(obj: unknown, path: string): void {
  const toks = pathTokens(path);
  let cur: any = obj;
  for (let i = 0; i < toks.length - 1; i++) {
    if (cur === null || typeof cur !== "object") return;
    cur = cur[toks[i]!];
  }
  if (cur && typeof cur === "object") delete cur[toks[toks.length - 1]!];
}

/**
 * Checks `obj` against the kind's schema. Returns warnings (Warn); throws BadRequest
 * for type errors and, under Strict, for unknown fields. Unknown fields are removed.
 */
export function checkBody(def: ResourceDef, obj: KObject, mode: FieldValidation | undefined, duplicates: string[] = []): string[] {
  const typeName = typeNameFor(def.group, def.version, def.kind);
  const { unknown, causes } = typeName ? checkFields(obj, typeName) : { unknown: [] as string[], causes: [] };
  if (causes.length) {
    const first = causes[0]!;
    throw new BadRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: ${first.field ? first.field + ": " : ""}${first.message}`, causes);
  }
  const effective = mode ?? "Warn";
  const problems = [...duplicates.map((d) => `duplicate field "${d}"`), ...unknown.map((u) => `unknown field "${u}"`)];
  for (const u of unknown) prune(obj, u);
  if (!problems.length || effective === "Ignore") return [];
  if (effective === "Strict") throw new BadRequest(`strict decoding error: ${problems.join(", ")}`);
  return problems;
}
