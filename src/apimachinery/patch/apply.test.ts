// Tests for apply.ts: behaviour checked against the upstream semantics its header cites.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serverSideApply } from "./apply.js";
import { updateManagedFields } from "./managedfields.js";
import { FieldSet, pathString } from "./fieldset.js";
import { testSchema } from "./testschema.js";
import type { KObject } from "../types.js";
import { ApplyConflict, StatusError } from "../errors.js";

const T1 = "2024-01-01T00:00:00Z";
const T2 = "2024-01-01T00:01:00Z";
const T3 = "2024-01-01T00:02:00Z";

const config = (over: Record<string, unknown> = {}): KObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", labels: { app: "web" } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: { containers: [{ name: "web", image: "nginx:1" }] },
    },
  },
  ...over,
});

const apply = (live: KObject | undefined, applied: KObject, manager = "kubectl", opts: { force?: boolean; time?: string } = {}) =>
  serverSideApply({ live, applied, manager, force: opts.force ?? false, schema: testSchema, typeName: "Deployment", apiVersion: "apps/v1", time: opts.time ?? T1 });

/** An object as a plain (non-apply) writer left it, with its Update managedFields. */
function written(old: KObject | undefined, obj: KObject, manager: string, time = T1): KObject {
  const o = structuredClone(obj);
  o.metadata.managedFields = updateManagedFields({ old, updated: o, manager, operation: "Update", apiVersion: "apps/v1", time, schema: testSchema, typeName: "Deployment" });
  return o;
}

const setOf = (o: KObject, manager: string) => {
  const e = o.metadata.managedFields!.find((m) => m.manager === manager);
  return e ? FieldSet.fromFieldsV1(e.fieldsV1) : FieldSet.empty();
};
const withoutMF = (o: KObject) => {
  const c = structuredClone(o);
  delete c.metadata.managedFields;
  return c;
};

test("create: the applied object plus one Apply entry", () => {
  const out = apply(undefined, config());
  assert.deepEqual(withoutMF(out), config());
  assert.deepEqual(out.metadata.managedFields, [
    {
      manager: "kubectl",
      operation: "Apply",
      apiVersion: "apps/v1",
      time: T1,
      fieldsType: "FieldsV1",
      fieldsV1: {
        "f:metadata": { "f:labels": { "f:app": {} } },
        "f:spec": {
          "f:replicas": {},
          "f:selector": {},
          "f:template": {
            "f:metadata": { "f:labels": { "f:app": {} } },
            "f:spec": { "f:containers": { 'k:{"name":"web"}': { ".": {}, "f:image": {}, "f:name": {} } } },
          },
        },
      },
    },
  ]);
});

test("re-applying the same configuration is a no-op (time kept)", () => {
  const v1 = apply(undefined, config());
  const v2 = apply(v1, config(), "kubectl", { time: T2 });
  assert.deepEqual(v2, v1);
});

test("apply merges into live: keeps others' fields, merges lists by key, replaces atomics", () => {
  const live = written(undefined, {
    ...config(),
    spec: {
      ...config().spec,
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "web", image: "nginx:1", args: ["a"] }, { name: "side", image: "busybox" }], nodeSelector: { a: "1", b: "2" } },
      },
    },
    status: { replicas: 1 },
  }, "creator");
  const cfg = config();
  cfg.metadata.finalizers = ["f2"];
  cfg.spec.template.spec = { containers: [{ name: "new", image: "redis" }, { name: "web", args: ["b"] }], nodeSelector: { c: "3" } };
  const out = apply(live, cfg, "kubectl", { force: true });
  const spec = out.spec.template.spec;
  assert.deepEqual(spec.containers.map((c: any) => c.name), ["new", "web", "side"]);
  assert.deepEqual(spec.containers[1], { name: "web", image: "nginx:1", args: ["b"] });
  assert.deepEqual(spec.nodeSelector, { c: "3" }, "atomic map replaced");
  assert.deepEqual(out.status, { replicas: 1 });
  assert.deepEqual(out.metadata.finalizers, ["f2"]);
  const live2 = structuredClone(out);
  live2.metadata.finalizers = ["f1", "f2"];
  const cfg2 = structuredClone(cfg);
  cfg2.metadata.finalizers = ["f2", "f3"];
  assert.deepEqual(apply(live2, cfg2, "kubectl").metadata.finalizers, ["f1", "f2", "f3"], "sets merge by value");
});

