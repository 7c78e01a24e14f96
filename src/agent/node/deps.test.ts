// Host dependency checks (deps.ts) and the guard of `tug down` (teardown.ts): packages
// are judged by the files the agent runs; a running tug on the data dir is found by its
// command line.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { aptCommand, missingPackages } from "./deps.js";
import { runningTugNodes } from "./teardown.js";

test("missing packages come from missing files; optional ones are listed apart", () => {
  const r = missingPackages([
    { pkg: "present", files: ["/bin/sh"], required: true },
    { pkg: "absent", files: ["/nonexistent/k4-a", "/nonexistent/k4-b"], required: true },
    { pkg: "nice-to-have", files: ["/nonexistent/k4-c"], required: false },
    { pkg: "absent", files: ["/nonexistent/k4-d"], required: false },
  ]);
  assert.deepEqual(r, { required: ["absent"], optional: ["nice-to-have"] });
  assert.equal(aptCommand(["containerd", "runc"]), "apt-get update && apt-get install -y --no-install-recommends containerd runc");
});

test("runningTugNodes finds a tug up/agent by its --data-dir", async () => {
  // A stand-in process whose command line looks like `tug.js up --data-dir DIR`.
  const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)", "/opt/k4/bin/tug.js", "up", "--data-dir", "/tmp/k4-fake-dir"], { stdio: "ignore" });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const found = runningTugNodes("/tmp/k4-fake-dir/");
    assert.deepEqual(found, [child.pid]);
    assert.deepEqual(runningTugNodes("/tmp/k4-other-dir"), []);
  } finally {
    child.kill("SIGKILL");
  }
});
