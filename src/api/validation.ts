// Shared API validation: the name/label/selector rules and ObjectMeta checks that every
// kind applies, worded exactly as upstream's apimachinery validation
// (k8s.io/apimachinery/pkg/util/validation, pkg/api/validation/objectmeta.go,
// https://kubernetes.io/docs/concepts/overview/working-with-objects/names/ and
// https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set).
// String predicates (isXxx) return a list of human messages, empty when valid; validateXxx
// functions return StatusCauses carrying the JSON path. Objects arrive as untyped JSON, so
// the asXxx guards turn a wrong JSON type into a cause naming the field instead of a crash.

import { isIP } from "node:net";
import { fieldError, type StatusCause } from "../apimachinery/errors.js";
import type { ObjectMeta } from "../apimachinery/types.js";

// ---------------------------------------------------------------------------------------
// Message builders (upstream's RegexError / MaxLenError / EmptyError wording).

/** "<msg> (e.g. 'a',  or 'b', regex used for validation is '<re>')" — upstream's odd spacing included. */
export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  let out = `${msg} (e.g. `;
  examples.forEach((e, i) => {
    if (i > 0) out += " or ";
    out += `'${e}', `;
  });
  return `${out}regex used for validation is '${fmt}')`;
}
export const maxLenError = (n: number): string => `must be no more than ${n} characters`;
export const emptyError = (): string => "must be non-empty";
export const inclusiveRangeError = (lo: number, hi: number): string => `must be between ${lo} and ${hi}, inclusive`;
export const IS_NEGATIVE_ERROR_MSG = "must be greater than or equal to 0";
export const FIELD_IMMUTABLE_ERROR_MSG = "field is immutable";

// ---------------------------------------------------------------------------------------
// Name predicates.

const DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_RE = new RegExp(`^${DNS1123_LABEL_FMT}$`);
const DNS1123_LABEL_MSG = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
export const DNS1123_LABEL_MAX = 63;

const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUBDOMAIN_RE = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);
const DNS1123_SUBDOMAIN_MSG = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
export const DNS1123_SUBDOMAIN_MAX = 253;

const DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1035_LABEL_RE = new RegExp(`^${DNS1035_LABEL_FMT}$`);
const DNS1035_LABEL_MSG = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";

const QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_RE = new RegExp(`^${QUALIFIED_NAME_FMT}$`);
const QUALIFIED_NAME_MSG = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const QUALIFIED_NAME_MAX = 63;

const LABEL_VALUE_FMT = `(${QUALIFIED_NAME_FMT})?`;
const LABEL_VALUE_RE = new RegExp(`^${LABEL_VALUE_FMT}$`);
const LABEL_VALUE_MSG = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

const CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+";
const CONFIG_KEY_RE = new RegExp(`^${CONFIG_KEY_FMT}$`);
const CONFIG_KEY_MSG = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";

const ENV_VAR_NAME_FMT = "[-._a-zA-Z][-._a-zA-Z0-9]*";
const ENV_VAR_NAME_RE = new RegExp(`^${ENV_VAR_NAME_FMT}$`);
const ENV_VAR_NAME_MSG = "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit";

export function isDNS1123Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123_LABEL_MAX) errs.push(maxLenError(DNS1123_LABEL_MAX));
  if (!DNS1123_LABEL_RE.test(v)) errs.push(regexError(DNS1123_LABEL_MSG, DNS1123_LABEL_FMT, "my-name", "123-abc"));
  return errs;
}

export function isDNS1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123_SUBDOMAIN_MAX) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX));
  if (!DNS1123_SUBDOMAIN_RE.test(v)) errs.push(regexError(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com"));
  return errs;
}

export function isDNS1035Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123_LABEL_MAX) errs.push(maxLenError(DNS1123_LABEL_MAX));
  if (!DNS1035_LABEL_RE.test(v)) errs.push(regexError(DNS1035_LABEL_MSG, DNS1035_LABEL_FMT, "my-name", "abc-123"));
  return errs;
}

