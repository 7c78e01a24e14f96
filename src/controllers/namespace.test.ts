import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestApi } from "../apiserver/testing.js";
import { FakeClock } from "../client/clock.js";
import { resourcesFromDefs } from "./garbagecollector.js";
import { namespaceController } from "./namespace.js";
import { getIfExists, runControllers, until } from "./testing.js";

test("a terminating namespace is emptied, waits for finalizers, then is finalized away", async (t) => {
  const api = await startTestApi();
  const clock = new FakeClock();
  runControllers(t, api, namespaceController(resourcesFromDefs(api.registry.catalogue.defs)), { clock });
  const c = api.client;
  await c.create("v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "doomed" } });
  await c.create("v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "bystander" } });
  for (const ns of ["doomed", "bystander"]) {
    await c.create("v1/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg", namespace: ns } });
  }
  await c.create("v1/secrets", { apiVersion: "v1", kind: "Secret", metadata: { name: "held", namespace: "doomed", finalizers: ["test.tugboat.dev/hold"] } });

  const deleted = await c.delete("v1/namespaces", undefined, "doomed");
  assert.ok(deleted.metadata.deletionTimestamp);
  await until(async () => !(await getIfExists(c, "v1/configmaps", "doomed", "cfg")));
  await until(async () => {
    const ns = await c.get("v1/namespaces", undefined, "doomed");
    const cond = (ns.status?.conditions ?? []).find((x: { type: string }) => x.type === "NamespaceFinalizersRemaining");
    return cond?.status === "True" && cond.message.includes("test.tugboat.dev/hold");
  });
  const ns = await c.get("v1/namespaces", undefined, "doomed");
  assert.equal(ns.status.phase, "Terminating");
  assert.ok(ns.spec.finalizers.includes("kubernetes"));
  assert.ok(await getIfExists(c, "v1/configmaps", "bystander", "cfg"), "other namespaces are untouched");

  const held = await c.get("v1/secrets", "doomed", "held");
  await c.update("v1/secrets", { ...held, metadata: { ...held.metadata, finalizers: [] } });
  await until(async () => !(await getIfExists(c, "v1/secrets", "doomed", "held")));
  // The controller looks again after its requeue delay, then finalizes.
  await clock.advance(2_000);
  await until(async () => !(await getIfExists(c, "v1/namespaces", undefined, "doomed")));
  assert.ok(await getIfExists(c, "v1/namespaces", undefined, "bystander"));
});
