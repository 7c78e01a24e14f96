// Hollow nodes against a real in-process API on fake time: registration, lease renewal,
// pods driven Pending → Running → exited, graceful deletion, and a scale check.

import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestApi, type TestApi } from "../../apiserver/testing.js";
import { FakeClock, flushMicrotasks } from "../../client/clock.js";
import { SharedInformerFactory } from "../../client/sharedinformers.js";
import type { KObject } from "../../apimachinery/types.js";
import { hollowFleet, fleetCIDRMask } from "./fleet.js";
import { LEASES, NODE_LEASE_NAMESPACE, subnetAt } from "./node.js";
import { hollowMetrics, parseCIDR } from "./runtime.js";
import { parseDuration, crashLoopBackOffMs, CPU_USAGE_ANNOTATION, HEARTBEAT_ANNOTATION } from "./stages.js";
import { hollowMetricsSource } from "./metricssource.js";

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, clock?: FakeClock, stepMs = 100, tries = 300): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (clock) await clock.advance(stepMs);
    else await new Promise((r) => setTimeout(r, 10));
    await flushMicrotasks();
  }
  throw new Error(`timed out waiting for ${what}`);
}

function pod(name: string, extra: { annotations?: Record<string, string>; restartPolicy?: string; grace?: number } = {}): KObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", annotations: extra.annotations },
    spec: {
      containers: [{ name: "main", image: "busybox:1" }],
      restartPolicy: extra.restartPolicy,
      terminationGracePeriodSeconds: extra.grace,
    },
  };
}

async function bind(api: TestApi, name: string, node: string): Promise<void> {
  await api.client.createSubresource("v1/pods", "default", name, "binding", {
    apiVersion: "v1",
    kind: "Binding",
    metadata: { name },
    target: { kind: "Node", name: node },
  });
}

async function withFleet(count: number, fn: (env: { api: TestApi; clock: FakeClock; fleet: ReturnType<typeof hollowFleet> }) => Promise<void>, extra: Record<string, unknown> = {}) {
  const api = await startTestApi();
  const clock = new FakeClock();
  const informers = new SharedInformerFactory(api.client, { clock });
  const ac = new AbortController();
  const fleet = hollowFleet({ client: api.client, informers, clock, count, stageOptions: { backoffScale: 0.01 }, ...extra });
  const run = fleet.start(ac.signal);
  try {
    await fleet.ready!();
    await fn({ api, clock, fleet });
  } finally {
    ac.abort();
    await run;
    await informers.stopped();
    await api.close();
  }
}

test("stages vocabulary: durations, backoff, subnets", () => {
  assert.equal(parseDuration("5s"), 5000);
  assert.equal(parseDuration("1m30s"), 90_000);
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("soon"), undefined);
  assert.equal(crashLoopBackOffMs(1), 10_000);
  assert.equal(crashLoopBackOffMs(3), 40_000);
  assert.equal(crashLoopBackOffMs(20), 300_000);
  assert.equal(subnetAt("10.42.0.0/16", 24, 3), "10.42.3.0/24");
  assert.equal(subnetAt("10.42.0.0/16", 24, 256), undefined);
  assert.equal(fleetCIDRMask(16, 3), 24);
  assert.equal(fleetCIDRMask(16, 1000), 26);
  assert.equal(fleetCIDRMask(16, 5000), 29);
});

test("three hollow nodes register and renew their leases", async () => {
  await withFleet(3, async ({ api, clock }) => {
    const nodes = (await api.client.list("v1/nodes")).items;
    assert.deepEqual(nodes.map((n) => n.metadata.name).sort(), ["hollow-node-0", "hollow-node-1", "hollow-node-2"]);
    const n0 = nodes.find((n) => n.metadata.name === "hollow-node-0")!;
    assert.equal(n0.metadata.labels?.["node.kubernetes.io/instance-type"], "hollow");
    assert.equal(n0.metadata.labels?.["kubernetes.io/hostname"], "hollow-node-0");
    assert.equal(n0.status.capacity.cpu, "4");
    assert.equal(n0.status.allocatable.pods, "110");
    assert.equal(n0.status.nodeInfo.kubeletVersion, "v1.32.0-tug");
    assert.equal(n0.status.conditions.find((c: any) => c.type === "Ready").status, "True");
    assert.equal(n0.status.addresses[0].address, "198.18.0.1");
    assert.equal(n0.spec.podCIDR, "10.42.0.0/24");
    const before = await api.client.get(LEASES, NODE_LEASE_NAMESPACE, "hollow-node-1");
    await clock.advance(10_500);
    const after = await until("lease renewed", async () => {
      const l = await api.client.get(LEASES, NODE_LEASE_NAMESPACE, "hollow-node-1");
      return l.spec.renewTime !== before.spec.renewTime && l;
    }, clock);
    assert.ok(Date.parse(after.spec.renewTime) > Date.parse(before.spec.renewTime));
    assert.equal(after.spec.leaseDurationSeconds, 40);
  });
});

