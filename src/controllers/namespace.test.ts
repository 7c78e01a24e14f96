import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../apimachinery/types.js";
import { startTestApi } from "../apiserver/testing.js";
import type { Client } from "../client/types.js";
import { FakeClock } from "../client/clock.js";
import { runController } from "../client/controller.js";
import { MemoryEventRecorder } from "../client/events.js";
import { SharedInformerFactory } from "../client/sharedinformers.js";
import { resourcesFromDefs } from "./garbagecollector.js";
import { namespaceController } from "./namespace.js";

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("timed out waiting for condition");
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function exists(c: Client, gvr: string, ns: string | undefined, name: string): Promise<KObject | undefined> {
  try {
    return await c.get(gvr, ns, name);
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined;
    throw e;
  }
}

test("a terminating namespace is emptied, waits for finalizers, then is finalized away", async (t) => {
  const api = await startTestApi();
  const ac = new AbortController();
  const clock = new FakeClock();
  const informers = new SharedInformerFactory(api.client, { clock });
  const ctrl = namespaceController(resourcesFromDefs(api.registry.catalogue.defs));
  const run = runController(ctrl, { client: api.client, informers, clock, recorder: new MemoryEventRecorder() }, ac.signal);
  t.after(async () => {
    ac.abort();
    await run;
    await informers.stopped();
    await api.close();
  });
  const c = api.client;
  await c.create("v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "doomed" } });
  await c.create("v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "bystander" } });
  for (const ns of ["doomed", "bystander"]) {
    await c.create("v1/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg", namespace: ns } });
  }
  await c.create("v1/secrets", { apiVersion: "v1", kind: "Secret", metadata: { name: "held", namespace: "doomed", finalizers: ["test.tugboat.dev/hold"] } });

  const deleted = await c.delete("v1/namespaces", undefined, "doomed");
  assert.ok(deleted.metadata.deletionTimestamp);
  await until(async () => !(await exists(c, "v1/configmaps", "doomed", "cfg")));
  await until(async () => {
    const ns = await c.get("v1/namespaces", undefined, "doomed");
    const cond = (ns.status?.conditions ?? []).find((x: { type: string }) => x.type === "NamespaceFinalizersRemaining");
    return cond?.status === "True" && cond.message.includes("test.tugboat.dev/hold");
  });
  const ns = await c.get("v1/namespaces", undefined, "doomed");
  assert.equal(ns.status.phase, "Terminating");
  assert.ok(ns.spec.finalizers.includes("kubernetes"));
  assert.ok(await exists(c, "v1/configmaps", "bystander", "cfg"), "other namespaces are untouched");

  const held = await c.get("v1/secrets", "doomed", "held");
  await c.update("v1/secrets", { ...held, metadata: { ...held.metadata, finalizers: [] } });
  await until(async () => !(await exists(c, "v1/secrets", "doomed", "held")));
  // The controller looks again after its requeue delay, then finalizes.
  await clock.advance(2_000);
  await until(async () => !(await exists(c, "v1/namespaces", undefined, "doomed")));
  assert.ok(await exists(c, "v1/namespaces", undefined, "bystander"));
});
