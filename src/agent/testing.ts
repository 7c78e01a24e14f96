// A real node made small, for tests of the kubelet and everything that runs on a node
// (ARCHITECTURE.md: "fast unit tests use the real thing made small"): a private
// containerd under a temp dir with its own CNI bridge and pod /24, the project's
// locally built images imported, a CRI runtime client, and optionally a test API
// server with a Node object and a kubelet. `cleanup()` removes everything it made —
// sandboxes, processes, the bridge, pod cgroups, the temp dir — and reports leaks.

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { mkdtemp, rm, rmdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ContainerdProcess } from "./containerd.js";
import { removeBridge, writeNodeConflist } from "./cni.js";
import { buildNodeImages } from "./images/build.js";
import { importImage } from "./images/import.js";
import { CriRuntime } from "./runtime/cri/runtime.js";
import { POD_UID_LABEL } from "./kubelet/podworker.js";

function which(bin: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Why a real-node test cannot run here (for `test(..., { skip })`), or false. */
export function realNodeSkipReason(): string | false {
  if (process.platform !== "linux") return "not linux";
  if (process.getuid?.() !== 0) return "needs root";
  for (const bin of ["containerd", "runc", "ctr", "containerd-shim-runc-v2", "ip"]) if (!which(bin)) return `${bin} not installed`;
  if (!existsSync("/usr/lib/cni/bridge")) return "CNI plugins not installed (containernetworking-plugins)";
  if (!existsSync("/bin/busybox")) return "busybox-static not installed";
  return false;
}

/** Polls `fn` until it returns something other than undefined (errors count as "not yet"). */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String((last as Error)?.message ?? last)}` : ""}`);
}

// Directories containerd 1.6 creates outside its own tree (shim sockets, CNI result cache).
const HOST_DIRS = ["/run/containerd/s", "/run/containerd", "/var/lib/cni/results", "/var/lib/cni"];

export interface TestNodeOptions {
  /** Bridge name, unique per test file (≤ 15 chars), e.g. "tugvol0". */
  bridge: string;
  /** Pod /24 for this node, unique per test file, e.g. "10.42.81.0/24". */
  podCIDR: string;
  /** Temp dir prefix. */
  prefix?: string;
}

export interface TestNode {
  dir: string;
  containerd: ContainerdProcess;
  runtime: CriRuntime;
  images: Awaited<ReturnType<typeof buildNodeImages>>;
  /** How long containerd took to start and the images to import. */
  timings: { containerdStartMs: number; imageImportMs: number };
  /** Pod UIDs the test created: their cgroups are checked for leaks. */
  trackPod(uid: string): void;
  /** Stops and removes everything; throws (after cleaning) if processes, mounts or cgroups leaked. */
  cleanup(): Promise<void>;
}

/** Starts a private containerd with CNI and the test images; ready for CRI calls. */
export async function startTestNode(opts: TestNodeOptions): Promise<TestNode> {
  const dir = await mkdtemp(join(tmpdir(), opts.prefix ?? "tugnode-"));
  const preexisting = new Set(HOST_DIRS.filter((d) => existsSync(d)));
  const abort = new AbortController();
  const containerd = new ContainerdProcess({ dataDir: dir, readyTimeoutMs: 20_000 });
  const running = containerd.start(abort.signal);
  running.catch(() => {});
  const uids: string[] = [];
  let rt: CriRuntime | undefined;

  const cleanup = async () => {
    if (rt) {
      for (const s of await rt.listPodSandboxes().catch(() => [])) {
        await rt.stopPodSandbox(s.id).catch(() => {});
        await rt.removePodSandbox(s.id).catch(() => {});
        const uid = s.labels[POD_UID_LABEL];
        if (uid) uids.push(uid);
      }
      rt.close();
    }
    abort.abort();
    await running.catch(() => {});
    await removeBridge(opts.bridge).catch(() => {});
    const leftovers = readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(dir);
        } catch {
          return false;
        }
      });
    const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(dir));
    const cgroups: string[] = [];
    for (const ctrl of readdirSync("/sys/fs/cgroup")) {
      const base = join("/sys/fs/cgroup", ctrl, "tugboat");
      if (!existsSync(base)) continue;
      for (const uid of uids) {
        const podDir = join(base, `pod${uid}`);
        if (!existsSync(podDir)) continue;
        cgroups.push(podDir);
        for (const e of readdirSync(podDir, { withFileTypes: true })) if (e.isDirectory()) await rmdir(join(podDir, e.name)).catch(() => {});
        await rmdir(podDir).catch(() => {});
      }
      await rmdir(base).catch(() => {}); // only if empty (other tests may use it)
    }
    for (const m of mounts) {
      const mountPoint = m.split(" ")[4];
      if (mountPoint) execFileSync("umount", ["-l", mountPoint], { stdio: "ignore" });
    }
    await rm(dir, { recursive: true, force: true });
    for (const d of HOST_DIRS) if (!preexisting.has(d)) await rmdir(d).catch(() => {});
    const leaks = [...leftovers.map((p) => `process ${p}`), ...mounts.map((m) => `mount ${m}`), ...cgroups.map((c) => `cgroup ${c}`)];
    if (leaks.length) throw new Error(`test node leaked:\n${leaks.join("\n")}`);
  };

  try {
    await writeNodeConflist({ confDir: containerd.paths.cniConfDir, podCIDR: opts.podCIDR, bridge: opts.bridge });
    const images = await buildNodeImages(join(dir, "images"));
    const ready = await containerd.ready;
    const t0 = performance.now();
    for (const img of [images.pause, images.busybox]) await importImage(img.file, { address: containerd.address });
    const timings = { containerdStartMs: Math.round(ready.startMs), imageImportMs: Math.round(performance.now() - t0) };
    rt = new CriRuntime(containerd.address, { timeoutMs: 20_000 });
    const runtime = rt;
    await waitFor("NetworkReady", async () => ((await runtime.status()).find((c) => c.type === "NetworkReady")?.status ? true : undefined));
    return { dir, containerd, runtime, images, timings, trackPod: (uid) => void uids.push(uid), cleanup };
  } catch (err) {
    await cleanup().catch(() => {});
    throw err;
  }
}
