import { test } from "node:test";
import assert from "node:assert/strict";
import { Snapshot } from "../snapshot.js";
import { runFilterPlugin } from "../framework.js";
import { nodeUnschedulable } from "./nodeunschedulable.js";

test("NodeUnschedulable filter", async (t) => {
  const cases: { name: string; unschedulable: boolean; tolerations: unknown[]; want?: string }[] = [
    { name: "schedulable node", unschedulable: false, tolerations: [] },
    { name: "cordoned node", unschedulable: true, tolerations: [], want: "node(s) were unschedulable" },
    { name: "cordoned, tolerated", unschedulable: true, tolerations: [{ key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" }] },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const snap = Snapshot.fromObjects([{ metadata: { name: "n" }, spec: { unschedulable: c.unschedulable } }]);
      const got = runFilterPlugin(nodeUnschedulable, { metadata: { name: "p" }, spec: { tolerations: c.tolerations } }, snap, "n");
      assert.deepEqual(got?.reasons, c.want ? [c.want] : undefined);
    });
  }
});