/** Label and annotation keys: optional DNS-subdomain prefix, '/', then a 63-char name. */
export function isQualifiedName(v: string): string[] {
  const errs: string[] = [];
  const parts = v.split("/");
  let name: string;
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push("prefix part " + emptyError());
    else for (const m of isDNS1123Subdomain(prefix)) errs.push("prefix part " + m);
  } else {
    return [
      "a qualified name " +
        regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc") +
        " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) errs.push("name part " + emptyError());
  else if (name.length > QUALIFIED_NAME_MAX) errs.push("name part " + maxLenError(QUALIFIED_NAME_MAX));
  if (!QUALIFIED_NAME_RE.test(name)) errs.push("name part " + regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc"));
  return errs;
}

export function isValidLabelValue(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123_LABEL_MAX) errs.push(maxLenError(DNS1123_LABEL_MAX));
  if (!LABEL_VALUE_RE.test(v)) errs.push(regexError(LABEL_VALUE_MSG, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"));
  return errs;
}

/** ConfigMap/Secret data keys. */
export function isConfigMapKey(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123_SUBDOMAIN_MAX) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX));
  if (!CONFIG_KEY_RE.test(v)) errs.push(regexError(CONFIG_KEY_MSG, CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name"));
  if (v === ".") errs.push("must not be '.'");
  else if (v === "..") errs.push("must not be '..'");
  else if (v.startsWith("..")) errs.push("must not start with '..'");
  return errs;
}

export function isEnvVarName(v: string): string[] {
  const errs: string[] = [];
  if (!ENV_VAR_NAME_RE.test(v)) errs.push(regexError(ENV_VAR_NAME_MSG, ENV_VAR_NAME_FMT, "my.env-name", "MY_ENV.NAME", "MyEnvName1"));
  if (v === ".") errs.push("must not be '.'");
  else if (v === "..") errs.push("must not be '..'");
  else if (v.startsWith("..")) errs.push("must not start with '..'");
  return errs;
}

/** IANA_SVC_NAME: named container/service ports. */
export function isValidPortName(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 15) errs.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(v)) errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (!/^[-a-z0-9]*[a-z][-a-z0-9]*$/.test(v)) errs.push("must contain at least one letter (a-z)");
  if (v.includes("--")) errs.push("must not contain consecutive hyphens");
  if (v.length > 0 && (v.startsWith("-") || v.endsWith("-"))) errs.push("must not begin or end with a hyphen");
  return errs;
}

export function isValidPortNum(n: number): string[] {
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? [] : [inclusiveRangeError(1, 65535)];
}

export function isValidIP(v: string): string[] {
  return isIP(v) ? [] : ["must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"];
}

/** Names used as URL path segments (every object name, whatever its kind's rule). */
export function isValidPathSegmentName(v: string): string[] {
  if (v === ".") return ["may not be '.'"];
  if (v === "..") return ["may not be '..'"];
  const errs: string[] = [];
  if (v.includes("/")) errs.push("may not contain '/'");
  if (v.includes("%")) errs.push("may not contain '%'");
  return errs;
}

/** generateName is a prefix: a trailing '-' is fine because random characters follow. */
function maskTrailingDash(v: string): string {
  return v.length > 1 && v.endsWith("-") ? v.slice(0, -1) + "a" : v;
}

// ---------------------------------------------------------------------------------------
// JSON type guards: a present value of the wrong JSON type yields a cause, never a throw.

export type JSONObject = Record<string, any>;

export function isPlainObject(v: unknown): v is JSONObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function typeCause(path: string, v: unknown, type: string): StatusCause {
  return fieldError.typeInvalid(path, v, `must be of type ${type}`);
}

/** undefined/null → undefined; object → itself; anything else → cause + undefined. */
export function asObject(v: unknown, path: string, errs: StatusCause[]): JSONObject | undefined {
  if (v === undefined || v === null) return undefined;
  if (isPlainObject(v)) return v;
  errs.push(typeCause(path, v, "object"));
  return undefined;
}

export function asArray(v: unknown, path: string, errs: StatusCause[]): unknown[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v;
  errs.push(typeCause(path, v, "array"));
  return undefined;
}

