import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestApi, type TestApi } from "../apiserver/testing.js";
import { SharedInformerFactory } from "../client/sharedinformers.js";
import { MemoryEventRecorder } from "../client/events.js";
import type { KObject } from "../apimachinery/types.js";
import { Scheduler } from "./scheduler.js";

async function addNode(api: TestApi, name: string, cpu: string): Promise<void> {
  await api.client.create("v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name, labels: { "kubernetes.io/hostname": name } } });
  const ready = { type: "Ready", status: "True", reason: "KubeletReady", message: "ready", lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z/, "Z") };
  const resources = { cpu, memory: "8Gi", pods: "110" };
  await api.client.patch("v1/nodes", undefined, name, "merge", { status: { capacity: resources, allocatable: resources, conditions: [ready] } }, { subresource: "status" });
}

function podObj(name: string, cpu: string, extra: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: { containers: [{ name: "c", image: "busybox", resources: { requests: { cpu } } }], ...extra },
  };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function withScheduler(fn: (api: TestApi, s: Scheduler, rec: MemoryEventRecorder) => Promise<void>): Promise<void> {
  const api = await startTestApi();
  const ac = new AbortController();
  const informers = new SharedInformerFactory(api.client);
  const recorder = new MemoryEventRecorder();
  const s = new Scheduler({ client: api.client, informers, recorder });
  const running = s.start(ac.signal);
  try {
    await fn(api, s, recorder);
  } finally {
    ac.abort();
    await running;
    await informers.stopped();
    await api.close();
  }
}

test("binds pending pods and reports unschedulable ones", async () => {
  await withScheduler(async (api, s, rec) => {
    for (const n of ["node-a", "node-b", "node-c"]) await addNode(api, n, "2");
    for (let i = 0; i < 10; i++) await api.client.create("v1/pods", podObj(`p${i}`, "100m"));
    const bound = await until("10 pods bound", async () => {
      const pods = (await api.client.list("v1/pods", { namespace: "default" })).items;
      return pods.length === 10 && pods.every((p) => p.spec?.nodeName) ? pods : undefined;
    });
    const perNode = new Map<string, number>();
    for (const p of bound) {
      perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
      assert.equal(p.status?.conditions?.find((c: { type: string }) => c.type === "PodScheduled")?.status, "True");
    }
    assert.equal(perNode.size, 3, "LeastAllocated spreads pods over all nodes");
    const scheduled = rec.events.filter((e) => e.reason === "Scheduled");
    assert.equal(scheduled.length, 10);
    assert.match(scheduled[0]!.message, /^Successfully assigned default\/p\d to node-[abc]$/);

    await api.client.create("v1/pods", podObj("huge", "100"));
    const cond = await until("PodScheduled=False", async () => {
      const p = await api.client.get("v1/pods", "default", "huge");
      return p.status?.conditions?.find((c: { type: string; status: string }) => c.type === "PodScheduled" && c.status === "False");
    });
    assert.equal(cond.reason, "Unschedulable");
    assert.equal(cond.message, "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.");
    const failed = await until("FailedScheduling event", async () => rec.events.find((e) => e.reason === "FailedScheduling" && e.obj.metadata.name === "huge"));
    assert.equal(failed.type, "Warning");
    assert.equal(failed.message, cond.message);
    assert.equal(s.lastAttempt("default/huge")?.metric.reasons.get("Insufficient cpu"), 3);

    // A new node big enough is a cluster event: the parked pod is retried and bound.
    await addNode(api, "node-big", "128");
    const placed = await until("huge bound after a node joins", async () => (await api.client.get("v1/pods", "default", "huge")).spec?.nodeName, 8000);
    assert.equal(placed, "node-big");
  });
});

test("a high-priority pod preempts a lower-priority one", async () => {
  await withScheduler(async (api, _s, rec) => {
    await api.client.create("scheduling.k8s.io/v1/priorityclasses", { apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name: "high" }, value: 1000 });
    await addNode(api, "only", "1");
    await api.client.create("v1/pods", podObj("low", "800m", { terminationGracePeriodSeconds: 0 }));
    await until("low bound", async () => (await api.client.get("v1/pods", "default", "low")).spec?.nodeName);
    await api.client.create("v1/pods", podObj("urgent", "800m", { priorityClassName: "high" }));
    const urgent = await api.client.get("v1/pods", "default", "urgent");
    assert.equal(urgent.spec.priority, 1000, "admission resolved the priority");
    const node = await until("urgent bound", async () => {
      // Play the kubelet: a victim left terminating is removed for good.
      const low = await api.client.get("v1/pods", "default", "low").catch(() => undefined);
      if (low?.metadata.deletionTimestamp) await api.client.delete("v1/pods", "default", "low", { gracePeriodSeconds: 0 }).catch(() => undefined);
      return (await api.client.get("v1/pods", "default", "urgent")).spec?.nodeName;
    }, 8000);
    assert.equal(node, "only");
    await assert.rejects(api.client.get("v1/pods", "default", "low"), (e: { code?: number }) => e.code === 404);
    const pre = rec.events.find((e) => e.reason === "Preempted");
    assert.ok(pre, "victim got a Preempted event");
    assert.equal(pre.obj.metadata.name, "low");
    assert.match(pre.message, /^Preempted by pod .+ on node only$/);
  });
});

test("VolumeBinding end to end: a WaitForFirstConsumer claim gets selected-node; an Immediate one blocks until bound", async () => {
  await withScheduler(async (api) => {
    await addNode(api, "node-a", "2");
    const claim = (name: string, storageClassName: string) => ({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name, namespace: "default" }, spec: { storageClassName, accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } });
    await api.client.create("storage.k8s.io/v1/storageclasses", { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "now" }, provisioner: "example.com/x", volumeBindingMode: "Immediate" });
    await api.client.create("v1/persistentvolumeclaims", claim("later", "local-path"));
    await api.client.create("v1/persistentvolumeclaims", claim("now", "now"));
    const vol = (c: string) => ({ volumes: [{ name: "data", persistentVolumeClaim: { claimName: c } }] });
    await api.client.create("v1/pods", podObj("waits", "100m", vol("later")));
    await api.client.create("v1/pods", podObj("blocked", "100m", vol("now")));
    await until("waits bound", async () => (await api.client.get("v1/pods", "default", "waits")).spec?.nodeName);
    assert.equal((await api.client.get("v1/persistentvolumeclaims", "default", "later")).metadata.annotations?.["volume.kubernetes.io/selected-node"], "node-a");
    const msg = await until("blocked reported", async () => (await api.client.get("v1/pods", "default", "blocked")).status?.conditions?.find((c: any) => c.type === "PodScheduled")?.message);
    assert.match(msg, /^0\/1 nodes are available: pod has unbound immediate PersistentVolumeClaims\./);
    // A PV bound to the claim, with node affinity for node-a: the pod follows.
    await api.client.create("v1/persistentvolumes", { apiVersion: "v1", kind: "PersistentVolume", metadata: { name: "pv-now" }, spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], hostPath: { path: "/tmp/x" }, nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["node-a"] }] }] } } } });
    const c = await api.client.get("v1/persistentvolumeclaims", "default", "now");
    await api.client.update("v1/persistentvolumeclaims", { ...c, spec: { ...c.spec, volumeName: "pv-now" } });
    assert.equal(await until("blocked bound", async () => (await api.client.get("v1/pods", "default", "blocked")).spec?.nodeName), "node-a");
  });
});
