import { test } from "node:test";
import assert from "node:assert/strict";
import { selectorFromLabelSelector } from "../apimachinery/labels.js";
import { Framework } from "./framework.js";
import { Snapshot, podInfoFromPod } from "./snapshot.js";
import { defaultPlugins } from "./plugins/registry.js";
import { selectPreemption } from "./preemption.js";

const node = (name: string, cpu: string, spec: Record<string, unknown> = {}) => ({ metadata: { name }, spec, status: { allocatable: { cpu, memory: "8Gi", pods: "10" } } });
const pod = (name: string, cpu: string, priority: number, nodeName?: string, labels: Record<string, string> = {}, extra: Record<string, unknown> = {}) => ({
  metadata: { name, namespace: "default", labels, creationTimestamp: "2026-01-01T00:00:00Z" },
  spec: { nodeName, priority, containers: [{ name: "c", image: "x", resources: { requests: { cpu } } }], ...extra },
});

function attempt(nodes: object[], pods: object[], incoming: ReturnType<typeof pod>, pdbs = [] as Parameters<typeof selectPreemption>[4]) {
  const snap = Snapshot.fromObjects(nodes as never, pods as never);
  const fw = new Framework(defaultPlugins());
  const info = podInfoFromPod(incoming);
  const r = fw.schedule(info, snap);
  assert.equal(r.node, undefined, "the pod must not fit before preemption");
  return selectPreemption(fw, snap, info, r.failures!, pdbs);
}

test("evicts the fewest, lowest-priority pods on the best node", () => {
  const res = attempt(
    [node("a", "4"), node("b", "4")],
    [pod("a-low", "2", 10, "a"), pod("a-mid", "2", 50, "a"), pod("b-low1", "1", 10, "b"), pod("b-low2", "1", 10, "b"), pod("b-mid", "2", 50, "b")],
    pod("urgent", "2", 100),
  );
  assert.equal(res.message, "");
  // Node a needs one victim of priority 10; b would need two.
  assert.equal(res.nominatedNode, "a");
  assert.deepEqual(res.victims.map((v) => v.name), ["a-low"]);
});

test("no lower-priority pods: the upstream message", () => {
  const res = attempt([node("a", "1"), node("b", "1"), node("c", "1")], [], pod("huge", "100", 0));
  assert.equal(res.nominatedNode, undefined);
  assert.equal(res.message, "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.");
});

test("unresolvable failures are not helped by preemption; policy Never opts out", () => {
  const tainted = node("t", "8", { taints: [{ key: "k", effect: "NoSchedule" }] });
  const res = attempt([tainted, node("a", "1")], [pod("x", "1", 0, "a")], pod("p", "2", 10));
  assert.equal(res.message, "preemption: 0/2 nodes are available: 1 Insufficient cpu, 1 Preemption is not helpful for scheduling.");
  const never = attempt([node("a", "1")], [pod("x", "1", 0, "a")], pod("p", "1", 10, undefined, {}, { preemptionPolicy: "Never" }));
  assert.equal(never.message, "preemption: not eligible due to preemptionPolicy=Never.");
});

test("prefers victims whose PodDisruptionBudget allows the disruption", () => {
  const res = attempt(
    [node("a", "2"), node("b", "2")],
    [pod("guarded", "2", 10, "a", { app: "db" }), pod("free", "2", 10, "b", { app: "web" })],
    pod("urgent", "2", 100),
    [{ namespace: "default", selector: selectorFromLabelSelector({ matchLabels: { app: "db" } }), disruptionsAllowed: 0 }],
  );
  assert.equal(res.nominatedNode, "b");
  assert.deepEqual(res.victims.map((v) => v.name), ["free"]);
});
