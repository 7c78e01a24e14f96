// Tests of the etcd store backend (etcd.ts) against a real etcd 3.4 started on loopback
// (etcdprocess.ts): the shared store contract, plus what only this backend has to get
// right: the URL form in openStore, many watchers on one gRPC stream, and a watch that
// etcd itself cancels because another client compacted its history.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { storeContract } from "./contract.js";
import { EtcdStore, parseEtcdURL } from "./etcd.js";
import { etcdUnavailable, startEtcd, type EtcdProcess } from "./etcdprocess.js";
import { openStore } from "./open.js";
import { CompactedError, StoreError, type StoreEvent } from "./types.js";

const skip = etcdUnavailable();
let etcd: EtcdProcess | undefined;

describe("etcd store backend", { skip }, () => {
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.stop();
  });

  // One etcd for the file; each contract test gets its own client and a unique key root.
  storeContract("etcd", async () => {
    const store = new EtcdStore({ endpoints: [etcd!.endpoint] });
    return { store, cleanup: () => store.close() };
  });

  test("openStore opens etcd:// URLs, including comma-separated endpoint lists", async () => {
    const s = await openStore(`${etcd!.url},${etcd!.endpoint}`);
    const rev = await s.create(`/open-${process.pid}`, "1");
    assert.equal((await s.get(`/open-${process.pid}`))?.modRevision, rev);
    await s.close();
    assert.deepEqual(parseEtcdURL("etcd://a:1,b.c:2/"), ["a:1", "b.c:2"]);
    assert.throws(() => parseEtcdURL("etcd://a"), /"a" is not host:port/);
    await assert.rejects(s.get("/x"), StoreError); // closed
  });

  test("a watcher whose history another client compacts away gets CompactedError", async () => {
    const a = new EtcdStore({ endpoints: [etcd!.endpoint] });
    const b = new EtcdStore({ endpoints: [etcd!.endpoint] });
    try {
      const root = `/compacted-${process.pid}/`;
      const start = await a.currentRevision();
      for (let i = 0; i < 5; i++) await b.create(`${root}${i}`, "1");
      await b.compact(await b.currentRevision());
      await assert.rejects(a.watch(root, start, { onEvents() {} }), (e) => e instanceof CompactedError && e.requested === start);
      assert.ok((await a.compactedRevision()) > start);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("a list larger than gRPC's default 4 MiB message limit comes back whole", async () => {
    const s = new EtcdStore({ endpoints: [etcd!.endpoint] });
    try {
      const root = `/big-${process.pid}/`;
      const value = JSON.stringify({ pad: "x".repeat(200_000) });
      for (let i = 0; i < 30; i += 10) await Promise.all(Array.from({ length: 10 }, (_, j) => s.create(`${root}${String(i + j).padStart(2, "0")}`, value)));
      const all = await s.list(root);
      assert.equal(all.kvs.length, 30);
      assert.ok(all.kvs.every((kv) => kv.value === value));
    } finally {
      await s.close();
    }
  });

  test("200 watchers share one stream and each sees every event once; close() ends them", async () => {
    const s = new EtcdStore({ endpoints: [etcd!.endpoint] });
    const root = `/fanout-${process.pid}/`;
    const start = await s.currentRevision();
    const seen: StoreEvent[][] = Array.from({ length: 200 }, () => []);
    const errors: Error[] = [];
    await Promise.all(seen.map((acc) => s.watch(root, start, { onEvents: (e) => acc.push(...e), onError: (e) => errors.push(e) })));
    const revs: number[] = [];
    for (let i = 0; i < 10; i++) revs.push(await s.create(`${root}${i}`, String(i)));
    const deadline = Date.now() + 5000;
    while (seen.some((acc) => acc.length < 10) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const acc of seen) assert.deepEqual(acc.map((e) => e.kv.modRevision), revs);
    await s.close();
    assert.equal(errors.length, 200);
    assert.ok(errors.every((e) => e instanceof StoreError));
  });
});
