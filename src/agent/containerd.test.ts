// containerd config generation and image name qualification (the process itself is
// exercised by runtime/cri/runtime.test.ts).

import { test } from "node:test";
import assert from "node:assert/strict";
import { containerdConfig, containerdPaths, qualifyImage } from "./containerd.js";

test("paths live under DATA/containerd", () => {
  const p = containerdPaths({ dataDir: "/var/lib/tug" });
  assert.equal(p.address, "/var/lib/tug/containerd/containerd.sock");
  assert.equal(p.root, "/var/lib/tug/containerd/root");
  assert.equal(p.state, "/var/lib/tug/containerd/state");
  assert.equal(p.cniConfDir, "/var/lib/tug/cni/net.d");
  assert.equal(p.cniBinDir, "/usr/lib/cni");
});

test("config: runc default, overlayfs, CNI dirs, sandbox image, clamped oom_score_adj", () => {
  const p = containerdPaths({ dataDir: "/data" });
  const c = containerdConfig(p, "docker.io/tugboat/pause:1");
  assert.match(c, /^version = 2$/m);
  assert.match(c, /sandbox_image = "docker\.io\/tugboat\/pause:1"/);
  assert.match(c, /default_runtime_name = "runc"/);
  assert.match(c, /runtime_type = "io\.containerd\.runc\.v2"/);
  assert.match(c, /snapshotter = "overlayfs"/);
  assert.match(c, /bin_dir = "\/usr\/lib\/cni"/);
  assert.match(c, /conf_dir = "\/data\/cni\/net\.d"/);
  assert.match(c, /restrict_oom_score_adj = true/);
  assert.match(c, /netns_mounts_under_state_dir = true/);
});

test("qualifyImage matches containerd's normalisation", () => {
  assert.equal(qualifyImage("tugboat/pause:1"), "docker.io/tugboat/pause:1");
  assert.equal(qualifyImage("busybox"), "docker.io/library/busybox:latest");
  assert.equal(qualifyImage("localhost:5000/x/y:2"), "localhost:5000/x/y:2");
  assert.equal(qualifyImage("registry.k8s.io/pause:3.6"), "registry.k8s.io/pause:3.6");
  assert.equal(qualifyImage("127.0.0.1:5000/busybox"), "127.0.0.1:5000/busybox:latest");
});

test("a pid file naming something other than our containerd is not adopted", async () => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { runningContainerd, containerdPidFile } = await import("./containerd.js");
  const dir = mkdtempSync(join(tmpdir(), "tug-k4-pid-"));
  try {
    const p = containerdPaths({ dataDir: dir });
    assert.equal(runningContainerd(p), undefined, "no pid file");
    mkdirSync(p.dir, { recursive: true });
    writeFileSync(containerdPidFile(p), `${process.pid}\n`); // alive, but node, not containerd
    assert.equal(runningContainerd(p), undefined);
    writeFileSync(containerdPidFile(p), "garbage\n");
    assert.equal(runningContainerd(p), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
