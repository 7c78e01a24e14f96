// Field selectors: `?fieldSelector=metadata.name=x,status.phase!=Running`, equality-only
// requirements over a few server-chosen fields per kind. Syntax, escaping (`\,` `\=` `\\`)
// and error texts follow k8s.io/apimachinery/pkg/fields/selector.go; user docs:
// https://kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/
// A missing field reads as "" (upstream's fields.Set), so `spec.nodeName=` finds
// unscheduled pods and `x!=v` matches objects without x.

import { BadRequest } from "./errors.js";

export interface FieldRequirement {
  field: string;
  op: "=" | "!=";
  value: string;
}

export interface FieldSelector {
  /** Sorted as upstream sorts the terms; empty = everything. */
  requirements: FieldRequirement[];
}

/** Splits on commas that are not escaped; escapes are kept for unescapeValue. */
function splitTerms(s: string): string[] {
  if (s === "") return [];
  const terms: string[] = [];
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\" && i + 1 < s.length) {
      cur += c + s[i + 1];
      i++;
    } else if (c === ",") {
      terms.push(cur);
      cur = "";
    } else cur += c;
  }
  terms.push(cur);
  return terms;
}

/** The first operator occurrence wins, trying "!=", "==", "=" at each position. */
function splitTerm(term: string): [string, "=" | "==" | "!=", string] | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of ["!=", "==", "="] as const) {
      if (term.startsWith(op, i)) return [term.slice(0, i), op, term.slice(i + op.length)];
    }
  }
  return undefined;
}

/** Inverse of escapeValue; unescaped ',' or '=' and unknown escapes are errors. */
export function unescapeValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = "";
  let escaped = false;
  for (const c of s) {
    if (escaped) {
      if (c !== "\\" && c !== "," && c !== "=") throw new BadRequest(`invalid field selector: invalid escape sequence: \\${c}`);
      out += c;
      escaped = false;
    } else if (c === "\\") {
      escaped = true;
    } else if (c === "," || c === "=") {
      // Upstream prints the rune with %v, i.e. its code point.
      throw new BadRequest(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    } else out += c;
  }
  if (escaped) throw new BadRequest("invalid field selector: invalid escape sequence: \\");
  return out;
}

/** Escapes '\\', ',' and '=' so a value survives a round trip through the string form. */
export function escapeValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => "\\" + c);
}

/** Parses the string form. "" selects everything. Errors are BadRequest. */
export function parseFieldSelector(s: string): FieldSelector {
  if (typeof s !== "string") throw new BadRequest("field selector must be a string");
  const terms = splitTerms(s).sort();
  const requirements: FieldRequirement[] = [];
  for (const term of terms) {
    if (term === "") continue;
    const parts = splitTerm(term);
    if (!parts) throw new BadRequest(`invalid selector: '${s}'; can't understand '${term}'`);
    const [field, op, rhs] = parts;
    requirements.push({ field, op: op === "!=" ? "!=" : "=", value: unescapeValue(rhs) });
  }
  return { requirements };
}

/** Canonical string form (`a=b,c!=d`), values escaped. */
export function fieldSelectorToString(sel: FieldSelector): string {
  return sel.requirements.map((r) => `${r.field}${r.op}${escapeValue(r.value)}`).join(",");
}

/** ANDs the requirements; `getter` returns a field's value or undefined when absent (read as ""). */
export function matchFields(sel: FieldSelector, getter: (field: string) => string | undefined): boolean {
  return sel.requirements.every((r) => {
    const v = getter(r.field) ?? "";
    return r.op === "=" ? v === r.value : v !== r.value;
  });
}

/** The value a selector pins for a field with `=` (e.g. spec.nodeName for a kubelet's watch). */
export function requiresExactMatch(sel: FieldSelector, field: string): string | undefined {
  return sel.requirements.find((r) => r.field === field && r.op === "=")?.value;
}

export const META_FIELD_SELECTORS = ["metadata.name", "metadata.namespace"] as const;

/**
 * The BadRequest a server answers for an unsupported field. Kinds with only the metadata
 * fields get runtime.DefaultMetaV1FieldSelectorConversion's text; kinds that declare their
 * own fields (pods, events, jobs…) get their conversion func's "field label not supported".
 */
export function unknownFieldSelectorError(field: string, kindHasOwnFields = false): BadRequest {
  if (kindHasOwnFields) return new BadRequest(`field label not supported: ${field}`);
  return new BadRequest(`"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`);
}

/**
 * Checks every requirement names a known field: metadata.name, metadata.namespace, or one
 * of `extra` (a ResourceDef's fieldSelectors keys). Throws the upstream BadRequest otherwise.
 */
export function checkFieldSelector(sel: FieldSelector, extra: readonly string[] = []): void {
  for (const r of sel.requirements) {
    if ((META_FIELD_SELECTORS as readonly string[]).includes(r.field) || extra.includes(r.field)) continue;
    throw unknownFieldSelectorError(r.field, extra.length > 0);
  }
}

/**
 * A getter over an object for matchFields: metadata.name/namespace plus the kind's
 * declared extractors.
 */
export function objectFieldGetter<T extends { metadata?: { name?: string; namespace?: string } }>(
  obj: T,
  extractors: Record<string, (o: T) => string | undefined> = {},
): (field: string) => string | undefined {
  return (field) => {
    if (field === "metadata.name") return obj.metadata?.name;
    if (field === "metadata.namespace") return obj.metadata?.namespace;
    const fn = extractors[field];
    return fn ? fn(obj) : undefined;
  };
}
