import { test } from "node:test";
import assert from "node:assert/strict";
import { Framework, fitErrorMessage, numFeasibleNodesToFind } from "./framework.js";
import { Snapshot, podInfoFromPod } from "./snapshot.js";
import { defaultPlugins } from "./plugins/registry.js";

const node = (name: string, cpu: string, extra: Record<string, unknown> = {}) => ({
  metadata: { name, labels: { "kubernetes.io/hostname": name } },
  spec: { ...extra },
  status: { allocatable: { cpu, memory: "4Gi", pods: "110" } },
});
const pod = (name: string, cpu: string, spec: Record<string, unknown> = {}) =>
  podInfoFromPod({ metadata: { name, namespace: "default" }, spec: { containers: [{ name: "c", image: "x", resources: { requests: { cpu } } }], ...spec } });
const controlPlane = { taints: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }] };

test("numFeasibleNodesToFind is adaptive like kube-scheduler", () => {
  assert.equal(numFeasibleNodesToFind(50), 50);
  assert.equal(numFeasibleNodesToFind(100), 100);
  assert.equal(numFeasibleNodesToFind(1000), 420); // 50 - 1000/125 = 42 %
  assert.equal(numFeasibleNodesToFind(5000), 500); // 10 %
  assert.equal(numFeasibleNodesToFind(10000), 500); // floor of 5 %
  assert.equal(numFeasibleNodesToFind(300, 10), 100); // never fewer than 100
  assert.equal(numFeasibleNodesToFind(300, 100), 300);
});

test("counts rejection reasons into the upstream message", () => {
  const snap = Snapshot.fromObjects([node("w1", "1"), node("w2", "1"), node("w3", "1"), node("cp1", "8", controlPlane), node("cp2", "8", controlPlane)]);
  const fw = new Framework(defaultPlugins());
  const r = fw.schedule(pod("big", "2"), snap);
  assert.equal(r.node, undefined);
  assert.equal(r.metric.nodesEvaluated, 5);
  assert.deepEqual(Object.fromEntries(r.metric.rejectedBy), { NodeResourcesFit: 3, TaintToleration: 2 });
  assert.equal(
    fitErrorMessage(5, r.metric, "preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling."),
    "0/5 nodes are available: 3 Insufficient cpu, 2 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling.",
  );
  assert.equal(r.failures?.get("cp1")?.unresolvable, true);
  assert.equal(r.failures?.get("w1")?.unresolvable, undefined);
});

test("a node can count for several reasons; a preFilter rejection replaces the list", () => {
  const snap = Snapshot.fromObjects([node("a", "1"), node("b", "1")]);
  const fw = new Framework(defaultPlugins());
  const p = podInfoFromPod({
    metadata: { name: "p", namespace: "default" },
    spec: { containers: [{ name: "c", image: "x", resources: { requests: { cpu: "2", memory: "8Gi" } } }] },
  });
  const r = fw.schedule(p, snap);
  assert.equal(fitErrorMessage(2, r.metric), "0/2 nodes are available: 2 Insufficient cpu, 2 Insufficient memory.");
  assert.equal(fitErrorMessage(2, { reasons: new Map(), preFilterMessage: "pod has unbound PVCs" }), "0/2 nodes are available: pod has unbound PVCs.");
  assert.equal(fitErrorMessage(0, { reasons: new Map() }), "no nodes available to schedule pods");
});

test("places pods, spreading by LeastAllocated, and honours assumed pods", () => {
  const snap = Snapshot.fromObjects([node("a", "2"), node("b", "2")]);
  const fw = new Framework(defaultPlugins());
  const placed: string[] = [];
  for (let i = 0; i < 4; i++) {
    const p = pod(`p${i}`, "1");
    const r = fw.schedule(p, snap);
    assert.ok(r.node, `p${i} should fit`);
    snap.assume(p, r.node);
    placed.push(r.node);
  }
  assert.deepEqual(placed.sort(), ["a", "a", "b", "b"]);
  const r = fw.schedule(pod("p5", "1"), snap);
  assert.equal(fitErrorMessage(2, r.metric), "0/2 nodes are available: 2 Insufficient cpu.");
  snap.forget("default/p0");
  assert.ok(fw.schedule(pod("p6", "1"), snap).node, "forgetting an assumed pod frees its room");
});

