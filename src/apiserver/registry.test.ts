import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestApi } from "./testing.js";
import { AlreadyExists, Conflict, Invalid, NotFound, BadRequest, Gone } from "../apimachinery/errors.js";
import type { KObject, WatchEvent } from "../apimachinery/types.js";
import { deleteObject } from "./deletion.js";
import { watchObjects } from "./watch.js";
import { bindPod, getScale, patchScale } from "./subresources.js";

const cm = (name: string, data: Record<string, string> = { a: "1" }, labels?: Record<string, string>): KObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: "default", ...(labels ? { labels } : {}) },
  data,
});

const deployment = (name: string, replicas = 1): KObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, namespace: "default" },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "web", image: "busybox:1" }] } },
  },
});

test("create assigns uid, creationTimestamp, resourceVersion; duplicates are 409", async () => {
  const api = await startTestApi();
  try {
    const reg = api.registry;
    const def = reg.def("v1/configmaps");
    const { object } = await reg.create(def, "default", cm("a"));
    assert.match(object.metadata.uid!, /^[0-9a-f-]{36}$/);
    assert.ok(object.metadata.creationTimestamp);
    assert.ok(Number(object.metadata.resourceVersion) > 0);
    await assert.rejects(reg.create(def, "default", cm("a")), AlreadyExists);
    const got = await reg.get(def, "default", "a");
    assert.deepEqual(got.data, { a: "1" });
  } finally {
    await api.close();
  }
});

test("generateName, dryRun and namespace checks", async () => {
  const api = await startTestApi();
  try {
    const reg = api.registry;
    const def = reg.def("v1/configmaps");
    const { object } = await reg.create(def, "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { generateName: "gen-" } });
    assert.match(object.metadata.name!, /^gen-[a-z0-9]{5}$/);
    const dry = await reg.create(def, "default", cm("dry"), { dryRun: true });
    assert.equal(dry.object.metadata.name, "dry");
    await assert.rejects(reg.get(def, "default", "dry"), NotFound);
    await assert.rejects(reg.create(def, "kube-system", cm("x")), BadRequest);
    await assert.rejects(reg.create(def, "nope", { ...cm("x"), metadata: { name: "x", namespace: "nope" } }), NotFound);
    await assert.rejects(reg.create(def, "default", { ...cm("x"), metadata: { name: "Bad_Name" } }), (e: unknown) => e instanceof Invalid && /metadata.name/.test((e as Error).message));
  } finally {
    await api.close();
  }
});

test("update: optimistic concurrency, no-op writes keep the resourceVersion, generation on spec only", async () => {
  const api = await startTestApi();
  try {
    const reg = api.registry;
    const def = reg.def("apps/v1/deployments");
    const { object: d } = await reg.create(def, "default", deployment("web"));
    assert.equal(d.metadata.generation, 1);
    const same = await reg.update(def, "default", "web", structuredClone(d));
    assert.equal(same.object.metadata.resourceVersion, d.metadata.resourceVersion);
    const labelled = structuredClone(d);
    labelled.metadata.labels = { x: "y" };
    const l = await reg.update(def, "default", "web", labelled);
    assert.equal(l.object.metadata.generation, 1);
    assert.notEqual(l.object.metadata.resourceVersion, d.metadata.resourceVersion);
    const stale = structuredClone(d);
    stale.spec.replicas = 5;
    await assert.rejects(reg.update(def, "default", "web", stale), Conflict);
    const fresh = structuredClone(l.object);
    fresh.spec.replicas = 5;
    const u = await reg.update(def, "default", "web", fresh);
    assert.equal(u.object.metadata.generation, 2);
    // status is not writable through the main resource
    const withStatus = structuredClone(u.object);
    withStatus.status = { replicas: 9 };
    const s = await reg.update(def, "default", "web", withStatus);
    assert.notEqual(s.object.status?.replicas, 9);
    const st = await reg.update(def, "default", "web", withStatus, { subresource: "status" });
    assert.equal(st.object.status.replicas, 9);
    assert.equal(st.object.metadata.generation, 2);
  } finally {
    await api.close();
  }
});

test("patch: merge, json, strategic; apply creates", async () => {
  const api = await startTestApi();
  try {
    const reg = api.registry;
    const def = reg.def("apps/v1/deployments");
    await reg.create(def, "default", deployment("web"));
    const m = await reg.patch(def, "default", "web", "merge", { spec: { replicas: 3 } });
    assert.equal(m.object.spec.replicas, 3);
    const j = await reg.patch(def, "default", "web", "json", [{ op: "replace", path: "/spec/replicas", value: 4 }]);
    assert.equal(j.object.spec.replicas, 4);
    const s = await reg.patch(def, "default", "web", "strategic", {
      spec: { template: { spec: { containers: [{ name: "web", image: "busybox:2" }] } } },
    });
    assert.equal(s.object.spec.template.spec.containers.length, 1);
    assert.equal(s.object.spec.template.spec.containers[0].image, "busybox:2");
    const a = await reg.patch(def, "default", "applied", "apply", deployment("applied", 2), { fieldManager: "test" });
    assert.equal(a.created, true);
    assert.equal(a.object.spec.replicas, 2);
    assert.ok(a.object.metadata.managedFields?.some((f) => f.manager === "test" && f.operation === "Apply"));
  } finally {
    await api.close();
  }
});

test("scale subresource and pod binding", async () => {
  const api = await startTestApi();
  try {
    const reg = api.registry;
    const def = reg.def("apps/v1/deployments");
    await reg.create(def, "default", deployment("web", 2));
    const sc = await getScale(reg, def, "default", "web");
    assert.equal(sc.kind, "Scale");
    assert.equal(sc.spec.replicas, 2);
    const after = await patchScale(reg, def, "default", "web", "merge", { spec: { replicas: 7 } });
    assert.equal(after.spec.replicas, 7);
    assert.equal((await reg.get(def, "default", "web")).spec.replicas, 7);

    const pods = reg.def("v1/pods");
    await reg.create(pods, "default", { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "busybox" }] } });
    await bindPod(reg, pods, "default", "p", { target: { name: "node-1" } });
    const p = await reg.get(pods, "default", "p");
    assert.equal(p.spec.nodeName, "node-1");
    assert.ok(p.status.conditions.some((c: any) => c.type === "PodScheduled" && c.status === "True"));
    await assert.rejects(bindPod(reg, pods, "default", "p", { target: { name: "node-2" } }), Conflict);
  } finally {
    await api.close();
  }
});