test("conflict with an Update manager: 409 with upstream's message and causes", () => {
  const live = written(undefined, config(), "kubectl-client-side-apply");
  const cfg = config();
  cfg.spec.replicas = 3;
  assert.throws(
    () => apply(live, cfg),
    (e: unknown) => {
      assert.ok(e instanceof ApplyConflict);
      assert.equal(e.code, 409);
      assert.equal(e.reason, "Conflict");
      assert.equal(e.message, 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas');
      assert.deepEqual(e.details?.causes, [{ reason: "FieldManagerConflict", message: 'conflict with "kubectl-client-side-apply" using apps/v1', field: ".spec.replicas" }]);
      return true;
    },
  );
  // same values: no conflict, ownership is shared
  const shared = apply(live, config());
  assert.equal(setOf(shared, "kubectl").has(["f:spec", "f:replicas"]), true);
  assert.equal(setOf(shared, "kubectl-client-side-apply").has(["f:spec", "f:replicas"]), true);
});

test("several conflicts, grouped by manager (Apply managers print without apiVersion)", () => {
  const a = apply(undefined, config(), "alice");
  const live = written(a, { ...a, spec: { ...a.spec, template: { ...a.spec.template, spec: { containers: [{ name: "web", image: "nginx:2" }] } } } }, "editor", T2);
  const cfg = config();
  cfg.spec.replicas = 5;
  cfg.spec.template.spec.containers[0].image = "nginx:3";
  cfg.metadata.labels = { app: "web2" };
  assert.throws(
    () => apply(live, cfg, "bob"),
    (e: unknown) => {
      assert.ok(e instanceof ApplyConflict);
      assert.equal(
        e.message,
        'Apply failed with 3 conflicts: conflicts with "alice":\n- .metadata.labels.app\n- .spec.replicas\nconflicts with "editor" using apps/v1:\n- .spec.template.spec.containers[name="web"].image',
      );
      assert.deepEqual(
        e.details?.causes?.map((c) => `${c.message} ${c.field}`),
        [
          'conflict with "alice" .metadata.labels.app',
          'conflict with "alice" .spec.replicas',
          'conflict with "editor" using apps/v1 .spec.template.spec.containers[name="web"].image',
        ],
      );
      return true;
    },
  );
});

test("force takes ownership away from the other manager", () => {
  const live = written(undefined, config(), "kubectl-client-side-apply");
  const cfg = config();
  cfg.spec.replicas = 3;
  const out = apply(live, cfg, "kubectl", { force: true, time: T2 });
  assert.equal(out.spec.replicas, 3);
  assert.equal(setOf(out, "kubectl").has(["f:spec", "f:replicas"]), true);
  assert.equal(setOf(out, "kubectl-client-side-apply").has(["f:spec", "f:replicas"]), false);
  assert.equal(setOf(out, "kubectl-client-side-apply").has(["f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"web"}', "f:image"]), true);
  assert.deepEqual(
    out.metadata.managedFields!.map((e) => `${e.operation}:${e.manager}@${e.time}`),
    ["Apply:kubectl@" + T2, "Update:kubectl-client-side-apply@" + T1],
  );
  // the other manager can now be overruled by the new owner without force
  const cfg2 = structuredClone(cfg);
  cfg2.spec.replicas = 4;
  assert.equal(apply(out, cfg2, "kubectl").spec.replicas, 4);
});

test("fields applied before and omitted now are removed (labels, list items)", () => {
  const cfg = config();
  cfg.metadata.labels = { app: "web", extra: "1" };
  cfg.metadata.annotations = { note: "x" };
  cfg.spec.template.spec.containers.push({ name: "side", image: "busybox", env: [{ name: "A", value: "1" }] });
  const v1 = apply(undefined, cfg);
  const v2 = apply(v1, config(), "kubectl", { time: T2 });
  assert.deepEqual(v2.metadata.labels, { app: "web" });
  assert.equal(v2.metadata.annotations, undefined, "a map emptied by pruning goes away");
  assert.deepEqual(v2.spec.template.spec.containers.map((c: any) => c.name), ["web"]);
  assert.deepEqual(setOf(v2, "kubectl").equals(setOf(apply(undefined, config()), "kubectl")), true);
  assert.equal(v2.metadata.managedFields![0]!.time, T2);
});

test("an omitted field that another manager also owns stays", () => {
  const cfg = config();
  cfg.metadata.labels = { app: "web", team: "a" };
  const v1 = apply(undefined, cfg, "alice");
  const v2 = apply(v1, cfg, "bob"); // same values: shared ownership, no conflict
  const v3 = apply(v2, config(), "alice", { time: T2 });
  assert.deepEqual(v3.metadata.labels, { app: "web", team: "a" });
  assert.equal(setOf(v3, "alice").has(["f:metadata", "f:labels", "f:team"]), false);
  assert.equal(setOf(v3, "bob").has(["f:metadata", "f:labels", "f:team"]), true);
  // a container item kept because someone else owns a field inside it
  const c2 = config();
  c2.spec.template.spec.containers.push({ name: "side", image: "busybox" });
  const w1 = apply(undefined, c2, "alice");
  const w2 = structuredClone(w1);
  w2.spec.template.spec.containers[1].imagePullPolicy = "Always";
  const w3 = written(w1, w2, "editor", T2);
  const w4 = apply(w3, config(), "alice", { time: T3 });
  // the item stays (with its key) holding only what the editor owns; alice's image goes
  assert.deepEqual(w4.spec.template.spec.containers, [{ name: "web", image: "nginx:1" }, { name: "side", imagePullPolicy: "Always" }]);
});

test("changes made by an Update manager to fields nobody applied do not conflict", () => {
  const v1 = apply(undefined, config());
  const v2 = structuredClone(v1);
  v2.spec.template.spec.containers[0].imagePullPolicy = "IfNotPresent";
  const v3 = written(v1, v2, "defaulter", T2);
  const cfg = config();
  cfg.spec.template.spec.containers[0].image = "nginx:2";
  const out = apply(v3, cfg, "kubectl", { time: T3 });
  assert.equal(out.spec.template.spec.containers[0].imagePullPolicy, "IfNotPresent");
  assert.equal(out.spec.template.spec.containers[0].image, "nginx:2");
});

test("managedFields in the applied configuration is a 400; nulls mean unspecified", () => {
  const cfg = config();
  cfg.metadata.managedFields = [{ manager: "x", operation: "Apply" }];
  assert.throws(() => apply(undefined, cfg), (e: unknown) => e instanceof StatusError && e.code === 400 && /metadata\.managedFields must be nil/.test(e.message));
  const cfg2 = config();
  cfg2.metadata.labels = { app: "web", gone: null as unknown as string };
  const out = apply(undefined, cfg2);
  assert.deepEqual(out.metadata.labels, { app: "web" });
  assert.equal(setOf(out, "kubectl").touches(["f:metadata", "f:labels", "f:gone"]), false);
});

test("duplicate keys in an applied map list are a 400", () => {
  const cfg = config();
  cfg.spec.template.spec.containers.push({ name: "web", image: "x" });
  const live = apply(undefined, config());
  assert.throws(() => apply(live, cfg), (e: unknown) => e instanceof StatusError && e.code === 400 && /duplicate entries for key \[name="web"\]/.test(e.message));
});

test("server-managed metadata is neither owned nor lost", () => {
  const live = apply(undefined, config());
  live.metadata.uid = "u";
  live.metadata.resourceVersion = "7";
  live.metadata.creationTimestamp = T1;
  const cfg = config();
  const out = apply(live, cfg, "kubectl", { time: T2 });
  assert.equal(out.metadata.uid, "u");
  assert.equal(out.metadata.resourceVersion, "7");
  assert.deepEqual(setOf(out, "kubectl").paths().map(pathString).filter((p) => p.startsWith(".metadata")), [".metadata.labels.app"]);
});

test("map-list items that omit a defaulted key field match the live item (ports by containerPort+protocol)", () => {
  const cfg = config();
  cfg.spec.template.spec.containers[0].ports = [{ containerPort: 80 }];
  const created = apply(undefined, cfg);
  // the server defaults protocol after creation
  const live = structuredClone(created);
  live.spec.template.spec.containers[0].ports = [{ containerPort: 80, protocol: "TCP" }];
  const cfg2 = structuredClone(cfg);
  cfg2.spec.template.spec.containers[0].ports = [{ containerPort: 80, name: "http" }];
  const out = apply(live, cfg2, "kubectl", { time: T2 });
  assert.deepEqual(out.spec.template.spec.containers[0].ports, [{ containerPort: 80, protocol: "TCP", name: "http" }]);
  // dropping the port later removes it
  const out2 = apply(out, config(), "kubectl", { time: T3 });
  assert.equal(out2.spec.template.spec.containers[0].ports, undefined);
});

test("an object without managedFields: its fields belong to before-first-apply", () => {
  const live = config();
  live.spec.replicas = 1;
  assert.throws(() => apply(live, config()), (e: unknown) => e instanceof ApplyConflict && e.message === 'Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas');
  const out = apply(live, config(), "kubectl", { force: true });
  assert.deepEqual(out.metadata.managedFields!.map((e) => e.manager), ["kubectl", "before-first-apply"]);
});
