import { test } from "node:test";
import assert from "node:assert/strict";
import { Snapshot } from "../snapshot.js";
import { runFilterPlugin, runScorePlugin } from "../framework.js";
import { taintToleration, toleratesTaint } from "./tainttoleration.js";

const node = (name: string, taints: unknown[]) => ({ metadata: { name }, spec: { taints }, status: { allocatable: { pods: "10" } } });
const pod = (tolerations: unknown[] = []) => ({ metadata: { name: "p", namespace: "default" }, spec: { tolerations, containers: [] } });

test("toleratesTaint", async (t) => {
  const taint = { key: "k", value: "v", effect: "NoSchedule" };
  const cases: [string, Record<string, string>, boolean][] = [
    ["Equal key/value/effect", { key: "k", operator: "Equal", value: "v", effect: "NoSchedule" }, true],
    ["default operator is Equal", { key: "k", value: "v" }, true],
    ["value differs", { key: "k", value: "w" }, false],
    ["effect differs", { key: "k", value: "v", effect: "NoExecute" }, false],
    ["Exists on key", { key: "k", operator: "Exists" }, true],
    ["empty key Exists tolerates everything", { operator: "Exists" }, true],
    ["other key", { key: "x", operator: "Exists" }, false],
  ];
  for (const [name, tol, want] of cases) await t.test(name, () => assert.equal(toleratesTaint(tol, taint), want));
});

test("TaintToleration filter", async (t) => {
  const cp = { key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" };
  const cases: { name: string; taints: unknown[]; tolerations: unknown[]; want?: string }[] = [
    { name: "no taints", taints: [], tolerations: [] },
    { name: "untolerated NoSchedule, empty value", taints: [cp], tolerations: [], want: "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }" },
    { name: "untolerated NoExecute with value", taints: [{ key: "a", value: "b", effect: "NoExecute" }], tolerations: [], want: "node(s) had untolerated taint {a: b}" },
    { name: "PreferNoSchedule does not filter", taints: [{ key: "a", effect: "PreferNoSchedule" }], tolerations: [] },
    { name: "tolerated", taints: [cp], tolerations: [{ key: cp.key, operator: "Exists", effect: "NoSchedule" }] },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const got = runFilterPlugin(taintToleration, pod(c.tolerations), Snapshot.fromObjects([node("n", c.taints)]), "n");
      assert.deepEqual(got?.reasons, c.want ? [c.want] : undefined);
      if (c.want) assert.equal(got?.unresolvable, true);
    });
  }
});

test("TaintToleration scores fewer PreferNoSchedule taints higher", () => {
  const soft = (k: string) => ({ key: k, effect: "PreferNoSchedule" });
  const snap = Snapshot.fromObjects([node("clean", []), node("one", [soft("a")]), node("two", [soft("a"), soft("b")])]);
  assert.deepEqual(runScorePlugin(taintToleration, pod(), snap), { clean: 100, one: 50, two: 0 });
  assert.deepEqual(runScorePlugin(taintToleration, pod([{ key: "a", operator: "Exists" }]), snap), { clean: 100, one: 100, two: 0 });
});