test("list: selectors and pagination", async () => {
  const api = await startTestApi();
  try {
    const reg = api.registry;
    const def = reg.def("v1/configmaps");
    const inPaging = (o: KObject): KObject => ({ ...o, metadata: { ...o.metadata, namespace: "paging" } });
    // A namespace of its own: the test API seeds kube-root-ca.crt in "paging".
    await reg.create(reg.def("v1/namespaces"), undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: "paging" } });
    for (let i = 0; i < 7; i++) await reg.create(def, "paging", inPaging(cm(`c${i}`, {}, { parity: i % 2 ? "odd" : "even" })));
    const odd = await reg.list(def, "paging", { labelSelector: "parity=odd" });
    assert.deepEqual(odd.items.map((o) => o.metadata.name), ["c1", "c3", "c5"]);
    const byName = await reg.list(def, "paging", { fieldSelector: "metadata.name=c4" });
    assert.deepEqual(byName.items.map((o) => o.metadata.name), ["c4"]);
    await assert.rejects(reg.list(def, "paging", { fieldSelector: "spec.foo=bar" }), BadRequest);
    const p1 = await reg.list(def, "paging", { limit: 3 });
    assert.equal(p1.items.length, 3);
    assert.ok(p1.metadata.continue);
    await reg.create(def, "paging", inPaging(cm("c99")));
    const p2 = await reg.list(def, "paging", { limit: 3, continue: p1.metadata.continue });
    const p3 = await reg.list(def, "paging", { limit: 3, continue: p2.metadata.continue });
    const names = [...p1.items, ...p2.items, ...p3.items].map((o) => o.metadata.name);
    assert.deepEqual(names, ["c0", "c1", "c2", "c3", "c4", "c5", "c6"]);
    assert.equal(p3.metadata.continue, undefined);
    assert.equal(p2.metadata.resourceVersion, p1.metadata.resourceVersion);
  } finally {
    await api.close();
  }
});

test("watch: from a resourceVersion, selector transitions, DELETED", async () => {
  const api = await startTestApi();
  try {
    const reg = api.registry;
    const def = reg.def("v1/configmaps");
    const { object: first } = await reg.create(def, "default", cm("w0"));
    const events: WatchEvent[] = [];
    const w = await watchObjects(reg, def, "default", { resourceVersion: first.metadata.resourceVersion, labelSelector: "sel=yes" }, (e) => events.push(e));
    await reg.create(def, "default", cm("w1", {}, { sel: "yes" }));
    await reg.patch(def, "default", "w0", "merge", { metadata: { labels: { sel: "yes" } } });
    await reg.patch(def, "default", "w1", "merge", { metadata: { labels: { sel: "no" } } });
    await deleteObject(reg, def, "default", "w0");
    await new Promise((r) => setTimeout(r, 100));
    w.stop();
    assert.deepEqual(
      events.map((e) => `${e.type}:${e.object.metadata.name}`),
      ["ADDED:w1", "ADDED:w0", "DELETED:w1", "DELETED:w0"],
    );
  } finally {
    await api.close();
  }
});

