// The core/v1 configuration resources: ConfigMap, Secret and ServiceAccount — key rules,
// size limits, `immutable`, the well-known Secret types and their required keys, stringData
// folding, and their `kubectl get` tables
// (https://kubernetes.io/docs/reference/kubernetes-api/config-and-storage-resources/config-map-v1/,
// https://kubernetes.io/docs/concepts/configuration/secret/#secret-types).

import { fieldError, type StatusCause } from "../apimachinery/errors.js";
import type { KObject } from "../apimachinery/types.js";
import { ageColumn, ageSince, column, countKeys, list, obj, str } from "./table.js";
import type { ResourceDef, ValidationContext } from "./types.js";
import {
  asBool, asStringMap, invalidEach, isConfigMapKey, isPlainObject, jsonEqual, objectItems, validateObjectMeta,
  validateObjectMetaUpdate,
} from "./validation.js";

/** 1 MiB: the most a ConfigMap's or Secret's data may hold (upstream MaxSecretSize). */
export const MAX_SECRET_SIZE = 1024 * 1024;
const IMMUTABLE_MSG = "field is immutable when `immutable` is set";

/** Index of the first byte that makes `s` invalid standard base64, or -1 when valid. */
export function base64ErrorOffset(s: string): number {
  const bad = s.search(/[^A-Za-z0-9+/=]/);
  if (bad >= 0) return bad;
  const eq = s.indexOf("=");
  if (eq >= 0 && (!/^=*$/.test(s.slice(eq)) || s.length - eq > 2)) return eq;
  if (s.length % 4 !== 0) return s.length - (s.length % 4);
  return -1;
}

/** Decoded byte length of valid base64 data. */
function decodedLength(s: string): number {
  return Buffer.from(s, "base64").length;
}

/** Validates a map of base64 values; returns the decoded total size. */
function validateBase64Map(m: Record<string, string> | undefined, path: string, errs: StatusCause[]): number {
  let total = 0;
  for (const [k, v] of Object.entries(m ?? {})) {
    errs.push(...invalidEach(k, isConfigMapKey(k), `${path}[${k}]`));
    const off = base64ErrorOffset(v);
    if (off >= 0) errs.push(fieldError.invalid(`${path}[${k}]`, "<secret contents redacted>", `illegal base64 data at input byte ${off}`));
    else total += decodedLength(v);
  }
  return total;
}

function immutableData(n: KObject, o: KObject | undefined, fields: string[]): StatusCause[] {
  if (!o || o.immutable !== true) return [];
  const errs: StatusCause[] = [];
  if (n.immutable !== true) errs.push(fieldError.forbidden("immutable", IMMUTABLE_MSG));
  for (const f of fields) if (!jsonEqual(n[f] ?? {}, o[f] ?? {})) errs.push(fieldError.forbidden(f, IMMUTABLE_MSG));
  return errs;
}

function metaErrors(o: KObject, ctx: ValidationContext): StatusCause[] {
  return ctx.operation === "create" ? validateObjectMeta(o.metadata, { namespaced: true }) : validateObjectMetaUpdate(o.metadata, ctx.old?.metadata);
}

function validateConfigMap(cm: KObject, ctx: ValidationContext): StatusCause[] {
  const errs = metaErrors(cm, ctx);
  if (ctx.operation === "update") errs.push(...immutableData(cm, ctx.old, ["data", "binaryData"]));
  asBool(cm.immutable, "immutable", errs);
  const data = asStringMap(cm.data, "data", errs) ?? {};
  const binary = asStringMap(cm.binaryData, "binaryData", errs) ?? {};
  let total = 0;
  for (const [k, v] of Object.entries(data)) {
    errs.push(...invalidEach(k, isConfigMapKey(k), `data[${k}]`));
    if (k in binary) errs.push(fieldError.invalid(`data[${k}]`, k, "duplicate of key present in binaryData"));
    total += Buffer.byteLength(v);
  }
  total += validateBase64Map(binary, "binaryData", errs);
  if (total > MAX_SECRET_SIZE) errs.push(fieldError.tooLong("", MAX_SECRET_SIZE));
  return errs;
}

/** Each well-known Secret type and the data keys it needs. */
const REQUIRED_SECRET_KEYS: Record<string, string[]> = {
  "kubernetes.io/dockercfg": [".dockercfg"],
  "kubernetes.io/dockerconfigjson": [".dockerconfigjson"],
  "kubernetes.io/ssh-auth": ["ssh-privatekey"],
  "kubernetes.io/tls": ["tls.crt", "tls.key"],
};

