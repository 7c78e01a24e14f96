import { test } from "node:test";
import assert from "node:assert/strict";
import { Snapshot } from "../snapshot.js";
import { runFilterPlugin, runScorePlugin } from "../framework.js";
import { nodeResourcesFit, nodeResourcesBalancedAllocation } from "./noderesources.js";

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
