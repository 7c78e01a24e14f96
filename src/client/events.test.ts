import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestApi } from "../apiserver/testing.js";
import { FakeClock } from "./clock.js";
import { ClientEventRecorder } from "./events.js";

test("records core/v1 Events and aggregates repeats into count/lastTimestamp", async (t) => {
  const api = await startTestApi();
  t.after(() => api.close());
  const clock = new FakeClock(Date.UTC(2026, 0, 1, 12, 0, 0));
  const rec = new ClientEventRecorder(api.client, { component: "test-controller", host: "node-a", clock });
  const cm = await api.client.create("v1/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web", namespace: "default" } });
  rec.event(cm, "Normal", "Created", "made it");
  await rec.flush();
  await clock.advance(5_000);
  rec.event(cm, "Normal", "Created", "made it");
  rec.event(cm, "Warning", "Failed", "broke");
  await rec.flush();
  const events = (await api.client.list("v1/events", { namespace: "default" })).items;
  assert.equal(events.length, 2);
  const created = events.find((e) => e.reason === "Created")!;
  assert.match(created.metadata.name!, /^web\.[0-9a-f]+$/);
  assert.equal(created.count, 2);
  assert.equal(created.firstTimestamp, "2026-01-01T12:00:00Z");
  assert.equal(created.lastTimestamp, "2026-01-01T12:00:05Z");
  assert.deepEqual(created.involvedObject, {
    kind: "ConfigMap",
    namespace: "default",
    name: "web",
    uid: cm.metadata.uid,
    apiVersion: "v1",
    resourceVersion: cm.metadata.resourceVersion,
  });
  assert.deepEqual(created.source, { component: "test-controller", host: "node-a" });
  assert.equal(created.reportingComponent, "test-controller");
  assert.equal(created.type, "Normal");
  const failed = events.find((e) => e.reason === "Failed")!;
  assert.equal(failed.type, "Warning");
  assert.equal(failed.count, 1);
});

test("cluster-scoped objects' events go to default; a full queue drops instead of blocking", async (t) => {
  const api = await startTestApi();
  t.after(() => api.close());
  const rec = new ClientEventRecorder(api.client, { component: "c", maxQueue: 2 });
  const ns = await api.client.get("v1/namespaces", undefined, "kube-system");
  for (let i = 0; i < 5; i++) rec.event(ns, "Normal", "R", `m${i}`);
  await rec.close();
  // The first event is picked up at once; two more fit in the queue.
  assert.ok(rec.droppedCount() >= 2);
  const events = (await api.client.list("v1/events", { namespace: "default" })).items;
  assert.equal(events.length, 5 - rec.droppedCount());
  assert.equal(events[0].involvedObject.name, "kube-system");
  assert.equal(events[0].involvedObject.namespace, undefined);
});

test("fieldPath names the part of the object (kubectl's SUBOBJECT) and keeps repeats apart", async (t) => {
  const api = await startTestApi();
  t.after(() => api.close());
  const rec = new ClientEventRecorder(api.client, { component: "kubelet", host: "node-a" });
  const cm = await api.client.create("v1/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "pod-like", namespace: "default" } });
  rec.event(cm, "Normal", "Started", "Started container web", "spec.containers{web}");
  rec.event(cm, "Normal", "Started", "Started container web", "spec.initContainers{web}");
  await rec.flush();
  const paths = (await api.client.list("v1/events", { namespace: "default" })).items.map((e) => e.involvedObject.fieldPath).sort();
  assert.deepEqual(paths, ["spec.containers{web}", "spec.initContainers{web}"]);
});
