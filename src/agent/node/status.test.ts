// Node status building (status.ts) and host facts (hostinfo.ts): upstream's condition
// reasons, transition times that move only on flips, change detection that ignores
// heartbeats, reservations, /proc and os-release parsing.

import { test } from "node:test";
import assert from "node:assert/strict";
import { memInfo, osImage, parseReserved, hostCapacity, goArch } from "./hostinfo.js";
import { nodeConditions, nodeObject, nodeStatus, notReadyMessage, statusChanged, type NodeIdentity, type NodeStatusInput } from "./status.js";
import { tmpdir } from "node:os";
import { toBytes } from "../../apimachinery/quantity.js";

const id: NodeIdentity = { name: "n1", internalIP: "192.0.2.9", hostname: "n1", arch: "amd64", labels: { "node-role.kubernetes.io/control-plane": "true" } };
const ok = [
  { type: "RuntimeReady", status: true, reason: "", message: "" },
  { type: "NetworkReady", status: true, reason: "", message: "" },
];
const input = (over: Partial<NodeStatusInput> = {}): NodeStatusInput => ({
  capacity: { cpu: "2", memory: "1024Ki", pods: "110" },
  allocatable: { cpu: "2", memory: "1000Ki", pods: "110" },
  nodeInfo: { machineID: "m", systemUUID: "m", bootID: "b", kernelVersion: "6", osImage: "Debian", containerRuntimeVersion: "containerd://1.6.20", kubeletVersion: "v1.32.0-tugboat", kubeProxyVersion: "v1.32.0-tugboat", operatingSystem: "linux", architecture: "amd64" },
  runtime: ok,
  pressure: { memory: false, disk: false, pid: false },
  kubeletPort: 10250,
  ...over,
});

test("node object: well-known labels, podCIDR asked for, addresses, daemon endpoint", () => {
  const n = nodeObject({ ...id, podCIDR: "10.42.9.0/24" }, input(), "2026-01-01T00:00:00Z");
  assert.equal(n.metadata.labels!["kubernetes.io/hostname"], "n1");
  assert.equal(n.metadata.labels!["kubernetes.io/os"], "linux");
  assert.equal(n.metadata.labels!["kubernetes.io/arch"], "amd64");
  assert.equal(n.metadata.labels!["node-role.kubernetes.io/control-plane"], "true");
  assert.deepEqual(n.spec, { podCIDR: "10.42.9.0/24", podCIDRs: ["10.42.9.0/24"] });
  assert.deepEqual(n.status.addresses, [{ type: "InternalIP", address: "192.0.2.9" }, { type: "Hostname", address: "n1" }]);
  assert.equal(n.status.daemonEndpoints.kubeletEndpoint.Port, 10250);
  assert.deepEqual(n.status.conditions.map((c: any) => `${c.type}=${c.status}`), ["MemoryPressure=False", "DiskPressure=False", "PIDPressure=False", "Ready=True"]);
});

test("Ready is False with the runtime's reason until network and runtime are ready", () => {
  const notNet = [ok[0]!, { type: "NetworkReady", status: false, reason: "NetworkPluginNotReady", message: "cni plugin not initialized" }];
  const ready = nodeConditions({ runtime: notNet, pressure: { memory: false, disk: false, pid: false } }, "t0").find((c) => c.type === "Ready")!;
  assert.equal(ready.status, "False");
  assert.equal(ready.reason, "KubeletNotReady");
  assert.match(ready.message, /container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:cni plugin not initialized/);
  assert.match(notReadyMessage(new Error("connection refused"))!, /container runtime is down/);
  assert.equal(notReadyMessage(ok), undefined);
});

test("pressure conditions use upstream's reasons", () => {
  const cs = nodeConditions({ runtime: ok, pressure: { memory: true, disk: true, pid: true } }, "t0");
  assert.deepEqual(cs.slice(0, 3).map((c) => `${c.type}=${c.status}:${c.reason}`), [
    "MemoryPressure=True:KubeletHasInsufficientMemory",
    "DiskPressure=True:KubeletHasDiskPressure",
    "PIDPressure=True:KubeletHasInsufficientPID",
  ]);
});

test("lastTransitionTime moves only when a condition flips; heartbeats always", () => {
  const first = nodeStatus(id, input(), "t1") as any;
  const same = nodeStatus(id, input(), "t2", first) as any;
  const ready = (s: any) => s.conditions.find((c: any) => c.type === "Ready");
  assert.equal(ready(same).lastTransitionTime, "t1");
  assert.equal(ready(same).lastHeartbeatTime, "t2");
  const down = nodeStatus(id, input({ runtime: new Error("gone") }), "t3", same) as any;
  assert.equal(ready(down).lastTransitionTime, "t3");
});

test("statusChanged ignores heartbeat times but sees real changes", () => {
  const a = nodeStatus(id, input(), "t1");
  assert.equal(statusChanged(a, nodeStatus(id, input(), "t2", a)), false);
  assert.equal(statusChanged(a, nodeStatus(id, input({ kubeletPort: 4000 }), "t2", a)), true);
  assert.equal(statusChanged(a, nodeStatus(id, input({ pressure: { memory: true, disk: false, pid: false } }), "t2", a)), true);
  // The node controller marking the node Unknown is a change the kubelet must overwrite.
  const unknown = structuredClone(a) as any;
  unknown.conditions.find((c: any) => c.type === "Ready").status = "Unknown";
  assert.equal(statusChanged(unknown, nodeStatus(id, input(), "t2", unknown)), true);
  assert.equal(statusChanged(undefined, a), true);
});

test("host facts: meminfo, os-release, arch, reservations", async () => {
  assert.deepEqual(memInfo("MemTotal:       24684084 kB\nMemFree:        1000 kB\nMemAvailable:   23000000 kB\n"), { total: 24684084 * 1024, available: 23000000 * 1024 });
  assert.equal(osImage('NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'), "Debian GNU/Linux 12 (bookworm)");
  assert.equal(goArch("x64"), "amd64");
  assert.deepEqual(parseReserved("kube-reserved", "cpu=100m, memory=256Mi"), { cpu: "100m", memory: "256Mi" });
  assert.throws(() => parseReserved("kube-reserved", "gpu=1"), /kube-reserved/);
  assert.throws(() => parseReserved("system-reserved", "memory=lots"), /invalid quantity "lots" for memory in --system-reserved/);
  const plain = await hostCapacity({ dataDir: tmpdir() });
  const held = await hostCapacity({ dataDir: tmpdir(), kubeReserved: { cpu: "500m", memory: "100Mi" }, systemReserved: { memory: "100Mi" } });
  assert.equal(plain.capacity.pods, "110");
  assert.ok(toBytes(plain.allocatable.memory!) < toBytes(plain.capacity.memory!), "eviction threshold held back");
  assert.equal(toBytes(plain.allocatable.memory!) - toBytes(held.allocatable.memory!), 200 * 1024 * 1024);
  assert.equal(held.allocatable.cpu, `${Number(plain.capacity.cpu) * 1000 - 500}m`);
  assert.ok(Number(plain.allocatable["ephemeral-storage"]) < toBytes(plain.capacity["ephemeral-storage"]!));
});
