import { test } from "node:test";
import assert from "node:assert/strict";
import { serviceAccountController } from "./serviceaccount.js";
import { getIfExists, startControllers, until } from "./testing.js";

test("a new namespace gets a default ServiceAccount, recreated after deletion; terminating ones are skipped", async (t) => {
  const { client: c } = await startControllers(t, serviceAccountController());
  const has = async (ns: string) => !!(await getIfExists(c, "v1/serviceaccounts", ns, "default"));
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
