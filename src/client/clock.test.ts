import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock, realClock } from "./clock.js";

test("FakeClock fires timers in time order only when advanced", async () => {
  const clock = new FakeClock(1_000);
  const fired: string[] = [];
  clock.setTimer(() => fired.push(`b@${clock.now()}`), 200);
  clock.setTimer(() => fired.push(`a@${clock.now()}`), 100);
  const stopped = clock.setTimer(() => fired.push("never"), 150);
  assert.equal(stopped.stop(), true);
  assert.equal(stopped.stop(), false);
  assert.equal(clock.pending(), 2);
  await clock.advance(99);
  assert.deepEqual(fired, []);
  await clock.advance(500);
  assert.deepEqual(fired, ["a@1100", "b@1200"]);
  assert.equal(clock.now(), 1_599);
});

test("after() resolves on fake time, chains, and rejects on abort", async () => {
  const clock = new FakeClock();
  const t0 = clock.now();
  let done = 0;
  void (async () => {
    await clock.after(10);
    await clock.after(10);
    done = clock.now() - t0;
  })();
  await clock.advance(25);
  assert.equal(done, 20);
  const ac = new AbortController();
  const p = clock.after(1_000, ac.signal);
  ac.abort(new Error("stop"));
  await assert.rejects(p, /stop/);
  assert.equal(clock.pending(), 0);
  await assert.rejects(realClock.after(5, AbortSignal.abort(new Error("already"))), /already/);
  await realClock.after(1);
});
