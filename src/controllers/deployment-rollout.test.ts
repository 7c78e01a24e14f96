import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../apimachinery/types.js";
import { newReplicaSetReplicas, proportionalScale, resolveFenceposts, scaleDownOldReplicaSets } from "./deployment-rollout.js";

const deploy = (replicas: number, maxSurge: unknown, maxUnavailable: unknown): KObject => ({
  metadata: { name: "d" },
  spec: { replicas, strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge, maxUnavailable } } },
});
const rs = (name: string, replicas: number, available = replicas, created = "2026-01-01T00:00:00Z"): KObject => ({
  metadata: { name, creationTimestamp: created },
  spec: { replicas },
  status: { replicas, availableReplicas: available },
});

test("percent surge rounds up, percent unavailable rounds down, never both zero", () => {
  assert.deepEqual(resolveFenceposts(deploy(10, "25%", "25%")), { maxSurge: 3, maxUnavailable: 2 });
  assert.deepEqual(resolveFenceposts(deploy(1, "25%", "25%")), { maxSurge: 1, maxUnavailable: 0 });
  assert.deepEqual(resolveFenceposts(deploy(3, 0, "10%")), { maxSurge: 0, maxUnavailable: 1 });
  assert.deepEqual(resolveFenceposts(deploy(4, 2, 1)), { maxSurge: 2, maxUnavailable: 1 });
});

test("the new ReplicaSet grows within replicas + maxSurge", () => {
  const d = deploy(3, 1, 0);
  const old = rs("old", 3);
  assert.equal(newReplicaSetReplicas(d, [old], undefined), 1);
  const fresh = rs("new", 1, 0);
  assert.equal(newReplicaSetReplicas(d, [old, fresh], fresh), 1, "total already at 4");
});

test("old ReplicaSets shrink only while availability stays at replicas - maxUnavailable", () => {
  const d = deploy(3, 1, 0);
  assert.equal(scaleDownOldReplicaSets(d, [rs("old", 3)], rs("new", 1, 0)).size, 0, "new pod not available yet");
  assert.deepEqual([...scaleDownOldReplicaSets(d, [rs("old", 3)], rs("new", 1, 1))], [["old", 2]]);
  // Unhealthy old replicas go first and cost nothing.
  assert.deepEqual([...scaleDownOldReplicaSets(deploy(3, 1, 1), [rs("old", 3, 1)], rs("new", 1, 0))], [["old", 2]]);
});

test("proportional scaling spreads new replicas by size (the docs' 10 → 15 example)", () => {
  const d = deploy(15, 3, 2);
  const targets = proportionalScale(d, [rs("old", 8, 8, "2026-01-01T00:00:00Z"), rs("new", 5, 0, "2026-01-01T00:01:00Z")]);
  assert.deepEqual(Object.fromEntries(targets), { old: 11, new: 7 });
  const down = proportionalScale(deploy(5, 1, 1), [rs("old", 8), rs("new", 5)]);
  assert.equal([...down.values()].reduce((a, b) => a + b, 0), 6);
});
