// Tests for strategic.ts: behaviour checked against the upstream semantics its header cites.
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyStrategicMergePatch } from "./strategic.js";
import { testSchema } from "./testschema.js";
import { StatusError } from "../errors.js";

const smp = (doc: unknown, patch: unknown) => applyStrategicMergePatch(doc, patch, testSchema, "Deployment") as any;

const live = () => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", labels: { app: "web" }, annotations: { a: "1" }, finalizers: ["x", "y"] },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: "web" } },
    strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: {
        containers: [
          { name: "web", image: "nginx:1", ports: [{ containerPort: 80, protocol: "TCP" }], env: [{ name: "A", value: "1" }, { name: "B", value: "2" }], args: ["a", "b"] },
          { name: "sidecar", image: "busybox" },
        ],
        volumes: [{ name: "data", emptyDir: {} }],
      },
    },
  },
});

function badRequest(fn: () => unknown, re: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof StatusError, String(e));
    assert.equal(e.code, 400);
    assert.match(e.message, re);
    return true;
  });
}

test("kubectl client-side apply body: $setElementOrder + containers merged by name", () => {
  const doc = live();
  const out = smp(doc, { spec: { template: { spec: { "$setElementOrder/containers": [{ name: "web" }, { name: "sidecar" }], containers: [{ image: "x", name: "web" }] } } } });
  assert.equal(out.spec.template.spec.containers.length, 2);
  assert.deepEqual(out.spec.template.spec.containers[0], { ...live().spec.template.spec.containers[0], image: "x" });
  assert.deepEqual(out.spec.template.spec.containers[1], { name: "sidecar", image: "busybox" });
  assert.deepEqual(doc, live(), "input not mutated");
});

test("last-applied-configuration annotation patch touches only that key", () => {
  const anno = JSON.stringify({ apiVersion: "apps/v1", kind: "Deployment" });
  const out = smp(live(), { metadata: { annotations: { "kubectl.kubernetes.io/last-applied-configuration": anno } } });
  assert.deepEqual(out.metadata.annotations, { a: "1", "kubectl.kubernetes.io/last-applied-configuration": anno });
  assert.deepEqual(out.spec, live().spec);
});

