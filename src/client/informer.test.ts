import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../apimachinery/types.js";
import { startTestApi } from "../apiserver/testing.js";
import { Informer, indexPodsByNodeName, OWNER_UID_INDEX } from "./informer.js";
import { SharedInformerFactory } from "./sharedinformers.js";

const cm = (ns: string, name: string, data: Record<string, string> = {}, labels?: Record<string, string>): KObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: ns, ...(labels ? { labels } : {}) },
  data,
});

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting for condition");
    await new Promise((r) => setTimeout(r, 5));
  }
}

test("informer lists (paginated), watches, and notifies add/update/delete", async (t) => {
  const api = await startTestApi();
  const ac = new AbortController();
  t.after(async () => {
    ac.abort();
    await api.close();
  });
  for (let i = 0; i < 5; i++) await api.client.create("v1/configmaps", cm("default", `pre-${i}`));
  const inf = new Informer(api.client, "v1/configmaps", { namespace: "default", pageSize: 2 });
  const log: string[] = [];
  inf.addEventHandler({
    onAdd: (o, initial) => log.push(`add ${o.metadata.name}${initial ? " (initial)" : ""}`),
    onUpdate: (a, b) => log.push(`update ${b.metadata.name} ${a.data?.k ?? "-"}→${b.data?.k ?? "-"}`),
    onDelete: (o) => log.push(`delete ${o.metadata.name}`),
  });
  const run = inf.start(ac.signal);
  assert.equal(await inf.waitForSync(ac.signal), true);
  assert.equal(inf.hasSynced(), true);
  assert.equal(inf.store.list().length, 5);
  assert.equal(inf.store.list("default").length, 5);
  assert.equal(log.filter((l) => l.endsWith("(initial)")).length, 5);
  // Items get kind/apiVersion even when the list omits them, and are frozen.
  const pre = inf.store.get("default", "pre-0")!;
  assert.equal(pre.kind, "ConfigMap");
  assert.equal(pre.apiVersion, "v1");
  assert.ok(Object.isFrozen(pre) && Object.isFrozen(pre.metadata));
  assert.equal(Reflect.set(pre.metadata, "name", "x"), false);

  log.length = 0;
  const created = await api.client.create("v1/configmaps", cm("default", "live", { k: "1" }));
  await until(() => log.includes("add live"));
  await api.client.update("v1/configmaps", { ...created, data: { k: "2" } });
  await until(() => log.includes("update live 1→2"));
  await api.client.delete("v1/configmaps", "default", "live");
  await until(() => log.includes("delete live"));
  assert.equal(inf.store.get("default", "live"), undefined);
  // Another namespace is outside this informer.
  await api.client.create("v1/configmaps", cm("kube-system", "other"));
  await api.client.create("v1/configmaps", cm("default", "marker"));
  await until(() => log.includes("add marker"));
  assert.ok(!log.includes("add other"));
  ac.abort();
  await run;
});

test("restarting over compacted history re-lists and emits only the difference", async (t) => {
  const api = await startTestApi();
  t.after(() => api.close());
  const keep = await api.client.create("v1/configmaps", cm("default", "keep", { v: "1" }));
  await api.client.create("v1/configmaps", cm("default", "same"));
  await api.client.create("v1/configmaps", cm("default", "gone"));
  const inf = new Informer(api.client, "v1/configmaps", { namespace: "default" });
  const first = new AbortController();
  const run1 = inf.start(first.signal);
  await inf.waitForSync(first.signal);
  const log: string[] = [];
  inf.addEventHandler({
    onAdd: (o, initial) => log.push(`add ${o.metadata.name}${initial ? " (replay)" : ""}`),
    onUpdate: (_a, b) => log.push(`update ${b.metadata.name}`),
    onDelete: (o) => log.push(`delete ${o.metadata.name}`),
  });
  assert.deepEqual(log.sort(), ["add gone (replay)", "add keep (replay)", "add same (replay)"]);
  first.abort();
  await run1;
  log.length = 0;
  // Changes the informer never saw as events, with their history compacted away.
  await api.client.update("v1/configmaps", { ...keep, data: { v: "2" } });
  await api.client.delete("v1/configmaps", "default", "gone");
  await api.client.create("v1/configmaps", cm("default", "new"));
  await api.registry.store.compact(await api.registry.store.currentRevision());
  const second = new AbortController();
  const run2 = inf.start(second.signal);
  await until(() => log.length >= 3);
  assert.deepEqual(log.sort(), ["add new", "delete gone", "update keep"]);
  assert.equal(inf.store.get("default", "keep")!.data.v, "2");
  // And the new watch is live.
  await api.client.create("v1/configmaps", cm("default", "after"));
  await until(() => log.includes("add after"));
  second.abort();
  await run2;
});

test("indexes: by namespace, by owner uid, pods by node name; resync re-delivers updates", async (t) => {
  const api = await startTestApi();
  const ac = new AbortController();
  t.after(async () => {
    ac.abort();
    await api.close();
  });
  const owner = await api.client.create("v1/configmaps", cm("default", "owner"));
  await api.client.create("v1/configmaps", {
    ...cm("default", "dep"),
    metadata: { name: "dep", namespace: "default", ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata.uid! }] },
  });
  const factory = new SharedInformerFactory(api.client, { resyncPeriodMs: 50 });
  const a = factory.informerFor("v1/configmaps");
  const b = factory.informerFor("v1/configmaps", { byData: (o) => Object.keys(o.data ?? {}) });
  assert.equal(a, b, "one informer per gvr");
  assert.equal(factory.informerFor("v1/pods").store.hasIndex("nodeName"), true);
  let resyncs = 0;
  a.addEventHandler({ onUpdate: (x, y) => x === y && resyncs++ });
  factory.start(ac.signal);
  assert.equal(await factory.waitForSync(ac.signal), true);
  assert.deepEqual(
    a.store.byIndex(OWNER_UID_INDEX, owner.metadata.uid!).map((o) => o.metadata.name),
    ["dep"],
  );
  assert.deepEqual(indexPodsByNodeName({ metadata: {}, spec: { nodeName: "n1" } }), ["n1"]);
  await until(() => resyncs >= 2);
  ac.abort();
  await factory.stopped();
});
