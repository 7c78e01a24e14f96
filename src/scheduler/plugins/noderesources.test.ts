import { test } from "node:test";
import assert from "node:assert/strict";
import { Snapshot, podInfoFromPod } from "../snapshot.js";
import { runFilterPlugin, runScorePlugin } from "../framework.js";
import { nodeResourcesFit, nodeResourcesBalancedAllocation, insufficientResources } from "./noderesources.js";

const node = (name: string, allocatable: Record<string, string>) => ({ metadata: { name }, status: { allocatable } });
const pod = (name: string, spec: Record<string, unknown>, nodeName?: string) => ({
  metadata: { name, namespace: "default" },
  spec: { ...(nodeName ? { nodeName } : {}), ...spec },
});
const req = (r: Record<string, string>) => ({ resources: { requests: r } });
const containers = (...rs: Record<string, string>[]) => ({ containers: rs.map((r, i) => ({ name: `c${i}`, image: "x", ...req(r) })) });

test("NodeResourcesFit filter", async (t) => {
  const cases: { name: string; alloc: Record<string, string>; existing: Record<string, unknown>[]; pod: Record<string, unknown>; want?: string[] }[] = [
    { name: "fits", alloc: { cpu: "2", memory: "2Gi", pods: "10" }, existing: [], pod: containers({ cpu: "1", memory: "1Gi" }) },
    { name: "no requests fits anywhere", alloc: { cpu: "0", pods: "10" }, existing: [], pod: containers({}) },
    { name: "insufficient cpu", alloc: { cpu: "2", memory: "2Gi", pods: "10" }, existing: [containers({ cpu: "1500m" })], pod: containers({ cpu: "1" }), want: ["Insufficient cpu"] },
    {
      name: "cpu and memory both short",
      alloc: { cpu: "1", memory: "1Gi", pods: "10" },
      existing: [],
      pod: containers({ cpu: "2", memory: "2Gi" }),
      want: ["Insufficient cpu", "Insufficient memory"],
    },
    { name: "too many pods", alloc: { cpu: "4", pods: "1" }, existing: [containers({})], pod: containers({}), want: ["Too many pods"] },
    { name: "ephemeral storage", alloc: { "ephemeral-storage": "1Gi", pods: "5" }, existing: [], pod: containers({ "ephemeral-storage": "2Gi" }), want: ["Insufficient ephemeral-storage"] },
    { name: "extended resource", alloc: { "example.com/gpu": "1", pods: "5" }, existing: [], pod: containers({ "example.com/gpu": "2" }), want: ["Insufficient example.com/gpu"] },
    {
      name: "containers summed (2×600m > 1)",
      alloc: { cpu: "1", pods: "5" },
      existing: [],
      pod: containers({ cpu: "600m" }, { cpu: "600m" }),
      want: ["Insufficient cpu"],
    },
    {
      name: "init container max'd, not summed",
      alloc: { cpu: "1", pods: "5" },
      existing: [],
      pod: { ...containers({ cpu: "500m" }), initContainers: [{ name: "i", image: "x", ...req({ cpu: "900m" }) }] },
    },
    {
      name: "init container larger than node",
      alloc: { cpu: "1", pods: "5" },
      existing: [],
      pod: { ...containers({ cpu: "500m" }), initContainers: [{ name: "i", image: "x", ...req({ cpu: "1500m" }) }] },
      want: ["Insufficient cpu"],
    },
    {
      name: "sidecar adds to containers",
      alloc: { cpu: "1", pods: "5" },
      existing: [],
      pod: { ...containers({ cpu: "600m" }), initContainers: [{ name: "s", image: "x", restartPolicy: "Always", ...req({ cpu: "600m" }) }] },
      want: ["Insufficient cpu"],
    },
    { name: "overhead counts", alloc: { cpu: "1", pods: "5" }, existing: [], pod: { ...containers({ cpu: "900m" }), overhead: { cpu: "200m" } }, want: ["Insufficient cpu"] },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const snap = Snapshot.fromObjects([node("n1", c.alloc)], c.existing.map((s, i) => pod(`e${i}`, s, "n1")));
      const got = runFilterPlugin(nodeResourcesFit, pod("p", c.pod), snap, "n1");
      assert.deepEqual(got?.reasons, c.want);
    });
  }
});

test("NodeResourcesFit scores LeastAllocated: emptier node wins", () => {
  const snap = Snapshot.fromObjects(
    [node("busy", { cpu: "4", memory: "8Gi", pods: "10" }), node("idle", { cpu: "4", memory: "8Gi", pods: "10" })],
    [pod("e", containers({ cpu: "3", memory: "6Gi" }), "busy")],
  );
  const s = runScorePlugin(nodeResourcesFit, pod("p", containers({ cpu: "1", memory: "2Gi" })), snap);
  // idle: cpu (4-1)/4=75, mem (8-2)/8=75 → 75; busy: cpu 0, mem 0 → 0.
  assert.deepEqual(s, { busy: 0, idle: 75 });
});

test("NodeResourcesFit scores zero requests with non-zero defaults (100m, 200Mi)", () => {
  const snap = Snapshot.fromObjects([node("n", { cpu: "1", memory: "2000Mi", pods: "10" })]);
  const s = runScorePlugin(nodeResourcesFit, pod("p", containers({})), snap);
  // cpu (1000-100)/1000 = 90, mem (2000-200)/2000 = 90
  assert.deepEqual(s, { n: 90 });
});