export function asString(v: unknown, path: string, errs: StatusCause[]): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return v;
  errs.push(typeCause(path, v, "string"));
  return undefined;
}

export function asInt(v: unknown, path: string, errs: StatusCause[]): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "number" && Number.isInteger(v)) return v;
  errs.push(typeCause(path, v, "integer"));
  return undefined;
}

export function asBool(v: unknown, path: string, errs: StatusCause[]): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "boolean") return v;
  errs.push(typeCause(path, v, "boolean"));
  return undefined;
}

/** map[string]string (labels, annotations, data, nodeSelector…). */
export function asStringMap(v: unknown, path: string, errs: StatusCause[]): Record<string, string> | undefined {
  const o = asObject(v, path, errs);
  if (!o) return undefined;
  const out: Record<string, string> = {};
  let ok = true;
  for (const [k, val] of Object.entries(o)) {
    if (typeof val !== "string") {
      errs.push(typeCause(`${path}[${k}]`, val, "string"));
      ok = false;
    } else out[k] = val;
  }
  return ok ? o : out;
}

/** Elements of a list that are objects, each with its index path; non-objects yield causes. */
export function objectItems(v: unknown, path: string, errs: StatusCause[]): Array<[JSONObject, string]> {
  const arr = asArray(v, path, errs);
  if (!arr) return [];
  const out: Array<[JSONObject, string]> = [];
  arr.forEach((item, i) => {
    const p = `${path}[${i}]`;
    if (isPlainObject(item)) out.push([item, p]);
    else errs.push(typeCause(p, item, "object"));
  });
  return out;
}

// ---------------------------------------------------------------------------------------
// Generic field validators.

export function validateNonnegative(n: unknown, path: string): StatusCause[] {
  if (n === undefined || n === null) return [];
  if (typeof n !== "number" || !Number.isFinite(n)) return [typeCause(path, n, "integer")];
  return n < 0 ? [fieldError.invalid(path, n, IS_NEGATIVE_ERROR_MSG)] : [];
}

export function validatePortNumber(n: unknown, path: string): StatusCause[] {
  if (typeof n !== "number") return [typeCause(path, n, "integer")];
  return isValidPortNum(n).map((m) => fieldError.invalid(path, n, m));
}

export function validateEnum(v: unknown, allowed: readonly string[], path: string): StatusCause[] {
  return typeof v === "string" && allowed.includes(v) ? [] : [fieldError.notSupported(path, v, allowed)];
}

/** Structural equality over JSON values (key order ignored; undefined keys equal absent). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ao = a as JSONObject;
  const bo = b as JSONObject;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) if (!jsonEqual(ao[k], bo[k])) return false;
  return true;
}

export function immutableField(newV: unknown, oldV: unknown, path: string): StatusCause[] {
  return jsonEqual(newV, oldV) ? [] : [fieldError.invalid(path, newV, FIELD_IMMUTABLE_ERROR_MSG)];
}

/** Runs a string predicate and wraps each message as FieldValueInvalid at path. */
export function invalidEach(v: string, msgs: string[], path: string): StatusCause[] {
  return msgs.map((m) => fieldError.invalid(path, v, m));
}

export function validateLabels(labels: unknown, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  const m = asStringMap(labels, path, errs);
  if (!m) return errs;
  for (const [k, v] of Object.entries(m)) {
    errs.push(...invalidEach(k, isQualifiedName(k), path));
    errs.push(...invalidEach(v, isValidLabelValue(v), path));
  }
  return errs;
}

