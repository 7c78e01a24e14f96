// CRI log records: parse what containerd writes, round-trip what the hollow runtime writes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { formatCriLogLine, parseCriLogLine } from "./logformat.js";

test("parses full, partial and empty records", () => {
  const l = parseCriLogLine("2026-11-25T14:49:29.123456789Z stdout F hello world");
  assert.deepEqual(l, { time: "2026-11-25T14:49:29.123456789Z", timestampMs: Date.parse("2026-11-25T14:49:29.123Z"), stream: "stdout", partial: false, message: "hello world" });
  assert.equal(parseCriLogLine("2026-11-25T14:49:29.1Z stderr P part")?.partial, true);
  assert.equal(parseCriLogLine("2026-11-25T14:49:29.1Z stdout F")?.message, "");
  assert.equal(parseCriLogLine("garbage"), undefined);
  assert.equal(parseCriLogLine("2026-11-25T14:49:29Z stdin F x"), undefined);
});

test("format round-trips", () => {
  const at = new Date("2026-01-02T03:04:05.678Z");
  const line = formatCriLogLine("stderr", "boom", false, at);
  assert.equal(line, "2026-01-02T03:04:05.678000000Z stderr F boom\n");
  assert.equal(parseCriLogLine(line.trimEnd())?.timestampMs, at.getTime());
});