test("BalancedAllocation prefers balanced cpu/memory use", () => {
  const snap = Snapshot.fromObjects([node("a", { cpu: "4", memory: "4Gi", pods: "10" }), node("b", { cpu: "4", memory: "4Gi", pods: "10" })], [
    pod("e", containers({ cpu: "2", memory: "100Mi" }), "b"),
  ]);
  const s = runScorePlugin(nodeResourcesBalancedAllocation, pod("p", containers({ cpu: "1", memory: "1Gi" })), snap);
  // a: fractions .25/.25 → 100; b: .75/(1124Mi/4096Mi≈.274) → std≈.238 → 76
  assert.equal(s.a, 100);
  assert.equal(s.b, 76);
});

// The filter's fast path (pod requests from PodInfo, only the requested extended
// resources walked) must give the same verdict as the full check on every case: a grid
// of nodes (sizes, fill, extended resources) × pods (plain, init, sidecar, overhead, extended).
test("NodeResourcesFit fast path agrees with the full check (insufficientResources)", () => {
  const allocs: Record<string, string>[] = [
    { cpu: "1", memory: "1Gi", pods: "2" },
    { cpu: "4", memory: "32Gi", pods: "110", "ephemeral-storage": "100Gi" },
    { cpu: "2", memory: "4Gi", pods: "10", "example.com/gpu": "1", "hugepages-2Mi": "64Mi" },
    { pods: "0" },
    {},
  ];
  const pods: Record<string, unknown>[] = [
    containers({}),
    containers({ cpu: "100m", memory: "500Mi" }),
    containers({ cpu: "600m" }, { cpu: "600m" }),
    containers({ "ephemeral-storage": "1Gi" }),
    containers({ "example.com/gpu": "1" }),
    containers({ "example.com/gpu": "2", "hugepages-2Mi": "32Mi" }),
    containers({ "example.com/gpu": "0", cpu: "1" }),
    { ...containers({ cpu: "500m" }), initContainers: [{ name: "i", image: "x", ...req({ cpu: "1500m" }) }] },
    { ...containers({ cpu: "600m" }), initContainers: [{ name: "s", image: "x", restartPolicy: "Always", ...req({ cpu: "600m", memory: "1Gi" }) }] },
    { ...containers({ cpu: "900m" }), overhead: { cpu: "200m", memory: "100Mi" } },
  ];
  const fills = [[], [containers({ cpu: "500m", memory: "512Mi", "example.com/gpu": "1" })], [containers({}), containers({ cpu: "1" })]];
  let checked = 0;
  for (const alloc of allocs) {
    for (const fill of fills) {
      const snap = Snapshot.fromObjects([node("n", alloc)], fill.map((s, i) => pod(`e${i}`, s, "n")));
      const ni = snap.get("n")!;
      for (const p of pods) {
        const info = podInfoFromPod(pod("p", p));
        const ctx = { pod: info, snapshot: snap, state: new Map() };
        const want = insufficientResources(ctx, ni);
        assert.deepEqual(nodeResourcesFit.filter!(ctx, ni)?.reasons ?? [], want, JSON.stringify({ alloc, fill: fill.length, p }));
        checked++;
      }
    }
  }
  assert.equal(checked, allocs.length * fills.length * pods.length);
});

test("PodInfo lists only the extended resources a pod requests", () => {
  assert.deepEqual(podInfoFromPod(pod("p", containers({ cpu: "1" }))).scalarRequests, []);
  assert.deepEqual(podInfoFromPod(pod("p", containers({ "example.com/gpu": "0", "hugepages-1Gi": "1Gi" }))).scalarRequests, ["hugepages-1Gi"]);
});

// The array-free BalancedAllocation must score exactly like the general form it replaced.
test("BalancedAllocation equals the n-resource standard deviation form, bit for bit", () => {
  const reference = (cpuReq: number, cpuAlloc: number, memReq: number, memAlloc: number): number => {
    const fractions: number[] = [];
    if (cpuAlloc > 0) fractions.push(Math.min(1, cpuReq / cpuAlloc));
    if (memAlloc > 0) fractions.push(Math.min(1, memReq / memAlloc));
    if (fractions.length < 2) return 100;
    const mean = fractions.reduce((a, b) => a + b, 0) / fractions.length;
    const variance = fractions.reduce((a, f) => a + (f - mean) ** 2, 0) / fractions.length;
    return Math.floor((1 - Math.sqrt(variance)) * 100);
  };
  const cpus = ["0", "1", "3", "4", "7500m"];
  const mems = ["0", "1Gi", "4Gi", "32Gi", "1000Mi"];
  const podReqs: Record<string, string>[] = [{}, { cpu: "100m", memory: "500Mi" }, { cpu: "2", memory: "1Gi" }, { cpu: "333m", memory: "777Mi" }];
  for (const cpu of cpus) {
    for (const memory of mems) {
      const snap = Snapshot.fromObjects([node("n", { cpu, memory, pods: "10" })], [pod("e", containers({ cpu: "250m", memory: "300Mi" }), "n")]);
      const ni = snap.get("n")!;
      for (const r of podReqs) {
        const info = podInfoFromPod(pod("p", containers(r)));
        const got = nodeResourcesBalancedAllocation.score!({ pod: info, snapshot: snap, state: new Map() }, ni);
        const want = reference(ni.nonZeroCPU + info.nonZeroCPU, ni.allocatable.milliCPU, ni.nonZeroMemory + info.nonZeroMemory, ni.allocatable.memory);
        assert.equal(got, want, JSON.stringify({ cpu, memory, r }));
      }
    }
  }
});