test("throughput: 5,000 nodes, 10,000 pods (framework only)", () => {
  const nodes = [];
  for (let i = 0; i < 5000; i++) {
    nodes.push({
      metadata: { name: `node-${i}`, labels: { "kubernetes.io/hostname": `node-${i}`, "topology.kubernetes.io/zone": `zone-${i % 3}` } },
      spec: i % 50 === 0 ? controlPlane : {},
      status: { allocatable: { cpu: "32", memory: "128Gi", pods: "110" } },
    });
  }
  const snap = Snapshot.fromObjects(nodes);
  const fw = new Framework(defaultPlugins());
  const pods = [];
  for (let i = 0; i < 10000; i++) pods.push(pod(`p${i}`, `${100 + (i % 5) * 100}m`));
  const t0 = performance.now();
  let bound = 0;
  for (const p of pods) {
    const r = fw.schedule(p, snap);
    if (r.node) {
      snap.assume(p, r.node);
      bound++;
    }
  }
  const secs = (performance.now() - t0) / 1000;
  const rate = Math.round(bound / secs);
  console.log(`# scheduler throughput: ${bound} pods on 5000 nodes in ${secs.toFixed(2)}s = ${rate} pods/s`);
  assert.equal(bound, 10000);
  assert.ok(rate > 200, `throughput ${rate} pods/s`);
});

// percentageOfNodesToScore: filtering stops once numFeasibleNodesToFind nodes fit, and
// the next attempt starts where the previous one stopped (upstream nextStartNodeIndex).
test("sampling stops at enough feasible nodes and rotates the start across attempts", () => {
  // 300 nodes: 0..149 too small for the pod, 150..299 fit. Percentage 10 → 30, floor 100.
  const nodes = [];
  for (let i = 0; i < 300; i++) nodes.push(node(`n${String(i).padStart(3, "0")}`, i < 150 ? "1" : "4"));
  const snap = Snapshot.fromObjects(nodes);
  const fw = new Framework(defaultPlugins(), { percentageOfNodesToScore: 10, random: () => 0 });
  const attempt = () => {
    const r = fw.schedule(pod("p", "2"), snap);
    return { evaluated: r.metric.nodesEvaluated, feasible: r.metric.nodesFeasible, rejected: r.metric.reasons.get("Insufficient cpu") ?? 0, node: r.node! };
  };
  // 1st: starts at 0, rejects 0..149, takes 150..249 and stops (250..299 never looked at).
  const a1 = attempt();
  assert.deepEqual([a1.evaluated, a1.feasible, a1.rejected], [250, 100, 150]);
  assert.ok(a1.node >= "n150" && a1.node <= "n249", a1.node);
  // 2nd: starts at 250: 250..299 fit (50), wraps, rejects 0..149, then 150..199 (50).
  const a2 = attempt();
  assert.deepEqual([a2.evaluated, a2.feasible, a2.rejected], [250, 100, 150]);
  assert.ok(a2.node >= "n150" && a2.node <= "n299", a2.node);
  // 3rd: starts at (250 + 250) % 300 = 200: 200..299 fit, no rejection at all.
  const a3 = attempt();
  assert.deepEqual([a3.evaluated, a3.feasible, a3.rejected], [100, 100, 0]);
  assert.ok(a3.node >= "n200", a3.node);
  // Adaptive default at 5,000 nodes: 10 % = 500 nodes evaluated when all fit.
  const big = Snapshot.fromObjects(Array.from({ length: 5000 }, (_, i) => node(`b${i}`, "4")));
  const r = new Framework(defaultPlugins()).schedule(pod("p", "100m"), big);
  assert.deepEqual([r.metric.nodesAvailable, r.metric.nodesEvaluated, r.metric.nodesFeasible], [5000, 500, 500]);
});
