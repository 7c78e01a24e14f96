// The atomic writer on a temp dir: layout (timestamped dir, ..data, user-visible
// symlinks), modes, nested paths, dropped keys, refusal of escaping paths, and readers
// that keep reading through the user-visible path while versions are swapped underneath
// never see a missing or partial file.

import { test } from "node:test";
import assert from "node:assert/strict";
import { lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DATA_DIR_NAME, validatePayloadPath, writeAtomically } from "./atomicwriter.js";
import type { Payload } from "./types.js";

const payload = (files: Record<string, string>, mode = 0o644): Payload => new Map(Object.entries(files).map(([k, v]) => [k, { data: Buffer.from(v), mode }]));

test("layout, modes, nested paths and dropped keys", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tugaw-"));
  try {
    assert.equal(await writeAtomically(dir, payload({ a: "1", "sub/b": "2" }, 0o600)), true);
    const ts = readlinkSync(join(dir, DATA_DIR_NAME));
    assert.match(ts, /^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.\d+$/);
    assert.equal(readlinkSync(join(dir, "a")), "..data/a");
    assert.equal(readlinkSync(join(dir, "sub")), "..data/sub");
    assert.equal(readFileSync(join(dir, "sub/b"), "utf8"), "2");
    assert.equal(statSync(join(dir, "a")).mode & 0o777, 0o600);
    // Same content again: nothing written.
    assert.equal(await writeAtomically(dir, payload({ a: "1", "sub/b": "2" }, 0o600)), false);
    assert.equal(readlinkSync(join(dir, DATA_DIR_NAME)), ts);
    // A mode change alone is a change.
    assert.equal(await writeAtomically(dir, payload({ a: "1", "sub/b": "2" }, 0o644)), true);
    // Dropping "sub" removes its link; only one timestamped dir remains.
    await writeAtomically(dir, payload({ a: "3" }));
    assert.deepEqual(readdirSync(dir).filter((e) => !e.startsWith("..")), ["a"]);
    assert.equal(readdirSync(dir).filter((e) => e.startsWith("..") && e !== DATA_DIR_NAME).length, 1);
    assert.equal(readFileSync(join(dir, "a"), "utf8"), "3");
    // An empty payload leaves an empty-looking volume.
    await writeAtomically(dir, new Map());
    assert.deepEqual(readdirSync(dir).filter((e) => !e.startsWith("..")), []);
    assert.ok(lstatSync(join(dir, DATA_DIR_NAME)).isSymbolicLink());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("paths that would leave the volume are refused", async () => {
  for (const bad of ["", "/abs", "../x", "a/../../x", "..hidden", "a//b"]) assert.ok(validatePayloadPath(bad), bad);
  for (const good of ["a", "a/b", "a.b", "a..b"]) assert.equal(validatePayloadPath(good), undefined, good);
  const dir = await mkdtemp(join(tmpdir(), "tugaw-"));
  try {
    await assert.rejects(writeAtomically(dir, payload({ "../evil": "x" })), /invalid path/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("readers never see a missing or partial file while versions swap", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tugaw-"));
  try {
    const big = (n: number) => String(n).repeat(20_000);
    await writeAtomically(dir, payload({ f: big(0) }));
    let stop = false;
    let reads = 0;
    const reader = (async () => {
      while (!stop) {
        const s = await readFile(join(dir, "f"), "utf8");
        assert.equal(s.length, 20_000);
        assert.equal(new Set(s).size, 1, "one version per read");
        reads++;
      }
    })();
    for (let i = 1; i <= 40; i++) await writeAtomically(dir, payload({ f: big(i % 10) }));
    stop = true;
    await reader;
    assert.ok(reads > 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
