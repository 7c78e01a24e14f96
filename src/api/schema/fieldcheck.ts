// Server-side field validation (the `fieldValidation=Strict|Warn|Ignore` query
// parameter): finds fields the schema does not know, values of the wrong JSON type,
// and keys repeated within one JSON object, the three things upstream's strict decoder
// reports (https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation).
// The caller decides whether they become a 400 (Strict) or `Warning:` headers (Warn).

import type { StatusCause } from "../../apimachinery/errors.js";
import { fieldError } from "../../apimachinery/errors.js";
import { schema } from "./registry.js";
import type { FieldType, TypeDef } from "./types.js";

export interface FieldCheckResult {
  /** Paths of fields the schema does not know, e.g. "spec.template.spec.containers[0].imagePullPolice". */
  unknown: string[];
  /** FieldValueTypeInvalid causes for values of the wrong JSON type. */
  causes: StatusCause[];
}

/** Top-level keys every object may carry whatever its schema says. */
const ALWAYS_KNOWN = new Set(["apiVersion", "kind"]);

function jsonTypeOf(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v === null) return "null";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v; // string, boolean, object
}

function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

class Walker {
  readonly result: FieldCheckResult = { unknown: [], causes: [] };

  private wrongType(path: string, value: unknown, expected: string): void {
    const actual = jsonTypeOf(value);
    const shown = actual === "object" || actual === "array" ? actual : value;
    this.result.causes.push(fieldError.typeInvalid(path, shown, `${path} in body must be of type ${expected}: "${actual}"`));
  }

  value(v: unknown, t: FieldType, path: string): void {
    if (v === null || v === undefined) return; // null means unset in Kubernetes JSON
    switch (t.kind) {
      case "any":
        return;
      case "string":
      case "bytes":
      case "time":
      case "microTime":
        if (typeof v !== "string") this.wrongType(path, v, "string");
        return;
      case "int32":
      case "int64":
        if (typeof v !== "number" || !Number.isInteger(v)) this.wrongType(path, v, "integer");
        return;
      case "double":
        if (typeof v !== "number") this.wrongType(path, v, "number");
        return;
      case "bool":
        if (typeof v !== "boolean") this.wrongType(path, v, "boolean");
        return;
      case "quantity":
        if (typeof v !== "string" && typeof v !== "number") this.wrongType(path, v, "string");
        return;
      case "intOrString":
        if (typeof v !== "string" && !(typeof v === "number" && Number.isInteger(v))) this.wrongType(path, v, "integer,string");
        return;
      case "array":
        if (!Array.isArray(v)) return this.wrongType(path, v, "array");
        v.forEach((item, i) => this.value(item, t.items, `${path}[${i}]`));
        return;
      case "map":
        if (typeof v !== "object" || Array.isArray(v)) return this.wrongType(path, v, "object");
        for (const [k, item] of Object.entries(v as Record<string, unknown>)) this.value(item, t.value, `${path}[${k}]`);
        return;
      case "ref": {
        const def = schema.type(t.type);
        if (!def) return; // a type this server does not describe: accept anything
        if (typeof v !== "object" || Array.isArray(v)) return this.wrongType(path, v, "object");
        this.object(v as Record<string, unknown>, def, path);
        return;
      }
    }
  }

  object(obj: Record<string, unknown>, def: TypeDef, path: string, root = false): void {
    for (const [name, v] of Object.entries(obj)) {
      if (root && ALWAYS_KNOWN.has(name)) continue;
      const f = def.fields.find((x) => x.name === name);
      if (!f) {
        if (!(root && name === "metadata")) this.result.unknown.push(join(path, name));
        continue;
      }
      this.value(v, f.type, join(path, name));
    }
  }
}

/**
 * Walks `obj` against the TypeDef `typeName`. apiVersion, kind and metadata are always
 * known; `any` fields accept anything. An unknown typeName checks nothing.
 */
export function checkFields(obj: unknown, typeName: string): FieldCheckResult {
  const w = new Walker();
  const def = schema.type(typeName);
  if (!def) return w.result;
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
    w.value(obj, { kind: "ref", type: typeName }, "");
    return w.result;
  }
  w.object(obj as Record<string, unknown>, def, "", true);
  return w.result;
}

/**
 * Scans raw JSON text for keys repeated within one object and returns their paths
 * ("metadata.name", "spec.containers[0].image"); upstream reports each as
 * `duplicate field "<path>"`. Malformed JSON yields what was found before the error
 * (the parse error itself is reported by the body decoder).
 */
export function findDuplicateFields(jsonText: string): string[] {
  const found: string[] = [];
  let i = 0;
  const s = jsonText;
  const ws = () => {
    while (i < s.length && (s[i] === " " || s[i] === "\n" || s[i] === "\r" || s[i] === "\t")) i++;
  };
  const str = (): string => {
    const start = i;
    i++; // opening quote
    while (i < s.length && s[i] !== '"') i += s[i] === "\\" ? 2 : 1;
    if (i >= s.length) throw new SyntaxError("unterminated string");
    i++;
    return JSON.parse(s.slice(start, i)) as string;
  };
  // Explicit stack instead of recursion, so deeply nested input cannot overflow.
  type Frame = { kind: "obj"; path: string; keys: Set<string> } | { kind: "arr"; path: string; index: number };
  const stack: Frame[] = [];
  const childPath = (): string => {
    const top = stack[stack.length - 1]!;
    return top.kind === "arr" ? `${top.path}[${top.index}]` : top.path;
  };
  try {
    let expectValue = true;
    let pendingPath = "";
    while (true) {
      ws();
      if (expectValue) {
        const c = s[i];
        if (c === "{") {
          i++;
          stack.push({ kind: "obj", path: pendingPath, keys: new Set() });
          ws();
          if (s[i] === "}") {
            i++;
            stack.pop();
            expectValue = false;
          } else {
            if (s[i] !== '"') throw new SyntaxError("expected key");
            const k = str();
            const top = stack[stack.length - 1] as Extract<Frame, { kind: "obj" }>;
            const p = top.path ? `${top.path}.${k}` : k;
            if (top.keys.has(k)) found.push(p);
            top.keys.add(k);
            ws();
            if (s[i++] !== ":") throw new SyntaxError("expected colon");
            pendingPath = p;
          }
          continue;
        }
        if (c === "[") {
          i++;
          stack.push({ kind: "arr", path: pendingPath, index: 0 });
          ws();
          if (s[i] === "]") {
            i++;
            stack.pop();
            expectValue = false;
          } else pendingPath = childPath();
          continue;
        }
        if (c === '"') str();
        else {
          const m = /^(?:true|false|null|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(s.slice(i, i + 400));
          if (!m) throw new SyntaxError("bad value");
          i += m[0].length;
        }
        expectValue = false;
        continue;
      }
      // After a value: close containers or move to the next member.
      const top = stack[stack.length - 1];
      if (!top) break;
      const c = s[i++];
      if (c === ",") {
        if (top.kind === "arr") {
          top.index++;
          pendingPath = childPath();
        } else {
          ws();
          if (s[i] !== '"') throw new SyntaxError("expected key");
          const k = str();
          const p = top.path ? `${top.path}.${k}` : k;
          if (top.keys.has(k)) found.push(p);
          top.keys.add(k);
          ws();
          if (s[i++] !== ":") throw new SyntaxError("expected colon");
          pendingPath = p;
        }
        expectValue = true;
      } else if ((c === "}" && top.kind === "obj") || (c === "]" && top.kind === "arr")) {
        stack.pop();
      } else throw new SyntaxError("unexpected character");
    }
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
  }
  return found;
}
