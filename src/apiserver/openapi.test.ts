// Tests for the OpenAPI v3 index and group-version documents, checked the way kubectl
// uses them: the PATCH operation carrying the GVK and a fieldValidation parameter,
// strategic-merge metadata on schemas, and every $ref resolving.

import { test } from "node:test";
import assert from "node:assert/strict";
import { buildOpenAPIV3GroupVersion, buildOpenAPIV3Index, parseOpenAPIV3Path } from "./openapi.js";
import type { ResourceDef } from "../api/types.js";

const defs: ResourceDef[] = [
  { group: "apps", version: "v1", kind: "Deployment", plural: "deployments", singular: "deployment", namespaced: true, subresources: ["status", "scale"] },
  { group: "apps", version: "v1", kind: "ReplicaSet", plural: "replicasets", singular: "replicaset", namespaced: true },
  { group: "", version: "v1", kind: "Pod", plural: "pods", singular: "pod", namespaced: true, subresources: ["status", "log"] },
  { group: "", version: "v1", kind: "Namespace", plural: "namespaces", singular: "namespace", namespaced: false },
  { group: "", version: "v1", kind: "Service", plural: "services", singular: "service", namespaced: true },
  { group: "", version: "v1", kind: "Binding", plural: "bindings", singular: "binding", namespaced: true, verbs: ["create"] },
  { group: "batch", version: "v1", kind: "Job", plural: "jobs", singular: "job", namespaced: true },
];

type Doc = { paths: Record<string, any>; components: { schemas: Record<string, any> } };

function allRefs(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => allRefs(x, out));
  else if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      if (k === "$ref") out.push(x as string);
      else allRefs(x, out);
    }
  }
  return out;
}

test("index lists each group-version with a stable hash", () => {
  const idx = buildOpenAPIV3Index(defs) as { paths: Record<string, { serverRelativeURL: string }> };
  assert.deepEqual(Object.keys(idx.paths), ["api/v1", "apis/apps/v1", "apis/batch/v1"]);
  assert.match(idx.paths["apis/apps/v1"]!.serverRelativeURL, /^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]{128}$/);
  assert.deepEqual(buildOpenAPIV3Index(defs), idx);
  const changed = buildOpenAPIV3Index(defs.filter((d) => d.kind !== "ReplicaSet")) as typeof idx;
  assert.notEqual(changed.paths["apis/apps/v1"]!.serverRelativeURL, idx.paths["apis/apps/v1"]!.serverRelativeURL);
  assert.equal(changed.paths["api/v1"]!.serverRelativeURL, idx.paths["api/v1"]!.serverRelativeURL);
  assert.deepEqual(parseOpenAPIV3Path("/openapi/v3/apis/apps/v1?hash=X"), { group: "apps", version: "v1" });
  assert.deepEqual(parseOpenAPIV3Path("/openapi/v3/api/v1"), { group: "", version: "v1" });
});

test("kubectl's check: PATCH on the item path has the GVK and fieldValidation", () => {
  const doc = buildOpenAPIV3GroupVersion(defs, "apps", "v1") as Doc;
  assert.equal((doc as any).openapi, "3.0.0");
  const item = doc.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"];
  const patch = item.patch;
  assert.deepEqual(patch["x-kubernetes-group-version-kind"], { group: "apps", kind: "Deployment", version: "v1" });
  assert.equal(patch["x-kubernetes-action"], "patch");
  const params = patch.parameters.map((p: any) => p.name);
  for (const p of ["fieldValidation", "dryRun", "fieldManager", "force"]) assert.ok(params.includes(p), p);
  assert.deepEqual(Object.keys(patch.requestBody.content).sort(), [
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
  ]);
  for (const method of ["get", "put", "delete"]) assert.equal(item[method]["x-kubernetes-group-version-kind"].kind, "Deployment");
  const coll = doc.paths["/apis/apps/v1/namespaces/{namespace}/deployments"];
  assert.equal(coll.get["x-kubernetes-action"], "list");
  assert.equal(coll.post["x-kubernetes-action"], "post");
  assert.ok(coll.post.parameters.some((p: any) => p.name === "fieldValidation"));
  assert.ok(doc.paths["/apis/apps/v1/deployments"].get);
  const scale = doc.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"];
  assert.deepEqual(scale.patch["x-kubernetes-group-version-kind"], { group: "autoscaling", kind: "Scale", version: "v1" });
  assert.ok(doc.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status"].put);
});

test("schemas carry GVKs, merge keys, list types, int-or-string and quantity", () => {
  const doc = buildOpenAPIV3GroupVersion(defs, "apps", "v1") as Doc;
  const s = doc.components.schemas;
  assert.deepEqual(s["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"], [{ group: "apps", kind: "Deployment", version: "v1" }]);
  assert.deepEqual(s["io.k8s.api.apps.v1.DeploymentList"].required, ["items"]);
  const containers = s["io.k8s.api.core.v1.PodSpec"].properties.containers;
  assert.equal(containers["x-kubernetes-patch-merge-key"], "name");
  assert.equal(containers["x-kubernetes-patch-strategy"], "merge");
  assert.equal(containers["x-kubernetes-list-type"], "map");
  assert.deepEqual(containers["x-kubernetes-list-map-keys"], ["name"]);
  assert.deepEqual(s["io.k8s.api.core.v1.PodSpec"].required, ["containers"]);
  assert.equal(s["io.k8s.api.apps.v1.DeploymentSpec"].properties.strategy["x-kubernetes-patch-strategy"], "retainKeys");
  assert.ok(s["io.k8s.api.apps.v1.DeploymentSpec"].properties.strategy.allOf);
  assert.equal(s["io.k8s.apimachinery.pkg.util.intstr.IntOrString"].format, "int-or-string");
  assert.ok(s["io.k8s.apimachinery.pkg.api.resource.Quantity"]);
  assert.equal(s["io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"]["x-kubernetes-map-type"], "atomic");
  assert.equal(s["io.k8s.api.core.v1.ResourceRequirements"].properties.limits.additionalProperties.$ref, "#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity");
  assert.equal(s["io.k8s.api.core.v1.Volume"].properties.configMap.$ref, "#/components/schemas/io.k8s.api.core.v1.ConfigMapVolumeSource");
  assert.ok(s["io.k8s.api.autoscaling.v1.Scale"]);
});

test("every $ref resolves inside its document, for each group-version", () => {
  for (const [g, v] of [["", "v1"], ["apps", "v1"], ["batch", "v1"]] as const) {
    const doc = buildOpenAPIV3GroupVersion(defs, g, v) as Doc;
    for (const r of allRefs(doc)) {
      const name = r.replace("#/components/schemas/", "");
      assert.ok(doc.components.schemas[name], `${g}/${v}: ${r}`);
    }
  }
});

test("verbs restrict operations; cluster-scoped kinds have no namespace segment", () => {
  const doc = buildOpenAPIV3GroupVersion(defs, "", "v1") as Doc;
  const binding = doc.paths["/api/v1/namespaces/{namespace}/bindings"];
  assert.ok(binding.post && !binding.get);
  assert.equal(doc.paths["/api/v1/namespaces/{namespace}/bindings/{name}"], undefined);
  assert.ok(doc.paths["/api/v1/namespaces/{name}"].patch);
  assert.equal(doc.paths["/api/v1/namespaces/{namespace}/pods/{name}/log"], undefined);
  assert.ok(doc.paths["/api/v1/namespaces/{namespace}/pods/{name}/status"].patch);
});
