import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestApi, type TestApi } from "../apiserver/testing.js";
import { runController } from "../client/controller.js";
import { MemoryEventRecorder } from "../client/events.js";
import { SharedInformerFactory } from "../client/sharedinformers.js";
import type { KObject } from "../apimachinery/types.js";
import { findMatchingVolume, persistentVolumeClaimController, persistentVolumeController, PVCS, PVS } from "./persistentvolume.js";
import { LOCAL_PATH_REMOVED_ANNOTATION, SELECTED_NODE_ANNOTATION, STORAGE_CLASSES } from "../api/storage.js";

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

function pv(name: string, size: string, extra: { storageClassName?: string; modes?: string[]; policy?: string; labels?: Record<string, string>; node?: string; annotations?: Record<string, string>; claimRef?: unknown } = {}): KObject {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name, labels: extra.labels, annotations: extra.annotations },
    spec: {
      capacity: { storage: size },
      accessModes: extra.modes ?? ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: extra.policy ?? "Retain",
      storageClassName: extra.storageClassName ?? "manual",
      hostPath: { path: `/tmp/${name}` },
      claimRef: extra.claimRef,
      nodeAffinity: extra.node ? { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [extra.node] }] }] } } : undefined,
    },
  };
}

function pvc(name: string, size: string, extra: { storageClassName?: string; modes?: string[]; selector?: unknown; annotations?: Record<string, string> } = {}): KObject {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name, namespace: "default", annotations: extra.annotations },
    spec: { accessModes: extra.modes ?? ["ReadWriteOnce"], resources: { requests: { storage: size } }, storageClassName: extra.storageClassName ?? "manual", selector: extra.selector },
  };
}

async function withBinder(fn: (api: TestApi, rec: MemoryEventRecorder) => Promise<void>): Promise<void> {
  const api = await startTestApi();
  const ac = new AbortController();
  const informers = new SharedInformerFactory(api.client);
  const rec = new MemoryEventRecorder();
  const runs = [persistentVolumeClaimController(), persistentVolumeController()].map((c) => runController(c, { client: api.client, informers, recorder: rec }, ac.signal));
  try {
    await fn(api, rec);
  } finally {
    ac.abort();
    await Promise.all(runs);
    await informers.stopped();
    await api.close();
  }
}

const get = (api: TestApi, gvr: string, name: string) => api.client.get(gvr, gvr === PVS ? undefined : "default", name);

test("matching: class, modes, size, selector; the smallest fit; pre-bound volumes first", () => {
  const claim = { ...pvc("c", "2Gi", { selector: { matchLabels: { tier: "fast" } } }), metadata: { name: "c", namespace: "default", uid: "u1" } };
  const vols = [
    pv("small", "1Gi", { labels: { tier: "fast" } }),
    pv("big", "10Gi", { labels: { tier: "fast" } }),
    pv("mid", "5Gi", { labels: { tier: "fast" } }),
    pv("slow", "3Gi", { labels: { tier: "slow" } }),
    pv("rwx", "3Gi", { labels: { tier: "fast" }, modes: ["ReadWriteMany"] }),
    pv("other-class", "3Gi", { labels: { tier: "fast" }, storageClassName: "gold" }),
    pv("taken", "3Gi", { labels: { tier: "fast" }, claimRef: { namespace: "default", name: "x", uid: "u9" } }),
  ];
  assert.equal(findMatchingVolume(claim, vols)?.metadata.name, "mid");
  const pre = pv("pre", "8Gi", { labels: { tier: "fast" }, claimRef: { namespace: "default", name: "c" } });
  assert.equal(findMatchingVolume(claim, [...vols, pre])?.metadata.name, "pre");
  const onA = pv("on-a", "4Gi", { labels: { tier: "fast" }, node: "a" });
  const nodeB = { metadata: { name: "b", labels: { "kubernetes.io/hostname": "b" } } };
  assert.equal(findMatchingVolume(claim, [onA], { node: nodeB }), undefined);
  assert.equal(findMatchingVolume(claim, [onA], { node: { metadata: { name: "a", labels: { "kubernetes.io/hostname": "a" } } } })?.metadata.name, "on-a");
});

