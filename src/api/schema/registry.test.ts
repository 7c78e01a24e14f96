// Sanity of the schema data: every reference resolves, field numbers and names are
// unique per type, merge keys name real fields, and the served kinds are all present.

import { test } from "node:test";
import assert from "node:assert/strict";
import { allTypeDefs, embeddedTypes, schema, typeNameFor } from "./registry.js";
import type { FieldType } from "./types.js";

function refs(t: FieldType): string[] {
  if (t.kind === "ref") return [t.type];
  if (t.kind === "array") return refs(t.items);
  if (t.kind === "map") return refs(t.value);
  return [];
}

test("every ref and embedded type resolves", () => {
  for (const def of allTypeDefs()) {
    for (const f of def.fields) for (const r of refs(f.type)) assert.ok(schema.type(r), `${def.name}.${f.name} → ${r}`);
    for (const e of embeddedTypes(def.name)?.values() ?? []) assert.ok(schema.type(e), `${def.name} embeds ${e}`);
  }
});

test("field names and protobuf numbers are unique within a type", () => {
  for (const def of allTypeDefs()) {
    const names = def.fields.map((f) => f.name);
    assert.equal(new Set(names).size, names.length, `duplicate name in ${def.name}`);
    const tags = [...def.fields.filter((f) => f.tag > 0).map((f) => f.tag), ...(embeddedTypes(def.name)?.keys() ?? [])];
    assert.equal(new Set(tags).size, tags.length, `duplicate tag in ${def.name}`);
  }
});

test("merge keys and list map keys name fields of the item type", () => {
  for (const def of allTypeDefs()) {
    for (const f of def.fields) {
      if (f.type.kind !== "array" || f.type.items.kind !== "ref") continue;
      const item = schema.type(f.type.items.type)!;
      for (const k of [f.type.patchMergeKey, ...(f.type.listMapKeys ?? [])].filter(Boolean)) {
        assert.ok(item.fields.some((x) => x.name === k), `${def.name}.${f.name} key ${k}`);
      }
    }
  }
});

test("all served kinds resolve by group/version/kind", () => {
  const kinds: [string, string, string][] = [
    ["", "v1", "Namespace"], ["", "v1", "Pod"], ["", "v1", "Binding"], ["", "v1", "Node"], ["", "v1", "Service"],
    ["", "v1", "Endpoints"], ["", "v1", "ConfigMap"], ["", "v1", "Secret"], ["", "v1", "ServiceAccount"], ["", "v1", "Event"],
    ["", "v1", "PersistentVolume"], ["", "v1", "PersistentVolumeClaim"], ["policy", "v1", "Eviction"],
    ["apps", "v1", "Deployment"], ["apps", "v1", "ReplicaSet"], ["apps", "v1", "StatefulSet"], ["apps", "v1", "DaemonSet"],
    ["apps", "v1", "ControllerRevision"], ["batch", "v1", "Job"], ["batch", "v1", "CronJob"],
    ["networking.k8s.io", "v1", "Ingress"], ["networking.k8s.io", "v1", "IngressClass"],
    ["discovery.k8s.io", "v1", "EndpointSlice"], ["coordination.k8s.io", "v1", "Lease"],
    ["autoscaling", "v1", "HorizontalPodAutoscaler"], ["autoscaling", "v1", "Scale"], ["autoscaling", "v2", "HorizontalPodAutoscaler"],
    ["events.k8s.io", "v1", "Event"], ["policy", "v1", "PodDisruptionBudget"], ["scheduling.k8s.io", "v1", "PriorityClass"],
    ["", "v1", "DeleteOptions"], ["", "v1", "Status"], ["apps", "v1", "DeleteOptions"],
  ];
  for (const [g, v, k] of kinds) assert.ok(typeNameFor(g, v, k), `${g}/${v}/${k}`);
  assert.equal(typeNameFor("apps", "v1", "Deployment"), "io.k8s.api.apps.v1.Deployment");
  assert.equal(typeNameFor("apps", "v1", "Widget"), undefined);
});

test("well-known strategic merge metadata", () => {
  const podSpec = schema.type("io.k8s.api.core.v1.PodSpec")!;
  const containers = podSpec.fields.find((f) => f.name === "containers")!.type;
  assert.deepEqual(containers, {
    kind: "array",
    items: { kind: "ref", type: "io.k8s.api.core.v1.Container" },
    patchMergeKey: "name",
    patchStrategy: "merge",
    listType: "map",
    listMapKeys: ["name"],
  });
  const volumes = podSpec.fields.find((f) => f.name === "volumes")!.type;
  assert.equal(volumes.kind === "array" && volumes.patchStrategy, "merge,retainKeys");
  const ports = schema.type("io.k8s.api.core.v1.Container")!.fields.find((f) => f.name === "ports")!.type;
  assert.ok(ports.kind === "array" && ports.patchMergeKey === "containerPort" && ports.listMapKeys?.join() === "containerPort,protocol");
  const strategy = schema.type("io.k8s.api.apps.v1.DeploymentSpec")!.fields.find((f) => f.name === "strategy")!;
  assert.equal(strategy.patchStrategy, "retainKeys");
});
