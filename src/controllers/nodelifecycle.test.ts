// The node lifecycle controller against a real API and hollow nodes on fake time:
// lost heartbeat → Unknown + unreachable taint → evictions by toleration; recovery
// removes the taints; podCIDR assignment.

import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestApi, type TestApi } from "../apiserver/testing.js";
import { FakeClock, flushMicrotasks } from "../client/clock.js";
import { SharedInformerFactory } from "../client/sharedinformers.js";
import { runController } from "../client/controller.js";
import type { KObject } from "../apimachinery/types.js";
import { hollowFleet } from "../agent/hollow/fleet.js";
import { nodeLifecycleController, evictionDeadline, RangeAllocator, toleratesTaint, TAINT_UNREACHABLE, type Taint } from "./nodelifecycle.js";

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, clock: FakeClock, stepMs = 500, tries = 400): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    await clock.advance(stepMs);
    await flushMicrotasks();
  }
  throw new Error(`timed out waiting for ${what}`);
}

function pod(name: string, tolerations?: unknown[]): KObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: { containers: [{ name: "main", image: "busybox:1" }], tolerations, terminationGracePeriodSeconds: 1 },
  };
}

async function bind(api: TestApi, name: string, node: string): Promise<void> {
  await api.client.createSubresource("v1/pods", "default", name, "binding", { apiVersion: "v1", kind: "Binding", metadata: { name }, target: { kind: "Node", name: node } });
}

async function gone(api: TestApi, name: string): Promise<boolean> {
  try {
    const p = await api.client.get("v1/pods", "default", name);
    return Boolean(p.metadata.deletionTimestamp);
  } catch (err) {
    return (err as { code?: number }).code === 404;
  }
}

test("tolerations: matching and eviction deadlines", () => {
  const taint: Taint = { key: TAINT_UNREACHABLE, effect: "NoExecute" };
  assert.equal(toleratesTaint({ operator: "Exists" }, taint), true);
  assert.equal(toleratesTaint({ key: TAINT_UNREACHABLE, operator: "Exists", effect: "NoSchedule" }, taint), false);
  assert.equal(toleratesTaint({ key: TAINT_UNREACHABLE, value: "" }, taint), true);
  assert.equal(toleratesTaint({ key: "other", operator: "Exists" }, taint), false);
  const at = () => 1_000;
  assert.equal(evictionDeadline(pod("a"), [taint], at), 0);
  assert.equal(evictionDeadline(pod("b", [{ key: TAINT_UNREACHABLE, operator: "Exists" }]), [taint], at), Infinity);
  assert.equal(evictionDeadline(pod("c", [{ key: TAINT_UNREACHABLE, operator: "Exists", tolerationSeconds: 30 }, { operator: "Exists", tolerationSeconds: 60 }]), [taint], at), 31_000);
});

test("range allocator: distinct subnets, existing ones respected, release reuses", () => {
  const a = new RangeAllocator("10.42.0.0/16", 24);
  a.occupy("x", "10.42.0.0/23"); // covers .0 and .1
  assert.equal(a.allocate("n1"), "10.42.2.0/24");
  assert.equal(a.allocate("n1"), "10.42.2.0/24");
  assert.equal(a.allocate("n2"), "10.42.3.0/24");
  const small = new RangeAllocator("10.0.0.0/23", 24);
  assert.equal(small.allocate("a"), "10.0.0.0/24");
  assert.equal(small.allocate("b"), "10.0.1.0/24");
  assert.equal(small.allocate("c"), undefined);
  small.release("a");
  assert.equal(small.allocate("c"), "10.0.0.0/24");
});

