// Label selectors: the string syntax used by `?labelSelector=` and `kubectl get -l`
// (`a=b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, joined by commas) and the
// structured metav1.LabelSelector (`matchLabels` + `matchExpressions`) used by
// workloads, services and policies. Both compile to one list of requirements, ANDed.
// Semantics and error texts follow k8s.io/apimachinery/pkg/labels/selector.go;
// user docs: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors

import { BadRequest } from "./errors.js";
import { isQualifiedName, isValidLabelValue } from "../api/validation.js";

/** Upstream's selection.Operator vocabulary. */
export type LabelOperator =
  | "Equals"
  | "DoubleEquals"
  | "NotEquals"
  | "In"
  | "NotIn"
  | "Exists"
  | "DoesNotExist"
  | "GreaterThan"
  | "LessThan";

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

export interface LabelSelectorMatcher {
  /** Requirements sorted by key, as upstream keeps them (and prints them). */
  readonly requirements: readonly LabelRequirement[];
  /** True for the selector of a null LabelSelector: it matches no object at all. */
  readonly matchesNothing: boolean;
  matches(labels: Record<string, string> | undefined | null): boolean;
  /** No requirements (and not "nothing"): matches everything. */
  empty(): boolean;
  /** Canonical string form, e.g. `app=web,tier in (a,b)`; "" for everything. */
  toString(): string;
  /** The value a requirement pins exactly (`k=v`, `k==v`, `k in (v)`), if any: handy for indexes. */
  requiresExactMatch(key: string): string | undefined;
}

export interface LabelSelector {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: { key: string; operator: string; values?: string[] | null }[] | null;
}

// ---------------------------------------------------------------- matching

function requirementMatches(r: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case "In":
    case "Equals":
    case "DoubleEquals":
      return has && r.values.includes(value as string);
    case "NotIn":
    case "NotEquals":
      return !has || !r.values.includes(value as string);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
    case "GreaterThan":
    case "LessThan": {
      if (!has || !/^[+-]?\d+$/.test(value as string)) return false;
      // Values were checked to be integers when the requirement was built.
      const lv = BigInt(value as string);
      const rv = BigInt(r.values[0]);
      return r.operator === "GreaterThan" ? lv > rv : lv < rv;
    }
  }
}

function requirementString(r: LabelRequirement): string {
  let s = r.operator === "DoesNotExist" ? "!" + r.key : r.key;
  switch (r.operator) {
    case "Exists":
    case "DoesNotExist":
      return s;
    case "Equals":
      s += "=";
      break;
    case "DoubleEquals":
      s += "==";
      break;
    case "NotEquals":
      s += "!=";
      break;
    case "In":
      s += " in ";
      break;
    case "NotIn":
      s += " notin ";
      break;
    case "GreaterThan":
      s += ">";
      break;
    case "LessThan":
      s += "<";
      break;
  }
  // Upstream sorts multiple values on output only.
  const vals = r.values.length === 1 ? r.values[0] : [...r.values].sort().join(",");
  return r.operator === "In" || r.operator === "NotIn" ? `${s}(${vals})` : s + vals;
}

function byKey(a: LabelRequirement, b: LabelRequirement): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

class Matcher implements LabelSelectorMatcher {
  readonly requirements: readonly LabelRequirement[];
  constructor(reqs: LabelRequirement[], readonly matchesNothing = false) {
    this.requirements = [...reqs].sort(byKey);
  }
  matches(labels: Record<string, string> | undefined | null): boolean {
    if (this.matchesNothing) return false;
    const l = labels && typeof labels === "object" ? labels : {};
    return this.requirements.every((r) => requirementMatches(r, l));
  }
  empty(): boolean {
    return !this.matchesNothing && this.requirements.length === 0;
  }
  toString(): string {
    return this.requirements.map(requirementString).join(",");
  }
  requiresExactMatch(key: string): string | undefined {
    if (this.matchesNothing) return undefined;
    for (const r of this.requirements) {
      if (r.key !== key) continue;
      if ((r.operator === "Equals" || r.operator === "DoubleEquals" || r.operator === "In") && r.values.length === 1) return r.values[0];
    }
    return undefined;
  }
}

