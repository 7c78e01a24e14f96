import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../apimachinery/types.js";
import { schedulingResources, SYSTEM_PRIORITY_CLASSES } from "./scheduling.js";

const def = schedulingResources[0];
const now = new Date("2024-01-01T01:00:00Z");

test("priorityclass defaults, validation, table", () => {
  const pc: KObject = { metadata: { name: "high", creationTimestamp: "2024-01-01T00:00:00Z" }, value: 1000, globalDefault: true };
  def.defaults!(pc);
  assert.equal(pc.preemptionPolicy, "PreemptLowerPriority");
  assert.deepEqual(def.validate!(pc, { operation: "create" }), []);
  assert.deepEqual(def.table!.cells(pc, now), [1000, true, "60m", "PreemptLowerPriority"]);
  assert.equal(def.validate!({ metadata: { name: "x" } }, { operation: "create" })[0].field, "value");
  assert.equal(def.validate!({ metadata: { name: "x" }, value: "1" }, { operation: "create" })[0].reason, "FieldValueTypeInvalid");
  assert.match(def.validate!({ metadata: { name: "x" }, value: 2e9 }, { operation: "create" })[0].message, /maximum allowed value of a user defined priority is 1000000000/);
  assert.match(def.validate!({ metadata: { name: "system-foo" }, value: 1 }, { operation: "create" })[0].message, /system-foo is not a known system priority class/);
  for (const sys of SYSTEM_PRIORITY_CLASSES) assert.deepEqual(def.validate!(structuredClone(sys), { operation: "create" }), []);
  const old = { ...pc, metadata: { ...pc.metadata, resourceVersion: "1" } };
  const upd = { ...old, value: 5, preemptionPolicy: "Never" };
  assert.deepEqual(def.validate!(upd, { operation: "update", old }).map((e) => e.field), ["value", "preemptionPolicy"]);
});
