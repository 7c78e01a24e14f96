// Tests for fieldset.ts: behaviour checked against the upstream semantics its header cites.
import { test } from "node:test";
import assert from "node:assert/strict";
import { computeFieldSet, FieldSet, fieldToken as f, keyToken, pathString, valueToken } from "./fieldset.js";
import { testSchema } from "./testschema.js";
import { StatusError } from "../errors.js";

const sample = {
  "f:metadata": { "f:labels": { "f:app": {} } },
  "f:spec": { "f:containers": { 'k:{"name":"web"}': { ".": {}, "f:image": {} } } },
};

test("FieldsV1 round trip, members with children carry '.'", () => {
  const s = FieldSet.fromFieldsV1(sample);
  assert.deepEqual(s.toFieldsV1(), sample);
  assert.deepEqual(s.paths().map(pathString), [".metadata.labels.app", '.spec.containers[name="web"]', '.spec.containers[name="web"].image']);
  assert.equal(s.has([f("metadata"), f("labels"), f("app")]), true);
  assert.equal(s.has([f("metadata"), f("labels")]), false);
  assert.equal(s.has([f("spec"), f("containers"), keyToken({ name: "web" })]), true);
  assert.equal(s.touches([f("spec")]), true);
  assert.equal(s.touches([f("status")]), false);
});

test("key tokens are canonical (sorted keys) whatever the input spelling", () => {
  const s = FieldSet.fromFieldsV1({ "f:ports": { 'k:{"protocol":"TCP", "containerPort":80}': {} } });
  assert.deepEqual(s.toFieldsV1(), { "f:ports": { 'k:{"containerPort":80,"protocol":"TCP"}': {} } });
  assert.equal(s.has([f("ports"), keyToken({ protocol: "TCP", containerPort: 80 })]), true);
  assert.equal(pathString(s.paths()[0]!), '.ports[containerPort=80,protocol="TCP"]');
  assert.equal(pathString([f("metadata"), f("finalizers"), valueToken("a")]), '.metadata.finalizers[="a"]');
});

test("malformed FieldsV1 is a 400", () => {
  for (const bad of [{ "x:y": {} }, { 'k:{"a"': {} }, { "k:[1]": {} }, { "f:a": 1 }, { "i:01": {} }, []]) {
    assert.throws(() => FieldSet.fromFieldsV1(bad), (e: unknown) => e instanceof StatusError && e.code === 400, JSON.stringify(bad));
  }
});

test("union, intersection, difference, recursiveDifference", () => {
  const a = FieldSet.of([
    [f("spec"), f("replicas")],
    [f("spec"), f("template"), f("image")],
    [f("metadata"), f("labels"), f("app")],
  ]);
  const b = FieldSet.of([[f("spec"), f("replicas")], [f("spec"), f("paused")], [f("metadata")]]);
  assert.deepEqual(a.union(b).paths().map(pathString), [".metadata", ".metadata.labels.app", ".spec.paused", ".spec.replicas", ".spec.template.image"]);
  assert.deepEqual(a.intersection(b).paths().map(pathString), [".spec.replicas"]);
  assert.deepEqual(a.difference(b).paths().map(pathString), [".metadata.labels.app", ".spec.template.image"]);
  // recursive: ".metadata" removes everything under it
  assert.deepEqual(a.recursiveDifference(b).paths().map(pathString), [".spec.template.image"]);
  assert.equal(a.difference(a).isEmpty(), true);
  assert.equal(a.equals(a.copy()), true);
  assert.equal(a.equals(b), false);
  assert.equal(a.size, 3);
  // operations do not mutate their operands
  assert.equal(b.size, 3);
});

test("ordering: fields, then keys, then values", () => {
  const s = FieldSet.of([[valueToken("b")], [keyToken({ name: "a" })], [f("z")], [valueToken("a")]]);
  assert.deepEqual(Object.keys(s.toFieldsV1()), ["f:z", 'k:{"name":"a"}', 'v:"a"', 'v:"b"']);
});

test("computeFieldSet: leaves, atomic values, list items with keys, set values", () => {
  const obj = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", labels: { app: "web" }, finalizers: ["a"] },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "web" } },
      template: {
        spec: {
          nodeSelector: { disk: "ssd" },
          containers: [{ name: "web", image: "nginx", args: ["x"], ports: [{ containerPort: 80, protocol: "TCP" }], resources: {} }],
        },
      },
      extra: { free: { form: [1] } },
    },
  };
  const s = computeFieldSet(obj, testSchema, "Deployment");
  assert.deepEqual(s.toFieldsV1(), {
    "f:apiVersion": {},
    "f:kind": {},
    "f:metadata": { "f:finalizers": { 'v:"a"': {} }, "f:labels": { "f:app": {} }, "f:name": {} },
    "f:spec": {
      "f:extra": { "f:free": { "f:form": {} } },
      "f:replicas": {},
      "f:selector": {},
      "f:template": {
        "f:spec": {
          "f:containers": {
            'k:{"name":"web"}': {
              ".": {},
              "f:args": {},
              "f:image": {},
              "f:name": {},
              "f:ports": { 'k:{"containerPort":80,"protocol":"TCP"}': { ".": {}, "f:containerPort": {}, "f:protocol": {} } },
            },
          },
          "f:nodeSelector": {},
        },
      },
    },
  });
});
