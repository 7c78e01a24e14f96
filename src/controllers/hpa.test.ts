import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestApi, type TestApi } from "../apiserver/testing.js";
import type { MetricsSource } from "../apiserver/metrics.js";
import { FakeClock, flushMicrotasks } from "../client/clock.js";
import { hpaController } from "./hpa.js";
import { type AfterHook, runControllers, until } from "./testing.js";

/** A MetricsSource whose per-pod usage the test sets, counting reads (one per HPA sync). */
function testSource(ns: string, pods: string[]): MetricsSource & { cpu: string; memory: string; reads: number } {
  const s = {
    cpu: "200m",
    memory: "100Mi",
    reads: 0,
    podMetrics() {
      s.reads++;
      return pods.map((name) => ({ namespace: ns, name, timestamp: "2026-01-01T00:00:00Z", window: "30s", containers: [{ name: "app", usage: { cpu: s.cpu, memory: s.memory } }] }));
    },
    nodeMetrics: () => [],
  };
  return s;
}

async function setup(t: AfterHook, podNames: string[], notReady: string[] = []) {
  const replicas = podNames.length;
  const api: TestApi = await startTestApi();
  const c = api.client;
  const labels = { app: "web" };
  const podSpec = { containers: [{ name: "app", image: "nginx", resources: { requests: { cpu: "100m", memory: "100Mi" } } }] };
  await c.create("apps/v1/deployments", {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default" },
    spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec } },
  });
  for (const name of podNames) {
    await c.create("v1/pods", { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default", labels }, spec: podSpec });
    const p = await c.get("v1/pods", "default", name);
    await c.updateStatus("v1/pods", { ...p, status: { phase: "Running", conditions: [{ type: "Ready", status: notReady.includes(name) ? "False" : "True" }] } });
  }
  const source = testSource("default", podNames);
  const clock = new FakeClock();
  const { recorder } = runControllers(t, api, hpaController({ metrics: source, syncPeriodMs: 15_000 }), { clock });
  const replicasNow = async () => (await c.get("apps/v1/deployments", "default", "web")).spec.replicas as number;
  /** Moves fake time by one sync period and waits until the HPA has evaluated once more. */
  const tick = async (ms = 15_000) => {
    const before = source.reads;
    await clock.advance(ms);
    await until(() => source.reads > before);
    // Let the scale patch and status write that follow the read finish.
    for (let i = 0; i < 5; i++) await flushMicrotasks();
  };
  const HPAS = "autoscaling/v2/horizontalpodautoscalers";
  /** Creates the HPA "web" scaling Deployment "web", with `spec` for the rest. */
  const createHPA = (spec: Record<string, unknown>) =>
    c.create(HPAS, { apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: { name: "web", namespace: "default" }, spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" }, ...spec } });
  const getHPA = () => c.get(HPAS, "default", "web");
  return { api, c, source, clock, recorder, replicasNow, tick, createHPA, getHPA };
}

test("scales up on high CPU utilization, limited by the scale-up policy, then down only after the stabilization window", async (t) => {
  const { c, source, recorder, replicasNow, tick, createHPA, getHPA } = await setup(t, ["web-0", "web-1"]);
  await createHPA({
    minReplicas: 1,
    maxReplicas: 10,
    metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } }],
    behavior: { scaleUp: { policies: [{ type: "Pods", value: 1, periodSeconds: 60 }] } },
  });
  // 200m used of 100m requested = 200% against a 50% target: 4× the 2 pods wants 8, one pod per minute allowed.
  await until(async () => (await replicasNow()) === 3);
  let hpa = await getHPA();
  await until(async () => {
    hpa = await getHPA();
    return hpa.status?.desiredReplicas === 3;
  });
  assert.equal(hpa.status.currentReplicas, 2);
  assert.deepEqual(hpa.status.currentMetrics, [{ type: "Resource", resource: { name: "cpu", current: { averageUtilization: 200, averageValue: "200m" } } }]);
  assert.ok(hpa.status.lastScaleTime);
  const cond = (type: string) => hpa.status.conditions.find((x: any) => x.type === type);
  assert.equal(cond("ScalingActive").reason, "ValidMetricFound");
  assert.equal(cond("ScalingLimited").status, "True");
  assert.equal(cond("ScalingLimited").reason, "ScaleUpLimit");
  assert.equal(cond("AbleToScale").reason, "SucceededRescale");
  assert.ok(recorder.events.some((e) => e.reason === "SuccessfulRescale" && e.message === "New size: 3; reason: cpu resource utilization (percentage of request) above target"));

  for (let i = 0; i < 3; i++) {
    await tick();
    assert.equal(await replicasNow(), 3, "the Pods policy allows one more pod per 60 s");
  }
  await tick();
  assert.equal(await replicasNow(), 4);

  // Usage drops to 20%: the recommendation is 1, but the 300 s default scale-down window holds the highest recent one.
  source.cpu = "20m";
  for (let elapsed = 15; elapsed < 300; elapsed += 15) {
    await tick();
    assert.equal(await replicasNow(), 4, `no scale-down ${elapsed}s after the drop`);
  }
  await tick();
  assert.equal(await replicasNow(), 1);
  hpa = await getHPA();
  assert.equal(hpa.status.desiredReplicas, 1);
  assert.ok(recorder.events.some((e) => e.reason === "SuccessfulRescale" && e.message === "New size: 1; reason: All metrics below target"));
});

