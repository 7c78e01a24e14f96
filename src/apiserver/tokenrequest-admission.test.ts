// The kube-api-access volume admission (registered in every Registry, driven through a
// real one) and the kube-root-ca.crt publisher controller.

import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestApi } from "./testing.js";
import { SERVICE_ACCOUNT_MOUNT_PATH } from "./tokenrequest-admission.js";
import { rootCACertPublisher } from "../controllers/rootcacertpublisher.js";
import { runController } from "../client/controller.js";
import { MemoryEventRecorder } from "../client/events.js";
import { SharedInformerFactory } from "../client/sharedinformers.js";

test("pods get a kube-api-access projected volume unless automount is off", async (t) => {
  const api = await startTestApi();
  t.after(() => api.close());
  assert.ok(api.registry.admission.some((a) => a.name === "ServiceAccountTokenVolume"));
  const c = api.client;
  await c.create("v1/serviceaccounts", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "quiet", namespace: "default" }, automountServiceAccountToken: false } as any);
  const mk = (name: string, spec: Record<string, unknown>) => c.create("v1/pods", { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default" }, spec: { containers: [{ name: "a", image: "busybox" }], ...spec } });

  const p = await mk("p1", { initContainers: [{ name: "init", image: "busybox" }] });
  const vol = p.spec.volumes.find((v: any) => v.name.startsWith("kube-api-access-"));
  assert.match(vol.name, /^kube-api-access-[a-z0-9]{5}$/);
  assert.deepEqual(vol.projected.sources.map((s: any) => Object.keys(s)[0]), ["serviceAccountToken", "configMap", "downwardAPI"]);
  assert.equal(vol.projected.sources[0].serviceAccountToken.expirationSeconds, 3607);
  for (const ctr of [...p.spec.containers, ...p.spec.initContainers]) {
    assert.deepEqual(ctr.volumeMounts, [{ name: vol.name, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH }]);
  }
  const off = await mk("p2", { automountServiceAccountToken: false });
  assert.equal(off.spec.volumes, undefined);
  const quiet = await mk("p3", { serviceAccountName: "quiet" });
  assert.equal(quiet.spec.volumes, undefined);
  const override = await mk("p4", { serviceAccountName: "quiet", automountServiceAccountToken: true });
  assert.equal(override.spec.volumes.length, 1);
  const own = await mk("p5", { containers: [{ name: "a", image: "busybox", volumeMounts: [{ name: "x", mountPath: SERVICE_ACCOUNT_MOUNT_PATH }] }], volumes: [{ name: "x", emptyDir: {} }] });
  assert.deepEqual(own.spec.volumes.map((v: any) => v.name), ["x"]);
});

test("every namespace gets kube-root-ca.crt, restored after deletion or edits", async (t) => {
  const api = await startTestApi();
  const ac = new AbortController();
  const informers = new SharedInformerFactory(api.client);
  const run = runController(rootCACertPublisher("CA-PEM"), { client: api.client, informers, recorder: new MemoryEventRecorder() }, ac.signal);
  t.after(async () => {
    ac.abort();
    await run;
    await informers.stopped();
    await api.close();
  });
  const c = api.client;
  const caIn = async (ns: string) => {
    try {
      return (await c.get("v1/configmaps", ns, "kube-root-ca.crt")).data?.["ca.crt"];
    } catch {
      return undefined;
    }
  };
  const until = async (cond: () => Promise<boolean>) => {
    const end = Date.now() + 5000;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error("timed out");
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await until(async () => (await caIn("default")) === "CA-PEM" && (await caIn("kube-system")) === "CA-PEM");
  await c.create("v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-k2" } });
  await until(async () => (await caIn("team-k2")) === "CA-PEM");
  await c.delete("v1/configmaps", "team-k2", "kube-root-ca.crt");
  await until(async () => (await caIn("team-k2")) === "CA-PEM");
  const cm = await c.get("v1/configmaps", "team-k2", "kube-root-ca.crt");
  await c.update("v1/configmaps", { ...cm, data: { "ca.crt": "tampered" } });
  await until(async () => (await caIn("team-k2")) === "CA-PEM");
});
