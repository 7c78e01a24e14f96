// The schema vocabulary: one description of every served type's fields, from which
// the server derives OpenAPI documents, strict field validation (unknown fields,
// wrong types), strategic-merge-patch merge keys, server-side-apply list semantics
// and protobuf decoding (field numbers are the wire facts from the upstream
// generated.proto files). Modelled on the Kubernetes OpenAPI extensions
// (x-kubernetes-patch-merge-key, x-kubernetes-list-type, …):
// https://kubernetes.io/docs/reference/using-api/server-side-apply/#merge-strategy

export type FieldType =
  | { kind: "string" }
  | { kind: "int32" }
  | { kind: "int64" }
  | { kind: "double" }
  | { kind: "bool" }
  /** base64 text in JSON, raw bytes in protobuf (Secret.data, ConfigMap.binaryData). */
  | { kind: "bytes" }
  /** resource.Quantity: a string in JSON ("100m", "1Gi"), message {1: string} in protobuf. */
  | { kind: "quantity" }
  /** intstr.IntOrString: number or string in JSON; message {1: type, 2: intVal, 3: strVal} in protobuf. */
  | { kind: "intOrString" }
  /** metav1.Time: RFC 3339 in JSON; message {1: seconds, 2: nanos} in protobuf. */
  | { kind: "time" }
  /** metav1.MicroTime: RFC 3339 with microseconds in JSON; same message as Time. */
  | { kind: "microTime" }
  /** Free-form JSON (runtime.RawExtension, JSON schema props, fieldsV1): bytes {1: raw} in protobuf. */
  | { kind: "any" }
  | { kind: "map"; value: FieldType }
  | {
      kind: "array";
      items: FieldType;
      /** Strategic merge patch: merge list items by this key (x-kubernetes-patch-merge-key). */
      patchMergeKey?: string;
      /** Strategic merge patch: "merge" | "replace" | "retainKeys" | "merge,retainKeys". */
      patchStrategy?: string;
      /** Server-side apply list type; "map" uses listMapKeys. Default "atomic". */
      listType?: "atomic" | "set" | "map";
      listMapKeys?: string[];
    }
  /** A named TypeDef, e.g. "io.k8s.api.core.v1.PodSpec". */
  | { kind: "ref"; type: string };

export interface FieldDef {
  /** JSON name. */
  name: string;
  /** Protobuf field number. */
  tag: number;
  type: FieldType;
  /** Required by the schema (the openapi `required` list). */
  required?: boolean;
  /** For a map-typed struct field: SSA treats it as granular ("granular") or atomic. */
  mapType?: "granular" | "atomic";
  /** patchStrategy on a non-list field (e.g. "retainKeys" on volume sources). */
  patchStrategy?: string;
  description?: string;
}

export interface TypeDef {
  /** Fully qualified OpenAPI name, e.g. "io.k8s.api.apps.v1.Deployment". */
  name: string;
  fields: FieldDef[];
  /** Struct treated atomically by SSA (x-kubernetes-map-type: atomic). */
  atomic?: boolean;
  /** Top-level kind this type serves, for x-kubernetes-group-version-kind. */
  gvk?: { group: string; version: string; kind: string };
  description?: string;
}

/** Resolved facts about one location in an object, used by patch and apply. */
export interface FieldInfo {
  type: FieldType;
  patchStrategy?: string;
}

/** Looks types up by name; implemented by src/api/schema/registry.ts. */
export interface SchemaRegistry {
  type(name: string): TypeDef | undefined;
  /** The top-level TypeDef for a group/version/kind ("" group for core). */
  forKind(group: string, version: string, kind: string): TypeDef | undefined;
}