test("delete: finalizers hold the object, orphan policy, preconditions, namespaces terminate", async () => {
  const api = await startTestApi();
  try {
    const reg = api.registry;
    const def = reg.def("v1/configmaps");
    await reg.create(def, "default", { ...cm("f"), metadata: { name: "f", finalizers: ["example.com/hold"] } });
    const r = await deleteObject(reg, def, "default", "f");
    assert.equal(r.deleted, false);
    assert.ok(r.object.metadata.deletionTimestamp);
    const cur = await reg.get(def, "default", "f");
    cur.metadata.finalizers = [];
    await reg.update(def, "default", "f", cur);
    await assert.rejects(reg.get(def, "default", "f"), NotFound);

    await reg.create(def, "default", cm("o"));
    const o = await deleteObject(reg, def, "default", "o", { propagationPolicy: "Orphan" });
    assert.deepEqual(o.object.metadata.finalizers, ["orphan"]);

    await reg.create(def, "default", cm("p"));
    await assert.rejects(deleteObject(reg, def, "default", "p", { preconditions: { uid: "nope" } }), Conflict);

    const ns = reg.def("v1/namespaces");
    await reg.create(ns, undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: "gone" } });
    const d = await deleteObject(reg, ns, undefined, "gone");
    assert.equal(d.object.status.phase, "Terminating");
    await assert.rejects(reg.create(def, "gone", { ...cm("x"), metadata: { name: "x", namespace: "gone" } }), (e: any) => e.code === 403);
    await assert.rejects(deleteObject(reg, ns, undefined, "default"), (e: any) => e.code === 403);
  } finally {
    await api.close();
  }
});

test("watch from a compacted revision ends with 410", async () => {
  const api = await startTestApi();
  try {
    const reg = api.registry;
    const def = reg.def("v1/configmaps");
    const { object } = await reg.create(def, "default", cm("c"));
    for (let i = 0; i < 5; i++) await reg.patch(def, "default", "c", "merge", { data: { i: String(i) } });
    await reg.store.compact(await reg.store.currentRevision());
    const events: WatchEvent[] = [];
    await watchObjects(reg, def, "default", { resourceVersion: object.metadata.resourceVersion }, (e) => events.push(e));
    assert.equal(events[0]?.type, "ERROR");
    assert.equal((events[0]!.object as any).code, 410);
    assert.ok(Gone);
  } finally {
    await api.close();
  }
});

test("services get unique ClusterIPs and NodePorts, released on delete", async () => {
  const api = await startTestApi();
  try {
    const reg = api.registry;
    const def = reg.def("v1/services");
    const svc = (name: string, spec: Record<string, unknown> = {}): KObject => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: "default" },
      spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec },
    });
    const a = (await reg.create(def, "default", svc("a"))).object;
    const b = (await reg.create(def, "default", svc("b", { type: "NodePort" }))).object;
    assert.match(a.spec.clusterIP, /^10\.43\.\d+\.\d+$/);
    assert.notEqual(a.spec.clusterIP, b.spec.clusterIP);
    assert.deepEqual(a.spec.clusterIPs, [a.spec.clusterIP]);
    assert.ok(b.spec.ports[0].nodePort >= 30000 && b.spec.ports[0].nodePort <= 32767);
    await assert.rejects(reg.create(def, "default", svc("c", { clusterIP: a.spec.clusterIP })), (e: any) => e instanceof Invalid && /already allocated/.test(e.message));
    await assert.rejects(reg.create(def, "default", svc("d", { type: "NodePort", ports: [{ port: 80, nodePort: b.spec.ports[0].nodePort }] })), Invalid);
    const headless = (await reg.create(def, "default", svc("h", { clusterIP: "None" }))).object;
    assert.equal(headless.spec.clusterIP, "None");
    // An update keeps the allocation.
    const upd = (await reg.patch(def, "default", "a", "merge", { metadata: { labels: { x: "y" } } })).object;
    assert.equal(upd.spec.clusterIP, a.spec.clusterIP);
    await deleteObject(reg, def, "default", "a");
    const again = (await reg.create(def, "default", svc("c", { clusterIP: a.spec.clusterIP }))).object;
    assert.equal(again.spec.clusterIP, a.spec.clusterIP);
  } finally {
    await api.close();
  }
});
