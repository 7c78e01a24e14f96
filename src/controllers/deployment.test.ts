import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../apimachinery/types.js";
import type { Client } from "../client/types.js";
import { FakeClock } from "../client/clock.js";
import { replicaSetController } from "./replicaset.js";
import { deploymentController } from "./deployment.js";
import { POD_TEMPLATE_HASH_LABEL, podTemplateHash } from "./podtemplatehash.js";
import { startControllers, until } from "./testing.js";

/** Stands in for kubelets: every pod that appears becomes Running and Ready. */
function fakeKubelet(c: Client, onTick?: () => Promise<void>): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const p of (await c.list("v1/pods", { namespace: "default" })).items) {
        if (p.metadata.deletionTimestamp || p.status?.conditions?.some((x: { type: string; status: string }) => x.type === "Ready" && x.status === "True")) continue;
        try {
          await c.updateStatus("v1/pods", {
            ...p,
            status: { phase: "Running", podIP: "10.0.0.1", conditions: [{ type: "Ready", status: "True", lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, "Z") }] },
          });
        } catch {
          // Deleted or changed meanwhile: the next tick sees it again.
        }
      }
      await onTick?.();
      await new Promise((r) => setTimeout(r, 15));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
    },
  };
}

function deployment(image: string, replicas: number, strategy?: Record<string, unknown>): KObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default", annotations: { "kubernetes.io/change-cause": `image ${image}` } },
    spec: {
      replicas,
      selector: { matchLabels: { app: "web" } },
      ...(strategy ? { strategy } : {}),
      template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image }] } },
    },
  };
}

const getD = (c: Client) => c.get("apps/v1/deployments", "default", "web");
const listRS = async (c: Client) => (await c.list("apps/v1/replicasets", { namespace: "default" })).items;
const revision = (o: KObject) => o.metadata.annotations?.["deployment.kubernetes.io/revision"];

async function rolledOut(c: Client, image: string, replicas: number): Promise<boolean> {
  const d = await getD(c);
  const st = d.status ?? {};
  const imageOk = d.spec.template.spec.containers[0].image === image;
  const prog = (st.conditions ?? []).find((x: { type: string }) => x.type === "Progressing");
  return imageOk && st.observedGeneration === d.metadata.generation && st.updatedReplicas === replicas && st.replicas === replicas && st.availableReplicas === replicas && prog?.reason === "NewReplicaSetAvailable";
}

test("a rolling update with maxUnavailable=0 never drops below the desired available pods; undo reuses the old ReplicaSet", async (t) => {
  const { client: c } = await startControllers(t, [replicaSetController(), deploymentController()]);
  let minReady = Infinity;
  let sampling = false;
  const kubelet = fakeKubelet(c, async () => {
    if (!sampling) return;
    const pods = (await c.list("v1/pods", { namespace: "default" })).items;
    const ready = pods.filter((p) => !p.metadata.deletionTimestamp && p.status?.conditions?.some((x: { type: string; status: string }) => x.type === "Ready" && x.status === "True"));
    minReady = Math.min(minReady, ready.length);
  });
  t.after(() => kubelet.stop());

  await c.create("apps/v1/deployments", deployment("app:v1", 3, { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }));
  await until(() => rolledOut(c, "app:v1", 3));
  const [rs1] = await listRS(c);
  assert.equal(revision(rs1), "1");
  assert.equal(rs1.metadata.name, `web-${rs1.spec.template.metadata.labels[POD_TEMPLATE_HASH_LABEL]}`);
  assert.equal(rs1.spec.selector.matchLabels[POD_TEMPLATE_HASH_LABEL], rs1.spec.template.metadata.labels[POD_TEMPLATE_HASH_LABEL]);
  assert.equal(rs1.metadata.annotations?.["deployment.kubernetes.io/desired-replicas"], "3");
  assert.equal(rs1.metadata.annotations?.["deployment.kubernetes.io/max-replicas"], "4");
  assert.equal(rs1.metadata.annotations?.["kubernetes.io/change-cause"], "image app:v1");
  const avail = ((await getD(c)).status.conditions as { type: string; status: string; reason: string }[]).find((x) => x.type === "Available")!;
  assert.deepEqual([avail.status, avail.reason], ["True", "MinimumReplicasAvailable"]);

  sampling = true;
  await c.patch("apps/v1/deployments", "default", "web", "merge", {
    metadata: { annotations: { "kubernetes.io/change-cause": "image app:v2" } },
    spec: { template: { spec: { containers: [{ name: "c", image: "app:v2" }] } } },
  });
  await until(() => rolledOut(c, "app:v2", 3));
  sampling = false;
  assert.ok(Number.isFinite(minReady), "the rollout was sampled");
  assert.ok(minReady >= 3, `ready pods dropped to ${minReady} during the rollout`);
  let rss = await listRS(c);
  assert.equal(rss.length, 2);
  const rs2 = rss.find((r) => r.metadata.name !== rs1.metadata.name)!;
  assert.equal(revision(rs2), "2");
  assert.equal(rs2.metadata.annotations?.["kubernetes.io/change-cause"], "image app:v2");
  assert.equal(revision(await getD(c)), "2");
  assert.equal(rss.find((r) => r.metadata.name === rs1.metadata.name)!.spec.replicas, 0);

  // kubectl rollout undo: JSON patch with the old template minus the hash label.
  const old = await c.get("apps/v1/replicasets", "default", rs1.metadata.name!);
  const template = structuredClone(old.spec.template);
  delete template.metadata.labels[POD_TEMPLATE_HASH_LABEL];
  assert.equal(podTemplateHash(template), old.spec.template.metadata.labels[POD_TEMPLATE_HASH_LABEL]);
  await c.patch("apps/v1/deployments", "default", "web", "json", [{ op: "replace", path: "/spec/template", value: template }]);
  await until(() => rolledOut(c, "app:v1", 3));
  rss = await listRS(c);
  assert.equal(rss.length, 2, "no new ReplicaSet for an undo");
  const back = rss.find((r) => r.metadata.name === rs1.metadata.name)!;
  assert.equal(revision(back), "3");
  assert.equal(back.spec.replicas, 3);
  assert.equal(revision(await getD(c)), "3");
});

