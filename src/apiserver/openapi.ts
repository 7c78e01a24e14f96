// OpenAPI v3 discovery: the /openapi/v3 index (one entry per group-version with a
// content hash) and each group-version's OpenAPI 3.0 document, derived from the
// resource catalogue and the schema registry
// (https://kubernetes.io/docs/concepts/overview/kubernetes-api/#openapi-v3).
// kubectl `apply`/`create` read it to check that PATCH accepts `fieldValidation` and to
// get strategic-merge-patch keys (x-kubernetes-patch-merge-key/-strategy);
// `kubectl explain` walks components.schemas by x-kubernetes-group-version-kind.

import { createHash } from "node:crypto";
import type { ResourceDef } from "../api/types.js";
import { schema } from "../api/schema/registry.js";
import { PACKAGES } from "../api/schema/builder.js";
import type { FieldDef, FieldType, TypeDef } from "../api/schema/types.js";

type Json = Record<string, unknown>;

const META = PACKAGES.meta!;
const QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const TIME = `${META}.Time`;
const MICRO_TIME = `${META}.MicroTime`;
const PATCH = `${META}.Patch`;

/** Value types that are schemas of their own upstream (not TypeDefs here). */
const VALUE_SCHEMAS: Record<string, Json> = {
  [QUANTITY]: {
    description: "Quantity is a fixed-point representation of a number, e.g. \"100m\" or \"1Gi\".",
    oneOf: [{ type: "string" }, { type: "number" }],
  },
  [INT_OR_STRING]: {
    description: "IntOrString is a type that can hold an int32 or a string.",
    format: "int-or-string",
    oneOf: [{ type: "integer" }, { type: "string" }],
  },
  [TIME]: { description: "Time is RFC 3339 date and time at second precision.", type: "string", format: "date-time" },
  [MICRO_TIME]: { description: "MicroTime is RFC 3339 date and time with microseconds.", type: "string", format: "date-time" },
  [PATCH]: { description: "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.", type: "object" },
};

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

/** Collects the component schemas reachable from a set of root type names. */
class SchemaSet {
  readonly schemas = new Map<string, Json>();
  /** Extra top-level types (lists) built here rather than in the registry. */
  readonly extra = new Map<string, TypeDef>();

  add(name: string): void {
    if (this.schemas.has(name)) return;
    const value = VALUE_SCHEMAS[name];
    if (value) {
      this.schemas.set(name, value);
      return;
    }
    const def = this.extra.get(name) ?? schema.type(name);
    if (!def) return;
    this.schemas.set(name, {}); // placeholder against cycles
    this.schemas.set(name, this.typeSchema(def));
  }

  private typeSchema(def: TypeDef): Json {
    const properties: Json = {};
    const required: string[] = [];
    if (def.gvk) {
      properties.apiVersion = { type: "string", description: "APIVersion defines the versioned schema of this representation of an object." };
      properties.kind = { type: "string", description: "Kind is a string value representing the REST resource this object represents." };
    }
    for (const f of def.fields) {
      properties[f.name] = this.fieldSchema(f);
      if (f.required) required.push(f.name);
    }
    const out: Json = { type: "object" };
    if (def.description) out.description = def.description;
    out.properties = properties;
    if (required.length) out.required = required;
    if (def.atomic) out["x-kubernetes-map-type"] = "atomic";
    if (def.gvk) out["x-kubernetes-group-version-kind"] = [{ group: def.gvk.group, kind: def.gvk.kind, version: def.gvk.version }];
    return out;
  }

  private fieldSchema(f: FieldDef): Json {
    const s = this.typeOf(f.type);
    const extras: Json = {};
    if (f.description) extras.description = f.description;
    if (f.patchStrategy) extras["x-kubernetes-patch-strategy"] = f.patchStrategy;
    if (f.mapType) extras["x-kubernetes-map-type"] = f.mapType;
    if (Object.keys(extras).length === 0) return s;
    // A $ref cannot carry siblings in OpenAPI 3.0: wrap it, as upstream does.
    if ("$ref" in s) return { allOf: [s], ...extras };
    return { ...s, ...extras };
  }

