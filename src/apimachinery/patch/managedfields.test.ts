// Tests for managedfields.ts: behaviour checked against the upstream semantics its header cites.
import { test } from "node:test";
import assert from "node:assert/strict";
import { compareObjects, decodeManagedFields, encodeManagedFields, updateManagedFields } from "./managedfields.js";
import { FieldSet, pathString } from "./fieldset.js";
import { testSchema } from "./testschema.js";
import type { KObject } from "../types.js";
import { StatusError } from "../errors.js";

const T1 = "2024-01-01T00:00:00Z";
const T2 = "2024-01-01T00:01:00Z";
const T3 = "2024-01-01T00:02:00Z";

const base = (): KObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "default", uid: "u1", resourceVersion: "1", generation: 1, labels: { app: "web" } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: "web" } },
    strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
    template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "nginx", resources: {} }] } },
  },
});

const update = (old: KObject | undefined, updated: KObject, manager: string, time: string, extra: { subresource?: string } = {}) =>
  updateManagedFields({ old, updated, manager, operation: "Update", apiVersion: "apps/v1", time, schema: testSchema, typeName: "Deployment", ...extra });

function withMF(o: KObject, mf: unknown): KObject {
  const c = structuredClone(o);
  c.metadata.managedFields = mf as any;
  return c;
}

test("create: the creator owns everything it set, as upstream's FieldsV1 reads", () => {
  const mf = update(undefined, base(), "kubectl-create", T1);
  assert.equal(mf.length, 1);
  assert.deepEqual({ ...mf[0], fieldsV1: undefined }, { manager: "kubectl-create", operation: "Update", apiVersion: "apps/v1", time: T1, fieldsType: "FieldsV1", fieldsV1: undefined });
  assert.deepEqual(mf[0]!.fieldsV1, {
    "f:metadata": { "f:labels": { ".": {}, "f:app": {} } },
    "f:spec": {
      "f:replicas": {},
      "f:selector": {},
      "f:strategy": { "f:rollingUpdate": { "f:maxSurge": {}, "f:maxUnavailable": {} }, "f:type": {} },
      "f:template": {
        "f:metadata": { "f:labels": { ".": {}, "f:app": {} } },
        // upstream omits "." on containers (a nil slice in Go's zero PodSpec); we cannot tell
        "f:spec": { "f:containers": { ".": {}, 'k:{"name":"web"}': { ".": {}, "f:image": {}, "f:name": {}, "f:resources": {} } } },
      },
    },
  });
});

test("update: the writer takes changed fields from others; unchanged writes change nothing", () => {
  const v1 = withMF(base(), update(undefined, base(), "kubectl-create", T1));
  const v2 = structuredClone(v1);
  v2.spec.replicas = 3;
  v2.metadata.labels!.tier = "front";
  v2.metadata.resourceVersion = "2"; // server-managed metadata is never tracked
  v2.metadata.generation = 2;
  const mf = update(v1, v2, "kubectl-edit", T2);
  assert.deepEqual(
    mf.map((e) => e.manager),
    ["kubectl-create", "kubectl-edit"],
  );
  const create = FieldSet.fromFieldsV1(mf[0]!.fieldsV1);
  const edit = FieldSet.fromFieldsV1(mf[1]!.fieldsV1);
  assert.deepEqual(edit.paths().map(pathString), [".metadata.labels.tier", ".spec.replicas"]);
  assert.equal(create.has(["f:spec", "f:replicas"]), false);
  assert.equal(create.has(["f:metadata", "f:labels", "f:app"]), true);
  assert.equal(mf[0]!.time, T1, "the other manager's time is kept");
  assert.equal(mf[1]!.time, T2);

  // a no-op write by the same manager keeps entries and times
  const v3 = withMF(v2, mf);
  assert.deepEqual(update(v3, structuredClone(v3), "kubectl-edit", T3), mf);
});

