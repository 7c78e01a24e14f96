// `tug down`: the node's full stop, the counterpart of k3s-killall.sh
// (https://docs.k3s.io/upgrades/killall). A plain agent stop leaves pods running (their
// shims outlive containerd, as a kubelet restart leaves containers); this removes them
// all through CRI (which releases pod IPs and network namespaces), stops containerd,
// removes pod cgroups, mounts left under the data dir, the pod bridge and the
// `unreachable` routes. Safe to run twice.

import { readFileSync, readdirSync } from "node:fs";
import { rmdir } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ContainerdProcess, containerdPaths } from "../containerd.js";
import { DEFAULT_BRIDGE, recordedUnreachableRoutes, removeBridge, removeUnreachableRoutes } from "../cni.js";
import { CriRuntime } from "../runtime/cri/runtime.js";
import { POD_UID_LABEL, removePodCgroup } from "../kubelet/podworker.js";

export interface TearDownOptions {
  /** The agent's data dir (DATA/agent). */
  dataDir: string;
  bridge?: string;
  /** Remove the unreachable routes too (default true). */
  routes?: boolean;
  log?: (line: string) => void;
}

/** Processes whose command line mentions `needle` (shims name their containerd socket). */
export function processesMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, "utf8").includes(needle)) out.push(Number(p));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/**
 * PIDs of `tug up`/`tug agent` processes using `dataDir` (the directory given to
 * --data-dir; a process without the flag uses `defaultDir`): tearing down under a
 * running agent would pull containerd from under it.
 */
export function runningTugNodes(dataDir: string, defaultDir = "/var/lib/tugboat"): number[] {
  const out: number[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    const cmd = argv.findIndex((a) => a === "up" || a === "agent");
    if (cmd < 0 || !argv.slice(0, cmd).some((a) => /(^|\/)(tug|tug\.js|main\.[jt]s)$/.test(a))) continue;
    if (argv.includes("--hollow") || argv.includes("--hollow-nodes")) continue;
    const i = argv.indexOf("--data-dir");
    const eq = argv.find((a) => a.startsWith("--data-dir="));
    const dir = i >= 0 ? argv[i + 1] : eq ? eq.slice("--data-dir=".length) : defaultDir;
    if (dir && dir.replace(/\/+$/, "") === dataDir.replace(/\/+$/, "")) out.push(Number(p));
  }
  return out;
}

export async function tearDownNode(o: TearDownOptions): Promise<{ sandboxes: number }> {
  const log = o.log ?? (() => {});
  const paths = containerdPaths({ dataDir: o.dataDir });
  // The running containerd is adopted by a ContainerdProcess; a stopped one is started so
  // CRI can release each sandbox's network (IPAM, netns) the proper way.
  const containerd = new ContainerdProcess({ dataDir: o.dataDir, readyTimeoutMs: 30_000 });
  const stop = new AbortController();
  const done = containerd.start(stop.signal).catch((err) => log(`containerd: ${String((err as Error)?.message ?? err)}`));
  let count = 0;
  try {
    await containerd.ready;
    const rt = new CriRuntime(containerd.address, { timeoutMs: 60_000 });
    try {
      const sandboxes = await rt.listPodSandboxes();
      for (const s of sandboxes) {
        log(`removing pod ${s.metadata.namespace}/${s.metadata.name} (${s.id.slice(0, 12)})`);
        await rt.stopPodSandbox(s.id).catch((e) => log(`stop ${s.id}: ${String(e?.message ?? e)}`));
        await rt.removePodSandbox(s.id).catch((e) => log(`remove ${s.id}: ${String(e?.message ?? e)}`));
        const uid = s.labels[POD_UID_LABEL];
        if (uid) await removePodCgroup(uid);
        count++;
      }
    } finally {
      rt.close();
    }
  } catch (err) {
    log(`could not reach containerd to stop pods: ${String((err as Error)?.message ?? err)}`);
  } finally {
    stop.abort();
    await done;
  }
  // Shims exit when their last container is removed; anything left is killed by PID.
  for (let i = 0; i < 40 && processesMentioning(paths.address).length > 0; i++) await sleep(100);
  for (const pid of processesMentioning(paths.address)) {
    log(`killing leftover process ${pid}`);
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  // Mounts under the data dir (rootfs overlays, netns, shm) go last, deepest first.
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((m): m is string => !!m && m.startsWith(o.dataDir + "/"))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    try {
      execFileSync("umount", ["-l", m], { stdio: "ignore" });
    } catch {
      // already gone
    }
  }
  for (const ctrl of readdirSync("/sys/fs/cgroup")) await rmdir(join("/sys/fs/cgroup", ctrl, "tugboat")).catch(() => {});
  await removeBridge(o.bridge ?? DEFAULT_BRIDGE).catch((e) => log(`bridge: ${String(e?.message ?? e)}`));
  // The ranges this node last used (they follow the server's --cluster-cidr/--service-cidr).
  if (o.routes !== false) await removeUnreachableRoutes(await recordedUnreachableRoutes(o.dataDir)).catch(() => {});
  return { sandboxes: count };
}
