import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../apimachinery/types.js";
import type { Client } from "../client/types.js";
import { MemoryEventRecorder } from "../client/events.js";
import { compareForDeletion, replicaSetController } from "./replicaset.js";
import { startControllers, until } from "./testing.js";

function replicaSet(name: string, replicas: number): KObject {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name, namespace: "default" },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "busybox" }] } },
    },
  };
}

async function podsOf(c: Client, app: string): Promise<KObject[]> {
  return (await c.list("v1/pods", { namespace: "default", labelSelector: `app=${app}` })).items;
}

export async function markReady(c: Client, pod: KObject, since = new Date()): Promise<KObject> {
  const fresh = await c.get("v1/pods", pod.metadata.namespace, pod.metadata.name!);
  const t = since.toISOString().replace(/\.\d{3}Z$/, "Z");
  return c.updateStatus("v1/pods", {
    ...fresh,
    status: { ...(fresh.status ?? {}), phase: "Running", podIP: fresh.status?.podIP, conditions: [{ type: "Ready", status: "True", lastTransitionTime: t }] },
  });
}

test("a ReplicaSet scales 0 → 3 → 1, deleting not-ready and most recently ready pods first", async (t) => {
  const { client: c } = await startControllers(t, replicaSetController());
  await c.create("apps/v1/replicasets", replicaSet("web", 0));
  await until(async () => (await c.get("apps/v1/replicasets", "default", "web")).status?.observedGeneration === 1);
  assert.equal((await podsOf(c, "web")).length, 0);

  await c.patch("apps/v1/replicasets", "default", "web", "merge", { spec: { replicas: 3 } });
  await until(async () => (await podsOf(c, "web")).length === 3);
  const pods = await podsOf(c, "web");
  for (const p of pods) {
    assert.match(p.metadata.name!, /^web-[a-z0-9]{5}$/);
    const ref = p.metadata.ownerReferences![0];
    assert.equal(ref.kind, "ReplicaSet");
    assert.equal(ref.controller, true);
    assert.equal(ref.blockOwnerDeletion, true);
  }
  const [oldest, newer, unready] = pods;
  await markReady(c, oldest, new Date(Date.now() - 60_000));
  await markReady(c, newer, new Date(Date.now() - 1_000));
  await until(async () => (await c.get("apps/v1/replicasets", "default", "web")).status?.readyReplicas === 2);
  const st = (await c.get("apps/v1/replicasets", "default", "web")).status;
  assert.equal(st.replicas, 3);
  assert.equal(st.fullyLabeledReplicas, 3);
  assert.equal(st.availableReplicas, 2);

  await c.patch("apps/v1/replicasets", "default", "web", "merge", { spec: { replicas: 1 } });
  await until(async () => (await podsOf(c, "web")).length === 1);
  assert.equal((await podsOf(c, "web"))[0].metadata.name, oldest.metadata.name);
  assert.ok(unready);
  await until(async () => (await c.get("apps/v1/replicasets", "default", "web")).status?.replicas === 1);
  // Give a lagging informer the chance to over-create: the count must stay at 1.
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await podsOf(c, "web")).length, 1);
});

test("a ReplicaSet adopts matching orphans and releases pods whose labels change", async (t) => {
  const { client: c } = await startControllers(t, replicaSetController());
  const orphan = await c.create("v1/pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "stray", namespace: "default", labels: { app: "api" } },
    spec: { containers: [{ name: "c", image: "busybox" }] },
  });
  // Let the pod informer see the orphan before the ReplicaSet appears.
  await new Promise((r) => setTimeout(r, 100));
  const rs = await c.create("apps/v1/replicasets", replicaSet("api", 2));
  await until(async () => (await podsOf(c, "api")).length === 2);
  await new Promise((r) => setTimeout(r, 100));
  const pods = await podsOf(c, "api");
  assert.equal(pods.length, 2, "the orphan counts toward replicas");
  const adopted = pods.find((p) => p.metadata.name === orphan.metadata.name)!;
  assert.equal(adopted.metadata.ownerReferences?.[0]?.uid, rs.metadata.uid);

  // Relabel: the RS lets go of it and makes a replacement.
  await c.patch("v1/pods", "default", "stray", "merge", { metadata: { labels: { app: "other" } } });
  await until(async () => (await podsOf(c, "api")).length === 2);
  await until(async () => !(await c.get("v1/pods", "default", "stray")).metadata.ownerReferences?.length);
});

test("deletion order ranks unscheduled, then not ready, then newest", () => {
  const pod = (name: string, extra: Partial<KObject>): KObject => ({ metadata: { name, creationTimestamp: "2026-01-01T00:00:00Z" }, ...extra });
  const ready = { phase: "Running", conditions: [{ type: "Ready", status: "True", lastTransitionTime: "2026-01-01T00:01:00Z" }] };
  const pods = [
    pod("ready-old", { spec: { nodeName: "n" }, status: ready }),
    pod("unscheduled", { spec: {}, status: { phase: "Pending" } }),
    pod("ready-new", { metadata: { name: "ready-new", creationTimestamp: "2026-01-01T00:05:00Z" }, spec: { nodeName: "n" }, status: ready }),
    pod("running-unready", { spec: { nodeName: "n" }, status: { phase: "Running" } }),
  ];
  assert.deepEqual(
    pods.sort(compareForDeletion).map((p) => p.metadata.name),
    ["unscheduled", "running-unready", "ready-new", "ready-old"],
  );
});

test("failed pod creates are reported as FailedCreate events and a ReplicaFailure condition", async (t) => {
  const recorder = new MemoryEventRecorder();
  const { client: c } = await startControllers(t, replicaSetController(), { recorder });
  await c.create("v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "closing" } });
  await c.create("apps/v1/replicasets", { ...replicaSet("app", 0), metadata: { name: "app", namespace: "closing" } });
  // A terminating namespace refuses new pods (no namespace controller runs here to empty it).
  await c.delete("v1/namespaces", undefined, "closing");
  await c.patch("apps/v1/replicasets", "closing", "app", "merge", { spec: { replicas: 2 } });
  await until(() => recorder.events.some((e) => e.reason === "FailedCreate" && e.type === "Warning"));
  await until(async () => ((await c.get("apps/v1/replicasets", "closing", "app")).status?.conditions ?? []).some((x: { type: string; reason: string }) => x.type === "ReplicaFailure" && x.reason === "FailedCreate"));
  const pods = (await c.list("v1/pods", { namespace: "closing" })).items;
  assert.equal(pods.length, 0);
});
