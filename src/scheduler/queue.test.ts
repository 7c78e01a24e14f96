import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../client/clock.js";
import { SchedulingQueue, backoffDuration } from "./queue.js";
import { podInfoFromPod } from "./snapshot.js";

const pod = (name: string, priority = 0, created = "2026-01-01T00:00:00Z") =>
  podInfoFromPod({ metadata: { name, namespace: "default", creationTimestamp: created }, spec: { priority, containers: [] } });

test("backoff doubles from 1s to 10s", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(backoffDuration), [1000, 2000, 4000, 8000, 10000, 10000]);
});

test("pops by priority, then creation time", () => {
  const q = new SchedulingQueue(new FakeClock());
  q.addOrUpdate(pod("low", 0, "2026-01-01T00:00:00Z"));
  q.addOrUpdate(pod("high-new", 100, "2026-01-01T00:00:05Z"));
  q.addOrUpdate(pod("high-old", 100, "2026-01-01T00:00:01Z"));
  q.addOrUpdate(pod("mid", 50));
  const order = [];
  for (let p = q.tryPop(); p; p = q.tryPop()) order.push(p.info.name);
  assert.deepEqual(order, ["high-old", "high-new", "mid", "low"]);
});

test("unschedulable pods wait for a cluster event, then for their backoff", async () => {
  const clock = new FakeClock();
  const q = new SchedulingQueue(clock);
  q.addOrUpdate(pod("p"));
  const qp = q.tryPop()!;
  q.requeue(qp, true);
  assert.deepEqual(q.stats(), { active: 0, backoff: 0, unschedulable: 1, inflight: 0 });
  await clock.advance(5000);
  assert.equal(q.tryPop(), undefined, "no event: still parked");
  q.moveAllToActiveOrBackoff();
  // 5 s passed since the failure, more than the 1 s backoff: straight to active.
  assert.equal(q.tryPop()?.info.name, "p");
  q.requeue(qp, true);
  q.moveAllToActiveOrBackoff();
  assert.equal(q.stats().backoff, 1, "second failure: 2 s backoff");
  await clock.advance(1999);
  assert.equal(q.tryPop(), undefined);
  await clock.advance(1);
  assert.equal(q.tryPop()?.info.name, "p");
});

test("a cluster event during the attempt sends a failure to backoff, not the unschedulable pool", async () => {
  const clock = new FakeClock();
  const q = new SchedulingQueue(clock);
  q.addOrUpdate(pod("p"));
  const qp = q.tryPop()!;
  q.moveAllToActiveOrBackoff();
  q.requeue(qp, true);
  assert.equal(q.stats().backoff, 1);
  await clock.advance(1000);
  assert.equal(q.tryPop()?.info.name, "p");
});

test("pop waits for a pod and stops on abort", async () => {
  const q = new SchedulingQueue(new FakeClock());
  const ac = new AbortController();
  const waiting = q.pop(ac.signal);
  q.addOrUpdate(pod("late"));
  assert.equal((await waiting)?.info.name, "late");
  const w2 = q.pop(ac.signal);
  ac.abort();
  assert.equal(await w2, undefined);
});

test("delete removes a queued pod; done forgets an in-flight one", () => {
  const q = new SchedulingQueue(new FakeClock());
  q.addOrUpdate(pod("a"));
  q.addOrUpdate(pod("b"));
  q.delete("default/a");
  const b = q.tryPop()!;
  assert.equal(b.info.name, "b");
  q.done("default/b");
  assert.equal(q.has("default/b"), false);
  assert.equal(q.tryPop(), undefined);
});
