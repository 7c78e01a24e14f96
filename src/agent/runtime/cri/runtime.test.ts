// End-to-end check of the CRI runtime against a private containerd: images built and
// imported locally, a pod sandbox on a CNI bridge, an httpd container answering the host,
// exec, logs, exit codes and the OOM killer, then full cleanup. Needs root, containerd,
// runc, ctr, the CNI plugins and busybox-static; skips otherwise.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { cp, rmdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import WebSocket from "ws";
import { installUnreachableRoutes, removeUnreachableRoutes } from "../../cni.js";
import { BUSYBOX_IMAGE } from "../../images/build.js";
import { realNodeSkipReason, startTestNode, waitFor, type TestNode } from "../../testing.js";
import { CriRuntime } from "./runtime.js";
import { parseCriLogLine } from "./logformat.js";
import type { ContainerConfig, PodSandboxConfig } from "../types.js";

const POD_CIDR = "10.42.99.0/24";
// Our own cgroup parent, so the test can prove runc removed every container cgroup.
const CGROUP_PARENT = `/tugtest-${process.pid}`;
const BRIDGE = "tugtest0";

const reason = realNodeSkipReason();

test("CRI runtime over a private containerd", { skip: reason, timeout: 120_000 }, async (t) => {
  let node: TestNode | undefined;
  const timings: Record<string, number> = {};

  try {
    node = await startTestNode({ bridge: BRIDGE, podCIDR: POD_CIDR, prefix: "tugcri-" });
    const { dir, images } = node;
    Object.assign(timings, node.timings);
    const runtime: CriRuntime = node.runtime;

    await t.test("version, status and images", async () => {
      const v = await runtime.version();
      assert.equal(v.runtimeName, "containerd");
      assert.equal(v.runtimeApiVersion, "v1");
      const conds = await waitFor("NetworkReady", async () => {
        const c = await runtime.status();
        return c.find((x) => x.type === "NetworkReady")?.status ? c : undefined;
      });
      assert.ok(conds.find((c) => c.type === "RuntimeReady")?.status);
      const bb = await runtime.imageStatus(BUSYBOX_IMAGE);
      assert.ok(bb, "busybox image present");
      assert.equal(bb.id, images.busybox.id);
      assert.ok((await runtime.listImages()).some((i) => i.repoTags.includes("docker.io/tugboat/pause:1")));
      assert.equal(await runtime.imageStatus("tugboat/missing:1"), null);
    });

    const sandboxConfig: PodSandboxConfig = {
      metadata: { name: "web", namespace: "default", uid: "uid-web-1", attempt: 0 },
      hostname: "web",
      logDirectory: join(dir, "pods", "default_web_uid-web-1"),
      labels: { "io.tugboat.test": "1" },
      annotations: { note: "kept" },
      cgroupParent: CGROUP_PARENT,
    };
    let sandboxId = "";
    let podIP = "";

    await t.test("sandbox + httpd container serve HTTP to the host", async () => {
      const s0 = performance.now();
      sandboxId = await runtime.runPodSandbox(sandboxConfig);
      timings.sandboxStartMs = Math.round(performance.now() - s0);
      const web: ContainerConfig = {
        name: "httpd",
        attempt: 0,
        image: BUSYBOX_IMAGE,
        command: ["sh", "-c", "echo started; echo oops >&2; exec httpd -f -p 8080 -h /www"],
        logPath: "httpd/0.log",
        labels: { app: "web" },
      };
      const c0 = performance.now();
      const id = await runtime.createContainer(sandboxId, web, sandboxConfig);
      await runtime.startContainer(id);
      timings.containerStartMs = Math.round(performance.now() - c0);
      timings.sandboxPlusContainerMs = timings.sandboxStartMs + timings.containerStartMs;

      const st = await runtime.containerStatus(id);
      assert.equal(st.state, "Running");
      assert.equal(st.name, "httpd");
      assert.equal(st.podSandboxId, sandboxId);
      assert.equal(st.logPath, join(sandboxConfig.logDirectory, "httpd/0.log"));

      const sb = await runtime.podSandboxStatus(sandboxId);
      assert.equal(sb.state, "Ready");
      assert.equal(sb.metadata.uid, "uid-web-1");
      assert.equal(sb.annotations.note, "kept");
      assert.match(sb.ip, /^10\.42\.99\.\d+$/);
      podIP = sb.ip;

      const h0 = performance.now();
      const body = await waitFor("HTTP from the pod", async () => {
        const res = await fetch(`http://${podIP}:8080/index.html`, { signal: AbortSignal.timeout(2000) });
        return res.ok ? await res.text() : undefined;
      });
      timings.firstHttpAfterStartMs = Math.round(performance.now() - h0);
      assert.equal(body, "hello from tugboat\n");

      const hi = await runtime.execSync(id, ["echo", "hi"], 10);
      assert.equal(hi.stdout.toString(), "hi\n");
      assert.equal(hi.exitCode, 0);
      const fail = await runtime.execSync(id, ["sh", "-c", "echo err >&2; exit 7"], 10);
      assert.equal(fail.exitCode, 7);
      assert.equal(fail.stderr.toString(), "err\n");
      const lo = await runtime.execSync(id, ["ip", "addr", "show", "lo"], 10);
      assert.match(lo.stdout.toString(), /127\.0\.0\.1/, "loopback configured");

      const lines = (await readFile(st.logPath, "utf8")).trimEnd().split("\n").map(parseCriLogLine);
      assert.deepEqual(lines.map((l) => [l?.stream, l?.message]).sort(), [["stderr", "oops"], ["stdout", "started"]]);

      const listed = await runtime.listContainers({ podSandboxId: sandboxId, state: "Running" });
      assert.deepEqual(listed.map((c) => c.id), [id]);
      assert.equal((await runtime.listPodSandboxes({ labelSelector: { "io.tugboat.test": "1" } })).length, 1);

      const stats = await runtime.containerStats(id);
      assert.equal(stats.id, id);
      assert.ok((stats.memoryWorkingSetBytes ?? 0) > 0, "memory stats reported");

      // The streaming URL speaks the Kubernetes remote-command protocol over WebSocket:
      // each frame starts with a channel byte (1 stdout, 2 stderr, 3 status).
      const ex = await runtime.exec({ containerId: id, cmd: ["sh", "-c", "echo streamed"], stdout: true, stderr: true });
      assert.match(ex.url, /^http:\/\/127\.0\.0\.1:\d+\/exec\//);
      const frames = await new Promise<Buffer[]>((resolve, reject) => {
        const ws = new WebSocket(ex.url.replace(/^http/, "ws"), ["v4.channel.k8s.io"]);
        const got: Buffer[] = [];
        ws.on("message", (d: Buffer) => got.push(Buffer.from(d)));
        ws.on("close", () => resolve(got));
        ws.on("error", reject);
      });
      const stdout = Buffer.concat(frames.filter((f) => f[0] === 1).map((f) => f.subarray(1))).toString();
      assert.equal(stdout, "streamed\n");
      const status = frames.find((f) => f[0] === 3);
      assert.ok(status && JSON.parse(status.subarray(1).toString()).status === "Success", "exec status frame");
      const pf = await runtime.portForward(sandboxId, [8080]);
      assert.match(pf.url, /^http:\/\/127\.0\.0\.1:\d+\/portforward\//);

      // httpd is PID 1 without a SIGTERM handler: the grace period ends in SIGKILL.
      await runtime.stopContainer(id, 1);
      assert.equal((await runtime.containerStatus(id)).state, "Exited");
      await runtime.stopContainer(id, 1); // idempotent
      await runtime.removeContainer(id);
      await runtime.removeContainer(id); // idempotent
      await assert.rejects(runtime.containerStatus(id), (e: Error & { code?: string }) => e.code === "NotFound");
    });

    async function runToExit(cfg: ContainerConfig) {
      const steps: string[] = [];
      let t = performance.now();
      const step = (name: string): void => {
        steps.push(`${name}=${Math.round(performance.now() - t)}ms`);
        t = performance.now();
      };
      const id = await runtime.createContainer(sandboxId, cfg, sandboxConfig);
      step("create");
      await runtime.startContainer(id);
      step("start");
      const st = await waitFor(`${cfg.name} to exit`, async () => {
        const s = await runtime.containerStatus(id);
        return s.state === "Exited" ? s : undefined;
      }, 20_000);
      step("exited");
      await runtime.removeContainer(id);
      step("remove");
      console.log(`# ${cfg.name}: ${steps.join(" ")}`);
      return st;
    }

    await t.test("exit code is reported", async () => {
      const st = await runToExit({ name: "exit3", attempt: 0, image: BUSYBOX_IMAGE, command: ["sh", "-c", "exit 3"], logPath: "exit3/0.log" });
      assert.equal(st.exitCode, 3);
      assert.equal(st.reason, "Error");
      assert.ok(st.finishedAt > 0, "finishedAt set");
    });

    await t.test("memory limit triggers OOMKilled", async () => {
      const st = await runToExit({
        name: "hog",
        attempt: 0,
        image: BUSYBOX_IMAGE,
        command: ["sh", "-c", "x=$(head -c 100m /dev/zero | tr '\\0' a); sleep 1"],
        logPath: "hog/0.log",
        resources: { memoryLimitBytes: 32 * 1024 * 1024 },
      });
      assert.equal(st.reason, "OOMKilled");
      assert.equal(st.exitCode, 137);
    });

    await t.test("stop and remove the sandbox", async () => {
      await runtime.stopPodSandbox(sandboxId);
      assert.equal((await runtime.podSandboxStatus(sandboxId)).state, "NotReady");
      await runtime.removePodSandbox(sandboxId);
      await runtime.removePodSandbox(sandboxId); // idempotent
      assert.deepEqual(await runtime.listPodSandboxes(), []);
      assert.deepEqual(await runtime.listContainers(), []);
    });

    await t.test("unreachable routes for the cluster ranges", async () => {
      await installUnreachableRoutes(["10.42.0.0/16", "10.43.0.0/16"]);
      const out = execFileSync("ip", ["route", "show", "type", "unreachable"], { encoding: "utf8" });
      assert.match(out, /10\.42\.0\.0\/16/);
      assert.match(out, /10\.43\.0\.0\/16/);
      await removeUnreachableRoutes(["10.42.0.0/16", "10.43.0.0/16"]);
      const after = execFileSync("ip", ["route", "show", "type", "unreachable"], { encoding: "utf8" });
      assert.doesNotMatch(after, /10\.4[23]\.0\.0\/16/);
    });
  } finally {
    if (node && process.env.TUG_KEEP_LOG) await cp(node.containerd.paths.log, process.env.TUG_KEEP_LOG).catch(() => {});
    // The fixture removes sandboxes, containerd, the bridge and the dir, and fails on leaked processes or mounts.
    await node?.cleanup();
    await removeUnreachableRoutes(["10.42.0.0/16", "10.43.0.0/16"]).catch(() => {});
    // Our own cgroup parent must be empty: runc removed every container cgroup.
    const cgroups: string[] = [];
    for (const ctrl of readdirSync("/sys/fs/cgroup")) {
      const parent = join("/sys/fs/cgroup", ctrl, CGROUP_PARENT);
      if (!existsSync(parent)) continue;
      for (const e of readdirSync(parent, { withFileTypes: true })) if (e.isDirectory()) cgroups.push(join(parent, e.name));
      await rmdir(parent).catch(() => {});
    }
    console.log(`# timings ${JSON.stringify(timings)}`);
    assert.deepEqual(cgroups, [], "no leftover container cgroups");
  }
});