test("AverageValue on memory, tolerance, maxReplicas, and a missing request", async (t) => {
  const { c, source, replicasNow, tick, createHPA, getHPA } = await setup(t, ["web-0", "web-1"]);
  source.memory = "105Mi";
  await createHPA({
    maxReplicas: 3,
    metrics: [{ type: "Resource", resource: { name: "memory", target: { type: "AverageValue", averageValue: "100Mi" } } }],
  });
  // 105Mi against 100Mi is within the 10% tolerance: nothing moves.
  await until(async () => (await getHPA()).status?.desiredReplicas === 2);
  assert.equal(await replicasNow(), 2);
  // 300Mi per pod wants 6; maxReplicas caps at 3.
  source.memory = "300Mi";
  await tick();
  assert.equal(await replicasNow(), 3);
  const hpa = await getHPA();
  assert.equal(hpa.status.conditions.find((x: any) => x.type === "ScalingLimited").reason, "TooManyReplicas");
  assert.deepEqual(hpa.status.currentMetrics[0].resource.current, { averageValue: String(300 * 1024 * 1024) });

  // A Utilization metric on a resource the pods do not request cannot be computed.
  const cur = await getHPA();
  await c.update("autoscaling/v2/horizontalpodautoscalers", { ...cur, spec: { ...cur.spec, metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } }] } });
  const p = await c.get("v1/pods", "default", "web-0");
  await c.delete("v1/pods", "default", "web-0", { gracePeriodSeconds: 0 });
  await c.create("v1/pods", { apiVersion: "v1", kind: "Pod", metadata: { name: "web-0", namespace: "default", labels: p.metadata.labels }, spec: { containers: [{ name: "app", image: "nginx" }] } });
  await tick();
  const failed = await getHPA();
  const active = failed.status.conditions.find((x: any) => x.type === "ScalingActive");
  assert.equal(active.status, "False");
  assert.equal(active.reason, "FailedGetResourceMetric");
  assert.match(active.message, /missing request for cpu/);
  assert.equal(await replicasNow(), 3);
});

test("not-ready pods count as idle when scaling up, so a small overshoot on the ready ones does not shrink the target", async (t) => {
  const { source, replicasNow, createHPA, getHPA } = await setup(t, ["web-0", "web-1", "web-2", "web-3"], ["web-2", "web-3"]);
  // 120% on the two ready pods alone would ask for ceil(1.2 × 2) = 3 < 4; with the two
  // not-ready pods as idle the ratio is 0.6, the opposite direction, so nothing changes.
  source.cpu = "120m";
  await createHPA({
    maxReplicas: 10,
    metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 100 } } }],
    behavior: { scaleDown: { stabilizationWindowSeconds: 0 } },
  });
  await until(async () => (await getHPA()).status?.desiredReplicas !== undefined);
  const hpa = await getHPA();
  assert.equal(hpa.status.desiredReplicas, 4);
  assert.equal(hpa.status.currentMetrics[0].resource.current.averageUtilization, 120);
  assert.equal(await replicasNow(), 4);
});