/** Matches every object (the empty selector). */
export function everything(): LabelSelectorMatcher {
  return new Matcher([]);
}

/** Matches no object (the selector of a null LabelSelector). */
export function nothing(): LabelSelectorMatcher {
  return new Matcher([], true);
}

// ---------------------------------------------------------------- requirement checks

/** Go's field.Error rendering: `<path>: Invalid value: "v": detail`. */
function invalidAt(path: string, value: unknown, detail: string): string {
  return `${path}: Invalid value: ${goValue(value)}: ${detail}`;
}

function goValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[]string{${v.map((x) => JSON.stringify(x)).join(", ")}}`;
  return String(v);
}

function aggregate(errs: string[]): string {
  return errs.length === 1 ? errs[0] : `[${errs.join(", ")}]`;
}

function keyErrors(key: string, path: string): string[] {
  const errs = isQualifiedName(key);
  return errs.length ? [invalidAt(path, key, errs.join("; "))] : [];
}

/**
 * Builds one requirement, checking it as upstream's NewRequirement does (field paths
 * "key", "values[i]"). Throws BadRequest with the upstream-shaped message on failure.
 */
export function newRequirement(key: string, operator: LabelOperator, values: string[]): LabelRequirement {
  const err = requirementError(key, operator, values);
  if (err) throw new BadRequest(err);
  return { key, operator, values: [...values] };
}

function requirementError(key: string, operator: LabelOperator, values: string[]): string | undefined {
  const errs: string[] = keyErrors(key, "key");
  switch (operator) {
    case "In":
    case "NotIn":
      if (values.length === 0) errs.push(invalidAt("values", values, "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case "Equals":
    case "DoubleEquals":
    case "NotEquals":
      if (values.length !== 1) errs.push(invalidAt("values", values, "exact-match compatibility requires one single value"));
      break;
    case "Exists":
    case "DoesNotExist":
      if (values.length !== 0) errs.push(invalidAt("values", values, "values set must be empty for exists and does not exist"));
      break;
    case "GreaterThan":
    case "LessThan":
      if (values.length !== 1) errs.push(invalidAt("values", values, "for 'Gt', 'Lt' operators, exactly one value is required"));
      values.forEach((v, i) => {
        if (!/^[+-]?\d+$/.test(v) || BigInt(v) > 2n ** 63n - 1n || BigInt(v) < -(2n ** 63n)) {
          errs.push(invalidAt(`values[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
        }
      });
      break;
  }
  values.forEach((v, i) => {
    const ve = isValidLabelValue(v);
    if (ve.length) errs.push(invalidAt(`values[${i}][${key}]`, v, ve.join("; ")));
  });
  return errs.length ? aggregate(errs) : undefined;
}

// ---------------------------------------------------------------- string syntax

type Tok =
  | "ident"
  | "in"
  | "notin"
  | "!"
  | "!="
  | "="
  | "=="
  | ">"
  | "<"
  | ","
  | "("
  | ")"
  | "end"
  | "error";

interface Item {
  tok: Tok;
  lit: string;
}

const SPECIAL = new Set(["=", "!", "(", ")", ",", ">", "<"]);
const SYMBOLS: Record<string, Tok> = { "!": "!", "!=": "!=", "=": "=", "==": "==", ">": ">", "<": "<", ",": ",", "(": "(", ")": ")" };
const WS = new Set([" ", "\t", "\r", "\n"]);

function lex(s: string): Item[] {
  const out: Item[] = [];
  let i = 0;
  for (;;) {
    while (i < s.length && WS.has(s[i])) i++;
    if (i >= s.length) {
      out.push({ tok: "end", lit: "" });
      return out;
    }
    if (SPECIAL.has(s[i])) {
      // Longest run of special characters that still spells a known symbol.
      let buf = "";
      let last: Item | undefined;
      while (i < s.length && SPECIAL.has(s[i])) {
        buf += s[i];
        const t = SYMBOLS[buf];
        if (t) {
          last = { tok: t, lit: buf };
          i++;
        } else if (last) {
          break;
        } else {
          i++;
        }
      }
      out.push(last ?? { tok: "error", lit: `error expected: keyword found '${buf}'` });
      continue;
    }
    let id = "";
    while (i < s.length && !WS.has(s[i]) && !SPECIAL.has(s[i])) id += s[i++];
    out.push({ tok: id === "in" ? "in" : id === "notin" ? "notin" : "ident", lit: id });
  }
}

