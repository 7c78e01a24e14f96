import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "./clock.js";
import { BucketRateLimiter, ItemExponentialFailureRateLimiter, WorkQueue, defaultControllerRateLimiter } from "./workqueue.js";

test("de-duplicates queued items and keeps FIFO order", async () => {
  const q = new WorkQueue({ clock: new FakeClock() });
  q.add("a");
  q.add("b");
  q.add("a");
  assert.equal(q.len(), 2);
  assert.equal(await q.get(), "a");
  assert.equal(await q.get(), "b");
  assert.equal(q.len(), 0);
});

test("an item re-added while processing is queued again only after done", async () => {
  const q = new WorkQueue({ clock: new FakeClock() });
  q.add("a");
  const item = await q.get();
  assert.equal(item, "a");
  q.add("a");
  q.add("a");
  assert.equal(q.len(), 0, "not handed out while a worker holds it");
  let second: string | undefined;
  void q.get().then((x) => (second = x));
  await new Promise((r) => setImmediate(r));
  assert.equal(second, undefined);
  q.done("a");
  await new Promise((r) => setImmediate(r));
  assert.equal(second, "a");
  q.done("a");
  assert.equal(q.len(), 0);
});

test("a blocked get is woken by add", async () => {
  const q = new WorkQueue({ clock: new FakeClock() });
  const p = q.get();
  q.add("x");
  assert.equal(await p, "x");
});

test("addAfter fires on fake time, and an earlier add wins", async () => {
  const clock = new FakeClock();
  const q = new WorkQueue({ clock });
  q.addAfter("a", 1000);
  q.addAfter("a", 100);
  q.addAfter("a", 5000);
  await clock.advance(99);
  assert.equal(q.len(), 0);
  await clock.advance(1);
  assert.equal(q.len(), 1);
  await clock.advance(10_000);
  assert.equal(q.len(), 1, "the later timers were dropped");
});

test("per-item exponential backoff 5ms→1000s, reset by forget", () => {
  const l = new ItemExponentialFailureRateLimiter();
  assert.deepEqual([l.when("a"), l.when("a"), l.when("a"), l.when("b")], [5, 10, 20, 5]);
  assert.equal(l.numRequeues("a"), 3);
  for (let i = 0; i < 40; i++) l.when("a");
  assert.equal(l.when("a"), 1_000_000);
  l.forget("a");
  assert.equal(l.when("a"), 5);
});

test("token bucket allows a burst of 100 then 10 per second", async () => {
  const clock = new FakeClock();
  const b = new BucketRateLimiter(10, 100, clock);
  for (let i = 0; i < 100; i++) assert.equal(b.when(), 0);
  assert.equal(b.when(), 100);
  assert.equal(b.when(), 200);
  await clock.advance(1000);
  // 10 tokens refilled, 2 were owed.
  for (let i = 0; i < 8; i++) assert.equal(b.when(), 0);
  assert.equal(b.when(), 100);
});

test("addRateLimited backs off and forget resets", async () => {
  const clock = new FakeClock();
  const q = new WorkQueue({ clock, rateLimiter: defaultControllerRateLimiter(clock) });
  q.addRateLimited("a");
  await clock.advance(4);
  assert.equal(q.len(), 0);
  await clock.advance(1);
  assert.equal(q.len(), 1);
  const a = await q.get();
  q.done(a!);
  q.addRateLimited("a");
  await clock.advance(9);
  assert.equal(q.len(), 0);
  await clock.advance(1);
  assert.equal(q.len(), 1);
  assert.equal(q.numRequeues("a"), 2);
  q.forget("a");
  assert.equal(q.numRequeues("a"), 0);
});

test("shutdown wakes blocked getters, drops delayed adds, and drains in-flight items", async () => {
  const clock = new FakeClock();
  const q = new WorkQueue({ clock });
  q.add("a");
  const a = await q.get();
  const blocked = q.get();
  q.addAfter("b", 10);
  let drained = false;
  const d = q.shutdownWithDrain().then(() => (drained = true));
  assert.equal(await blocked, undefined);
  assert.equal(await q.get(), undefined);
  q.add("c");
  assert.equal(q.len(), 0);
  assert.equal(clock.pending(), 0);
  await new Promise((r) => setImmediate(r));
  assert.equal(drained, false);
  q.done(a!);
  await d;
  assert.equal(drained, true);
});

test("many workers never process the same item concurrently", async () => {
  const q = new WorkQueue({ clock: new FakeClock() });
  const active = new Set<string>();
  let processed = 0;
  const workers = Array.from({ length: 4 }, async () => {
    for (;;) {
      const item = await q.get();
      if (item === undefined) return;
      assert.ok(!active.has(item), `${item} processed twice at once`);
      active.add(item);
      await new Promise((r) => setImmediate(r));
      if (processed < 20) q.add(item); // re-add while processing
      processed++;
      active.delete(item);
      q.done(item);
    }
  });
  for (const k of ["a", "b", "a", "b", "c"]) q.add(k);
  while (processed < 20) await new Promise((r) => setImmediate(r));
  while (q.len() > 0 || active.size > 0) await new Promise((r) => setImmediate(r));
  q.shutdown();
  await Promise.all(workers);
  assert.ok(processed >= 20);
});
