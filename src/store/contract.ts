// The store conformance suite: every backend (sqlite.ts, later etcd.ts) must pass it, in
// the way kine's and etcd's own KV/Watch semantics are specified
// (https://etcd.io/docs/v3.5/learning/api/, https://etcd.io/docs/v3.5/learning/api_guarantees/).
// It speaks only the Store interface and never assumes absolute revisions, so it also
// runs against a backend whose cluster already holds data (keys live under a unique root).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  CompactedError,
  KeyExistsError,
  KeyNotFoundError,
  RevisionMismatchError,
  type Store,
  type StoreEvent,
  type Watcher,
} from "./types.js";

export interface StoreFixture {
  store: Store;
  cleanup(): Promise<void>;
}

/** Collects watch deliveries; `until` waits for a condition on what has arrived. */
class Recorder {
  events: StoreEvent[] = [];
  batches = 0;
  errors: Error[] = [];
  onEvents = (events: StoreEvent[]): void => {
    this.batches++;
    this.events.push(...events);
  };
  onError = (err: Error): void => {
    this.errors.push(err);
  };
  async until(pred: (events: StoreEvent[]) => boolean, what: string, ms = 3000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this.events)) {
      if (Date.now() > deadline) {
        assert.fail(`timed out waiting for ${what}; got ${JSON.stringify(this.events.map(brief))}`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  revs(): number[] {
    return this.events.map((e) => e.kv.modRevision);
  }
}

function brief(e: StoreEvent): string {
  return `${e.type} ${e.kv.key}@${e.kv.modRevision}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let rootSeq = 0;

export function storeContract(name: string, make: () => Promise<StoreFixture>): void {
  describe(`store contract: ${name}`, () => {
    // A fresh store and a unique key root per test, so tests are independent.
    async function withStore(fn: (s: Store, root: string) => Promise<void>): Promise<void> {
      const { store, cleanup } = await make();
      const root = `/contract-${process.pid}-${Date.now().toString(36)}-${rootSeq++}/`;
      try {
        await fn(store, root);
      } finally {
        await cleanup();
      }
    }

    test("create then get returns the value with createRevision = modRevision = the new revision", () =>
      withStore(async (s, r) => {
        const before = await s.currentRevision();
        const rev = await s.create(r + "a", '{"n":1}');
        assert.ok(rev > before);
        assert.equal(await s.currentRevision(), rev);
        assert.deepEqual(await s.get(r + "a"), { key: r + "a", value: '{"n":1}', createRevision: rev, modRevision: rev });
        assert.equal(await s.get(r + "missing"), undefined);
      }));

    test("create of an existing key throws KeyExistsError and writes nothing", () =>
      withStore(async (s, r) => {
        const rev = await s.create(r + "a", "1");
        await assert.rejects(s.create(r + "a", "2"), KeyExistsError);
        assert.equal(await s.currentRevision(), rev);
        assert.equal((await s.get(r + "a"))?.value, "1");
      }));

    test("every write gets the next revision, strictly increasing across keys and verbs", () =>
      withStore(async (s, r) => {
        const revs: number[] = [];
        revs.push(await s.create(r + "a", "1"));
        revs.push(await s.create(r + "b", "1"));
        revs.push(await s.update(r + "a", "2", revs[0]));
        revs.push((await s.delete(r + "b")).revision);
        revs.push(await s.create(r + "b", "again"));
        for (let i = 1; i < revs.length; i++) assert.ok(revs[i] > revs[i - 1], `revisions ${revs}`);
        assert.equal(await s.currentRevision(), revs[revs.length - 1]);
      }));

    test("update is a compare-and-swap on modRevision", () =>
      withStore(async (s, r) => {
        const c = await s.create(r + "a", "1");
        const u = await s.update(r + "a", "2", c);
        assert.ok(u > c);
        assert.deepEqual(await s.get(r + "a"), { key: r + "a", value: "2", createRevision: c, modRevision: u });
        const err = await s.update(r + "a", "3", c).then(
          () => assert.fail("stale update succeeded"),
          (e: unknown) => e,
        );
        assert.ok(err instanceof RevisionMismatchError);
        assert.deepEqual(err.current, { key: r + "a", value: "2", createRevision: c, modRevision: u });
        await assert.rejects(s.update(r + "nope", "1", c), KeyNotFoundError);
        assert.equal(await s.currentRevision(), u);
      }));

    test("delete returns the revision and last value; honours an expected revision", () =>
      withStore(async (s, r) => {
        const c = await s.create(r + "a", "1");
        const err = await s.delete(r + "a", c + 1000).then(
          () => assert.fail("delete with wrong revision succeeded"),
          (e: unknown) => e,
        );
        assert.ok(err instanceof RevisionMismatchError);
        assert.equal(err.current.modRevision, c);
        const d = await s.delete(r + "a", c);
        assert.ok(d.revision > c);
        assert.deepEqual(d.prevKv, { key: r + "a", value: "1", createRevision: c, modRevision: c });
        assert.equal(await s.get(r + "a"), undefined);
        await assert.rejects(s.delete(r + "a"), KeyNotFoundError);
        await assert.rejects(s.update(r + "a", "x", d.revision), KeyNotFoundError);
        assert.equal(await s.count(r), 0);
      }));

    test("a deleted key can be re-created; createRevision is the new revision", () =>
      withStore(async (s, r) => {
        const c1 = await s.create(r + "a", "1");
        await s.delete(r + "a");
        const c2 = await s.create(r + "a", "2");
        assert.ok(c2 > c1);
        assert.deepEqual(await s.get(r + "a"), { key: r + "a", value: "2", createRevision: c2, modRevision: c2 });
        const u = await s.update(r + "a", "3", c2);
        assert.equal((await s.get(r + "a"))?.createRevision, c2);
        assert.equal((await s.get(r + "a"))?.modRevision, u);
      }));

    test("racing updates with the same expected revision: exactly one wins", () =>
      withStore(async (s, r) => {
        let rev = await s.create(r + "counter", "0");
        for (let round = 0; round < 5; round++) {
          const results = await Promise.allSettled(
            Array.from({ length: 8 }, (_, i) => s.update(r + "counter", `${round}-${i}`, rev)),
          );
          const won = results.filter((x) => x.status === "fulfilled");
          assert.equal(won.length, 1, `round ${round}: ${won.length} winners`);
          for (const x of results) {
            if (x.status === "rejected") assert.ok(x.reason instanceof RevisionMismatchError, String(x.reason));
          }
          rev = (won[0] as PromiseFulfilledResult<number>).value;
          assert.equal((await s.get(r + "counter"))?.modRevision, rev);
        }
      }));

    test("racing creates and deletes of one key: exactly one wins", () =>
      withStore(async (s, r) => {
        const creates = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => s.create(r + "k", String(i))));
        assert.equal(creates.filter((x) => x.status === "fulfilled").length, 1);
        for (const x of creates) if (x.status === "rejected") assert.ok(x.reason instanceof KeyExistsError);
        const deletes = await Promise.allSettled(Array.from({ length: 6 }, () => s.delete(r + "k")));
        assert.equal(deletes.filter((x) => x.status === "fulfilled").length, 1);
        for (const x of deletes) if (x.status === "rejected") assert.ok(x.reason instanceof KeyNotFoundError);
      }));

    test("list returns keys under the prefix in key order; prefixes do not leak", () =>
      withStore(async (s, r) => {
        for (const k of ["a/b/2", "a/bc/1", "a/b/1", "a/b", "a/c", "z", "a/b/10"]) await s.create(r + k, JSON.stringify(k));
        const keys = async (p: string) => (await s.list(r + p)).kvs.map((kv) => kv.key.slice(r.length));
        assert.deepEqual(await keys("a/b/"), ["a/b/1", "a/b/10", "a/b/2"]);
        assert.deepEqual(await keys("a/b"), ["a/b", "a/b/1", "a/b/10", "a/b/2", "a/bc/1"]);
        assert.deepEqual(await keys("a/bc/"), ["a/bc/1"]);
        assert.deepEqual(await keys("a/"), ["a/b", "a/b/1", "a/b/10", "a/b/2", "a/bc/1", "a/c"]);
        assert.deepEqual(await keys("q/"), []);
        assert.equal(await s.count(r + "a/b/"), 3);
        assert.equal(await s.count(r + "a/b"), 5);
        assert.equal(await s.count(r), 7);
        const all = await s.list(r);
        assert.equal(all.revision, await s.currentRevision());
        assert.equal(all.more, false);
        assert.equal(all.kvs.find((kv) => kv.key === r + "z")?.value, '"z"');
      }));

    test("list with limit and startAfter pages through a fixed revision while writes continue", () =>
      withStore(async (s, r) => {
        const key = (i: number) => `${r}items/${String(i).padStart(3, "0")}`;
        for (let i = 0; i < 25; i++) await s.create(key(i), JSON.stringify({ i }));
        const snapshot = await s.list(r + "items/");
        assert.equal(snapshot.kvs.length, 25);

        const pages: string[][] = [];
        let page = await s.list(r + "items/", { limit: 10 });
        const revision = page.revision;
        pages.push(page.kvs.map((kv) => kv.key));
        assert.equal(page.more, true);
        // Writes between pages: new keys, updates, deletes (before and after the cursor).
        await s.create(key(100), "{}");
        await s.create(`${r}items/005x`, "{}");
        await s.update(key(15), '{"changed":true}', snapshot.kvs[15].modRevision);
        await s.delete(key(20));
        await s.delete(key(3));
        while (page.more) {
          const last = page.kvs[page.kvs.length - 1].key;
          page = await s.list(r + "items/", { limit: 10, startAfter: last, revision });
          assert.equal(page.revision, revision);
          pages.push(page.kvs.map((kv) => kv.key));
        }
        assert.deepEqual(pages.map((p) => p.length), [10, 10, 5]);
        assert.deepEqual(pages.flat(), snapshot.kvs.map((kv) => kv.key));
        const atRev = await s.list(r + "items/", { revision });
        assert.deepEqual(atRev.kvs, snapshot.kvs);

        // The latest view reflects the writes; limit exactly at the end reports more=false.
        const latest = await s.list(r + "items/");
        assert.equal(latest.kvs.length, 25 + 2 - 2);
        assert.equal(latest.kvs.find((kv) => kv.key === key(15))?.value, '{"changed":true}');
        const exact = await s.list(r + "items/", { limit: latest.kvs.length });
        assert.equal(exact.more, false);
        const tail = await s.list(r + "items/", { startAfter: key(99), limit: 5 });
        assert.deepEqual(tail.kvs.map((kv) => kv.key), [key(100)]);
        assert.equal(tail.more, false);
        // startAfter before the prefix still starts at the prefix.
        const early = await s.list(r + "items/", { startAfter: r + "a", limit: 1 });
        assert.deepEqual(early.kvs.map((kv) => kv.key), [key(0)]);
      }));

    test("list at an older revision shows that revision's values, including since-deleted keys", () =>
      withStore(async (s, r) => {
        const a1 = await s.create(r + "a", "a1");
        await s.create(r + "b", "b1");
        const at = await s.currentRevision();
        await s.update(r + "a", "a2", a1);
        await s.delete(r + "b");
        await s.create(r + "c", "c1");
        const old = await s.list(r, { revision: at });
        assert.equal(old.revision, at);
        assert.deepEqual(old.kvs.map((kv) => [kv.key.slice(r.length), kv.value]), [["a", "a1"], ["b", "b1"]]);
        const now = await s.list(r);
        assert.deepEqual(now.kvs.map((kv) => [kv.key.slice(r.length), kv.value]), [["a", "a2"], ["c", "c1"]]);
      }));

    test("compact: older revisions are refused with CompactedError, latest values survive", () =>
      withStore(async (s, r) => {
        const a1 = await s.create(r + "a", "a1");
        const a2 = await s.update(r + "a", "a2", a1);
        await s.create(r + "gone", "x");
        await s.delete(r + "gone");
        await s.create(r + "b", "b1");
        const at = await s.currentRevision();
        const a3 = await s.update(r + "a", "a3", a2);
        await s.compact(at);
        assert.ok((await s.compactedRevision()) >= at);

        const err = await s.list(r, { revision: a1 }).then(
          () => assert.fail("list at compacted revision succeeded"),
          (e: unknown) => e,
        );
        assert.ok(err instanceof CompactedError);
        assert.equal(err.requested, a1);
        await assert.rejects(s.watch(r, a1, { onEvents() {} }), CompactedError);

        // Reads at the compaction revision itself still work.
        const atList = await s.list(r, { revision: at });
        assert.deepEqual(atList.kvs.map((kv) => [kv.key.slice(r.length), kv.value]), [["a", "a2"], ["b", "b1"]]);
        assert.deepEqual((await s.list(r)).kvs.map((kv) => kv.value), ["a3", "b1"]);
        assert.equal((await s.get(r + "a"))?.modRevision, a3);
        assert.equal(await s.get(r + "gone"), undefined);
        // A compacted-away tombstone does not block re-creation.
        const again = await s.create(r + "gone", "y");
        assert.ok(again > a3);

        // A watch from the compaction revision sees everything after it, with prevKv.
        const rec = new Recorder();
        const w = await s.watch(r, at, rec);
        await rec.until((e) => e.length === 2, "2 events after compaction");
        w.stop();
        assert.deepEqual(rec.events.map(brief), [`put ${r}a@${a3}`, `put ${r}gone@${again}`]);
        assert.deepEqual(rec.events[0].prevKv, { key: r + "a", value: "a2", createRevision: a1, modRevision: a2 });
        await s.compact(a1); // compacting an already-compacted revision is a no-op
        assert.ok((await s.compactedRevision()) >= at);
      }));

    test("watch replays history after afterRevision, then delivers live events, with prevKv", () =>
      withStore(async (s, r) => {
        const start = await s.currentRevision();
        const c = await s.create(r + "a", "1");
        const u = await s.update(r + "a", "2", c);
        const rec = new Recorder();
        const w = await s.watch(r, start, rec);
        await rec.until((e) => e.length === 2, "replay");
        assert.deepEqual(rec.events[0], { type: "put", kv: { key: r + "a", value: "1", createRevision: c, modRevision: c } });
        assert.deepEqual(rec.events[1].prevKv, { key: r + "a", value: "1", createRevision: c, modRevision: c });
        assert.equal(rec.events[1].kv.modRevision, u);

        const d = await s.delete(r + "a", u);
        const c2 = await s.create(r + "a", "3");
        await rec.until((e) => e.length === 4, "live events");
        w.stop();
        assert.deepEqual(rec.events[2], {
          type: "delete",
          kv: { key: r + "a", value: "2", createRevision: c, modRevision: d.revision },
          prevKv: { key: r + "a", value: "2", createRevision: c, modRevision: u },
        });
        assert.deepEqual(rec.events[3], { type: "put", kv: { key: r + "a", value: "3", createRevision: c2, modRevision: c2 } });
        assert.deepEqual(rec.errors, []);
      }));

    test("watch from a middle revision skips earlier events; watch from now sees only new ones", () =>
      withStore(async (s, r) => {
        const c = await s.create(r + "a", "1");
        const u = await s.update(r + "a", "2", c);
        const mid = new Recorder();
        const fromNow = new Recorder();
        const w1 = await s.watch(r, c, mid);
        const w2 = await s.watch(r, await s.currentRevision(), fromNow);
        const n = await s.create(r + "b", "1");
        await mid.until((e) => e.length === 2, "mid events");
        await fromNow.until((e) => e.length === 1, "new event");
        await sleep(50);
        w1.stop();
        w2.stop();
        assert.deepEqual(mid.revs(), [u, n]);
        assert.deepEqual(fromNow.revs(), [n]);
      }));

    test("watch only sees its prefix (/x/b/ does not see /x/bc)", () =>
      withStore(async (s, r) => {
        const start = await s.currentRevision();
        const b = new Recorder();
        const wb = await s.watch(r + "b/", start, b);
        const bc = await s.create(r + "bc", "1");
        const inB = await s.create(r + "b/1", "1");
        await s.create(r + "c/1", "1");
        await b.until((e) => e.length >= 1, "event under b/");
        await sleep(50);
        wb.stop();
        assert.deepEqual(b.revs(), [inB]);
        assert.ok(bc < inB);
      }));

    test("events are never duplicated or reordered while a watch starts amid concurrent writes", () =>
      withStore(async (s, r) => {
        const start = await s.currentRevision();
        const writes: Promise<number>[] = [];
        for (let i = 0; i < 20; i++) writes.push(s.create(`${r}k${i}`, String(i)));
        const rec = new Recorder();
        const [w] = await Promise.all([s.watch(r, start, rec), ...writes.slice(0, 10)]);
        for (let i = 20; i < 40; i++) writes.push(s.create(`${r}k${i}`, String(i)));
        const revs = await Promise.all(writes);
        await rec.until((e) => e.length >= 40, "40 events");
        await sleep(50);
        w.stop();
        assert.deepEqual(rec.revs(), [...revs].sort((a, b) => a - b));
      }));

    test("stop(): no onEvents afterwards, even for events already written; idempotent", () =>
      withStore(async (s, r) => {
        const start = await s.currentRevision();
        const rec = new Recorder();
        const w = await s.watch(r, start, rec);
        await s.create(r + "a", "1");
        w.stop(); // synchronously after the write resolved, possibly before delivery
        w.stop();
        const seen = rec.events.length;
        await s.create(r + "b", "1");
        await sleep(300);
        assert.equal(rec.events.length, seen);

        // stop() from inside onEvents ends delivery at once.
        let calls = 0;
        let w2: Watcher | undefined = undefined;
        w2 = await s.watch(r, start, {
          onEvents() {
            calls++;
            w2?.stop();
          },
        });
        await sleep(50);
        await s.create(r + "c", "1");
        await sleep(300);
        assert.equal(calls, 1);

        // stop() before any delivery: the replay is never delivered.
        const rec3 = new Recorder();
        (await s.watch(r, start, rec3)).stop();
        await sleep(50);
        assert.equal(rec3.events.length, 0);
      }));

    test("many concurrent watchers each receive every event once, in order", () =>
      withStore(async (s, r) => {
        const start = await s.currentRevision();
        const recs = Array.from({ length: 50 }, () => new Recorder());
        const ws = await Promise.all(recs.map((rec, i) => s.watch(i % 2 ? r : r + "even/", start, rec)));
        const revs: number[] = [];
        for (let i = 0; i < 10; i++) revs.push(await s.create(`${r}even/${i}`, "1"), await s.create(`${r}odd/${i}`, "1"));
        for (const [i, rec] of recs.entries()) {
          const want = i % 2 ? revs : revs.filter((_, j) => j % 2 === 0);
          await rec.until((e) => e.length >= want.length, `watcher ${i}`);
          assert.deepEqual(rec.revs(), want);
        }
        for (const w of ws) w.stop();
      }));

    test("revisions keep rising after compaction and deletes of the newest keys", () =>
      withStore(async (s, r) => {
        const c = await s.create(r + "a", "1");
        const d = await s.delete(r + "a");
        await s.compact(d.revision);
        const next = await s.create(r + "a", "2");
        assert.ok(next > d.revision && d.revision > c);
        assert.ok((await s.currentRevision()) >= next);
      }));
  });
}