/** Parser over the token list; "values" mode reads `in`/`notin` as plain identifiers. */
class Parser {
  private pos = 0;
  constructor(private readonly items: Item[]) {}

  private peek(valuesMode: boolean): Item {
    const it = this.items[Math.min(this.pos, this.items.length - 1)];
    return valuesMode && (it.tok === "in" || it.tok === "notin") ? { tok: "ident", lit: it.lit } : it;
  }
  private next(valuesMode: boolean): Item {
    const it = this.peek(valuesMode);
    if (this.pos < this.items.length - 1) this.pos++;
    return it;
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const { tok, lit } = this.peek(true);
      if (tok === "end") return reqs;
      if (tok !== "ident" && tok !== "!") throw new Error(`found '${lit}', expected: !, identifier, or 'end of string'`);
      try {
        reqs.push(this.requirement());
      } catch (e) {
        throw new Error(`unable to parse requirement: ${(e as Error).message}`);
      }
      const after = this.next(true);
      if (after.tok === "end") return reqs;
      if (after.tok !== ",") throw new Error(`found '${after.lit}', expected: ',' or 'end of string'`);
      const n = this.peek(true);
      if (n.tok !== "ident" && n.tok !== "!") throw new Error(`found '${n.lit}', expected: identifier after ','`);
    }
  }

  private requirement(): LabelRequirement {
    let op: LabelOperator | undefined;
    let t = this.next(true);
    if (t.tok === "!") {
      op = "DoesNotExist";
      t = this.next(true);
    }
    if (t.tok !== "ident") throw new Error(`found '${t.lit}', expected: identifier`);
    const key = t.lit;
    const kerr = keyErrors(key, "<nil>");
    if (kerr.length) throw new Error(kerr[0]);
    const la = this.peek(true).tok;
    if (la === "end" || la === ",") op ??= "Exists";
    if (op === "Exists" || op === "DoesNotExist") return this.build(key, op, []);

    const o = this.next(false);
    const ops: Partial<Record<Tok, LabelOperator>> = {
      in: "In",
      notin: "NotIn",
      "=": "Equals",
      "==": "DoubleEquals",
      "!=": "NotEquals",
      ">": "GreaterThan",
      "<": "LessThan",
    };
    op = ops[o.tok];
    if (!op) throw new Error(`found '${o.lit}', expected: in, notin, =, ==, !=, gt, lt`);
    const values = op === "In" || op === "NotIn" ? this.valueSet() : this.exactValue();
    // Upstream stores the values as a set: deduplicated and sorted.
    return this.build(key, op, [...new Set(values)].sort());
  }

  private build(key: string, op: LabelOperator, values: string[]): LabelRequirement {
    const err = requirementError(key, op, values);
    if (err) throw new Error(err);
    return { key, operator: op, values };
  }

  private exactValue(): string[] {
    const la = this.peek(true).tok;
    if (la === "end" || la === ",") return [""];
    const t = this.next(true);
    if (t.tok === "ident") return [t.lit];
    throw new Error(`found '${t.lit}', expected: identifier`);
  }

  private valueSet(): string[] {
    const open = this.next(true);
    if (open.tok !== "(") throw new Error(`found '${open.lit}' expected: '('`);
    const la = this.peek(true);
    if (la.tok === ")") {
      this.next(true);
      return [""];
    }
    if (la.tok !== "ident" && la.tok !== ",") throw new Error(`found '${la.lit}', expected: ',', ')' or identifier`);
    const vals = this.identifierList();
    const close = this.next(true);
    if (close.tok !== ")") throw new Error(`found '${la.lit}', expected: ')'`);
    return vals;
  }

  private identifierList(): string[] {
    const vals: string[] = [];
    for (;;) {
      const t = this.next(true);
      if (t.tok === "ident") {
        vals.push(t.lit);
        const n = this.peek(true);
        if (n.tok === ",") continue;
        if (n.tok === ")") return vals;
        throw new Error(`found '${n.lit}', expected: ',' or ')'`);
      } else if (t.tok === ",") {
        // Empty members ("(,a)", "(a,)", "(a,,b)") stand for the empty value.
        if (vals.length === 0) vals.push("");
        const n = this.peek(true);
        if (n.tok === ")") {
          vals.push("");
          return vals;
        }
        if (n.tok === ",") {
          this.next(true);
          vals.push("");
        }
      } else {
        throw new Error(`found '${t.lit}', expected: ',', or identifier`);
      }
    }
  }
}