  typeOf(t: FieldType): Json {
    switch (t.kind) {
      case "string":
        return { type: "string" };
      case "bytes":
        return { type: "string", format: "byte" };
      case "int32":
        return { type: "integer", format: "int32" };
      case "int64":
        return { type: "integer", format: "int64" };
      case "double":
        return { type: "number", format: "double" };
      case "bool":
        return { type: "boolean" };
      case "quantity":
        return this.named(QUANTITY);
      case "intOrString":
        return this.named(INT_OR_STRING);
      case "time":
        return this.named(TIME);
      case "microTime":
        return this.named(MICRO_TIME);
      case "any":
        return { type: "object", "x-kubernetes-preserve-unknown-fields": true };
      case "map":
        return { type: "object", additionalProperties: this.typeOf(t.value) };
      case "ref":
        return this.named(t.type);
      case "array": {
        const out: Json = { type: "array", items: this.typeOf(t.items) };
        if (t.patchMergeKey) out["x-kubernetes-patch-merge-key"] = t.patchMergeKey;
        if (t.patchStrategy) out["x-kubernetes-patch-strategy"] = t.patchStrategy;
        if (t.listType) out["x-kubernetes-list-type"] = t.listType;
        if (t.listMapKeys) out["x-kubernetes-list-map-keys"] = t.listMapKeys;
        return out;
      }
    }
  }

  named(name: string): Json {
    this.add(name);
    return ref(name);
  }
}

function listTypeFor(def: ResourceDef, item: TypeDef): TypeDef {
  const pkg = item.name.slice(0, item.name.lastIndexOf("."));
  return {
    name: `${pkg}.${def.kind}List`,
    description: `${def.kind}List is a list of ${def.kind} objects.`,
    gvk: { group: def.group, version: def.version, kind: `${def.kind}List` },
    fields: [
      { name: "items", tag: 2, required: true, type: { kind: "array", items: { kind: "ref", type: item.name } } },
      { name: "metadata", tag: 1, type: { kind: "ref", type: `${META}.ListMeta` } },
    ],
  };
}

// ---- parameters ----------------------------------------------------------------------

function queryParam(name: string, type: "string" | "integer" | "boolean", description: string): Json {
  return { name, in: "query", description, schema: { type, uniqueItems: true } };
}

const P = {
  pretty: queryParam("pretty", "string", "If 'true', then the output is pretty printed."),
  dryRun: queryParam("dryRun", "string", "When present, indicates that modifications should not be persisted. Valid value: All."),
  fieldManager: queryParam("fieldManager", "string", "fieldManager is a name associated with the actor or entity that is making these changes."),
  fieldValidation: queryParam(
    "fieldValidation",
    "string",
    "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.",
  ),
  force: queryParam("force", "boolean", "Force is going to \"force\" Apply requests. It must be unset for non-apply patch requests."),
  gracePeriodSeconds: queryParam("gracePeriodSeconds", "integer", "The duration in seconds before the object should be deleted."),
  orphanDependents: queryParam("orphanDependents", "boolean", "Deprecated: please use the PropagationPolicy."),
  propagationPolicy: queryParam("propagationPolicy", "string", "Whether and how garbage collection will be performed: Orphan, Background or Foreground."),
  list: [
    queryParam("allowWatchBookmarks", "boolean", "allowWatchBookmarks requests watch events with type \"BOOKMARK\"."),
    queryParam("continue", "string", "The continue option should be set when retrieving more results from the server."),
    queryParam("fieldSelector", "string", "A selector to restrict the list of returned objects by their fields."),
    queryParam("labelSelector", "string", "A selector to restrict the list of returned objects by their labels."),
    queryParam("limit", "integer", "limit is a maximum number of responses to return for a list call."),
    queryParam("resourceVersion", "string", "resourceVersion sets a constraint on what resource versions a request may be served from."),
    queryParam("resourceVersionMatch", "string", "resourceVersionMatch determines how resourceVersion is applied to list calls."),
    queryParam("sendInitialEvents", "boolean", "`sendInitialEvents=true` may be set together with `watch=true`."),
    queryParam("timeoutSeconds", "integer", "Timeout for the list/watch call."),
    queryParam("watch", "boolean", "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications."),
  ],
  path: (name: string, description: string): Json => ({ name, in: "path", required: true, description, schema: { type: "string", uniqueItems: true } }),
};

const JSON_TYPES = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"];
const PATCH_TYPES = [
  "application/apply-patch+yaml",
  "application/json-patch+json",
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
];