test("an Immediate claim binds to the best Available volume: claimRef, volumeName, phases, annotations", async () => {
  await withBinder(async (api) => {
    await api.client.create(PVS, pv("pv-5", "5Gi"));
    await api.client.create(PVS, pv("pv-2", "2Gi"));
    await until("volumes Available", async () => (await get(api, PVS, "pv-2")).status?.phase === "Available");
    await api.client.create(PVCS, pvc("data", "1Gi"));
    const claim = await until("claim Bound", async () => {
      const c = await get(api, PVCS, "data");
      return c.status?.phase === "Bound" && c;
    });
    assert.equal(claim.spec.volumeName, "pv-2");
    assert.equal(claim.metadata.annotations?.["pv.kubernetes.io/bind-completed"], "yes");
    assert.equal(claim.metadata.annotations?.["pv.kubernetes.io/bound-by-controller"], "yes");
    assert.deepEqual(claim.status.capacity, { storage: "2Gi" });
    assert.deepEqual(claim.status.accessModes, ["ReadWriteOnce"]);
    const vol = await until("volume Bound", async () => {
      const v = await get(api, PVS, "pv-2");
      return v.status?.phase === "Bound" && v;
    });
    assert.equal(vol.spec.claimRef.uid, claim.metadata.uid);
    assert.equal(vol.spec.claimRef.name, "data");
    assert.equal((await get(api, PVS, "pv-5")).status.phase, "Available");

    // Deleting the claim releases the volume; Retain keeps it.
    await api.client.delete(PVCS, "default", "data");
    await until("volume Released", async () => (await get(api, PVS, "pv-2")).status?.phase === "Released");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await get(api, PVS, "pv-2")).status.phase, "Released");
    // A Released volume is not handed to a new claim.
    await api.client.create(PVCS, pvc("again", "1Gi"));
    assert.equal((await until("again bound", async () => (await get(api, PVCS, "again")).spec.volumeName)), "pv-5");
  });
});

test("no volume: a class with a provisioner gets the provisioner annotation; no class → FailedBinding", async () => {
  await withBinder(async (api, rec) => {
    await api.client.create(STORAGE_CLASSES, { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "gold" }, provisioner: "example.com/gold" });
    await api.client.create(PVCS, pvc("wants", "1Gi", { storageClassName: "gold" }));
    const c = await until("provisioner asked", async () => {
      const x = await get(api, PVCS, "wants");
      return x.metadata.annotations?.["volume.kubernetes.io/storage-provisioner"] ? x : undefined;
    });
    assert.equal(c.metadata.annotations?.["volume.beta.kubernetes.io/storage-provisioner"], "example.com/gold");
    assert.equal(c.status.phase, "Pending");
    await api.client.create(PVCS, pvc("classless", "1Gi", { storageClassName: "" }));
    await until("FailedBinding", async () => rec.events.some((e) => e.reason === "FailedBinding" && /no storage class is set/.test(e.message)));
    assert.ok(rec.events.some((e) => e.reason === "ExternalProvisioning" && /external provisioner 'example.com\/gold'/.test(e.message)));
  });
});