test("a bound pod runs with an IP from its node's podCIDR, then exits under restartPolicy Never", async () => {
  await withFleet(2, async ({ api, clock }) => {
    await api.client.create("v1/pods", pod("web", { annotations: { "tugboat.dev/cpu-usage": "250m", "tugboat.dev/memory-usage": "64Mi" } }));
    await bind(api, "web", "hollow-node-1");
    const running = await until("pod running", async () => {
      const p = await api.client.get("v1/pods", "default", "web");
      return p.status?.phase === "Running" && p;
    }, clock);
    const cidr = parseCIDR("10.42.1.0/24")!;
    const ip = running.status.podIP.split(".").reduce((a: number, o: string) => a * 256 + Number(o), 0);
    assert.ok(ip > cidr.base && ip < cidr.base + cidr.size, `pod IP ${running.status.podIP} in 10.42.1.0/24`);
    assert.equal(running.status.hostIP, "198.18.0.2");
    assert.equal(running.status.containerStatuses[0].ready, true);
    assert.match(running.status.containerStatuses[0].containerID, /^hollow:\/\//);
    assert.equal(running.status.conditions.find((c: any) => c.type === "Ready").status, "True");
    assert.deepEqual({ cpu: hollowMetrics.get("default/web")?.cpu, memory: hollowMetrics.get("default/web")?.memory }, { cpu: "250m", memory: "64Mi" });

    await api.client.create("v1/pods", pod("job", { restartPolicy: "Never", annotations: { "tugboat.dev/exit-after": "5s", "tugboat.dev/exit-code": "3" } }));
    await bind(api, "job", "hollow-node-0");
    await until("job running", async () => (await api.client.get("v1/pods", "default", "job")).status?.phase === "Running", clock);
    const failed = await until("job failed", async () => {
      const p = await api.client.get("v1/pods", "default", "job");
      return p.status?.phase === "Failed" && p;
    }, clock, 500);
    assert.equal(failed.status.containerStatuses[0].state.terminated.exitCode, 3);
    assert.equal(failed.status.containerStatuses[0].state.terminated.reason, "Error");
  });
});

test("restartPolicy Always: exit → CrashLoopBackOff → running again with restartCount 1", async () => {
  await withFleet(1, async ({ api, clock }) => {
    await api.client.create("v1/pods", pod("crash", { annotations: { "tugboat.dev/exit-after": "2s", "tugboat.dev/exit-code": "1" } }));
    await bind(api, "crash", "hollow-node-0");
    const waiting = await until("crash loop", async () => {
      const p = await api.client.get("v1/pods", "default", "crash");
      return p.status?.containerStatuses?.[0]?.state?.waiting && p;
    }, clock, 25);
    assert.equal(waiting.status.containerStatuses[0].state.waiting.reason, "CrashLoopBackOff");
    assert.equal(waiting.status.containerStatuses[0].restartCount, 1);
    assert.equal(waiting.status.containerStatuses[0].lastState.terminated.exitCode, 1);
    assert.equal(waiting.status.phase, "Running");
    // backoffScale 0.01: 10 s → 100 ms.
    await until("restarted", async () => (await api.client.get("v1/pods", "default", "crash")).status?.containerStatuses?.[0]?.state?.running, clock, 50);
  });
});

test("HEARTBEAT_ANNOTATION on the Node stops lease renewals; removing it resumes them", async () => {
  await withFleet(2, async ({ api, clock, fleet }) => {
    await api.client.patch("v1/nodes", undefined, "hollow-node-1", "merge", { metadata: { annotations: { [HEARTBEAT_ANNOTATION]: "stopped" } } });
    await until("heartbeat stopped", async () => !fleet.node("hollow-node-1")!.isHeartbeating(), clock, 500);
    assert.equal(fleet.node("hollow-node-0")!.isHeartbeating(), true);
    const frozen = (await api.client.get(LEASES, NODE_LEASE_NAMESPACE, "hollow-node-1")).spec.renewTime;
    await clock.advance(25_000);
    await flushMicrotasks();
    assert.equal((await api.client.get(LEASES, NODE_LEASE_NAMESPACE, "hollow-node-1")).spec.renewTime, frozen);
    await api.client.patch("v1/nodes", undefined, "hollow-node-1", "merge", { metadata: { annotations: { [HEARTBEAT_ANNOTATION]: null } } });
    await until("lease renewed again", async () => (await api.client.get(LEASES, NODE_LEASE_NAMESPACE, "hollow-node-1")).spec.renewTime !== frozen, clock, 500);
  });
});

test("usage follows the pod's annotations while it runs; idle nodes report their overhead", async () => {
  await withFleet(2, async ({ api, clock }) => {
    await api.client.create("v1/pods", pod("busy", { annotations: { [CPU_USAGE_ANNOTATION]: "100m" } }));
    await bind(api, "busy", "hollow-node-0");
    await until("running", async () => hollowMetrics.get("default/busy")?.cpu === "100m", clock);
    await api.client.patch("v1/pods", "default", "busy", "merge", { metadata: { annotations: { [CPU_USAGE_ANNOTATION]: "900m" } } });
    await until("usage raised", async () => hollowMetrics.get("default/busy")?.cpu === "900m", clock);
    const nodes = [...hollowMetricsSource().nodeMetrics()];
    assert.deepEqual(nodes.map((n) => n.name).sort(), ["hollow-node-0", "hollow-node-1"]);
    assert.equal(nodes.find((n) => n.name === "hollow-node-1")!.usage.cpu, "50m");
    assert.equal(nodes.find((n) => n.name === "hollow-node-0")!.usage.cpu, "950m");
  });
});

test("hollow nodes provision local-path volumes for claims placed on them (objects only)", async () => {
  await withFleet(2, async ({ api }) => {
    const claim = (name: string, node: string) => ({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name, namespace: "default", annotations: { "volume.kubernetes.io/selected-node": node } },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    });
    const mine = await api.client.create("v1/persistentvolumeclaims", claim("mine", "hollow-node-1"));
    await api.client.create("v1/persistentvolumeclaims", claim("elsewhere", "real-node"));
    const pv = await until("volume", async () => api.client.get("v1/persistentvolumes", undefined, `pvc-${mine.metadata.uid}`), undefined, 100, 100);
    assert.equal(pv.spec.claimRef.name, "mine");
    assert.deepEqual(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values, ["hollow-node-1"]);
    assert.equal((await api.client.list("v1/persistentvolumes")).items.length, 1);
  });
});

