// Restart back-off (backoff.ts): Go duration strings, the 10 s → 5 min doubling with an
// immediate first restart, the reset after a long run, configurable base/cap, and the
// CrashLoopBackOff message wording.

import { test } from "node:test";
import assert from "node:assert/strict";
import { crashLoopMessage, formatGoDuration, RestartBackoff } from "./backoff.js";

test("Go duration strings as the kubelet prints them", () => {
  assert.equal(formatGoDuration(10_000), "10s");
  assert.equal(formatGoDuration(80_000), "1m20s");
  assert.equal(formatGoDuration(300_000), "5m0s");
  assert.equal(formatGoDuration(200), "200ms");
  assert.equal(formatGoDuration(1500), "1.5s");
  assert.equal(formatGoDuration(0), "0s");
});

test("restart back-off: first restart immediate, then 10s doubling to 5m, reset after a long run", () => {
  let now = 1_000_000;
  const b = new RestartBackoff({ now: () => now });
  const k = RestartBackoff.key("uid", "c");
  // First exit: no history, restart at once; the back-off is armed at 10 s.
  assert.deepEqual(b.remaining(k, now), { waitMs: 0, delayMs: 0 });
  assert.equal(b.next(k, now), 10_000);
  // Second exit right after: wait 10 s from the finish.
  now += 1000;
  assert.deepEqual(b.remaining(k, now), { waitMs: 10_000, delayMs: 10_000 });
  now += 10_000;
  assert.equal(b.remaining(k, now - 10_000).waitMs, 0);
  const delays = [];
  for (let i = 0; i < 7; i++) delays.push(b.next(k, now));
  assert.deepEqual(delays, [20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  // A container that ran 10 minutes starts over.
  const started = now + 1000;
  now = started + 600_000;
  assert.deepEqual(b.remaining(k, now, started), { waitMs: 0, delayMs: 0 });
  assert.equal(b.next(k, now), 10_000);
  b.forgetPod("uid");
  assert.equal(b.remaining(k, now).waitMs, 0);
});

test("configurable base and cap", () => {
  let now = 0;
  const b = new RestartBackoff({ baseMs: 200, maxMs: 1000, now: () => now });
  const k = "p/c";
  const seq = [b.next(k, 0), b.next(k, 0), b.next(k, 0), b.next(k, 0), b.next(k, 0)];
  assert.deepEqual(seq, [200, 400, 800, 1000, 1000]);
  assert.equal(b.resetAfterMs, 2000);
});

test("CrashLoopBackOff message wording", () => {
  assert.equal(crashLoopMessage(20_000, "app", { name: "web", namespace: "default", uid: "u-1" }), "back-off 20s restarting failed container=app pod=web_default(u-1)");
});
