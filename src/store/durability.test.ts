// Crash-safety and multi-process tests of the SQLite store (sqlite.ts), the promises etcd
// makes in https://etcd.io/docs/v3.5/learning/api_guarantees/ ("durability": an
// acknowledged write is never lost; revisions only grow) and that kine's single SQL
// table makes across processes. Child processes run testdata/*.ts under tsx, or the
// compiled testdata/*.js when this file itself runs compiled from dist.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, extname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { SqliteStore } from "./sqlite.js";

const here = fileURLToPath(import.meta.url);
const ext = extname(here); // ".ts" under tsx, ".js" from dist

function spawnChild(name: string, args: string[]): ChildProcessWithoutNullStreams {
  const script = join(dirname(here), "testdata", name + ext);
  const loader = ext === ".ts" ? ["--import", import.meta.resolve("tsx")] : [];
  return spawn(process.execPath, [...loader, script, ...args], { stdio: ["pipe", "pipe", "pipe"] });
}

/** Line-by-line reader over a child's stdout; `next()` waits for the next line. */
function lines(child: ChildProcessWithoutNullStreams): { all: string[]; next(ms?: number): Promise<string> } {
  const all: string[] = [];
  const waiting: ((l: string) => void)[] = [];
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  createInterface({ input: child.stdout }).on("line", (l) => {
    all.push(l);
    waiting.shift()?.(l);
  });
  let read = 0;
  return {
    all,
    next(ms = 15_000) {
      if (read < all.length) return Promise.resolve(all[read++]);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`child silent for ${ms}ms; stderr: ${stderr}`)), ms);
        waiting.push((l) => {
          clearTimeout(t);
          read++;
          resolve(l);
        });
      });
    },
  };
}

function exited(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((r) => child.once("exit", (code, signal) => r({ code, signal })));
}

test("kill -9 mid-way loses no acknowledged write, and revisions keep rising", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tug-durability-"));
  const path = join(dir, "state.db");
  const child = spawnChild("writer", [path, "1000"]);
  try {
    const out = lines(child);
    for (let i = 0; i < 100; i++) await out.next();
    process.kill(child.pid!, "SIGKILL");
    const { signal } = await exited(child);
    assert.equal(signal, "SIGKILL");
    const acked = out.all.filter((l) => l.trim() !== "").map((l) => l.split(" ")).map(([k, r]) => ({ key: k, rev: Number(r) }));
    assert.ok(acked.length >= 100 && acked.length < 1000, `killed mid-way (acked ${acked.length})`);

    const store = new SqliteStore(path);
    try {
      for (const { key, rev } of acked) {
        const kv = await store.get(key);
        assert.equal(kv?.modRevision, rev, `acknowledged ${key}@${rev} is missing`);
      }
      const maxAcked = Math.max(...acked.map((a) => a.rev));
      assert.ok((await store.currentRevision()) >= maxAcked);
      const next = await store.create("/after-crash", "{}");
      assert.ok(next > maxAcked, `new revision ${next} must exceed acknowledged ${maxAcked}`);
      const all = await store.list("/durability/");
      assert.ok(all.kvs.length >= acked.length);
    } finally {
      await store.close();
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

test("two processes racing compare-and-swap on one key: exactly one wins each round", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tug-durability-"));
  const path = join(dir, "state.db");
  const setup = new SqliteStore(path);
  await setup.create("/race", "start");
  await setup.create("/counter", "0");
  const racers = [spawnChild("cas-racer", [path]), spawnChild("cas-racer", [path])];
  try {
    const outs = racers.map(lines);
    racers.forEach((c) => c.stdin.write("ready?\n"));
    for (const o of outs) assert.equal(await o.next(), "ready");

    for (let round = 0; round < 15; round++) {
      const rev = (await setup.get("/race"))!.modRevision;
      racers.forEach((c, i) => c.stdin.write(`cas /race ${rev} p${i}-r${round}\n`));
      const replies = await Promise.all(outs.map((o) => o.next()));
      const winners = replies.filter((r) => r.startsWith("won "));
      assert.equal(winners.length, 1, `round ${round}: ${replies.join(", ")}`);
      const after = (await setup.get("/race"))!;
      assert.equal(after.modRevision, Number(winners[0].split(" ")[1]));
      assert.ok(after.value.endsWith(`-r${round}`));
    }

    // Free-running read-modify-write from both processes: no increment is lost.
    racers.forEach((c) => c.stdin.write("incr /counter 40\n"));
    for (const o of outs) assert.equal(await o.next(), "done");
    assert.equal((await setup.get("/counter"))?.value, "80");

    racers.forEach((c) => c.stdin.end());
    for (const c of racers) assert.equal((await exited(c)).code, 0);
  } finally {
    for (const c of racers) if (c.exitCode === null && c.signalCode === null) process.kill(c.pid!, "SIGKILL");
    await setup.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
