// Test fixture for the patch tests: a hand-written miniature of the Kubernetes
// Deployment/PodSpec schema with the merge facts that matter to strategic merge patch
// and server-side apply (containers by name, ports by containerPort(+protocol), env by
// name, volumes by name with retainKeys, finalizers as a set, atomic selector and
// nodeSelector, the retainKeys strategy field). Deliberately independent of the real
// catalogue in src/api/schema so the patch code is tested against the vocabulary only.

import type { FieldDef, FieldType, SchemaRegistry, TypeDef } from "../../api/schema/types.js";

const str: FieldType = { kind: "string" };
const i32: FieldType = { kind: "int32" };
const ref = (type: string): FieldType => ({ kind: "ref", type });
const mapOf = (value: FieldType): FieldType => ({ kind: "map", value });
let tag = 0;
const f = (name: string, type: FieldType, extra: Partial<FieldDef> = {}): FieldDef => ({ name, tag: ++tag, type, ...extra });
const mergeList = (items: FieldType, key: string, keys = [key], strategy = "merge"): FieldType => ({
  kind: "array",
  items,
  patchMergeKey: key,
  patchStrategy: strategy,
  listType: "map",
  listMapKeys: keys,
});

const types: TypeDef[] = [
  {
    name: "Deployment",
    gvk: { group: "apps", version: "v1", kind: "Deployment" },
    fields: [f("apiVersion", str), f("kind", str), f("metadata", ref("ObjectMeta")), f("spec", ref("DeploymentSpec")), f("status", ref("DeploymentStatus"))],
  },
  {
    name: "ObjectMeta",
    fields: [
      f("name", str),
      f("namespace", str),
      f("uid", str),
      f("resourceVersion", str),
      f("generation", { kind: "int64" }),
      f("creationTimestamp", { kind: "time" }),
      f("labels", mapOf(str)),
      f("annotations", mapOf(str)),
      f("finalizers", { kind: "array", items: str, patchStrategy: "merge", listType: "set" }),
      f("ownerReferences", mergeList(ref("OwnerReference"), "uid")),
      f("managedFields", { kind: "array", items: { kind: "any" }, listType: "atomic" }),
    ],
  },
  { name: "OwnerReference", fields: [f("uid", str), f("name", str), f("kind", str), f("apiVersion", str), f("controller", { kind: "bool" })] },
  {
    name: "DeploymentSpec",
    fields: [
      f("replicas", i32),
      f("selector", ref("LabelSelector")),
      f("template", ref("PodTemplateSpec")),
      f("strategy", ref("DeploymentStrategy"), { patchStrategy: "retainKeys" }),
      f("extra", { kind: "any" }),
    ],
  },
  { name: "LabelSelector", atomic: true, fields: [f("matchLabels", mapOf(str))] },
  { name: "DeploymentStrategy", fields: [f("type", str), f("rollingUpdate", ref("RollingUpdate"))] },
  { name: "RollingUpdate", fields: [f("maxSurge", { kind: "intOrString" }), f("maxUnavailable", { kind: "intOrString" })] },
  { name: "DeploymentStatus", fields: [f("replicas", i32), f("observedGeneration", { kind: "int64" })] },
  { name: "PodTemplateSpec", fields: [f("metadata", ref("ObjectMeta")), f("spec", ref("PodSpec"))] },
  {
    name: "PodSpec",
    fields: [
      f("containers", mergeList(ref("Container"), "name")),
      f("initContainers", mergeList(ref("Container"), "name")),
      f("volumes", mergeList(ref("Volume"), "name", ["name"], "merge,retainKeys")),
      f("nodeSelector", mapOf(str), { mapType: "atomic" }),
      f("tolerations", { kind: "array", items: ref("Toleration"), listType: "atomic" }),
      f("restartPolicy", str),
    ],
  },
  {
    name: "Container",
    fields: [
      f("name", str),
      f("image", str),
      f("args", { kind: "array", items: str, listType: "atomic" }),
      f("ports", mergeList(ref("ContainerPort"), "containerPort", ["containerPort", "protocol"])),
      f("env", mergeList(ref("EnvVar"), "name")),
      f("resources", ref("ResourceRequirements")),
      f("imagePullPolicy", str),
    ],
  },
  { name: "ContainerPort", fields: [f("containerPort", i32), f("protocol", str), f("name", str)] },
  { name: "EnvVar", fields: [f("name", str), f("value", str)] },
  { name: "ResourceRequirements", fields: [f("limits", mapOf({ kind: "quantity" })), f("requests", mapOf({ kind: "quantity" }))] },
  { name: "Toleration", fields: [f("key", str), f("operator", str), f("effect", str)] },
  { name: "Volume", fields: [f("name", str), f("emptyDir", ref("EmptyDir")), f("configMap", ref("ConfigMapSource")), f("hostPath", ref("HostPath"))] },
  { name: "EmptyDir", fields: [f("medium", str)] },
  { name: "ConfigMapSource", fields: [f("name", str)] },
  { name: "HostPath", fields: [f("path", str)] },
  { name: "ConfigMap", gvk: { group: "", version: "v1", kind: "ConfigMap" }, fields: [f("metadata", ref("ObjectMeta")), f("data", mapOf(str))] },
];

export const testSchema: SchemaRegistry = {
  type: (name) => types.find((t) => t.name === name),
  forKind: (group, version, kind) =>
    types.find((t) => t.gvk && t.gvk.group === group && t.gvk.version === version && t.gvk.kind === kind),
};