function validateSecret(s: KObject, ctx: ValidationContext): StatusCause[] {
  const errs = metaErrors(s, ctx);
  if (ctx.operation === "update" && ctx.old) {
    if ((s.type ?? "") !== (ctx.old.type ?? "")) errs.push(fieldError.invalid("type", s.type ?? "", "field is immutable"));
    errs.push(...immutableData(s, ctx.old, ["data"]));
  }
  asBool(s.immutable, "immutable", errs);
  if (s.type !== undefined && typeof s.type !== "string") errs.push(fieldError.typeInvalid("type", s.type, "must be of type string"));
  const data = asStringMap(s.data, "data", errs) ?? {};
  const total = validateBase64Map(data, "data", errs);
  if (total > MAX_SECRET_SIZE) errs.push(fieldError.tooLong("data", MAX_SECRET_SIZE));
  const type = typeof s.type === "string" ? s.type : "";
  if (type === "kubernetes.io/service-account-token") {
    if (!obj(s.metadata?.annotations)["kubernetes.io/service-account.name"]) {
      errs.push(fieldError.required("metadata.annotations[kubernetes.io/service-account.name]"));
    }
  } else if (type === "kubernetes.io/basic-auth") {
    if (!("username" in data) && !("password" in data)) errs.push(fieldError.required("data[username]"), fieldError.required("data[password]"));
  } else if (REQUIRED_SECRET_KEYS[type]) {
    for (const key of REQUIRED_SECRET_KEYS[type]!) {
      if (!(key in data) || (type === "kubernetes.io/ssh-auth" && !data[key])) {
        errs.push(fieldError.required(`data[${key}]`));
        continue;
      }
      if (key === ".dockercfg" || key === ".dockerconfigjson") {
        if (base64ErrorOffset(data[key]!) >= 0) continue;
        try {
          const parsed = JSON.parse(Buffer.from(data[key]!, "base64").toString("utf8"));
          if (!isPlainObject(parsed)) throw new Error("json: cannot unmarshal into Go value of type map[string]interface {}");
        } catch (e) {
          errs.push(fieldError.invalid(`data[${key}]`, "<secret contents redacted>", (e as Error).message));
        }
      }
    }
  }
  return errs;
}

/** The API folds write-only stringData into data (base64) before anything else sees it. */
function defaultSecret(s: KObject): void {
  if (s.type === undefined || s.type === null || s.type === "") s.type = "Opaque";
  if (isPlainObject(s.stringData)) {
    const data: Record<string, unknown> = isPlainObject(s.data) ? s.data : {};
    for (const [k, v] of Object.entries(s.stringData)) if (typeof v === "string") data[k] = Buffer.from(v, "utf8").toString("base64");
    s.data = data;
    delete s.stringData;
  }
}

function validateServiceAccount(sa: KObject, ctx: ValidationContext): StatusCause[] {
  const errs = metaErrors(sa, ctx);
  objectItems(sa.secrets, "secrets", errs);
  objectItems(sa.imagePullSecrets, "imagePullSecrets", errs);
  asBool(sa.automountServiceAccountToken, "automountServiceAccountToken", errs);
  return errs;
}

export const configMapResource: ResourceDef = {
  group: "",
  version: "v1",
  kind: "ConfigMap",
  plural: "configmaps",
  singular: "configmap",
  namespaced: true,
  shortNames: ["cm"],
  tracksGeneration: false,
  validate: validateConfigMap,
  table: {
    columns: [column("Data", "Number of data entries.", { type: "integer" }), ageColumn()],
    cells: (cm, now) => [countKeys(cm.data, cm.binaryData), ageSince(cm.metadata?.creationTimestamp, now)],
  },
};

export const secretResource: ResourceDef = {
  group: "",
  version: "v1",
  kind: "Secret",
  plural: "secrets",
  singular: "secret",
  namespaced: true,
  tracksGeneration: false,
  defaults: defaultSecret,
  validate: validateSecret,
  table: {
    columns: [
      column("Type", "Used to facilitate programmatic handling of secret data."),
      column("Data", "Number of data entries.", { type: "integer" }),
      ageColumn(),
    ],
    cells: (s, now) => [str(s.type), countKeys(s.data), ageSince(s.metadata?.creationTimestamp, now)],
  },
};

export const serviceAccountResource: ResourceDef = {
  group: "",
  version: "v1",
  kind: "ServiceAccount",
  plural: "serviceaccounts",
  singular: "serviceaccount",
  namespaced: true,
  shortNames: ["sa"],
  // serviceaccounts/token: TokenRequest (apiserver/tokenrequest.ts).
  subresources: ["token"],
  tracksGeneration: false,
  validate: validateServiceAccount,
  table: {
    columns: [column("Secrets", "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.", { type: "integer" }), ageColumn()],
    cells: (sa, now) => [list(sa.secrets).length, ageSince(sa.metadata?.creationTimestamp, now)],
  },
};

