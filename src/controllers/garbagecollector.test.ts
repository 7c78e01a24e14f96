import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject, OwnerReference } from "../apimachinery/types.js";
import { startTestApi } from "../apiserver/testing.js";
import { GarbageCollector, resourcesFromDefs } from "./garbagecollector.js";
import { type AfterHook, getIfExists, runControllers, until } from "./testing.js";

const ref = (o: KObject, extra: Partial<OwnerReference> = {}): OwnerReference => ({
  apiVersion: "v1",
  kind: o.kind ?? "ConfigMap",
  name: o.metadata.name!,
  uid: o.metadata.uid!,
  ...extra,
});

async function withGC(t: AfterHook) {
  const api = await startTestApi();
  runControllers(t, api, ({ client, informers }, signal) => new GarbageCollector(resourcesFromDefs(api.registry.catalogue.defs), { client, informers }).run(signal));
  const c = api.client;
  const cm = (name: string, owners?: OwnerReference[], finalizers?: string[]) =>
    c.create("v1/configmaps", {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace: "default", ...(owners ? { ownerReferences: owners } : {}), ...(finalizers ? { finalizers } : {}) },
    });
  const secret = (name: string, owners: OwnerReference[], finalizers?: string[]) =>
    c.create("v1/secrets", {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace: "default", ownerReferences: owners, ...(finalizers ? { finalizers } : {}) },
    });
  return { c, cm, secret };
}

test("resourcesFromDefs keeps one listable resource per storage", async () => {
  const defs = [
    { group: "", version: "v1", kind: "Event", plural: "events", namespaced: true },
    { group: "events.k8s.io", version: "v1", kind: "Event", plural: "events", namespaced: true, storageResource: { group: "", plural: "events" } },
    { group: "autoscaling", version: "v2", kind: "HorizontalPodAutoscaler", plural: "horizontalpodautoscalers", namespaced: true },
    { group: "autoscaling", version: "v1", kind: "HorizontalPodAutoscaler", plural: "horizontalpodautoscalers", namespaced: true, storageVersion: "v2" },
    { group: "", version: "v1", kind: "Binding", plural: "bindings", namespaced: true, verbs: ["create"] },
  ];
  assert.deepEqual(
    resourcesFromDefs(defs).map((r) => r.gvr),
    ["v1/events", "autoscaling/v2/horizontalpodautoscalers"],
  );
});

test("background: dependents whose owners are all gone are deleted; live owners keep them", async (t) => {
  const { c, cm, secret } = await withGC(t);
  const owner = await cm("owner");
  const other = await cm("other");
  await secret("only-child", [ref(owner)]);
  await secret("two-parents", [ref(owner), ref(other)]);
  await secret("orphaned-at-birth", [{ apiVersion: "v1", kind: "ConfigMap", name: "ghost", uid: "00000000-0000-0000-0000-000000000000" }]);
  await secret("unknown-kind-owner", [{ apiVersion: "example.com/v1", kind: "Widget", name: "w", uid: "11111111-1111-1111-1111-111111111111" }]);
  await until(async () => !(await getIfExists(c, "v1/secrets", "default", "orphaned-at-birth")));
  await c.delete("v1/configmaps", "default", "owner");
  await until(async () => !(await getIfExists(c, "v1/secrets", "default", "only-child")));
  // The surviving owner keeps its dependent; the dangling reference is dropped.
  await until(async () => (await getIfExists(c, "v1/secrets", "default", "two-parents"))?.metadata.ownerReferences?.length === 1);
  const kept = (await c.get("v1/secrets", "default", "two-parents")).metadata.ownerReferences!;
  assert.equal(kept[0].uid, other.metadata.uid);
  assert.ok(await getIfExists(c, "v1/secrets", "default", "unknown-kind-owner"), "an owner kind we do not watch is never assumed gone");
});

test("a same-named replacement owner with a new uid does not adopt old dependents", async (t) => {
  const { c, cm, secret } = await withGC(t);
  const first = await cm("reborn");
  await secret("child-of-first", [ref(first)]);
  await c.delete("v1/configmaps", "default", "reborn");
  await cm("reborn");
  await until(async () => !(await getIfExists(c, "v1/secrets", "default", "child-of-first")));
});

test("orphan: the owner's finalizer makes the GC release dependents, then the owner goes", async (t) => {
  const { c, cm, secret } = await withGC(t);
  const owner = await cm("parent");
  await secret("kid", [ref(owner, { controller: true, blockOwnerDeletion: true })]);
  await c.delete("v1/configmaps", "default", "parent", { propagationPolicy: "Orphan" });
  await until(async () => !(await getIfExists(c, "v1/configmaps", "default", "parent")));
  const kid = await c.get("v1/secrets", "default", "kid");
  assert.equal(kid.metadata.ownerReferences, undefined);
  // Stays orphaned (nothing left to collect).
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(await getIfExists(c, "v1/secrets", "default", "kid"));
});

test("foreground: the owner waits for blocking dependents, then its finalizer is removed", async (t) => {
  const { c, cm, secret } = await withGC(t);
  const owner = await cm("fg");
  await secret("blocker", [ref(owner, { blockOwnerDeletion: true })], ["test.tugboat.dev/hold"]);
  await secret("non-blocker", [ref(owner)]);
  const grand = await cm("grandchild-owner", [ref(owner, { blockOwnerDeletion: true })]);
  await secret("grandchild", [ref(grand, { blockOwnerDeletion: true })]);
  const res = await c.delete("v1/configmaps", "default", "fg", { propagationPolicy: "Foreground" });
  assert.ok(res.metadata.deletionTimestamp);
  assert.ok(res.metadata.finalizers?.includes("foregroundDeletion"));
  await until(async () => !(await getIfExists(c, "v1/secrets", "default", "non-blocker")));
  await until(async () => !(await getIfExists(c, "v1/secrets", "default", "grandchild")));
  await until(async () => !(await getIfExists(c, "v1/configmaps", "default", "grandchild-owner")));
  // The held dependent is deleting but still there, so the owner must still be there.
  await until(async () => !!(await getIfExists(c, "v1/secrets", "default", "blocker"))?.metadata.deletionTimestamp);
  const waiting = await getIfExists(c, "v1/configmaps", "default", "fg");
  assert.ok(waiting?.metadata.deletionTimestamp);
  const blocker = await c.get("v1/secrets", "default", "blocker");
  await c.update("v1/secrets", { ...blocker, metadata: { ...blocker.metadata, finalizers: [] } });
  await until(async () => !(await getIfExists(c, "v1/configmaps", "default", "fg")));
});
