import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestApi } from "../apiserver/testing.js";
import { runController } from "../client/controller.js";
import { MemoryEventRecorder } from "../client/events.js";
import { SharedInformerFactory } from "../client/sharedinformers.js";
import { serviceAccountController } from "./serviceaccount.js";

async function until(cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("timed out waiting for condition");
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("a new namespace gets a default ServiceAccount, recreated after deletion; terminating ones are skipped", async (t) => {
  const api = await startTestApi();
  const ac = new AbortController();
  const informers = new SharedInformerFactory(api.client);
  const run = runController(serviceAccountController(), { client: api.client, informers, recorder: new MemoryEventRecorder() }, ac.signal);
  t.after(async () => {
    ac.abort();
    await run;
    await informers.stopped();
    await api.close();
  });
  const c = api.client;
  const has = async (ns: string) => {
    try {
      return !!(await c.get("v1/serviceaccounts", ns, "default"));
    } catch (e) {
      if ((e as { code?: number }).code === 404) return false;
      throw e;
    }
  };
  await c.create("v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-b" } });
  await until(() => has("team-b"));
  await c.delete("v1/serviceaccounts", "team-b", "default");
  await until(() => has("team-b"));

  // A namespace held in Terminating (no namespace controller here) gets nothing new.
  await c.create("v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "leaving" } });
  await until(() => has("leaving"));
  await c.delete("v1/namespaces", undefined, "leaving");
  await c.delete("v1/serviceaccounts", "leaving", "default").catch(() => undefined);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(await has("leaving"), false);
});