function content(types: string[], s: Json): Json {
  return Object.fromEntries(types.map((t) => [t, { schema: s }]));
}

function responses(codes: number[], s: Json): Json {
  const out: Json = {};
  for (const c of codes) out[String(c)] = { description: c === 201 ? "Created" : c === 202 ? "Accepted" : "OK", content: content(JSON_TYPES, s) };
  out["401"] = { description: "Unauthorized" };
  return out;
}

function pascal(s: string): string {
  return s
    .split(/[.\-/]/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join("");
}

// ---- documents -----------------------------------------------------------------------

function groupVersionPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

const ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

/** The OpenAPI 3.0 document of one group-version. */
export function buildOpenAPIV3GroupVersion(defs: ResourceDef[], group: string, version: string): object {
  const set = new SchemaSet();
  const paths: Json = {};
  const gvDefs = defs.filter((d) => d.group === group && d.version === version).sort((a, b) => a.plural.localeCompare(b.plural));
  const opPrefix = group ? pascal(group.replace(/\.k8s\.io$/, "")) + pascal(version) : `Core${pascal(version)}`;

  for (const def of gvDefs) {
    const item = schema.forKind(def.group, def.version, def.kind);
    const gvk = { group: def.group, kind: def.kind, version: def.version };
    const base = `/${groupVersionPath(group, version)}`;
    const collection = def.namespaced ? `${base}/namespaces/{namespace}/${def.plural}` : `${base}/${def.plural}`;
    const itemPath = `${collection}/{name}`;
    const scopeParams = def.namespaced ? [P.path("namespace", "object name and auth scope, such as for teams and projects")] : [];
    const verbs = new Set(def.verbs ?? ALL_VERBS);
    const kindName = (def.namespaced ? "Namespaced" : "") + def.kind;
    let itemRef: Json = { type: "object" };
    let listRef: Json = { type: "object" };
    if (item) {
      itemRef = set.named(item.name);
      const list = listTypeFor(def, item);
      set.extra.set(list.name, list);
      listRef = set.named(list.name);
    }
    const statusRef = set.named(`${META}.Status`);
    const deleteOptionsRef = set.named(`${META}.DeleteOptions`);
    const patchRef = set.named(PATCH);
    const op = (action: string, verb: string, extra: Json): Json => ({
      tags: [opPrefix],
      operationId: `${verb}${opPrefix}${kindName}`,
      ...extra,
      "x-kubernetes-action": action,
      "x-kubernetes-group-version-kind": gvk,
    });
    const writeParams = [P.dryRun, P.fieldManager, P.fieldValidation];

    const coll: Json = { parameters: [...scopeParams, P.pretty] };
    if (verbs.has("list")) coll.get = op("list", "list", { description: `list or watch objects of kind ${def.kind}`, parameters: P.list, responses: responses([200], listRef) });
    if (verbs.has("create")) {
      coll.post = op("post", "create", {
        description: `create a ${def.kind}`,
        parameters: writeParams,
        requestBody: { content: content(JSON_TYPES, itemRef), required: true },
        responses: responses([200, 201, 202], itemRef),
      });
    }
    if (verbs.has("deletecollection")) {
      coll.delete = op("deletecollection", "deleteCollection", {
        description: `delete collection of ${def.kind}`,
        parameters: [...P.list, P.dryRun, P.gracePeriodSeconds, P.orphanDependents, P.propagationPolicy],
        requestBody: { content: content(JSON_TYPES, deleteOptionsRef) },
        responses: responses([200], statusRef),
      });
    }
    if (Object.keys(coll).length > 1) paths[collection] = coll;

    const itemOps: Json = { parameters: [P.path("name", `name of the ${def.kind}`), ...scopeParams, P.pretty] };
    if (verbs.has("get")) itemOps.get = op("get", "read", { description: `read the specified ${def.kind}`, responses: responses([200], itemRef) });
    if (verbs.has("update")) {
      itemOps.put = op("put", "replace", {
        description: `replace the specified ${def.kind}`,
        parameters: writeParams,
        requestBody: { content: content(JSON_TYPES, itemRef), required: true },
        responses: responses([200, 201], itemRef),
      });
    }
    if (verbs.has("patch")) {
      itemOps.patch = op("patch", "patch", {
        description: `partially update the specified ${def.kind}`,
        parameters: [...writeParams, P.force],
        requestBody: { content: content(PATCH_TYPES, patchRef), required: true },
        responses: responses([200, 201], itemRef),
      });
    }
    if (verbs.has("delete")) {
      itemOps.delete = op("delete", "delete", {
        description: `delete a ${def.kind}`,
        parameters: [P.dryRun, P.gracePeriodSeconds, P.orphanDependents, P.propagationPolicy],
        requestBody: { content: content(JSON_TYPES, deleteOptionsRef) },
        responses: responses([200, 202], statusRef),
      });
    }
    if (Object.keys(itemOps).length > 1) paths[itemPath] = itemOps;

    if (def.namespaced && verbs.has("list")) {
      paths[`${base}/${def.plural}`] = {
        parameters: [P.pretty],
        get: op("list", "list", { operationId: `list${opPrefix}${def.kind}ForAllNamespaces`, description: `list or watch objects of kind ${def.kind}`, parameters: P.list, responses: responses([200], listRef) }),
      };
    }

    for (const sub of def.subresources ?? []) {
      if (sub !== "status" && sub !== "scale") continue;
      const subRef = sub === "scale" ? set.named("io.k8s.api.autoscaling.v1.Scale") : itemRef;
      const subGvk = sub === "scale" ? { group: "autoscaling", kind: "Scale", version: "v1" } : gvk;
      const name = `${kindName}${pascal(sub)}`;
      const sop = (action: string, verb: string, extra: Json): Json => ({
        tags: [opPrefix],
        operationId: `${verb}${opPrefix}${name}`,
        ...extra,
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": subGvk,
      });
      paths[`${itemPath}/${sub}`] = {
        parameters: [P.path("name", `name of the ${sub === "scale" ? "Scale" : def.kind}`), ...scopeParams, P.pretty],
        get: sop("get", "read", { description: `read ${sub} of the specified ${def.kind}`, responses: responses([200], subRef) }),
        put: sop("put", "replace", {
          description: `replace ${sub} of the specified ${def.kind}`,
          parameters: writeParams,
          requestBody: { content: content(JSON_TYPES, subRef), required: true },
          responses: responses([200, 201], subRef),
        }),
        patch: sop("patch", "patch", {
          description: `partially update ${sub} of the specified ${def.kind}`,
          parameters: [...writeParams, P.force],
          requestBody: { content: content(PATCH_TYPES, patchRef), required: true },
          responses: responses([200, 201], subRef),
        }),
      };
    }
  }

  const schemas = Object.fromEntries([...set.schemas.entries()].sort(([a], [b]) => a.localeCompare(b)));
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "unversioned" },
    paths,
    components: {
      schemas,
      securitySchemes: { BearerToken: { type: "apiKey", description: "Bearer Token authentication", name: "authorization", in: "header" } },
    },
    security: [{ BearerToken: [] }],
  };
}

