// Tests for strict field validation: unknown fields, wrong JSON types, duplicate keys.

import { test } from "node:test";
import assert from "node:assert/strict";
import { checkFields, findDuplicateFields } from "./fieldcheck.js";

const DEPLOYMENT = "io.k8s.api.apps.v1.Deployment";

function deployment(container: Record<string, unknown>, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", labels: { app: "web" } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers: [container] } },
      ...spec,
    },
  };
}

test("a valid Deployment has no findings", () => {
  const r = checkFields(deployment({ name: "nginx", image: "nginx", ports: [{ containerPort: 80 }], resources: { limits: { cpu: "1", memory: 1024 } } }), DEPLOYMENT);
  assert.deepEqual(r, { unknown: [], causes: [] });
});

test("unknown fields are reported with their full path", () => {
  const obj = deployment({ name: "nginx", imagePullPolice: "Always" }, { replica: 3 });
  (obj.metadata as Record<string, unknown>).nmae = "x";
  const r = checkFields(obj, DEPLOYMENT);
  assert.deepEqual(r.unknown.sort(), ["metadata.nmae", "spec.replica", "spec.template.spec.containers[0].imagePullPolice"]);
});

test("wrong JSON types become FieldValueTypeInvalid causes", () => {
  const r = checkFields(deployment({ name: "nginx", ports: [{ containerPort: "80" }], stdin: "yes" }, { replicas: "3", paused: 1 }), DEPLOYMENT);
  const byField = Object.fromEntries(r.causes.map((c) => [c.field, c]));
  assert.equal(byField["spec.replicas"]!.reason, "FieldValueTypeInvalid");
  assert.equal(byField["spec.replicas"]!.message, 'Invalid value: "3": spec.replicas in body must be of type integer: "string"');
  assert.match(byField["spec.paused"]!.message, /must be of type boolean: "integer"/);
  assert.match(byField["spec.template.spec.containers[0].ports[0].containerPort"]!.message, /integer/);
  assert.match(byField["spec.template.spec.containers[0].stdin"]!.message, /boolean/);
  assert.equal(r.causes.length, 4);
});

test("int-or-string, quantities, maps and lists are typed", () => {
  const svc = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "s", labels: { a: 1 } },
    spec: { ports: [{ port: 80, targetPort: "http" }, { port: 81, targetPort: true }], selector: "app=web" },
  };
  const r = checkFields(svc, "io.k8s.api.core.v1.Service");
  assert.deepEqual(r.causes.map((c) => c.field).sort(), ["metadata.labels[a]", "spec.ports[1].targetPort", "spec.selector"]);
  assert.match(r.causes.find((c) => c.field === "spec.selector")!.message, /must be of type object: "string"/);
});

test("any fields accept anything; null means unset", () => {
  const cr = { apiVersion: "apps/v1", kind: "ControllerRevision", metadata: { name: "r" }, revision: 1, data: { anything: [1, { x: null }] } };
  assert.deepEqual(checkFields(cr, "io.k8s.api.apps.v1.ControllerRevision"), { unknown: [], causes: [] });
  assert.deepEqual(checkFields(deployment({ name: "n", image: null }), DEPLOYMENT), { unknown: [], causes: [] });
});

test("embedded struct fields (volume sources, probe handlers) are known", () => {
  const r = checkFields(
    deployment({ name: "n", readinessProbe: { httpGet: { port: 80 }, periodSeconds: 3 } }, {}),
    DEPLOYMENT,
  );
  assert.deepEqual(r, { unknown: [], causes: [] });
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p" },
    spec: { containers: [{ name: "c" }], volumes: [{ name: "v", configMap: { name: "cm", optional: true } }, { name: "w", awsElasticBlockStore: {} }] },
  };
  assert.deepEqual(checkFields(pod, "io.k8s.api.core.v1.Pod").unknown, ["spec.volumes[1].awsElasticBlockStore"]);
});

test("duplicate keys in raw JSON are found with their paths", () => {
  assert.deepEqual(findDuplicateFields('{"metadata":{"name":"a","name":"b"},"kind":"Pod"}'), ["metadata.name"]);
  assert.deepEqual(
    findDuplicateFields('{"spec":{"containers":[{"name":"a"},{"name":"b","image":"x","image":"y"}]},"spec":{}}'),
    ["spec.containers[1].image", "spec"],
  );
  assert.deepEqual(findDuplicateFields('{"a":[[{"k":1,"k":2}]], "b": "x\\"y", "c": {"d": {}, "d": []}}'), ["a[0][0].k", "c.d"]);
  assert.deepEqual(findDuplicateFields('{"a":1}'), []);
  assert.deepEqual(findDuplicateFields('{"a":1,"a":'), ["a"]); // malformed: what was found so far
  assert.deepEqual(findDuplicateFields("[".repeat(100000)), []); // deep nesting does not overflow
});