test("a deleted pod is removed after its (shortened) grace period", async () => {
  await withFleet(1, async ({ api, clock }) => {
    await api.client.create("v1/pods", pod("gone", { grace: 30 }));
    await bind(api, "gone", "hollow-node-0");
    await until("running", async () => (await api.client.get("v1/pods", "default", "gone")).status?.phase === "Running", clock);
    const deleting = await api.client.delete("v1/pods", "default", "gone");
    assert.ok(deleting.metadata.deletionTimestamp, "graceful deletion leaves the pod terminating");
    await until("pod gone", async () => {
      try {
        await api.client.get("v1/pods", "default", "gone");
        return false;
      } catch (err) {
        return (err as { code?: number }).code === 404;
      }
    }, clock, 200);
    assert.equal(hollowMetrics.has("default/gone"), false);
  });
});

test("scale: 1,000 hollow nodes register", async () => {
  const t0 = Date.now();
  let registerMs = 0;
  await withFleet(
    1000,
    async ({ api }) => {
      const list = await api.client.list("v1/nodes", { limit: 1 });
      assert.ok(list.metadata.remainingItemCount === undefined || list.metadata.remainingItemCount === 999);
      const leases = await api.client.list(LEASES, { namespace: NODE_LEASE_NAMESPACE });
      assert.equal(leases.items.length, 1000);
    },
    { onRegistered: (ms: number) => (registerMs = ms) },
  );
  console.log(`# 1000 hollow nodes registered (node + lease) in ${registerMs} ms; whole test ${Date.now() - t0} ms`);
  assert.ok(registerMs < 60_000);
});
