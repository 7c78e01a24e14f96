import { test } from "node:test";
import assert from "node:assert/strict";
import { coordinationResources } from "./coordination.js";

const def = coordinationResources[0];

test("lease validation and table", () => {
  const lease = { metadata: { name: "tug-controller", namespace: "kube-system", creationTimestamp: "2024-01-01T00:00:00Z" }, spec: { holderIdentity: "tug-1", leaseDurationSeconds: 15, renewTime: "2024-01-01T00:00:05.000000Z" } };
  assert.deepEqual(def.validate!(lease, { operation: "create" }), []);
  assert.deepEqual(def.table!.cells(lease, new Date("2024-01-01T00:01:00Z")), ["tug-1", "60s"]);
  assert.equal(def.validate!({ ...lease, spec: { leaseDurationSeconds: 0 } }, { operation: "create" })[0].message, "Invalid value: 0: must be greater than 0");
  assert.equal(def.validate!({ ...lease, spec: { holderIdentity: 3 } }, { operation: "create" })[0].reason, "FieldValueTypeInvalid");
});
