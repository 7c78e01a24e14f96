import { test } from "node:test";
import assert from "node:assert/strict";
import { Snapshot } from "../snapshot.js";
import { runFilterPlugin } from "../framework.js";
import { nodeName } from "./nodename.js";

test("NodeName filter", async (t) => {
  const snap = Snapshot.fromObjects([{ metadata: { name: "a" } }, { metadata: { name: "b" } }]);
  const cases: [string, string | undefined, string, string | undefined][] = [
    ["no nodeName: any node", undefined, "a", undefined],
    ["named node matches", "a", "a", undefined],
    ["other node rejected", "a", "b", "node(s) didn't match the requested node name"],
  ];
  for (const [name, want, on, reason] of cases) {
    await t.test(name, () => {
      const got = runFilterPlugin(nodeName, { metadata: { name: "p" }, spec: want ? { nodeName: want } : {} }, snap, on);
      assert.deepEqual(got?.reasons, reason ? [reason] : undefined);
    });
  }
});
