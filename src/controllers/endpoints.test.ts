import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../apimachinery/types.js";
import type { Client } from "../client/types.js";
import { endpointsController } from "./endpoints.js";
import { endpointSliceController } from "./endpointslice.js";
import { startControllers, until } from "./testing.js";

async function runningPod(c: Client, name: string, ip: string, ready: boolean, labels = { app: "web" }): Promise<KObject> {
  const pod = await c.create("v1/pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels },
    spec: { containers: [{ name: "c", image: "busybox", ports: [{ name: "http", containerPort: 8080 }] }] },
  });
  return c.updateStatus("v1/pods", {
    ...pod,
    status: { phase: "Running", podIP: ip, podIPs: [{ ip }], conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  });
}

const service: KObject = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "web", namespace: "default", labels: { tier: "front" } },
  spec: {
    selector: { app: "web" },
    ports: [
      { name: "http", port: 80, targetPort: "http", protocol: "TCP" },
      { name: "metrics", port: 9090, targetPort: 9100, protocol: "TCP" },
    ],
  },
};

test("Endpoints and EndpointSlices follow ready and unready pods, with named target ports", async (t) => {
  const { client: c } = await startControllers(t, [endpointsController(), endpointSliceController()]);
  await runningPod(c, "a", "10.1.0.2", true);
  await runningPod(c, "b", "10.1.0.3", false);
  await runningPod(c, "other", "10.1.0.9", true, { app: "db" });
  await c.create("v1/pods", { apiVersion: "v1", kind: "Pod", metadata: { name: "no-ip", namespace: "default", labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "busybox" }] } });
  const svc = await c.create("v1/services", service);

  await until(async () => {
    try {
      return (await c.get("v1/endpoints", "default", "web")).subsets?.[0]?.notReadyAddresses?.length === 1;
    } catch {
      return false;
    }
  });
  const ep = await c.get("v1/endpoints", "default", "web");
  assert.equal(ep.subsets.length, 1);
  const [ss] = ep.subsets;
  assert.deepEqual(ss.addresses.map((a: { ip: string }) => a.ip), ["10.1.0.2"]);
  assert.deepEqual(ss.notReadyAddresses.map((a: { ip: string }) => a.ip), ["10.1.0.3"]);
  assert.equal(ss.addresses[0].targetRef.name, "a");
  assert.deepEqual(ss.ports, [
    { name: "http", port: 8080, protocol: "TCP" },
    { name: "metrics", port: 9100, protocol: "TCP" },
  ]);
  assert.equal(ep.metadata.labels?.tier, "front");

  const slices = async () => (await c.list("discovery.k8s.io/v1/endpointslices", { namespace: "default", labelSelector: "kubernetes.io/service-name=web" })).items;
  await until(async () => (await slices())[0]?.endpoints?.length === 2);
  const [slice] = await slices();
  assert.equal((await slices()).length, 1);
  assert.match(slice.metadata.name!, /^web-/);
  assert.equal(slice.addressType, "IPv4");
  assert.equal(slice.metadata.labels?.["endpointslice.kubernetes.io/managed-by"], "endpointslice-controller.k8s.io");
  assert.equal(slice.metadata.ownerReferences?.[0]?.uid, svc.metadata.uid);
  const byName = Object.fromEntries(slice.endpoints.map((e: { targetRef: { name: string } }) => [e.targetRef.name, e]));
  assert.deepEqual(byName.a.conditions, { ready: true, serving: true, terminating: false });
  assert.deepEqual(byName.b.conditions, { ready: false, serving: false, terminating: false });
  assert.deepEqual(
    slice.ports.map((p: { name: string; port: number }) => [p.name, p.port]).sort(),
    [
      ["http", 8080],
      ["metrics", 9100],
    ],
  );

  // b turns ready: both lists follow.
  const b = await c.get("v1/pods", "default", "b");
  await c.updateStatus("v1/pods", { ...b, status: { ...b.status, conditions: [{ type: "Ready", status: "True" }] } });
  await until(async () => (await c.get("v1/endpoints", "default", "web")).subsets?.[0]?.addresses?.length === 2);
  assert.equal((await c.get("v1/endpoints", "default", "web")).subsets[0].notReadyAddresses, undefined);
  await until(async () => (await slices())[0].endpoints.every((e: { conditions: { ready: boolean } }) => e.conditions.ready));

  // a is relabelled away: it leaves both.
  await c.patch("v1/pods", "default", "a", "merge", { metadata: { labels: { app: "gone" } } });
  await until(async () => (await c.get("v1/endpoints", "default", "web")).subsets?.[0]?.addresses?.length === 1);
  await until(async () => (await slices())[0].endpoints.length === 1);
  assert.equal((await slices()).length, 1);

  // The service goes: so do its Endpoints (slices go through the GC via ownerReferences).
  await c.delete("v1/services", "default", "web");
  await until(async () => {
    try {
      await c.get("v1/endpoints", "default", "web");
      return false;
    } catch (e) {
      return (e as { code?: number }).code === 404;
    }
  });
});

test("publishNotReadyAddresses publishes unready pods as ready addresses", async (t) => {
  const { client: c } = await startControllers(t, [endpointsController()]);
  await runningPod(c, "b", "10.1.0.3", false);
  await c.create("v1/services", { ...service, spec: { ...service.spec, publishNotReadyAddresses: true } });
  await until(async () => {
    try {
      return (await c.get("v1/endpoints", "default", "web")).subsets?.[0]?.addresses?.length === 1;
    } catch {
      return false;
    }
  });
});
