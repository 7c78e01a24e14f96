// Tests of the SQLite store backend (sqlite.ts): the shared store contract on a temp
// file, plus what only this backend promises: restart safety of revisions, several
// stores (processes) on one file, compaction actually shrinking the log, speed with
// 10,000 keys, and close()/bad-input behaviour.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { storeContract } from "./contract.js";
import { openStore } from "./open.js";
import { SqliteStore } from "./sqlite.js";
import { CompactedError, KeyExistsError, RevisionMismatchError, StoreError, UnsupportedError, type StoreEvent } from "./types.js";

function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "tug-store-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

storeContract("sqlite", async () => {
  const t = tempDir();
  const store = new SqliteStore(join(t.dir, "state.db"));
  return {
    store,
    async cleanup() {
      await store.close();
      t.cleanup();
    },
  };
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(pred: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe("sqlite store", () => {
  test("revisions are never reused after compaction and reopen", async () => {
    const t = tempDir();
    try {
      const path = join(t.dir, "s.db");
      let s = new SqliteStore(path);
      const c = await s.create("/k", "1");
      const d = await s.delete("/k");
      await s.compact(d.revision); // removes the newest row (the tombstone)
      await s.close();
      s = new SqliteStore(path);
      assert.equal(await s.currentRevision(), d.revision);
      assert.equal(await s.compactedRevision(), d.revision);
      const next = await s.create("/k", "2");
      assert.ok(next > d.revision && d.revision > c);
      await s.close();
    } finally {
      t.cleanup();
    }
  });

  test("compaction drops superseded rows and tombstones, keeps latest rows", async () => {
    const t = tempDir();
    try {
      const path = join(t.dir, "s.db");
      const s = new SqliteStore(path);
      let rev = await s.create("/live", "0");
      for (let i = 1; i <= 20; i++) rev = await s.update("/live", String(i), rev);
      await s.create("/dead", "x");
      await s.delete("/dead");
      const keep = await s.create("/after", "1");
      await s.update("/after", "2", keep);
      await s.compact(keep);
      const raw = new Database(path, { readonly: true });
      const rows = raw.prepare("SELECT id, name, value FROM log ORDER BY id").all() as { name: string; value: string }[];
      raw.close();
      // /live: only its latest; /dead: nothing; /after: both rows (the update is above the bound).
      assert.deepEqual(rows.map((r) => `${r.name}=${r.value}`), ["/live=20", "/after=1", "/after=2"]);
      assert.equal((await s.get("/live"))?.value, "20");
      await s.close();
    } finally {
      t.cleanup();
    }
  });

  test("two stores on one file see each other's writes through the shared poll, once each", async () => {
    const t = tempDir();
    try {
      const path = join(t.dir, "s.db");
      const a = new SqliteStore(path, { pollIntervalMs: 50 });
      const b = new SqliteStore(path, { pollIntervalMs: 50 });
      const seenA: StoreEvent[] = [];
      const wa = await a.watch("/x/", 0, { onEvents: (e) => seenA.push(...e) });
      const revs: number[] = [];
      for (let i = 0; i < 5; i++) {
        revs.push(await b.create(`/x/b${i}`, "1"));
        revs.push(await a.create(`/x/a${i}`, "1"));
      }
      await waitFor(() => seenA.length >= 10, "10 events in store a");
      await sleep(150);
      assert.deepEqual(seenA.map((e) => e.kv.modRevision), revs);
      // CAS across the two: the stale writer loses.
      const cur = await a.get("/x/a0");
      await b.update("/x/a0", "b-wins", cur!.modRevision);
      await assert.rejects(a.update("/x/a0", "a-loses", cur!.modRevision), /revision mismatch/);
      await waitFor(() => seenA.length === 11, "the update from b");
      assert.equal(seenA[10].prevKv?.value, "1");
      wa.stop();
      await a.close();
      await b.close();
    } finally {
      t.cleanup();
    }
  });

  test("a watcher whose history another process compacted away gets CompactedError", async () => {
    const t = tempDir();
    try {
      const path = join(t.dir, "s.db");
      const a = new SqliteStore(path, { pollIntervalMs: 10_000 }); // poll never fires in time
      const b = new SqliteStore(path);
      const errors: Error[] = [];
      const w = await a.watch("/", 0, { onEvents() {}, onError: (e) => errors.push(e) });
      const c = await b.create("/k", "1");
      await b.delete("/k");
      await b.compact(await b.currentRevision());
      await a.create("/other", "1"); // a's next local write finds the gap
      assert.equal(errors.length, 1);
      assert.ok(errors[0] instanceof CompactedError);
      assert.ok(c > 0);
      w.stop();
      await a.close();
      await b.close();
    } finally {
      t.cleanup();
    }
  });

  test("close() ends watches with onError and refuses further calls", async () => {
    const t = tempDir();
    try {
      const s = new SqliteStore(join(t.dir, "s.db"));
      const errors: Error[] = [];
      let events = 0;
      await s.watch("/", 0, { onEvents: () => events++, onError: (e) => errors.push(e) });
      await s.close();
      await s.close(); // idempotent
      assert.equal(errors.length, 1);
      await assert.rejects(s.get("/a"), StoreError);
      await assert.rejects(s.create("/a", "1"), StoreError);
      assert.equal(events, 0);
    } finally {
      t.cleanup();
    }
  });

  test("a throwing onEvents ends that watch with onError; others continue", async () => {
    const t = tempDir();
    try {
      const s = new SqliteStore(join(t.dir, "s.db"));
      const errors: Error[] = [];
      let calls = 0;
      const good: StoreEvent[] = [];
      await s.watch("/", 0, {
        onEvents() {
          calls++;
          throw new Error("consumer bug");
        },
        onError: (e) => errors.push(e),
      });
      const wg = await s.watch("/", 0, { onEvents: (e) => good.push(...e) });
      await s.create("/a", "1");
      await s.create("/b", "1");
      await sleep(20);
      assert.equal(calls, 1);
      assert.equal(errors[0]?.message, "consumer bug");
      assert.equal(good.length, 2);
      wg.stop();
      await s.close();
    } finally {
      t.cleanup();
    }
  });

  test("bad input is refused with a StoreError naming the argument", async () => {
    const t = tempDir();
    try {
      const s = new SqliteStore(join(t.dir, "s.db"));
      await assert.rejects(s.create("", "1"), /key: must be a non-empty string/);
      await assert.rejects(s.create("/a", 5 as unknown as string), /value: must be a string/);
      await assert.rejects(s.update("/a", "1", -1), /expectedRevision: must be a non-negative integer/);
      await assert.rejects(s.list("/", { limit: 1.5 }), /limit:/);
      await assert.rejects(s.list("/", { revision: 99 }), /revision: 99 is in the future/);
      await assert.rejects(s.watch("/", -3, { onEvents() {} }), /afterRevision:/);
      await assert.rejects(s.compact(50), /in the future/);
      await s.close();
    } finally {
      t.cleanup();
    }
  });

  test("group commit: writes issued together share one commit; a refused write spoils nothing", async () => {
    const t = tempDir();
    try {
      const path = join(t.dir, "s.db");
      let s = new SqliteStore(path);
      const a = await s.create("/a", "1");
      const before = { ...s.commitStats };
      const results = await Promise.allSettled([
        s.create("/b", "1"),
        s.create("/a", "dup"), // refused: exists
        s.update("/a", "2", a),
        s.update("/a", "3", a), // refused: the update before it in the same group moved /a on
        s.create("/c", "1"),
      ]);
      assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled", "rejected", "fulfilled"]);
      assert.ok((results[1] as PromiseRejectedResult).reason instanceof KeyExistsError);
      const mismatch = (results[3] as PromiseRejectedResult).reason;
      assert.ok(mismatch instanceof RevisionMismatchError);
      const revs = [results[0], results[2], results[4]].map((r) => (r as PromiseFulfilledResult<number>).value);
      assert.deepEqual(revs, [a + 1, a + 2, a + 3], "consecutive revisions in issue order");
      assert.equal(mismatch.current.modRevision, a + 2);
      assert.deepEqual(s.commitStats, { commits: before.commits + 1, writes: before.writes + 3 });
      await s.close();
      s = new SqliteStore(path); // everything acknowledged is on disk
      assert.deepEqual((await s.list("/")).kvs.map((kv) => [kv.key, kv.value]), [["/a", "2"], ["/b", "1"], ["/c", "1"]]);
      await s.close();

      const single = new SqliteStore(join(t.dir, "single.db"), { groupCommit: false });
      await Promise.all([single.create("/x", "1"), single.create("/y", "1"), single.create("/z", "1")]);
      assert.deepEqual(single.commitStats, { commits: 3, writes: 3 });
      await single.close();
    } finally {
      t.cleanup();
    }
  });

  test("close() commits writes already issued before it closes", async () => {
    const t = tempDir();
    try {
      const path = join(t.dir, "s.db");
      let s = new SqliteStore(path);
      const pending = [s.create("/p1", "1"), s.create("/p2", "1")];
      await s.close();
      assert.equal((await Promise.all(pending)).length, 2);
      s = new SqliteStore(path);
      assert.equal(await s.count("/p"), 2);
      await s.close();
    } finally {
      t.cleanup();
    }
  });

  test("10,000 keys with history: pages, counts and gets stay fast", async () => {
    const t = tempDir();
    try {
      const s = new SqliteStore(join(t.dir, "s.db"), { durable: false });
      const key = (i: number) => `/registry/pods/ns${i % 10}/pod-${String(i).padStart(5, "0")}`;
      const revs: number[] = [];
      for (let i = 0; i < 10_000; i++) revs.push(await s.create(key(i), JSON.stringify({ i, pad: "x".repeat(200) })));
      const mid = await s.currentRevision();
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 10_000; i += 3) revs[i] = await s.update(key(i), JSON.stringify({ i, round }), revs[i]);
      }
      await s.create("/registry/pods/zz", "{}"); // outside ns prefixes below
      const time = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
        const t0 = performance.now();
        const v = await fn();
        return [v, performance.now() - t0];
      };
      const [page, tPage] = await time(() => s.list("/registry/pods/ns5/", { limit: 500, startAfter: key(3005) }));
      assert.equal(page.kvs.length, 500);
      assert.equal(page.more, true);
      const [oldPage, tOld] = await time(() =>
        s.list("/registry/pods/ns5/", { limit: 500, startAfter: key(3005), revision: mid }),
      );
      assert.equal(oldPage.kvs.length, 500);
      assert.ok(oldPage.kvs.every((kv) => kv.modRevision <= mid));
      const [n, tCount] = await time(() => s.count("/registry/pods/"));
      assert.equal(n, 10_001);
      const [kv, tGet] = await time(() => s.get(key(9999)));
      assert.equal(kv?.modRevision, revs[9999]);
      // Generous bounds for a shared 2-core machine; typical values are ~1–10 ms.
      assert.ok(tPage < 150, `page ${tPage}ms`);
      assert.ok(tOld < 300, `old page ${tOld}ms`);
      assert.ok(tCount < 100, `count ${tCount}ms`);
      assert.ok(tGet < 20, `get ${tGet}ms`);
      await s.close();
    } finally {
      t.cleanup();
    }
  });

  test("openStore picks the backend from the URL", async () => {
    const t = tempDir();
    try {
      const a = await openStore(`sqlite://${join(t.dir, "new dir", "a.db").replace(/ /g, "%20")}`);
      const rev = await a.create("/x", "1");
      await a.close();
      const b = await openStore(join(t.dir, "new dir", "a.db")); // same file by plain path
      assert.equal((await b.get("/x"))?.modRevision, rev);
      await b.close();
      // etcd URLs are checked before any connection (etcd.test.ts opens a real one).
      await assert.rejects(openStore("etcd://"), (e) => e instanceof StoreError && /etcd:\/\/host:port/.test(e.message));
      await assert.rejects(openStore("etcd://127.0.0.1:2379,nohost"), /"nohost" is not host:port/);
      await assert.rejects(openStore("mysql://db/x"), UnsupportedError);
      await assert.rejects(openStore("sqlite://host/x.db"), /absolute path/);
      await assert.rejects(openStore(""), /store URL/);
    } finally {
      t.cleanup();
    }
  });
});
