import { test } from "node:test";
import assert from "node:assert/strict";
import { Snapshot } from "../snapshot.js";
import { runFilterPlugin, runScorePlugin } from "../framework.js";
import { nodeAffinity } from "./nodeaffinity.js";

const MSG = "node(s) didn't match Pod's node affinity/selector";
const node = (name: string, labels: Record<string, string>) => ({ metadata: { name, labels } });
const required = (...terms: unknown[]) => ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } });
const expr = (key: string, operator: string, values?: string[]) => ({ matchExpressions: [{ key, operator, ...(values ? { values } : {}) }] });

test("NodeAffinity filter", async (t) => {
  const labels = { zone: "a", disk: "ssd", cores: "8" };
  const cases: [string, Record<string, unknown>, boolean][] = [
    ["no selector", {}, true],
    ["nodeSelector match", { nodeSelector: { zone: "a" } }, true],
    ["nodeSelector mismatch", { nodeSelector: { zone: "b" } }, false],
    ["In", required(expr("zone", "In", ["a", "b"])), true],
    ["In mismatch", required(expr("zone", "In", ["b"])), false],
    ["NotIn", required(expr("zone", "NotIn", ["b"])), true],
    ["NotIn on absent key", required(expr("rack", "NotIn", ["x"])), true],
    ["Exists", required(expr("disk", "Exists")), true],
    ["DoesNotExist", required(expr("disk", "DoesNotExist")), false],
    ["Gt", required(expr("cores", "Gt", ["4"])), true],
    ["Lt", required(expr("cores", "Lt", ["4"])), false],
    ["Gt with non-integer label", required(expr("zone", "Gt", ["1"])), false],
    ["terms are ORed", required(expr("zone", "In", ["x"]), expr("disk", "In", ["ssd"])), true],
    ["expressions are ANDed", required({ matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }, { key: "disk", operator: "In", values: ["hdd"] }] }), false],
    ["matchFields metadata.name", required({ matchFields: [{ key: "metadata.name", operator: "In", values: ["n"] }] }), true],
    ["matchFields other name", required({ matchFields: [{ key: "metadata.name", operator: "In", values: ["m"] }] }), false],
    ["empty term matches nothing", required({}), false],
    ["nodeSelector and affinity both needed", { nodeSelector: { zone: "b" }, ...required(expr("zone", "In", ["a"])) }, false],
  ];
  for (const [name, spec, fits] of cases) {
    await t.test(name, () => {
      const got = runFilterPlugin(nodeAffinity, { metadata: { name: "p" }, spec }, Snapshot.fromObjects([node("n", labels)]), "n");
      assert.deepEqual(got?.reasons, fits ? undefined : [MSG]);
    });
  }
});

test("NodeAffinity preferred terms score by weight", () => {
  const snap = Snapshot.fromObjects([node("a", { zone: "a", disk: "ssd" }), node("b", { zone: "b", disk: "ssd" }), node("c", { zone: "c" })]);
  const spec = {
    affinity: {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 80, preference: expr("zone", "In", ["a"]) },
          { weight: 20, preference: expr("disk", "In", ["ssd"]) },
        ],
      },
    },
  };
  assert.deepEqual(runScorePlugin(nodeAffinity, { metadata: { name: "p" }, spec }, snap), { a: 100, b: 20, c: 0 });
});
