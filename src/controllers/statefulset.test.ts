import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../apimachinery/types.js";
import { nowRFC3339 } from "../apimachinery/types.js";
import { POD_INDEX_LABEL, STS_POD_NAME_LABEL, statefulSetController } from "./statefulset.js";
import { REVISION_HASH_LABEL, safeHash, canonicalJSON } from "./controllerrevision.js";
import { type AfterHook, sleep, startControllers, until } from "./testing.js";

function sts(name: string, spec: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name, namespace: "default" },
    spec: {
      replicas: 3,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "nginx:1" }] } },
      volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }],
      ...spec,
    },
  };
}

async function setup(t: AfterHook) {
  const { api, recorder } = await startControllers(t, statefulSetController);
  const pod = async (name: string) => {
    try {
      return await api.client.get("v1/pods", "default", name);
    } catch {
      return undefined;
    }
  };
  /** Plays the kubelet: the pod is running and passes its readiness probe. */
  const makeReady = async (p: KObject) => {
    const now = nowRFC3339();
    await api.client.updateStatus("v1/pods", { ...p, status: { phase: "Running", conditions: [{ type: "Ready", status: "True", lastTransitionTime: now }] } });
  };
  return { api, recorder, pod, makeReady };
}

test("revision hashes are stable and label-safe", () => {
  assert.equal(canonicalJSON({ b: 1, a: [{ d: 2, c: 3 }] }), '{"a":[{"c":3,"d":2}],"b":1}');
  const h = safeHash({ spec: { x: 1 } });
  assert.equal(h, safeHash({ spec: { x: 1 } }));
  assert.notEqual(h, safeHash({ spec: { x: 2 } }));
  assert.match(h, /^[bcdfghjklmnpqrstvwxz2456789]+$/);
});

test("OrderedReady creates pods one by one as predecessors become ready; PVCs persist across pod replacement", async (t) => {
  const { api, pod, makeReady } = await setup(t);
  await api.client.create("apps/v1/statefulsets", sts("web"));
  const web0 = await until("web-0", () => pod("web-0"));
  assert.equal(web0.spec.hostname, "web-0");
  assert.equal(web0.spec.subdomain, "web");
  assert.equal(web0.metadata.labels?.[STS_POD_NAME_LABEL], "web-0");
  assert.equal(web0.metadata.labels?.[POD_INDEX_LABEL], "0");
  assert.ok(web0.metadata.labels?.[REVISION_HASH_LABEL]);
  assert.deepEqual(web0.spec.volumes.find((v: any) => v.name === "data").persistentVolumeClaim, { claimName: "data-web-0" });
  const pvc0 = await api.client.get("v1/persistentvolumeclaims", "default", "data-web-0");
  await sleep(150);
  assert.equal(await pod("web-1"), undefined, "web-1 waits for web-0 to be Running and Ready");

  await makeReady(web0);
  const web1 = await until("web-1", () => pod("web-1"));
  await sleep(100);
  assert.equal(await pod("web-2"), undefined);
  await makeReady(web1);
  await makeReady(await until("web-2", () => pod("web-2")));

  const set = await until("status", async () => {
    const s = await api.client.get("apps/v1/statefulsets", "default", "web");
    return s.status?.readyReplicas === 3 && s;
  });
  assert.equal(set.status.replicas, 3);
  assert.equal(set.status.currentRevision, set.status.updateRevision);
  assert.equal(set.status.updatedReplicas, 3);
  assert.equal(set.status.observedGeneration, set.metadata.generation);
  const revs = (await api.client.list("apps/v1/controllerrevisions", { namespace: "default" })).items;
  assert.equal(revs.length, 1);
  assert.equal(revs[0].metadata.name, set.status.updateRevision);

  // Delete web-1: it comes back with the same name and the same claim.
  const oldUid = web1.metadata.uid;
  await api.client.delete("v1/pods", "default", "web-1");
  const again = await until("web-1 recreated", async () => {
    const p = await pod("web-1");
    return p && p.metadata.uid !== oldUid && p;
  });
  assert.equal(again.spec.volumes.find((v: any) => v.name === "data").persistentVolumeClaim.claimName, "data-web-1");
  assert.equal((await api.client.get("v1/persistentvolumeclaims", "default", "data-web-0")).metadata.uid, pvc0.metadata.uid);
  const claims = (await api.client.list("v1/persistentvolumeclaims", { namespace: "default" })).items.map((c) => c.metadata.name).sort();
  assert.deepEqual(claims, ["data-web-0", "data-web-1", "data-web-2"]);
});

test("scale down removes the highest ordinal first; rolling update goes from the top down; ordinals.start", async (t) => {
  const { api, pod, makeReady, recorder } = await setup(t);
  // A kubelet that makes every new pod ready.
  let stop = false;
  const kubelet = (async () => {
    while (!stop) {
      for (const p of (await api.client.list("v1/pods", { namespace: "default" })).items) {
        if (!p.status?.phase || p.status.phase === "Pending") await makeReady(p).catch(() => {});
      }
      await sleep(15);
    }
  })();
  t.after(async () => {
    stop = true;
    await kubelet;
  });
  await api.client.create("apps/v1/statefulsets", sts("db", { ordinals: { start: 5 }, persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Retain" } }));
  await until("db-7", () => pod("db-7"));
  assert.equal(await pod("db-0"), undefined);
  const claim = await api.client.get("v1/persistentvolumeclaims", "default", "data-db-5");
  assert.equal(claim.metadata.ownerReferences?.[0]?.kind, "StatefulSet", "whenDeleted=Delete owns the claims");
  await until("ready", async () => (await api.client.get("apps/v1/statefulsets", "default", "db")).status?.readyReplicas === 3);

  // Rolling update: pods get the new template from db-7 down.
  const cur = await api.client.get("apps/v1/statefulsets", "default", "db");
  cur.spec.template.spec.containers[0].image = "nginx:2";
  await api.client.update("apps/v1/statefulsets", cur);
  await until("rolled out", async () => {
    const s = await api.client.get("apps/v1/statefulsets", "default", "db");
    return s.status?.observedGeneration === s.metadata.generation && s.status.updatedReplicas === 3 && s.status.readyReplicas === 3 && s.status.currentRevision === s.status.updateRevision;
  });
  for (const n of ["db-5", "db-6", "db-7"]) assert.equal((await pod(n))!.spec.containers[0].image, "nginx:2");
  const deletes = recorder.events.filter((e) => e.reason === "SuccessfulDelete").map((e) => /Pod (\S+)/.exec(e.message)![1]);
  assert.deepEqual(deletes, ["db-7", "db-6", "db-5"]);
  assert.equal((await api.client.list("apps/v1/controllerrevisions", { namespace: "default" })).items.length, 2);

  // Scale down to 1: db-7 goes before db-6; claims stay (whenScaled=Retain).
  recorder.events.length = 0;
  const s2 = await api.client.get("apps/v1/statefulsets", "default", "db");
  s2.spec.replicas = 1;
  await api.client.update("apps/v1/statefulsets", s2);
  await until("scaled down", async () => !(await pod("db-6")) && !(await pod("db-7")));
  const order = recorder.events.filter((e) => e.reason === "SuccessfulDelete").map((e) => /Pod (\S+)/.exec(e.message)![1]);
  assert.deepEqual(order, ["db-7", "db-6"]);
  assert.ok(await api.client.get("v1/persistentvolumeclaims", "default", "data-db-7"));
});