export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export function validateAnnotations(annotations: unknown, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  const m = asStringMap(annotations, path, errs);
  if (!m) return errs;
  let total = 0;
  for (const [k, v] of Object.entries(m)) {
    errs.push(...invalidEach(k, isQualifiedName(k.toLowerCase()), path));
    total += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (total > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(fieldError.tooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

/** Kinds that may never own other objects (upstream's BannedOwners). */
const BANNED_OWNERS = new Set(["v1/Event", "events.k8s.io/v1/Event"]);

export function validateOwnerReferences(refs: unknown, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  let controllerName: string | undefined;
  for (const [ref] of objectItems(refs, path, errs)) {
    const apiVersion = typeof ref.apiVersion === "string" ? ref.apiVersion : "";
    const version = apiVersion.includes("/") ? apiVersion.split("/")[1]! : apiVersion;
    // Upstream reports owner reference fields under the list path, not an indexed one.
    if (!version) errs.push(fieldError.invalid(`${path}.apiVersion`, ref.apiVersion ?? "", "version must not be empty"));
    if (typeof ref.kind !== "string" || !ref.kind) errs.push(fieldError.invalid(`${path}.kind`, ref.kind ?? "", "must not be empty"));
    if (typeof ref.name !== "string" || !ref.name) errs.push(fieldError.invalid(`${path}.name`, ref.name ?? "", "must not be empty"));
    if (typeof ref.uid !== "string" || !ref.uid) errs.push(fieldError.invalid(`${path}.uid`, ref.uid ?? "", "must not be empty"));
    if (BANNED_OWNERS.has(`${apiVersion}/${ref.kind}`)) {
      const g = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
      errs.push(fieldError.invalid(path, ref, `${g}/${version}, Kind=${ref.kind} is disallowed from being an owner`));
    }
    if (ref.controller === true) {
      if (controllerName !== undefined) {
        errs.push(fieldError.invalid(path, refs, `Only one reference can have Controller set to true. Found "true" in references for ${controllerName} and ${ref.name}`));
      } else controllerName = String(ref.name);
    }
  }
  return errs;
}

export function validateFinalizers(finalizers: unknown, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  const list = asArray(finalizers, path, errs);
  if (!list) return errs;
  list.forEach((f, i) => {
    const p = `${path}[${i}]`;
    const s = asString(f, p, errs);
    if (s !== undefined) errs.push(...invalidEach(s, isQualifiedName(s), p));
  });
  if (list.includes("orphan") && list.includes("foregroundDeletion")) {
    errs.push(fieldError.invalid(path, list, "finalizer orphan and foregroundDeletion cannot be both set"));
  }
  return errs;
}

export interface ObjectMetaOptions {
  namespaced: boolean;
  /** Kind's name rule; default DNS-1123 subdomain (the most common rule upstream). */
  nameFn?: (name: string) => string[];
}

export function validateObjectMeta(meta: ObjectMeta | undefined, opts: ObjectMetaOptions, path = "metadata"): StatusCause[] {
  const errs: StatusCause[] = [];
  if (meta === undefined || meta === null) {
    return [fieldError.required(`${path}.name`, "Required value: name or generateName is required")];
  }
  if (!isPlainObject(meta)) return [fieldError.typeInvalid(path, meta, "must be of type object")];
  const nameFn = opts.nameFn ?? isDNS1123Subdomain;
  const generateName = asString(meta.generateName, `${path}.generateName`, errs);
  if (generateName) errs.push(...invalidEach(generateName, nameFn(maskTrailingDash(generateName)), `${path}.generateName`));
  const name = asString(meta.name, `${path}.name`, errs);
  if (!name) {
    if (meta.name === undefined || meta.name === null || meta.name === "") {
      errs.push(fieldError.required(`${path}.name`, "Required value: name or generateName is required"));
    }
  } else {
    const msgs = [...isValidPathSegmentName(name), ...nameFn(name)];
    errs.push(...invalidEach(name, [...new Set(msgs)], `${path}.name`));
  }
  const ns = asString(meta.namespace, `${path}.namespace`, errs);
  if (opts.namespaced) {
    if (!ns) {
      if (meta.namespace === undefined || meta.namespace === null || meta.namespace === "") errs.push(fieldError.required(`${path}.namespace`));
    } else errs.push(...invalidEach(ns, isDNS1123Label(ns), `${path}.namespace`));
  } else if (meta.namespace) {
    errs.push(fieldError.forbidden(`${path}.namespace`, "not allowed on this type"));
  }
  errs.push(...validateNonnegative(meta.generation, `${path}.generation`));
  errs.push(...validateLabels(meta.labels, `${path}.labels`));
  errs.push(...validateAnnotations(meta.annotations, `${path}.annotations`));
  errs.push(...validateOwnerReferences(meta.ownerReferences, `${path}.ownerReferences`));
  errs.push(...validateFinalizers(meta.finalizers, `${path}.finalizers`));
  return errs;
}

/**
 * Update rules on ObjectMeta. Like upstream, resourceVersion must be present: the server
 * fills it from the stored object for unconditional updates before validating.
 */
export function validateObjectMetaUpdate(meta: ObjectMeta | undefined, old: ObjectMeta | undefined, path = "metadata"): StatusCause[] {
  if (!isPlainObject(meta)) return [fieldError.typeInvalid(path, meta, "must be of type object")];
  const o: ObjectMeta = isPlainObject(old) ? old : {};
  const errs: StatusCause[] = [];
  if (o.deletionTimestamp && Array.isArray(meta.finalizers)) {
    const oldSet = new Set(Array.isArray(o.finalizers) ? o.finalizers : []);
    const extra = [...new Set(meta.finalizers.filter((f) => !oldSet.has(f)))].sort();
    if (extra.length) {
      errs.push(fieldError.forbidden(`${path}.finalizers`, `no new finalizers can be added if the object is being deleted, found new finalizers []string{${extra.map((e) => JSON.stringify(e)).join(", ")}}`));
    }
  }
  if (!meta.resourceVersion) errs.push(fieldError.invalid(`${path}.resourceVersion`, meta.resourceVersion ?? "", "must be specified for an update"));
  if (typeof meta.generation === "number" && typeof o.generation === "number" && meta.generation < o.generation) {
    errs.push(fieldError.invalid(`${path}.generation`, meta.generation, "must not be decremented"));
  }
  errs.push(...immutableField(meta.name, o.name, `${path}.name`));
  errs.push(...immutableField(meta.namespace ?? "", o.namespace ?? "", `${path}.namespace`));
  errs.push(...immutableField(meta.uid, o.uid, `${path}.uid`));
  errs.push(...immutableField(meta.creationTimestamp, o.creationTimestamp, `${path}.creationTimestamp`));
  errs.push(...immutableField(meta.deletionTimestamp, o.deletionTimestamp, `${path}.deletionTimestamp`));
  errs.push(...immutableField(meta.deletionGracePeriodSeconds, o.deletionGracePeriodSeconds, `${path}.deletionGracePeriodSeconds`));
  errs.push(...validateLabels(meta.labels, `${path}.labels`));
  errs.push(...validateAnnotations(meta.annotations, `${path}.annotations`));
  errs.push(...validateOwnerReferences(meta.ownerReferences, `${path}.ownerReferences`));
  errs.push(...validateFinalizers(meta.finalizers, `${path}.finalizers`));
  return errs;
}

export const SELECTOR_OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"];

/** metav1.LabelSelector: matchLabels + matchExpressions. */
export function validateLabelSelector(sel: unknown, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  const s = asObject(sel, path, errs);
  if (!s) return errs;
  errs.push(...validateLabels(s.matchLabels, `${path}.matchLabels`));
  for (const [expr, p] of objectItems(s.matchExpressions, `${path}.matchExpressions`, errs)) {
    const values = asArray(expr.values, `${p}.values`, errs) ?? [];
    if (!SELECTOR_OPERATORS.includes(expr.operator)) {
      errs.push(fieldError.invalid(`${p}.operator`, expr.operator ?? "", "not a valid selector operator"));
    } else if (expr.operator === "In" || expr.operator === "NotIn") {
      if (values.length === 0) errs.push(fieldError.required(`${p}.values`, "Required value: must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (values.length > 0) {
      errs.push(fieldError.forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
    }
    const key = asString(expr.key, `${p}.key`, errs) ?? "";
    errs.push(...invalidEach(key, isQualifiedName(key), `${p}.key`));
    values.forEach((v, i) => {
      const vp = `${p}.values[${i}]`;
      const s2 = asString(v, vp, errs);
      if (s2 !== undefined) errs.push(...invalidEach(s2, isValidLabelValue(s2), vp));
    });
  }
  return errs;
}