test("removed fields leave every manager; empty managers are dropped", () => {
  const v1 = withMF(base(), update(undefined, base(), "kubectl-create", T1));
  const v2 = structuredClone(v1);
  v2.spec.replicas = 5;
  const mf2 = update(v1, v2, "hpa", T2);
  const v3 = withMF(v2, mf2);
  const v4 = structuredClone(v3);
  delete v4.spec.replicas;
  const mf4 = update(v3, v4, "kubectl-edit", T3);
  assert.deepEqual(
    mf4.map((e) => e.manager),
    ["kubectl-create"],
    "hpa owned only replicas; kubectl-edit only removed something so owns nothing",
  );
  // removing a container removes its subtree from the creator
  const v5 = structuredClone(v4);
  v5.metadata.managedFields = mf4;
  v5.spec.template.spec.containers = [{ name: "other", image: "x" }];
  const mf5 = update(withMF(v4, mf4), v5, "kubectl-edit", T3);
  const create = FieldSet.fromFieldsV1(mf5.find((e) => e.manager === "kubectl-create")!.fieldsV1);
  assert.equal(create.touches(["f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"web"}']), false);
  const edit = FieldSet.fromFieldsV1(mf5.find((e) => e.manager === "kubectl-edit")!.fieldsV1);
  assert.deepEqual(edit.paths().map(pathString), ['.spec.template.spec.containers[name="other"]', '.spec.template.spec.containers[name="other"].image', '.spec.template.spec.containers[name="other"].name']);
});

test("same manager: sets accumulate and the time moves", () => {
  const v1 = withMF(base(), update(undefined, base(), "m", T1));
  const v2 = structuredClone(v1);
  v2.spec.replicas = 2;
  const mf = update(v1, v2, "m", T2);
  assert.equal(mf.length, 1);
  assert.equal(mf[0]!.time, T2);
  assert.equal(FieldSet.fromFieldsV1(mf[0]!.fieldsV1).has(["f:metadata", "f:labels", "f:app"]), true);
});

test("subresource writers get their own entry; different apiVersions are different Update entries", () => {
  const v1 = withMF(base(), update(undefined, base(), "kubectl-create", T1));
  const v2 = structuredClone(v1);
  v2.status = { replicas: 1 };
  const mf = update(v1, v2, "kube-controller-manager", T2, { subresource: "status" });
  const e = mf.find((x) => x.manager === "kube-controller-manager")!;
  assert.equal(e.subresource, "status");
  assert.deepEqual(e.fieldsV1, { "f:status": { "f:replicas": {} } });
  const v3 = withMF(v2, mf);
  const v4 = structuredClone(v3);
  v4.spec.replicas = 7;
  const mf4 = updateManagedFields({ old: v3, updated: v4, manager: "kubectl-create", operation: "Update", apiVersion: "apps/v1beta2", time: T3, schema: testSchema, typeName: "Deployment" });
  assert.deepEqual(
    mf4.map((x) => `${x.manager}@${x.apiVersion}`),
    ["kubectl-create@apps/v1", "kube-controller-manager@apps/v1", "kubectl-create@apps/v1beta2"],
  );
});

test("ignored fields (reset by the endpoint) are never tracked", () => {
  const o = base();
  o.status = { replicas: 3 };
  const mf = updateManagedFields({ updated: o, manager: "m", operation: "Update", apiVersion: "apps/v1", time: T1, schema: testSchema, typeName: "Deployment", ignored: FieldSet.of([["f:status"]]) });
  assert.equal(FieldSet.fromFieldsV1(mf[0]!.fieldsV1).touches(["f:status"]), false);
});

test("a request may replace managedFields; [{}] clears them", () => {
  const v1 = withMF(base(), update(undefined, base(), "kubectl-create", T1));
  const v2 = withMF(v1, [{}]);
  assert.deepEqual(update(v1, v2, "x", T2), []);
  const custom = [{ manager: "someone", operation: "Update", apiVersion: "apps/v1", time: T1, fieldsType: "FieldsV1", fieldsV1: { "f:spec": { "f:replicas": {} } } }];
  const v3 = withMF(v1, custom);
  assert.deepEqual(update(v1, v3, "x", T2), custom);
  // garbage in the request: fall back to the live tracking
  const v4 = withMF(v1, [{ operation: "Nope" }]);
  assert.deepEqual(update(v1, v4, "x", T2), v1.metadata.managedFields);
});

test("decode/encode: validation, duplicates merged, upstream ordering", () => {
  assert.throws(() => decodeManagedFields([{ manager: "a", operation: "Patch" }]), (e: unknown) => e instanceof StatusError && /operation/.test(e.message));
  assert.throws(() => decodeManagedFields({}), (e: unknown) => e instanceof StatusError && e.code === 400);
  const entries = decodeManagedFields([
    { manager: "z", operation: "Update", apiVersion: "v1", time: T1, fieldsType: "FieldsV1", fieldsV1: { "f:a": {} } },
    { manager: "b", operation: "Apply", apiVersion: "v1", time: T2, fieldsType: "FieldsV1", fieldsV1: { "f:b": {} } },
    { manager: "a", operation: "Update", apiVersion: "v1", time: T1, fieldsType: "FieldsV1", fieldsV1: { "f:c": {} } },
    { manager: "z", operation: "Update", apiVersion: "v1", time: T1, fieldsType: "FieldsV1", fieldsV1: { "f:d": {} } },
    { manager: "e", operation: "Update", apiVersion: "v1", time: T1, fieldsType: "FieldsV1", fieldsV1: {} },
  ]);
  const out = encodeManagedFields(entries);
  assert.deepEqual(
    out.map((e) => e.manager),
    ["b", "a", "z"],
  );
  assert.deepEqual(out[2]!.fieldsV1, { "f:a": {}, "f:d": {} });
});

test("compareObjects matches list items by key, not position", () => {
  const a = { spec: { template: { spec: { containers: [{ name: "a", image: "1" }, { name: "b", image: "1" }] } } } };
  const b = { spec: { template: { spec: { containers: [{ name: "b", image: "2" }, { name: "a", image: "1" }] } } } };
  const c = compareObjects(a, b, testSchema, "Deployment");
  assert.deepEqual(c.modified.paths().map(pathString), ['.spec.template.spec.containers[name="b"].image']);
  assert.equal(c.added.isEmpty(), true);
  assert.equal(c.removed.isEmpty(), true);
});
