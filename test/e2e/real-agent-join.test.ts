// End-to-end test of a real node joining a server the way a second machine does (issue 4,
// "Restart safety"): `tug server`, then `tug agent --server URL --token T --ca-file F`
// (the join token of `tug token`) on its own data dir. Pods run; the agent is killed
// with SIGKILL; meanwhile one pod is deleted gracefully (it waits, Terminating, for its
// kubelet) and one is force-deleted (gone from the API at once). When the agent returns
// it finishes the first deletion and sweeps the second pod's orphaned sandbox: nothing of
// either pod is left in CRI, in host-local IPAM, in mounts or cgroups.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { eventually, missingKubectl, show, startTug, type Tug } from "./harness.js";
import { nodeLeaks, serverPortFlags, spawnTug, tugCommand } from "./real-node.js";
import { realNodeSkipReason } from "../../src/agent/testing.js";
import { CriRuntime } from "../../src/agent/runtime/cri/runtime.js";
import { containerdPaths } from "../../src/agent/containerd.js";
import { POD_UID_LABEL } from "../../src/agent/kubelet/podworker.js";

const BRIDGE = "tugk4join0";
const POD_CIDR = "10.42.217.0/24";
const NODE = "k4-joined";

const skip = realNodeSkipReason() || missingKubectl();

describe("real agent joining a server with the join token", { skip, timeout: 600_000 }, () => {
  let tug: Tug;
  let agent: ReturnType<typeof spawnTug> | undefined;
  let nodeDir = "";
  const podUIDs = new Set<string>();

  const startAgent = async () => {
    const token = readFileSync(join(tug.dataDir, "pki", "token"), "utf8").trim();
    agent = spawnTug([
      "agent",
      "--server", tug.url,
      "--token", token,
      "--ca-file", join(tug.dataDir, "pki", "ca.crt"),
      "--data-dir", nodeDir,
      "--node-name", NODE,
      "--pod-cidr", POD_CIDR,
      "--cni-bridge", BRIDGE,
      "--kubelet-port", "0",
      "--no-install",
    ]);
    await eventually(async () => {
      const r = await tug.kubectl(["get", "node", NODE, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}"]);
      return r.stdout === "True";
    }, 90_000, 500, `node Ready\n${agent.log().slice(-3000)}`);
  };

  const stopAgent = async (signal: "SIGTERM" | "SIGKILL") => {
    const c = agent?.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill(signal);
    await exited;
  };

  before(async () => {
    const ports = await serverPortFlags("server");
    tug = await startTug({ command: "server", args: ports.args });
    nodeDir = join(tug.dataDir, "node");
    await startAgent();
  });

  after(async () => {
    if (!tug) return;
    await stopAgent("SIGTERM");
    const down = await tugCommand(["down", "--data-dir", nodeDir, "--cni-bridge", BRIDGE]);
    await tug.cleanup();
    assert.equal(down.code, 0, down.out);
    assert.deepEqual(nodeLeaks(nodeDir, BRIDGE, podUIDs), [], "tug down left things behind");
  });

  test("the joined node runs pods", async () => {
    for (const name of ["keep", "graceful", "forced"]) {
      const r = await tug.kubectl(["run", name, "--image=tugboat/busybox:1", "--", "sleep", "3600"]);
      assert.equal(r.code, 0, show(r));
    }
    await eventually(async () => {
      const r = await tug.kubectl(["get", "pods", "-o", "json"]);
      const items = JSON.parse(r.stdout).items;
      for (const p of items) podUIDs.add(p.metadata.uid);
      return items.length === 3 && items.every((p: any) => p.status?.phase === "Running" && p.spec.nodeName === NODE);
    }, 60_000, 500, "3 pods Running on the joined node");
  });

  test("pods deleted while the agent is down are cleaned up when it returns", async () => {
    const address = containerdPaths({ dataDir: join(nodeDir, "agent") }).address;
    const uidOf = async (name: string) => JSON.parse((await tug.kubectl(["get", "pod", name, "-o", "json"])).stdout).metadata.uid as string;
    const graceful = await uidOf("graceful");
    const forced = await uidOf("forced");
    const keep = await uidOf("keep");
    const ipamDir = join(nodeDir, "agent", "cni", "networks", "tugboat");
    const podIPs = async () => new Map((JSON.parse((await tug.kubectl(["get", "pods", "-o", "json"])).stdout).items as any[]).map((p) => [p.metadata.name, p.status.podIP as string]));
    const ips = await podIPs();
    assert.ok(existsSync(join(ipamDir, ips.get("forced")!)), "host-local holds the pod's IP");

    await stopAgent("SIGKILL");
    let r = await tug.kubectl(["delete", "pod", "graceful", "--wait=false"]);
    assert.equal(r.code, 0, show(r));
    r = await tug.kubectl(["delete", "pod", "forced", "--grace-period=0", "--force"]);
    assert.equal(r.code, 0, show(r));
    // Nobody is there to stop them: both still run.
    const rt = new CriRuntime(address, { timeoutMs: 20_000 });
    try {
      const running = (await rt.listPodSandboxes()).filter((s) => s.state === "Ready").map((s) => s.labels[POD_UID_LABEL]);
      assert.ok(running.includes(graceful) && running.includes(forced), "sandboxes outlive the agent");

      await startAgent();
      await eventually(async () => (await tug.kubectl(["get", "pod", "graceful"])).code !== 0, 60_000, 500, "graceful pod finalized by the kubelet");
      await eventually(async () => {
        const left = (await rt.listPodSandboxes()).map((s) => s.labels[POD_UID_LABEL]);
        return !left.includes(graceful) && !left.includes(forced);
      }, 60_000, 500, "sandboxes of deleted pods removed");
      const remaining = (await rt.listPodSandboxes()).map((s) => s.labels[POD_UID_LABEL]);
      assert.deepEqual(remaining, [keep], "only the kept pod's sandbox remains");
    } finally {
      rt.close();
    }
    // Their IPs went back to host-local; their mounts and cgroups are gone.
    for (const name of ["graceful", "forced"]) assert.equal(existsSync(join(ipamDir, ips.get(name)!)), false, `${name}'s IP released`);
    const mounts = readFileSync("/proc/self/mountinfo", "utf8");
    for (const uid of [graceful, forced]) {
      assert.equal(mounts.includes(uid), false, `no mounts of pod ${uid}`);
      for (const ctrl of readdirSync("/sys/fs/cgroup")) assert.equal(existsSync(join("/sys/fs/cgroup", ctrl, "tugboat", `pod${uid}`)), false, `cgroup ${ctrl} of ${uid}`);
    }
    const kept = await tug.kubectl(["get", "pod", "keep", "-o", "jsonpath={.status.phase} {.status.containerStatuses[0].restartCount}"]);
    assert.equal(kept.stdout, "Running 0");
  });
});
