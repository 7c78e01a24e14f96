// Tests of periodic compaction (compactor.ts) on a real SQLite store and fake time:
// the window keeps both the last keepMs of history and at least keepRevisions.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeClock } from "../client/clock.js";
import { Compactor } from "./compactor.js";
import { SqliteStore } from "./sqlite.js";
import { CompactedError } from "./types.js";

async function withStore(fn: (s: SqliteStore) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "tug-compactor-"));
  const s = new SqliteStore(join(dir, "s.db"), { durable: false });
  try {
    await fn(s);
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function writes(s: SqliteStore, n: number): Promise<number> {
  let rev = (await s.get("/k"))?.modRevision ?? (await s.create("/k", "0"));
  for (let i = 0; i < n; i++) rev = await s.update("/k", String(i), rev);
  return rev;
}

test("compacts only history older than the window and beyond the revision floor", () =>
  withStore(async (s) => {
    const clock = new FakeClock();
    const c = new Compactor(s, { keepMs: 300_000, keepRevisions: 10, clock });
    const r0 = await writes(s, 50); // at t=0
    assert.equal(await c.runOnce(), undefined, "nothing is older than the window yet");
    await clock.advance(120_000);
    const r1 = await writes(s, 50); // at t=2min
    assert.equal(await c.runOnce(), undefined);
    await clock.advance(200_000); // t=5min20s: the t=0 sample left the window
    await writes(s, 50);
    assert.equal(await c.runOnce(), r0);
    assert.equal(await s.compactedRevision(), r0);
    await assert.rejects(s.list("/", { revision: r0 - 1 }), CompactedError);
    assert.equal((await s.list("/", { revision: r0 })).kvs[0].value, "49");
    await clock.advance(120_000); // t=7min20s: the t=2min sample left the window
    assert.equal(await c.runOnce(), r1);
  }));

test("keeps at least keepRevisions even when all history is old", () =>
  withStore(async (s) => {
    const clock = new FakeClock();
    const c = new Compactor(s, { keepMs: 1000, keepRevisions: 30, clock });
    const r = await writes(s, 100);
    await c.runOnce();
    await clock.advance(10_000);
    assert.equal(await c.runOnce(), r - 30);
    assert.equal(await c.runOnce(), undefined, "same target again is a no-op");
  }));

test("start(signal) runs every interval on the injected clock and stops on abort", () =>
  withStore(async (s) => {
    const clock = new FakeClock();
    const compacted: number[] = [];
    const store = {
      currentRevision: () => s.currentRevision(),
      compactedRevision: () => s.compactedRevision(),
      compact: async (rev: number) => {
        compacted.push(rev);
        await s.compact(rev);
      },
    };
    const c = new Compactor(store, { keepMs: 60_000, keepRevisions: 5, intervalMs: 30_000, clock });
    const r0 = await writes(s, 20);
    const ac = new AbortController();
    const running = c.start(ac.signal); // first pass samples (t=0, r0)
    await clock.advance(30_000); // pass samples (t=30s, r0)
    await writes(s, 20);
    assert.deepEqual(compacted, []);
    await clock.advance(30_000); // t=60s: the t=0 sample reaches the window edge
    assert.deepEqual(compacted, [r0]);
    ac.abort();
    await running;
    assert.equal(clock.pending(), 0);
  }));

test("rejects nonsense options", () => {
  const store = { currentRevision: async () => 0, compactedRevision: async () => 0, compact: async () => {} };
  assert.throws(() => new Compactor(store, { intervalMs: 0 }), /intervalMs/);
  assert.throws(() => new Compactor(store, { keepRevisions: -1 }), /keepRevisions/);
});