test("a paused deployment scales but does not roll out until resumed", async (t) => {
  const { client: c } = await startControllers(t, [replicaSetController(), deploymentController()]);
  const kubelet = fakeKubelet(c);
  t.after(() => kubelet.stop());
  await c.create("apps/v1/deployments", deployment("app:v1", 2));
  await until(() => rolledOut(c, "app:v1", 2));

  await c.patch("apps/v1/deployments", "default", "web", "merge", { spec: { paused: true } });
  await c.patch("apps/v1/deployments", "default", "web", "merge", { spec: { replicas: 4, template: { spec: { containers: [{ name: "c", image: "app:v2" }] } } } });
  await until(async () => (await listRS(c))[0]?.spec.replicas === 4);
  await until(async () => ((await getD(c)).status?.conditions ?? []).some((x: { reason: string }) => x.reason === "DeploymentPaused"));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await listRS(c)).length, 1, "no rollout while paused");

  await c.patch("apps/v1/deployments", "default", "web", "merge", { spec: { paused: false } });
  await until(() => rolledOut(c, "app:v2", 4));
  const rss = await listRS(c);
  assert.equal(rss.length, 2);
  assert.deepEqual(rss.map((r) => r.spec.replicas).sort(), [0, 4]);
});

test("Recreate scales the old ReplicaSet to zero before the new one starts; history is trimmed", async (t) => {
  const { client: c } = await startControllers(t, [replicaSetController(), deploymentController()]);
  let mixed = 0;
  const kubelet = fakeKubelet(c, async () => {
    const pods = (await c.list("v1/pods", { namespace: "default" })).items;
    if (new Set(pods.map((p) => p.metadata.labels?.[POD_TEMPLATE_HASH_LABEL])).size > 1) mixed++;
  });
  t.after(() => kubelet.stop());
  const d = deployment("app:v1", 2, { type: "Recreate" });
  d.spec.revisionHistoryLimit = 1;
  await c.create("apps/v1/deployments", d);
  await until(() => rolledOut(c, "app:v1", 2));
  for (const image of ["app:v2", "app:v3"]) {
    await c.patch("apps/v1/deployments", "default", "web", "merge", { spec: { template: { spec: { containers: [{ name: "c", image }] } } } });
    await until(() => rolledOut(c, image, 2));
  }
  await until(async () => (await listRS(c)).length === 2);
  const revs = (await listRS(c)).map(revision).sort();
  assert.deepEqual(revs, ["2", "3"]);
  assert.equal(mixed, 0, "old and new pods never ran together");
});

test("a rollout that makes no progress within progressDeadlineSeconds is reported as ProgressDeadlineExceeded", async (t) => {
  const clock = new FakeClock();
  // No kubelet: the pod never becomes ready.
  const { client: c } = await startControllers(t, [replicaSetController(), deploymentController()], { clock });
  const d = deployment("app:v1", 1);
  d.spec.progressDeadlineSeconds = 30;
  await c.create("apps/v1/deployments", d);
  const progressing = async () => ((await getD(c)).status?.conditions ?? []).find((x: { type: string }) => x.type === "Progressing");
  await until(async () => (await getD(c)).status?.replicas === 1);
  const before = await progressing();
  assert.equal(before.status, "True");
  const avail = ((await getD(c)).status.conditions as { type: string; status: string; reason: string }[]).find((x) => x.type === "Available")!;
  // maxUnavailable 25% of 1 rounds down to 0: the one replica must be available.
  assert.deepEqual([avail.status, avail.reason], ["False", "MinimumReplicasUnavailable"]);
  await clock.advance(31_000);
  await until(async () => (await progressing())?.reason === "ProgressDeadlineExceeded");
  assert.equal((await progressing()).status, "False");
});

test("scaling mid-rollout spreads the new replicas proportionally (the docs' example)", async (t) => {
  // No kubelet: no pod becomes available, so the rollout stops at old 8 / new 5.
  const { client: c } = await startControllers(t, [replicaSetController(), deploymentController()]);
  await c.create("apps/v1/deployments", deployment("app:v1", 10, { type: "RollingUpdate", rollingUpdate: { maxSurge: 3, maxUnavailable: 2 } }));
  await until(async () => (await listRS(c))[0]?.spec.replicas === 10);
  await c.patch("apps/v1/deployments", "default", "web", "merge", { spec: { template: { spec: { containers: [{ name: "c", image: "app:v2" }] } } } });
  const sizes = async () => {
    const rss = await listRS(c);
    const byRev = Object.fromEntries(rss.map((r) => [revision(r), r.spec.replicas]));
    return `${byRev["1"]}/${byRev["2"]}`;
  };
  await until(async () => (await sizes()) === "8/5");
  await c.patch("apps/v1/deployments", "default", "web", "merge", { spec: { replicas: 15 } });
  await until(async () => (await sizes()) === "11/7");
  const rss = await listRS(c);
  assert.ok(rss.every((r) => r.metadata.annotations?.["deployment.kubernetes.io/desired-replicas"] === "15"));
});