/**
 * Parses the string form of a label selector. "" matches everything. Errors are
 * BadRequest with upstream's message (e.g. `unable to parse requirement: …`).
 */
export function parseLabelSelector(s: string): LabelSelectorMatcher {
  if (typeof s !== "string") throw new BadRequest("label selector must be a string");
  try {
    return new Matcher(new Parser(lex(s)).parse());
  } catch (e) {
    throw new BadRequest((e as Error).message);
  }
}

// ---------------------------------------------------------------- structured selector

const EXPRESSION_OPS: Record<string, LabelOperator> = {
  In: "In",
  NotIn: "NotIn",
  Exists: "Exists",
  DoesNotExist: "DoesNotExist",
};

/**
 * metav1.LabelSelectorAsSelector: null/undefined matches nothing, `{}` matches
 * everything, otherwise matchLabels (as `k=v`) AND matchExpressions. Throws BadRequest
 * on an invalid selector (validation should have caught it earlier).
 */
export function selectorFromLabelSelector(sel: LabelSelector | null | undefined): LabelSelectorMatcher {
  if (sel === null || sel === undefined) return nothing();
  if (typeof sel !== "object" || Array.isArray(sel)) throw new BadRequest("invalid label selector: not an object");
  const reqs: LabelRequirement[] = [];
  const ml = sel.matchLabels;
  if (ml !== null && ml !== undefined) {
    if (typeof ml !== "object" || Array.isArray(ml)) throw new BadRequest("invalid label selector: matchLabels must be an object");
    for (const [k, v] of Object.entries(ml)) {
      if (typeof v !== "string") throw new BadRequest(`invalid label selector: matchLabels[${k}] must be a string`);
      reqs.push(newRequirement(k, "Equals", [v]));
    }
  }
  const me = sel.matchExpressions;
  if (me !== null && me !== undefined) {
    if (!Array.isArray(me)) throw new BadRequest("invalid label selector: matchExpressions must be a list");
    for (const expr of me) {
      if (!expr || typeof expr !== "object") throw new BadRequest("invalid label selector: matchExpressions items must be objects");
      const op = EXPRESSION_OPS[expr.operator];
      if (!op) throw new BadRequest(`${JSON.stringify(expr.operator)} is not a valid label selector operator`);
      const values = expr.values ?? [];
      if (!Array.isArray(values) || values.some((v) => typeof v !== "string")) {
        throw new BadRequest("invalid label selector: values must be a list of strings");
      }
      reqs.push(newRequirement(String(expr.key), op, values));
    }
  }
  return new Matcher(reqs);
}

/** A selector requiring every `k=v` of a map (a Service's or RC's spec.selector). */
export function selectorFromSet(set: Record<string, string> | null | undefined): LabelSelectorMatcher {
  return new Matcher(Object.entries(set ?? {}).map(([key, v]) => ({ key, operator: "Equals" as const, values: [v] })));
}

/**
 * metav1.FormatLabelSelector, as kubectl's SELECTOR column shows it:
 * `app=web,tier in (a,b)`; "<none>" when empty; "<error>" when invalid.
 * Scale.status.selector uses the plain string (see labelSelectorString).
 */
export function labelSelectorToString(sel: LabelSelector | null | undefined): string {
  try {
    const s = selectorFromLabelSelector(sel).toString();
    return s === "" ? "<none>" : s;
  } catch {
    return "<error>";
  }
}

/** LabelSelectorAsSelector(sel).String(): "" for empty or null selectors, "" if invalid. */
export function labelSelectorString(sel: LabelSelector | null | undefined): string {
  try {
    return selectorFromLabelSelector(sel).toString();
  } catch {
    return "";
  }
}