test("WaitForFirstConsumer: waits for selected-node, then binds only a volume on that node", async () => {
  await withBinder(async (api, rec) => {
    for (const n of ["a", "b"]) await api.client.create("v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: n, labels: { "kubernetes.io/hostname": n } } });
    await api.client.create(PVS, pv("on-a", "1Gi", { storageClassName: "local-path", node: "a" }));
    await api.client.create(PVS, pv("on-b", "1Gi", { storageClassName: "local-path", node: "b" }));
    await api.client.create(PVCS, pvc("later", "1Gi", { storageClassName: "local-path" }));
    await until("WaitForFirstConsumer event", async () => rec.events.some((e) => e.reason === "WaitForFirstConsumer"));
    assert.equal((await get(api, PVCS, "later")).spec.volumeName, undefined);
    await api.client.patch(PVCS, "default", "later", "merge", { metadata: { annotations: { [SELECTED_NODE_ANNOTATION]: "b" } } });
    assert.equal(await until("bound", async () => (await get(api, PVCS, "later")).spec.volumeName), "on-b");
  });
});

test("a volume a provisioner pre-bound to the claim is taken; Delete of a local-path volume waits for the node's cleanup", async () => {
  await withBinder(async (api) => {
    await api.client.create("v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: "a", labels: { "kubernetes.io/hostname": "a" } } });
    const claim = await api.client.create(PVCS, pvc("mine", "1Gi", { storageClassName: "local-path", annotations: { [SELECTED_NODE_ANNOTATION]: "a" } }));
    await api.client.create(PVS, pv("pvc-mine", "1Gi", {
      storageClassName: "local-path", node: "a", policy: "Delete",
      annotations: { "pv.kubernetes.io/provisioned-by": "tugboat.io/local-path" },
      claimRef: { kind: "PersistentVolumeClaim", apiVersion: "v1", namespace: "default", name: "mine", uid: claim.metadata.uid },
    }));
    await until("bound", async () => (await get(api, PVCS, "mine")).status?.phase === "Bound");
    const v = await get(api, PVS, "pvc-mine");
    assert.equal(v.metadata.annotations?.["pv.kubernetes.io/bound-by-controller"], undefined, "the provisioner, not the controller, set claimRef");
    await api.client.delete(PVCS, "default", "mine");
    await until("Released", async () => (await get(api, PVS, "pvc-mine")).status?.phase === "Released");
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(await get(api, PVS, "pvc-mine"), "kept until the node removed the directory");
    await api.client.patch(PVS, undefined, "pvc-mine", "merge", { metadata: { annotations: { [LOCAL_PATH_REMOVED_ANNOTATION]: "true" } } });
    await until("PV deleted", async () => (await api.client.get(PVS, undefined, "pvc-mine").then(() => false, (e) => e.code === 404)));

    // Delete without any provisioner cannot be carried out: Failed.
    const c2 = await api.client.create(PVCS, pvc("manual", "1Gi"));
    await api.client.create(PVS, pv("manual-pv", "1Gi", { policy: "Delete", claimRef: { namespace: "default", name: "manual", uid: c2.metadata.uid } }));
    await until("bound", async () => (await get(api, PVCS, "manual")).status?.phase === "Bound");
    await api.client.delete(PVCS, "default", "manual");
    const failed = await until("Failed", async () => {
      const x = await get(api, PVS, "manual-pv");
      return x.status?.phase === "Failed" && x;
    });
    assert.match(failed.status.message, /no deletable volume plugin matched/);
  });
});

test("a claim whose volume disappeared is Lost", async () => {
  await withBinder(async (api) => {
    await api.client.create(PVS, pv("short-lived", "1Gi"));
    await api.client.create(PVCS, pvc("orphan", "1Gi"));
    await until("bound", async () => (await get(api, PVCS, "orphan")).status?.phase === "Bound");
    await api.client.delete(PVS, undefined, "short-lived");
    await until("Lost", async () => (await get(api, PVCS, "orphan")).status?.phase === "Lost");
  });
});

test("a Released local-path volume whose node is gone is deleted by the controller (no provisioner left to do it)", async () => {
  await withBinder(async (api) => {
    const c = await api.client.create(PVCS, pvc("stranded", "1Gi", { storageClassName: "local-path", annotations: { [SELECTED_NODE_ANNOTATION]: "dead-node" } }));
    await api.client.create(PVS, pv("pvc-stranded", "1Gi", {
      storageClassName: "local-path", node: "dead-node", policy: "Delete",
      annotations: { "pv.kubernetes.io/provisioned-by": "tugboat.io/local-path" },
      claimRef: { kind: "PersistentVolumeClaim", apiVersion: "v1", namespace: "default", name: "stranded", uid: c.metadata.uid },
    }));
    await until("bound", async () => (await get(api, PVCS, "stranded")).status?.phase === "Bound");
    await api.client.delete(PVCS, "default", "stranded");
    await until("PV deleted", async () => api.client.get(PVS, undefined, "pvc-stranded").then(() => false, (e) => e.code === 404));
  });
});
