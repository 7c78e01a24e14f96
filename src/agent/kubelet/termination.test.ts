// Termination messages (termination.ts): the per-container message file, the
// FallbackToLogsOnError log tail (80 lines / 2048 bytes), the 4096-byte cap, and the grace
// left after a preStop hook.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatCriLogLine } from "../runtime/cri/logformat.js";
import { createTerminationMessageFile, remainingGrace, tailContainerLog, terminationMessage } from "./termination.js";

test("termination message file, fallback to the log tail, grace arithmetic", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tugterm-"));
  try {
    const file = await createTerminationMessageFile(dir, "app");
    assert.equal((await stat(file)).mode & 0o777, 0o666);
    const log = join(dir, "0.log");
    const lines = Array.from({ length: 100 }, (_, i) => formatCriLogLine("stdout", `line ${i}`)).join("") + formatCriLogLine("stderr", "par", true) + formatCriLogLine("stderr", "tial");
    await writeFile(log, lines);
    const tail = await tailContainerLog(log);
    assert.equal(tail.split("\n").filter(Boolean).length, 80);
    assert.ok(tail.endsWith("line 99\npartial\n"));
    assert.ok(Buffer.byteLength(await tailContainerLog(log, 80, 100)) <= 100);

    assert.equal(await terminationMessage({ file, policy: "File", exitCode: 1, logPath: log }), undefined);
    assert.match((await terminationMessage({ file, policy: "FallbackToLogsOnError", exitCode: 1, logPath: log }))!, /partial\n$/);
    assert.equal(await terminationMessage({ file, policy: "FallbackToLogsOnError", exitCode: 0, logPath: log }), undefined);
    await writeFile(file, "x".repeat(5000));
    assert.equal((await terminationMessage({ file, exitCode: 0 }))!.length, 4096);

    assert.equal(remainingGrace(30, 5000), 25);
    assert.equal(remainingGrace(30, 29_500), 2, "at least 2 s");
    assert.equal(remainingGrace(0, 0), 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