test("lost heartbeat → Unknown + unreachable taint → evictions; recovery removes the taint", async () => {
  const api = await startTestApi();
  const clock = new FakeClock();
  const informers = new SharedInformerFactory(api.client, { clock });
  const ac = new AbortController();
  // The nodes wait for the controller to hand out their podCIDRs.
  const fleet = hollowFleet({ client: api.client, informers, clock, count: 2, podCIDRFrom: "controller", stageOptions: { fastStopMs: 100 } });
  const runs = [fleet.start(ac.signal), runController(nodeLifecycleController({ nodeMonitorGracePeriodMs: 20_000 }), { client: api.client, informers, clock }, ac.signal)];
  try {
    await fleet.ready!();
    const n1 = await until("podCIDR assigned", async () => {
      const n = await api.client.get("v1/nodes", undefined, "hollow-node-1");
      return n.spec?.podCIDR && n;
    }, clock);
    const n0 = await api.client.get("v1/nodes", undefined, "hollow-node-0");
    assert.match(n1.spec.podCIDR, /^10\.42\.\d+\.0\/24$/);
    assert.notEqual(n0.spec.podCIDR, n1.spec.podCIDR);

    // Admission gives pods without one a 30 s toleration of not-ready/unreachable.
    await api.client.create("v1/pods", pod("plain"));
    await api.client.create("v1/pods", pod("quick", [{ key: TAINT_UNREACHABLE, operator: "Exists", effect: "NoExecute", tolerationSeconds: 0 }]));
    await api.client.create("v1/pods", pod("patient", [{ key: TAINT_UNREACHABLE, operator: "Exists", effect: "NoExecute", tolerationSeconds: 120 }]));
    await api.client.create("v1/pods", pod("forever", [{ key: TAINT_UNREACHABLE, operator: "Exists" }]));
    await api.client.create("v1/pods", pod("elsewhere"));
    for (const p of ["plain", "quick", "patient", "forever"]) await bind(api, p, "hollow-node-1");
    await bind(api, "elsewhere", "hollow-node-0");
    const running = await until("pod running with an IP in the assigned range", async () => {
      const p = await api.client.get("v1/pods", "default", "plain");
      return p.status?.phase === "Running" && p;
    }, clock, 100);
    assert.equal(running.status.podIP.split(".").slice(0, 3).join("."), n1.spec.podCIDR.split(".").slice(0, 3).join("."));

    // Healthy nodes stay Ready past the grace period.
    await clock.advance(25_000);
    assert.equal((await api.client.get("v1/nodes", undefined, "hollow-node-0")).status.conditions.find((c: any) => c.type === "Ready").status, "True");

    fleet.node("hollow-node-1")!.stopHeartbeat();
    const lost = await until("node Unknown and tainted", async () => {
      const n = await api.client.get("v1/nodes", undefined, "hollow-node-1");
      return (n.spec.taints ?? []).some((t: any) => t.key === TAINT_UNREACHABLE && t.effect === "NoExecute") && n;
    }, clock);
    const ready = lost.status.conditions.find((c: any) => c.type === "Ready");
    assert.deepEqual([ready.status, ready.reason, ready.message], ["Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."]);
    assert.ok(lost.status.conditions.every((c: any) => c.status === "Unknown"));

    const taintedAt = clock.now();
    await until("pod with tolerationSeconds 0 evicted at once", () => gone(api, "quick"), clock, 100, 10);
    assert.equal(await gone(api, "plain"), false, "the default 30 s toleration keeps the pod for now");
    await until("pod evicted after the default tolerationSeconds", () => gone(api, "plain"), clock, 1_000);
    assert.ok(clock.now() - taintedAt >= 29_000 && clock.now() - taintedAt <= 32_000, `evicted after ${clock.now() - taintedAt} ms`);
    assert.equal(await gone(api, "patient"), false, "a 120 s toleration keeps the pod longer");
    await until("pod evicted after 120 s", () => gone(api, "patient"), clock, 2_000);
    assert.equal(await gone(api, "forever"), false);
    assert.equal(await gone(api, "elsewhere"), false);
    assert.equal((await api.client.get("v1/nodes", undefined, "hollow-node-0")).spec.taints, undefined);

    fleet.node("hollow-node-1")!.resumeHeartbeat();
    const back = await until("taint removed", async () => {
      const n = await api.client.get("v1/nodes", undefined, "hollow-node-1");
      return !(n.spec.taints ?? []).length && n;
    }, clock);
    assert.equal(back.status.conditions.find((c: any) => c.type === "Ready").status, "True");
  } finally {
    ac.abort();
    await Promise.all(runs);
    await informers.stopped();
    await api.close();
  }
});
