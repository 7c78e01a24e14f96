// A compact notation for writing the schema of Kubernetes API types (the facts of
// upstream's generated.proto and OpenAPI: JSON name, protobuf field number, type,
// strategic-merge-patch keys and server-side-apply list types) as data. Each group
// file (core.ts, apps.ts, …) is one text block per package:
//
//   @Deployment gvk=apps/v1/Deployment
//   metadata 1 meta.ObjectMeta
//   spec 2 DeploymentSpec
//   @DeploymentSpec
//   replicas 1 *int32
//   selector! 2 meta.LabelSelector
//   ...
//
// A field line is `name[!] tag type [options]`: `!` marks a required field; `*T` marks
// a Go pointer (an explicit zero value is meaningful, so protobuf decoding keeps it);
// `[]T` is a list, `{}T` a map with string keys; a capitalised name is a TypeDef in
// the same package, `meta.X`/`core.X`/… one in another package. Options: `mk=key`
// (patchMergeKey, strategy "merge"), `ps=strategy`, `lt=atomic|set|map`, `lk=k1,k2`,
// `map=key` (shorthand for mk=key lt=map lk=key), `mt=atomic|granular` (mapType).
// A line `... tag Type` is a Go embedded struct: its fields are inlined in JSON but
// nested under `tag` in protobuf (e.g. Volume embeds VolumeSource).
// Merge keys and list types: https://kubernetes.io/docs/reference/using-api/server-side-apply/#merge-strategy

import type { FieldDef, FieldType, TypeDef } from "./types.js";

/** Package aliases usable as `alias.TypeName` in the notation. */
export const PACKAGES: Record<string, string> = {
  meta: "io.k8s.apimachinery.pkg.apis.meta.v1",
  core: "io.k8s.api.core.v1",
  apps: "io.k8s.api.apps.v1",
  batch: "io.k8s.api.batch.v1",
  networking: "io.k8s.api.networking.v1",
  discovery: "io.k8s.api.discovery.v1",
  coordination: "io.k8s.api.coordination.v1",
  autoscalingv1: "io.k8s.api.autoscaling.v1",
  autoscalingv2: "io.k8s.api.autoscaling.v2",
  events: "io.k8s.api.events.v1",
  policy: "io.k8s.api.policy.v1",
  scheduling: "io.k8s.api.scheduling.v1",
};

/** Embedded (inlined) structs per type: protobuf tag → embedded TypeDef name. */
export const protoInline = new Map<string, Map<number, string>>();
/** Fields that are Go pointers to scalars: an explicit zero must survive protobuf decoding. */
export const presenceFields = new Map<string, Set<string>>();

const SCALARS: Record<string, FieldType> = {
  string: { kind: "string" },
  int32: { kind: "int32" },
  int64: { kind: "int64" },
  double: { kind: "double" },
  bool: { kind: "bool" },
  bytes: { kind: "bytes" },
  quantity: { kind: "quantity" },
  ios: { kind: "intOrString" },
  time: { kind: "time" },
  microtime: { kind: "microTime" },
  any: { kind: "any" },
};

function resolveName(pkg: string, name: string): string {
  if (name.startsWith("io.")) return name;
  const dot = name.indexOf(".");
  if (dot < 0) return `${pkg}.${name}`;
  const alias = PACKAGES[name.slice(0, dot)];
  if (!alias) throw new Error(`schema notation: unknown package alias in ${name}`);
  return `${alias}.${name.slice(dot + 1)}`;
}

function parseType(pkg: string, tok: string): FieldType {
  if (tok.startsWith("[]")) return { kind: "array", items: parseType(pkg, tok.slice(2)) };
  if (tok.startsWith("{}")) return { kind: "map", value: parseType(pkg, tok.slice(2)) };
  const scalar = SCALARS[tok];
  if (scalar) return { ...scalar };
  if (!/^[A-Za-z][\w.]*$/.test(tok)) throw new Error(`schema notation: bad type ${tok}`);
  return { kind: "ref", type: resolveName(pkg, tok) };
}

function applyOptions(field: FieldDef, opts: string[], where: string): void {
  for (const opt of opts) {
    const eq = opt.indexOf("=");
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const val = eq < 0 ? "" : opt.slice(eq + 1);
    const t = field.type;
    const arr = t.kind === "array" ? t : undefined;
    switch (key) {
      case "mk":
      case "map":
        if (!arr) throw new Error(`schema notation: ${key} on non-list ${where}`);
        arr.patchMergeKey = val;
        arr.patchStrategy ??= "merge";
        if (key === "map") {
          arr.listType = "map";
          arr.listMapKeys = [val];
        }
        break;
      case "ps":
        if (arr) arr.patchStrategy = val;
        else field.patchStrategy = val;
        break;
      case "lt":
        if (!arr) throw new Error(`schema notation: lt on non-list ${where}`);
        arr.listType = val as "atomic" | "set" | "map";
        break;
      case "lk":
        if (!arr) throw new Error(`schema notation: lk on non-list ${where}`);
        arr.listMapKeys = val.split(",");
        break;
      case "mt":
        field.mapType = val as "atomic" | "granular";
        break;
      default:
        throw new Error(`schema notation: unknown option ${opt} at ${where}`);
    }
  }
}

/** Parses one package's text block into TypeDefs (see the file header for the notation). */
export function defineTypes(pkg: string, text: string): TypeDef[] {
  const out: TypeDef[] = [];
  let cur: TypeDef | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const parts = line.split(/\s+/);
    if (line.startsWith("@")) {
      cur = { name: `${pkg}.${parts[0]!.slice(1)}`, fields: [] };
      for (const opt of parts.slice(1)) {
        if (opt === "atomic") cur.atomic = true;
        else if (opt.startsWith("gvk=")) {
          const [group, version, kind] = opt.slice(4).split("/");
          cur.gvk = { group: group!, version: version!, kind: kind! };
        } else throw new Error(`schema notation: bad type option ${opt} on ${cur.name}`);
      }
      out.push(cur);
      continue;
    }
    if (!cur) throw new Error(`schema notation: field before type: ${line}`);
    const [rawName, tagText, typeText, ...opts] = parts;
    const tag = Number(tagText);
    if (!rawName || !Number.isInteger(tag) || tag <= 0 || !typeText) {
      throw new Error(`schema notation: bad field line in ${cur.name}: ${line}`);
    }
    if (rawName === "...") {
      const embedded = resolveName(pkg, typeText);
      let m = protoInline.get(cur.name);
      if (!m) protoInline.set(cur.name, (m = new Map()));
      m.set(tag, embedded);
      continue;
    }
    const required = rawName.endsWith("!");
    const name = required ? rawName.slice(0, -1) : rawName;
    const pointer = typeText.startsWith("*");
    const field: FieldDef = { name, tag, type: parseType(pkg, pointer ? typeText.slice(1) : typeText) };
    if (required) field.required = true;
    if (pointer) {
      let s = presenceFields.get(cur.name);
      if (!s) presenceFields.set(cur.name, (s = new Set()));
      s.add(name);
    }
    applyOptions(field, opts, `${cur.name}.${name}`);
    cur.fields.push(field);
  }
  return out;
}
