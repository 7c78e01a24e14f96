// The schema registry: every served type's TypeDef by OpenAPI name and by
// group/version/kind, from which OpenAPI documents, strict field validation,
// patch merge keys and protobuf decoding are derived
// (https://kubernetes.io/docs/concepts/overview/kubernetes-api/#openapi-interface-definition).
// Embedded Go structs (Volume ⊃ VolumeSource, Probe ⊃ ProbeHandler, …) are flattened
// here: their fields join the embedding type with tag 0, because on the protobuf wire
// they travel nested under the embedding tag (see protoInline in builder.ts).

import { presenceFields, protoInline, PACKAGES } from "./builder.js";
import type { FieldDef, SchemaRegistry, TypeDef } from "./types.js";
import { metaTypes } from "./meta.js";
import { coreTypes } from "./core.js";
import { corePodTypes } from "./core-pod.js";
import { appsTypes } from "./apps.js";
import { batchTypes } from "./batch.js";
import { networkingTypes } from "./networking.js";
import { discoveryTypes } from "./discovery.js";
import { coordinationTypes } from "./coordination.js";
import { autoscalingV1Types, autoscalingV2Types } from "./autoscaling.js";
import { eventsTypes } from "./events.js";
import { policyTypes } from "./policy.js";
import { schedulingTypes } from "./scheduling.js";
import { storageTypes } from "../storage-schema.js";

const allTypes: TypeDef[] = [
  ...metaTypes,
  ...coreTypes,
  ...corePodTypes,
  ...appsTypes,
  ...batchTypes,
  ...networkingTypes,
  ...discoveryTypes,
  ...coordinationTypes,
  ...autoscalingV1Types,
  ...autoscalingV2Types,
  ...eventsTypes,
  ...policyTypes,
  ...schedulingTypes,
  ...storageTypes,
];

const byName = new Map<string, TypeDef>();
for (const t of allTypes) {
  if (byName.has(t.name)) throw new Error(`schema: type ${t.name} defined twice`);
  byName.set(t.name, t);
}

// Flatten embedded structs (depth first, so an embedded type is complete before it is copied).
const flattened = new Set<string>();
function flatten(t: TypeDef, stack: string[] = []): void {
  if (flattened.has(t.name)) return;
  if (stack.includes(t.name)) throw new Error(`schema: embedding cycle at ${t.name}`);
  for (const embeddedName of protoInline.get(t.name)?.values() ?? []) {
    const embedded = byName.get(embeddedName);
    if (!embedded) throw new Error(`schema: ${t.name} embeds unknown type ${embeddedName}`);
    flatten(embedded, [...stack, t.name]);
    for (const f of embedded.fields) {
      if (t.fields.some((g) => g.name === f.name)) throw new Error(`schema: ${t.name}.${f.name} clashes with embedded ${embeddedName}`);
      t.fields.push({ ...f, tag: 0 });
    }
    // Pointer-ness of embedded fields is a property of the embedded type, looked up there.
  }
  flattened.add(t.name);
}
for (const t of allTypes) flatten(t);

const byGVK = new Map<string, TypeDef>();
function gvkKey(group: string, version: string, kind: string): string {
  return `${group}/${version}/${kind}`;
}
for (const t of allTypes) if (t.gvk) byGVK.set(gvkKey(t.gvk.group, t.gvk.version, t.gvk.kind), t);

/** meta/v1 kinds that any group-version may carry (DeleteOptions bodies, Status). */
const META_KINDS = new Set(["DeleteOptions", "Status"]);

export const schema: SchemaRegistry = {
  type: (name) => byName.get(name),
  forKind(group, version, kind) {
    const t = byGVK.get(gvkKey(group, version, kind));
    if (t) return t;
    if (META_KINDS.has(kind)) return byName.get(`${PACKAGES.meta}.${kind}`);
    return undefined;
  },
};

/** The OpenAPI type name serving group/version/kind ("" group for core), if any. */
export function typeNameFor(group: string, version: string, kind: string): string | undefined {
  return schema.forKind(group, version, kind)?.name;
}

/** Every registered TypeDef (for OpenAPI generation and tests). */
export function allTypeDefs(): readonly TypeDef[] {
  return allTypes;
}

/** Protobuf: tag → embedded type name for Go structs embedded in `typeName`. */
export function embeddedTypes(typeName: string): ReadonlyMap<number, string> | undefined {
  return protoInline.get(typeName);
}

/** Protobuf: is `field` of `typeName` a Go pointer (explicit zero values are meaningful)? */
export function isPointerField(typeName: string, field: string): boolean {
  return presenceFields.get(typeName)?.has(field) ?? false;
}

/** Looks a field up by JSON name. */
export function fieldOf(t: TypeDef, name: string): FieldDef | undefined {
  return t.fields.find((f) => f.name === name);
}
