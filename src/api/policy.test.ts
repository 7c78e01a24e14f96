import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../apimachinery/types.js";
import { policyResources } from "./policy.js";

const def = policyResources[0];
const now = new Date("2024-01-01T01:00:00Z");
const pdb = (spec: Record<string, unknown>): KObject => ({ metadata: { name: "p", namespace: "default", creationTimestamp: "2024-01-01T00:00:00Z" }, spec: { selector: { matchLabels: { app: "web" } }, ...spec } });

test("pdb validation and table", () => {
  assert.deepEqual(def.validate!(pdb({ minAvailable: 2 }), { operation: "create" }), []);
  assert.deepEqual(def.validate!(pdb({ maxUnavailable: "50%" }), { operation: "create" }), []);
  assert.match(def.validate!(pdb({ minAvailable: 1, maxUnavailable: 1 }), { operation: "create" })[0].message, /minAvailable and maxUnavailable cannot be both set/);
  assert.match(def.validate!(pdb({ minAvailable: "120%" }), { operation: "create" })[0].message, /must not be greater than 100%/);
  assert.equal(def.validate!(pdb({ minAvailable: -1 }), { operation: "create" })[0].field, "spec.minAvailable");
  assert.equal(def.validate!(pdb({ unhealthyPodEvictionPolicy: "Sometimes" }), { operation: "create" })[0].reason, "FieldValueNotSupported");
  const p = pdb({ minAvailable: "50%" });
  p.status = { disruptionsAllowed: 1 };
  assert.deepEqual(def.table!.cells(p, now), ["50%", "N/A", 1, "60m"]);
  assert.deepEqual(def.shortNames, ["pdb"]);
});
