import { test } from "node:test";
import assert from "node:assert/strict";
import { nowRFC3339 } from "../apimachinery/types.js";
import { FakeClock } from "../client/clock.js";
import { disruptionController } from "./disruption.js";
import { startControllers, until } from "./testing.js";

test("PDB status follows healthy pods, the owning Deployment's scale, and expires disruptedPods", async (t) => {
  const clock = new FakeClock();
  const { client: c } = await startControllers(t, disruptionController(), { clock });

  const labels = { app: "db" };
  const template = { metadata: { labels }, spec: { containers: [{ name: "db", image: "postgres" }] } };
  const dep = await c.create("apps/v1/deployments", { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "db", namespace: "default" }, spec: { replicas: 4, selector: { matchLabels: labels }, template } });
  const rs = await c.create("apps/v1/replicasets", {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: "db-1", namespace: "default", labels, ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: "db", uid: dep.metadata.uid!, controller: true }] },
    spec: { replicas: 4, selector: { matchLabels: labels }, template },
  });
  for (const [name, ready] of [["db-a", true], ["db-b", true], ["db-c", true], ["db-d", false]] as const) {
    await c.create("v1/pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "default", labels, ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "db-1", uid: rs.metadata.uid!, controller: true }] },
      spec: { containers: [{ name: "db", image: "postgres" }] },
    });
    const p = await c.get("v1/pods", "default", name);
    await c.updateStatus("v1/pods", { ...p, status: { phase: "Running", conditions: [{ type: "Ready", status: ready ? "True" : "False" }] } });
  }
  // A pod outside the selector is not counted.
  await c.create("v1/pods", { apiVersion: "v1", kind: "Pod", metadata: { name: "other", namespace: "default", labels: { app: "web" } }, spec: { containers: [{ name: "x", image: "nginx" }] } });

  await c.create("policy/v1/poddisruptionbudgets", { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: "db", namespace: "default" }, spec: { maxUnavailable: "30%", selector: { matchLabels: labels } } });
  const pdb = () => c.get("policy/v1/poddisruptionbudgets", "default", "db");
  // 30% of the Deployment's 4 replicas rounds up to 2 unavailable: 2 must stay healthy; 3 are.
  await until(async () => (await pdb()).status?.expectedPods === 4);
  let st = (await pdb()).status;
  assert.equal(st.currentHealthy, 3);
  assert.equal(st.desiredHealthy, 2);
  assert.equal(st.disruptionsAllowed, 1);
  assert.equal(st.observedGeneration, 1);
  assert.deepEqual(
    st.conditions.map((x: any) => [x.type, x.status, x.reason]),
    [["DisruptionAllowed", "True", "SufficientPods"]],
  );

  // Scaling the Deployment changes the expected count (minAvailable as a percentage).
  const cur = await pdb();
  await c.update("policy/v1/poddisruptionbudgets", { ...cur, spec: { minAvailable: "75%", selector: { matchLabels: labels } } });
  await until(async () => (await pdb()).status?.observedGeneration === 2);
  st = (await pdb()).status;
  assert.equal(st.desiredHealthy, 3);
  assert.equal(st.disruptionsAllowed, 0);
  assert.equal(st.conditions[0].reason, "InsufficientPods");

  // minAvailable as an integer counts the matching pods; a pod evicted moments ago is not healthy.
  const cur2 = await pdb();
  await c.update("policy/v1/poddisruptionbudgets", { ...cur2, spec: { minAvailable: 1, selector: { matchLabels: labels } } });
  await until(async () => (await pdb()).status?.disruptionsAllowed === 2);
  const cur3 = await pdb();
  await c.updateStatus("policy/v1/poddisruptionbudgets", { ...cur3, status: { ...cur3.status, disruptedPods: { "db-a": nowRFC3339(new Date(clock.now())), gone: nowRFC3339(new Date(clock.now())) } } });
  await until(async () => (await pdb()).status?.currentHealthy === 2);
  st = (await pdb()).status;
  assert.deepEqual(Object.keys(st.disruptedPods), ["db-a"], "entries for pods that no longer exist are dropped");
  assert.equal(st.disruptionsAllowed, 1);
  assert.equal(st.expectedPods, 4);

  // After two minutes without the pod terminating, the entry expires and the pod counts again.
  await clock.advance(120_000);
  await until(async () => (await pdb()).status?.currentHealthy === 3);
  st = (await pdb()).status;
  assert.equal(st.disruptedPods, undefined);
  assert.equal(st.disruptionsAllowed, 2);

  // Readiness changes wake the budget.
  const p = await c.get("v1/pods", "default", "db-d");
  await c.updateStatus("v1/pods", { ...p, status: { ...p.status, conditions: [{ type: "Ready", status: "True" }] } });
  await until(async () => (await pdb()).status?.currentHealthy === 4);
});
