// PodLogOptions parsing and tail selection over CRI log records (partial lines included).

import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StatusError } from "../../apimachinery/errors.js";
import { formatCriLogLine, parseCriLogLine } from "../runtime/cri/logformat.js";
import { parseLogOptions, tailRecords, writeContainerLog } from "./logs.js";

test("log options from query parameters", () => {
  assert.deepEqual(parseLogOptions(new URLSearchParams("")), { follow: false, previous: false, timestamps: false });
  assert.deepEqual(parseLogOptions(new URLSearchParams("follow=true&previous=1&timestamps&tailLines=5&limitBytes=10&sinceSeconds=60"), 1_000_000), {
    follow: true,
    previous: true,
    timestamps: true,
    tailLines: 5,
    limitBytes: 10,
    sinceMs: 940_000,
  });
  assert.equal(parseLogOptions(new URLSearchParams("sinceTime=2026-01-01T00:00:00Z")).sinceMs, Date.parse("2026-01-01T00:00:00Z"));
  for (const bad of ["tailLines=-1", "limitBytes=0", "follow=maybe", "sinceSeconds=1&sinceTime=2026-01-01T00:00:00Z", "sinceTime=yesterday"]) {
    assert.throws(() => parseLogOptions(new URLSearchParams(bad)), (e: StatusError) => e.code === 400, bad);
  }
});

test("tail counts lines, joining partial records", () => {
  const recs = [formatCriLogLine("stdout", "a"), formatCriLogLine("stdout", "b1", true), formatCriLogLine("stdout", "b2"), formatCriLogLine("stderr", "c")].map((l) => parseCriLogLine(l.trimEnd())!);
  assert.deepEqual(tailRecords(recs, 2).map((r) => r.message), ["b1", "b2", "c"]);
  assert.deepEqual(tailRecords(recs, 1).map((r) => r.message), ["c"]);
  assert.deepEqual(tailRecords(recs, 0), []);
  assert.equal(tailRecords(recs, 10).length, 4);
});

test("writes records as text with optional timestamps and a byte limit", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tuglogs-"));
  try {
    const f = join(dir, "0.log");
    await writeFile(f, formatCriLogLine("stdout", "hello ", true) + formatCriLogLine("stdout", "world") + formatCriLogLine("stderr", "second"));
    const read = async (o: Partial<Parameters<typeof writeContainerLog>[1]>) => {
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on("data", (c: Buffer) => chunks.push(c));
      await writeContainerLog(f, { follow: false, previous: false, timestamps: false, ...o }, out, { running: async () => false }, new AbortController().signal);
      return Buffer.concat(chunks).toString();
    };
    assert.equal(await read({}), "hello world\nsecond\n");
    assert.match(await read({ timestamps: true, tailLines: 1 }), /^\d{4}-.*Z second\n$/);
    assert.equal(await read({ limitBytes: 4 }), "hell");
    // follow ends once the container is no longer running
    assert.equal(await read({ follow: true }), "hello world\nsecond\n");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
