// Benchmark 4 of issue 6: the store side by side through the one Store interface
// (src/store/types.ts): Tugboat's SQLite log (with group commit, and with it switched off
// to show the before/after) against a real etcd 3.4 started here on loopback
// (src/store/etcdprocess.ts), the backend kube-apiserver uses
// (https://etcd.io/docs/v3.4/op-guide/performance/). Durable settings on both sides
// (SQLite synchronous=FULL, etcd's default fsync per commit). Figures: sequential and
// 64-way concurrent creates/s, range reads (a 1,000-key prefix), and watch lag.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../src/store/sqlite.js";
import { EtcdStore } from "../src/store/etcd.js";
import { etcdUnavailable, startEtcd, type EtcdProcess } from "../src/store/etcdprocess.js";
import type { Store } from "../src/store/types.js";
import { latencyRow, runsRow, type Benchmark, type Row } from "./report.js";
import { pool } from "./tugprocess.js";

interface Backend {
  name: string;
  open(): Promise<{ store: Store; close(): Promise<void> }>;
}

const VALUE = JSON.stringify({ kind: "Pod", apiVersion: "v1", metadata: { name: "x", labels: { app: "bench" } }, spec: { pad: "x".repeat(900) } });

function sqliteBackend(name: string, groupCommit: boolean): Backend {
  return {
    name,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), "tug-bench-store-"));
      const store = new SqliteStore(join(dir, "state.db"), { groupCommit });
      return {
        store,
        async close() {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

function etcdBackend(etcd: EtcdProcess): Backend {
  return {
    name: "etcd 3.4",
    async open() {
      const store = new EtcdStore({ endpoints: [etcd.endpoint] });
      return { store, close: () => store.close() };
    },
  };
}

interface Sizes {
  serial: number;
  concurrent: number;
  rangeKeys: number;
  ranges: number;
  watchWrites: number;
}

interface RunFigures {
  serialPerSec: number;
  concurrentPerSec: number;
  concurrentLat: number[];
  rangeLat: number[];
  watchLag: number[];
}

let runSeq = 0;

async function measure(store: Store, z: Sizes): Promise<RunFigures> {
  const root = `/bench-${process.pid}-${runSeq++}/`;
  // Sequential creates: one in flight, each acknowledged (durable) before the next.
  let t = performance.now();
  for (let i = 0; i < z.serial; i++) await store.create(`${root}serial/${i}`, VALUE);
  const serialPerSec = z.serial / ((performance.now() - t) / 1000);

  // 64-way concurrent creates.
  t = performance.now();
  const concurrentLat = await pool(z.concurrent, 64, async (i) => {
    await store.create(`${root}conc/${String(i).padStart(6, "0")}`, VALUE);
  });
  const concurrentPerSec = z.concurrent / ((performance.now() - t) / 1000);

  // Range reads: the whole prefix of rangeKeys keys, one at a time.
  for (let i = 0; i < z.rangeKeys; i += 64) {
    await Promise.all(Array.from({ length: Math.min(64, z.rangeKeys - i) }, (_, j) => store.create(`${root}range/${String(i + j).padStart(6, "0")}`, VALUE)));
  }
  const rangeLat: number[] = [];
  for (let i = 0; i < z.ranges; i++) {
    const t0 = performance.now();
    const r = await store.list(`${root}range/`);
    rangeLat.push(performance.now() - t0);
    if (r.kvs.length !== z.rangeKeys) throw new Error(`range returned ${r.kvs.length} keys, want ${z.rangeKeys}`);
  }

  // Watch lag: a write is issued, then timed until the watcher receives its event.
  const issued = new Map<string, number>();
  const watchLag: number[] = [];
  let pending: (() => void) | undefined;
  const w = await store.watch(`${root}watch/`, await store.currentRevision(), {
    onEvents(events) {
      const now = performance.now();
      for (const e of events) {
        const t0 = issued.get(e.kv.key);
        if (t0 !== undefined) watchLag.push(now - t0);
      }
      pending?.();
    },
  });
  for (let i = 0; i < z.watchWrites; i++) {
    const key = `${root}watch/${i}`;
    const seen = new Promise<void>((r) => (pending = r));
    issued.set(key, performance.now());
    await store.create(key, VALUE);
    await seen;
  }
  w.stop();
  return { serialPerSec, concurrentPerSec, concurrentLat, rangeLat, watchLag };
}

export const storeBenchmark: Benchmark = {
  name: "store",
  summary: "SQLite store (group commit on/off) vs etcd 3.4 through the Store interface: writes/s, range reads, watch lag",
  async run(ctx) {
    const z: Sizes = ctx.quick
      ? { serial: 200, concurrent: 1_280, rangeKeys: 200, ranges: 20, watchWrites: 100 }
      : { serial: 1_000, concurrent: 10_000, rangeKeys: 1_000, ranges: 50, watchWrites: 500 };
    const notes: string[] = [];
    let etcd: EtcdProcess | undefined;
    const backends = [sqliteBackend("sqlite", true), sqliteBackend("sqlite, no group commit", false)];
    const missing = etcdUnavailable();
    if (missing) notes.push(`etcd not measured: ${missing}`);
    else {
      etcd = await startEtcd();
      backends.push(etcdBackend(etcd));
    }
    const rows: Row[] = [];
    const figsOf = new Map<Backend, RunFigures[]>(backends.map((b) => [b, []]));
    try {
      // A small warm-up first (JIT), then the backends take turns in every run, so drift
      // in the machine's load spreads over all of them instead of favouring one.
      {
        const { store, close } = await backends[0]!.open();
        await measure(store, { serial: 100, concurrent: 640, rangeKeys: 100, ranges: 5, watchWrites: 20 }).finally(close);
      }
      for (let r = 0; r < ctx.runs; r++) {
        for (const b of backends) {
          const { store, close } = await b.open();
          const f = await measure(store, z).finally(close);
          figsOf.get(b)!.push(f);
          ctx.log(`${b.name} run ${r + 1}: ${Math.round(f.serialPerSec)} serial/s, ${Math.round(f.concurrentPerSec)} 64-way/s`);
        }
      }
      for (const b of backends) {
        const figs = figsOf.get(b)!;
        rows.push(
          runsRow(`${b.name}: sequential creates/s`, figs.map((f) => f.serialPerSec), "writes/s"),
          runsRow(`${b.name}: 64-way concurrent creates/s`, figs.map((f) => f.concurrentPerSec), "writes/s"),
          latencyRow(`${b.name}: 64-way create latency`, figs.flatMap((f) => f.concurrentLat)),
          latencyRow(`${b.name}: range read of ${z.rangeKeys} keys`, figs.flatMap((f) => f.rangeLat)),
          latencyRow(`${b.name}: watch lag (write issued → event)`, figs.flatMap((f) => f.watchLag)),
        );
      }
    } finally {
      await etcd?.stop();
    }
    const find = (m: string) => rows.find((r) => r.metric === m)?.median;
    const gc = find("sqlite: 64-way concurrent creates/s");
    const nogc = find("sqlite, no group commit: 64-way concurrent creates/s");
    const et = find("etcd 3.4: 64-way concurrent creates/s");
    if (gc && nogc) notes.push(`group commit: ${(gc / nogc).toFixed(1)}× the 64-way write rate of one commit per write (same run)`);
    if (gc && et) notes.push(`sqlite/etcd 64-way write ratio: ${(gc / et).toFixed(2)} (same run)`);
    return { rows, notes, params: { ...z, valueBytes: VALUE.length, durable: true } };
  },
};
