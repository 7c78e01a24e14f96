import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestApi, type TestApi } from "../../apiserver/testing.js";
import { runController } from "../../client/controller.js";
import { MemoryEventRecorder } from "../../client/events.js";
import { SharedInformerFactory } from "../../client/sharedinformers.js";
import type { KObject } from "../../apimachinery/types.js";
import { persistentVolumeClaimController, persistentVolumeController, PVCS, PVS } from "../../controllers/persistentvolume.js";
import { SELECTED_NODE_ANNOTATION, STORAGE_CLASSES } from "../../api/storage.js";
import { localPathProvisioner } from "./localpath.js";

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function claim(name: string, node: string | undefined, storageClassName = "local-path"): KObject {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name, namespace: "default", annotations: node ? { [SELECTED_NODE_ANNOTATION]: node } : undefined },
    spec: { storageClassName, accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "2Gi" } } },
  };
}

/** The control plane's PV controller plus one node's provisioner over a temp data dir. */
async function withNode(fn: (api: TestApi, dataDir: string) => Promise<void>): Promise<void> {
  const api = await startTestApi();
  const dataDir = mkdtempSync(join(tmpdir(), "tug-localpath-"));
  const ac = new AbortController();
  const informers = new SharedInformerFactory(api.client);
  const deps = { client: api.client, informers, recorder: new MemoryEventRecorder() };
  // The node exists: the PV controller leaves its Released volumes to its provisioner.
  await api.client.create("v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: "node-1", labels: { "kubernetes.io/hostname": "node-1" } } });
  const runs = [
    runController(persistentVolumeClaimController(), deps, ac.signal),
    runController(persistentVolumeController(), deps, ac.signal),
    localPathProvisioner({ client: api.client, nodeName: "node-1", dataDir }).start(ac.signal),
  ];
  try {
    await fn(api, dataDir);
  } finally {
    ac.abort();
    await Promise.all(runs);
    await informers.stopped();
    await api.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

test("a claim selected for this node gets a directory and a bound hostPath volume; Delete removes both", async () => {
  await withNode(async (api, dataDir) => {
    const c = await api.client.create(PVCS, claim("data", "node-1"));
    const bound = await until("claim Bound", async () => {
      const x = await api.client.get(PVCS, "default", "data");
      return x.status?.phase === "Bound" && x;
    });
    const name = `pvc-${c.metadata.uid}`;
    assert.equal(bound.spec.volumeName, name);
    const pv = await api.client.get(PVS, undefined, name);
    const dir = join(dataDir, "storage", name);
    assert.deepEqual(pv.spec.hostPath, { path: dir, type: "DirectoryOrCreate" });
    assert.equal(pv.spec.capacity.storage, "2Gi");
    assert.equal(pv.spec.persistentVolumeReclaimPolicy, "Delete");
    assert.equal(pv.spec.storageClassName, "local-path");
    assert.deepEqual(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0], { key: "kubernetes.io/hostname", operator: "In", values: ["node-1"] });
    assert.equal(pv.spec.claimRef.uid, c.metadata.uid);
    assert.equal(pv.metadata.annotations?.["pv.kubernetes.io/provisioned-by"], "tugboat.io/local-path");
    assert.equal(statSync(dir).mode & 0o777, 0o777);
    assert.ok(statSync(dir).isDirectory());

    await api.client.delete(PVCS, "default", "data");
    await until("volume deleted", async () => api.client.get(PVS, undefined, name).then(() => false, (e) => e.code === 404));
    assert.equal(existsSync(dir), false);
  });
});

test("claims for other nodes, unselected claims and other classes are left alone; Retain keeps the directory", async () => {
  await withNode(async (api, dataDir) => {
    await api.client.create(STORAGE_CLASSES, { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "keep" }, provisioner: "tugboat.io/local-path", reclaimPolicy: "Retain", volumeBindingMode: "WaitForFirstConsumer" });
    await api.client.create(STORAGE_CLASSES, { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "elsewhere" }, provisioner: "example.com/disk", volumeBindingMode: "WaitForFirstConsumer" });
    await api.client.create(PVCS, claim("other-node", "node-2"));
    await api.client.create(PVCS, claim("unselected", undefined));
    await api.client.create(PVCS, claim("foreign", "node-1", "elsewhere"));
    const kept = await api.client.create(PVCS, claim("kept", "node-1", "keep"));
    await until("kept Bound", async () => (await api.client.get(PVCS, "default", "kept")).status?.phase === "Bound");
    const pvs = (await api.client.list(PVS)).items;
    assert.deepEqual(pvs.map((p) => p.metadata.name), [`pvc-${kept.metadata.uid}`]);
    await api.client.delete(PVCS, "default", "kept");
    const name = `pvc-${kept.metadata.uid}`;
    await until("Released", async () => (await api.client.get(PVS, undefined, name)).status?.phase === "Released");
    await new Promise((r) => setTimeout(r, 150));
    assert.equal((await api.client.get(PVS, undefined, name)).status.phase, "Released");
    assert.ok(existsSync(join(dataDir, "storage", name)), "Retain keeps the data");
  });
});