/** Stable content hash of a document, as used in the index's `?hash=` links. */
export function openAPIV3Hash(doc: object): string {
  return createHash("sha512").update(JSON.stringify(doc)).digest("hex").toUpperCase();
}

/** The /openapi/v3 index: `{paths: {"apis/apps/v1": {serverRelativeURL: "/openapi/v3/apis/apps/v1?hash=H"}}}`. */
export function buildOpenAPIV3Index(defs: ResourceDef[]): object {
  const gvs = new Map<string, [string, string]>();
  for (const d of defs) gvs.set(groupVersionPath(d.group, d.version), [d.group, d.version]);
  const paths: Json = {};
  for (const key of [...gvs.keys()].sort()) {
    const [group, version] = gvs.get(key)!;
    const hash = openAPIV3Hash(buildOpenAPIV3GroupVersion(defs, group, version));
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
  }
  return { paths };
}

/** The group-version a request path like "apis/apps/v1" names, if any. */
export function parseOpenAPIV3Path(path: string): { group: string; version: string } | undefined {
  const p = path.replace(/^\/?(openapi\/v3\/)?/, "").replace(/\?.*$/, "");
  let m = /^api\/([^/]+)$/.exec(p);
  if (m) return { group: "", version: m[1]! };
  m = /^apis\/([^/]+)\/([^/]+)$/.exec(p);
  if (m) return { group: m[1]!, version: m[2]! };
  return undefined;
}