test("rollout restart shape adds a template annotation", () => {
  const out = smp(live(), { spec: { template: { metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": "2024-01-01T00:00:00Z" } } } } });
  assert.deepEqual(out.spec.template.metadata, { labels: { app: "web" }, annotations: { "kubectl.kubernetes.io/restartedAt": "2024-01-01T00:00:00Z" } });
});

test("new list items are appended; nested merge lists merge (ports, env)", () => {
  const out = smp(live(), {
    spec: {
      template: {
        spec: {
          containers: [
            { name: "web", ports: [{ containerPort: 443 }], env: [{ name: "B", value: "3" }, { name: "C", value: "4" }] },
            { name: "new", image: "redis" },
          ],
        },
      },
    },
  });
  const [web, sidecar, added] = out.spec.template.spec.containers;
  assert.deepEqual(web.ports, [{ containerPort: 80, protocol: "TCP" }, { containerPort: 443 }]);
  assert.deepEqual(web.env, [{ name: "A", value: "1" }, { name: "B", value: "3" }, { name: "C", value: "4" }]);
  assert.equal(web.image, "nginx:1");
  assert.equal(sidecar.name, "sidecar");
  assert.deepEqual(added, { name: "new", image: "redis" });
});

test("$setElementOrder orders patch items and keeps server-only items in place", () => {
  const doc = { spec: { template: { spec: { containers: [{ name: "a" }, { name: "b" }, { name: "c" }] } } } };
  // kubectl wants c then a (b is server-only: it came between them in the live list)
  let out = smp(doc, { spec: { template: { spec: { "$setElementOrder/containers": [{ name: "c" }, { name: "a" }] } } } });
  assert.deepEqual(out.spec.template.spec.containers.map((c: any) => c.name), ["b", "c", "a"]);
  // new item placed where the order list says
  out = smp(doc, {
    spec: { template: { spec: { "$setElementOrder/containers": [{ name: "a" }, { name: "n" }, { name: "b" }, { name: "c" }], containers: [{ name: "n", image: "i" }] } } },
  });
  assert.deepEqual(out.spec.template.spec.containers.map((c: any) => c.name), ["a", "n", "b", "c"]);
  // env order (later vars may reference earlier ones)
  const out2 = smp(live(), {
    spec: {
      template: {
        spec: {
          "$setElementOrder/containers": [{ name: "web" }, { name: "sidecar" }],
          containers: [{ name: "web", "$setElementOrder/env": [{ name: "B" }, { name: "Z" }, { name: "A" }], env: [{ name: "Z", value: "z" }] }],
        },
      },
    },
  });
  assert.deepEqual(out2.spec.template.spec.containers[0].env.map((e: any) => e.name), ["B", "Z", "A"]);
  // primitive list order
  const out3 = smp(live(), { metadata: { "$setElementOrder/finalizers": ["y", "x"] } });
  assert.deepEqual(out3.metadata.finalizers, ["y", "x"]);
});

test("$setElementOrder must name every patch item and carry the merge key", () => {
  badRequest(
    () => smp(live(), { spec: { template: { spec: { "$setElementOrder/containers": [{ name: "web" }], containers: [{ name: "other", image: "i" }] } } } }),
    /spec\.template\.spec\.\$setElementOrder\/containers: does not list patch item \{"name":"other"\}/,
  );
  badRequest(() => smp(live(), { spec: { template: { spec: { "$setElementOrder/containers": ["web"] } } } }), /merge key "name"/);
  badRequest(() => smp(live(), { spec: { template: { spec: { "$setElementOrder/containers": { name: "web" } } } } }), /must be a list/);
});

test("$patch: delete in a list removes the item by merge key", () => {
  const out = smp(live(), { spec: { template: { spec: { containers: [{ name: "sidecar", $patch: "delete" }] } } } });
  assert.deepEqual(out.spec.template.spec.containers.map((c: any) => c.name), ["web"]);
  badRequest(() => smp(live(), { spec: { template: { spec: { containers: [{ $patch: "delete" }] } } } }), /does not contain declared merge key: name/);
});

test("$patch: replace in a list replaces the whole list", () => {
  const out = smp(live(), { spec: { template: { spec: { containers: [{ name: "only", image: "i" }, { $patch: "replace" }] } } } });
  assert.deepEqual(out.spec.template.spec.containers, [{ name: "only", image: "i" }]);
});

test("$patch in maps: replace, delete, merge; unknown value is 400", () => {
  let out = smp(live(), { metadata: { labels: { $patch: "replace", tier: "x" } } });
  assert.deepEqual(out.metadata.labels, { tier: "x" });
  out = smp(live(), { spec: { template: { metadata: { $patch: "delete" } } } });
  assert.equal(out.spec.template.metadata, undefined);
  out = smp(live(), { metadata: { labels: { $patch: "merge", tier: "x" } } });
  assert.deepEqual(out.metadata.labels, { app: "web", tier: "x" });
  // a delete directive inside a list item removes that item
  out = smp(live(), { spec: { template: { spec: { containers: [{ name: "web", $patch: "delete" }] } } } });
  assert.deepEqual(out.spec.template.spec.containers.map((c: any) => c.name), ["sidecar"]);
  badRequest(() => smp(live(), { metadata: { labels: { $patch: "frob" } } }), /metadata\.labels: unknown \$patch directive "frob"/);
  badRequest(() => smp(live(), { spec: { template: { spec: { containers: [{ name: "web", $patch: "merge" }] } } } }), /merging lists cannot yet be specified/);
});

test("primitive merge lists union; $deleteFromPrimitiveList removes", () => {
  let out = smp(live(), { metadata: { finalizers: ["y", "z"] } });
  assert.deepEqual(out.metadata.finalizers, ["x", "y", "z"]);
  out = smp(live(), { metadata: { "$deleteFromPrimitiveList/finalizers": ["x"] } });
  assert.deepEqual(out.metadata.finalizers, ["y"]);
  out = smp(live(), { metadata: { "$deleteFromPrimitiveList/finalizers": ["x"], finalizers: ["w"] } });
  assert.deepEqual(out.metadata.finalizers, ["y", "w"]);
  badRequest(() => smp(live(), { metadata: { "$deleteFromPrimitiveList/finalizers": "x" } }), /metadata\.\$deleteFromPrimitiveList\/finalizers: must be a list/);
  badRequest(() => smp(live(), { metadata: { "$deleteFromPrimitiveList/labels": ["x"] } }), /metadata\.labels: \$deleteFromPrimitiveList applies only to a list/);
});

test("non-merge lists replace (atomic args, tolerations)", () => {
  const out = smp(live(), { spec: { template: { spec: { containers: [{ name: "web", args: ["c"] }] } } } });
  assert.deepEqual(out.spec.template.spec.containers[0].args, ["c"]);
});

test("$retainKeys drops keys not listed (strategy switch to Recreate)", () => {
  const out = smp(live(), { spec: { strategy: { $retainKeys: ["type"], type: "Recreate", rollingUpdate: null } } });
  assert.deepEqual(out.spec.strategy, { type: "Recreate" });
  // volumes: switch the source of one volume
  const out2 = smp(live(), { spec: { template: { spec: { volumes: [{ name: "data", $retainKeys: ["configMap", "name"], configMap: { name: "cm" } }] } } } });
  assert.deepEqual(out2.spec.template.spec.volumes, [{ name: "data", configMap: { name: "cm" } }]);
  badRequest(() => smp(live(), { spec: { strategy: { $retainKeys: "type" } } }), /spec\.strategy\.\$retainKeys: must be a list of strings/);
});

test("null deletes keys; nulls in new subtrees are dropped", () => {
  const out = smp(live(), { metadata: { annotations: null, labels: { app: null, n: "1" } }, spec: { template: { spec: { containers: [{ name: "web", image: null }] } } }, status: { replicas: null, observedGeneration: 1 } });
  assert.equal(out.metadata.annotations, undefined);
  assert.deepEqual(out.metadata.labels, { n: "1" });
  assert.equal("image" in out.spec.template.spec.containers[0], false);
  assert.deepEqual(out.status, { observedGeneration: 1 });
});

test("directives inside a list or map that did not exist yet are resolved", () => {
  const out = smp({ metadata: { name: "x" } }, {
    spec: { template: { spec: { "$setElementOrder/containers": [{ name: "a" }], containers: [{ name: "a", env: [{ name: "E", value: "1" }, { name: "F", $patch: "delete" }] }] } } },
  });
  assert.deepEqual(out.spec.template.spec.containers, [{ name: "a", env: [{ name: "E", value: "1" }] }]);
});

test("without schema information maps merge and lists replace", () => {
  const doc = { spec: { extra: { a: { b: 1, c: [1, 2] }, keep: true } }, unknownTop: { x: [{ name: "a" }] } };
  const out = smp(doc, { spec: { extra: { a: { c: [3], d: 4 } } }, unknownTop: { x: [{ name: "b" }] } });
  assert.deepEqual(out, { spec: { extra: { a: { b: 1, c: [3], d: 4 }, keep: true } }, unknownTop: { x: [{ name: "b" }] } });
  // "$"-keys are data in free-form places, directives still work
  const out2 = smp({ spec: { extra: { $ref: "x" } } }, { spec: { extra: { $ref: "y", $schema: "s" } } });
  assert.deepEqual(out2.spec.extra, { $ref: "y", $schema: "s" });
  // an unknown root type behaves the same
  assert.deepEqual(applyStrategicMergePatch({ a: { b: 1 }, l: [1] }, { a: { c: 2 }, l: [2] }, testSchema, "NoSuchType"), { a: { b: 1, c: 2 }, l: [2] });
});

test("unknown directives and wrong bodies are 400 naming the field", () => {
  badRequest(() => smp(live(), { spec: { $frob: 1 } }), /spec\.\$frob: unknown directive/);
  badRequest(() => smp(live(), [1]), /must be a JSON object/);
  badRequest(() => smp(live(), { spec: { template: { spec: { containers: ["web"] } } } }), /spec\.template\.spec\.containers: list item "web" must be a map/);
  badRequest(() => smp(live(), { spec: { template: { spec: { containers: [{ image: "x" }] } } } }), /does not contain declared merge key: name/);
});

test("SMP ignores SSA map-type: an atomic struct still merges as a map", () => {
  // SMP ignores SSA's map-type; a selector patch merges like upstream SMP does
  const out = smp(live(), { spec: { selector: { matchLabels: { tier: "x" } } } });
  assert.deepEqual(out.spec.selector.matchLabels, { app: "web", tier: "x" });
});

test("a merge list absent from patch-created subtrees merges into the live list", () => {
  const out = applyStrategicMergePatch({ spec: { template: { spec: { initContainers: [{ name: "a" }] } } } }, { spec: { template: { spec: { initContainers: [{ name: "b" }] } } } }, testSchema, "Deployment") as any;
  assert.deepEqual(out.spec.template.spec.initContainers, [{ name: "a" }, { name: "b" }]);
});

test("the exact kubectl apply body against a one-container deployment", () => {
  const doc = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web" }, spec: { template: { spec: { containers: [{ name: "web", image: "nginx", imagePullPolicy: "Always" }] } } } };
  const body = JSON.parse('{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"web"}],"containers":[{"image":"x","name":"web"}]}}}}');
  assert.deepEqual(smp(doc, body).spec.template.spec.containers, [{ name: "web", image: "x", imagePullPolicy: "Always" }]);
});

test("kubectl apply removing a container and a finalizer", () => {
  const body = {
    metadata: { "$setElementOrder/finalizers": ["y"], "$deleteFromPrimitiveList/finalizers": ["x"] },
    spec: { template: { spec: { "$setElementOrder/containers": [{ name: "web" }], containers: [{ $patch: "delete", name: "sidecar" }] } } },
  };
  const out = smp(live(), body);
  assert.deepEqual(out.metadata.finalizers, ["y"]);
  assert.deepEqual(out.spec.template.spec.containers.map((c: any) => c.name), ["web"]);
});

test("__proto__ in a patch is data, never the prototype", () => {
  const body = JSON.parse('{"spec":{"extra":{"__proto__":{"polluted":true}}},"__proto__":{"x":1}}');
  const out = smp({ spec: { extra: {} } }, body);
  assert.equal(({} as any).polluted, undefined);
  assert.equal(({} as any).x, undefined);
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(Object.keys(out.spec.extra), ["__proto__"]);
});
