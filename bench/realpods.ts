// Benchmark 6 of issue 6: real containers. `tug up` with the containerd agent (no hollow
// nodes) on its own bridge and pod range; warm-up pod first (image import, first
// sandbox), then bursts of 30 pods of the local busybox image, each timed from the create
// request to phase=Running seen on a watch: the pod startup SLI
// (https://github.com/kubernetes/community/blob/master/sig-scalability/slos/pod_startup_latency.md,
// SLO p99 ≤ 5 s, image pulls excluded). Also the resident memory of the tug process (server
// + agent) and of the containerd and shim processes it started. Skips with the reason
// when the real agent cannot run here (not root, no containerd, `tug up` refuses).

import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { judge, latencyRow, rssMiB, runsRow, sleep, type Benchmark } from "./report.js";
import { readyNodes } from "./convergence.js";
import { repoRoot, startTug, until, type Tug } from "./tugprocess.js";
import { join } from "node:path";

export const BENCH_IMAGE = "tugboat/busybox:1";
const BRIDGE = "tugbench0";

/** Why the real agent cannot run here, or undefined. */
export function realAgentUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (containerd, network namespaces)";
  if (!existsSync("/usr/bin/containerd")) return "containerd not installed (scripts/install-node-deps.sh)";
  return undefined;
}

/** `tug up` with the real agent, waited until its node is Ready; throws with the reason otherwise. */
export async function startRealCluster(): Promise<Tug> {
  const tug = await startTug({
    command: "up",
    args: ["--no-demo", "--node-name", "bench-node", "--pod-cidr", "10.42.251.0/24", "--cni-bridge", BRIDGE, "--kubelet-port", "0", "--no-install"],
    readyTimeoutMs: 180_000,
  });
  if (!(await until(async () => (await readyNodes(tug)) >= 1, 180_000, 500))) {
    const log = tug.log().slice(-2000);
    await stopRealCluster(tug);
    throw new Error(`the node did not become Ready in 180 s:\n${log}`);
  }
  return tug;
}

/** Stops tug, then `tug down` removes the pods, containerd, bridge and routes it left. */
export async function stopRealCluster(tug: Tug): Promise<void> {
  await tug.stop({ keepData: true });
  const main = join(repoRoot, import.meta.url.includes("/dist/") ? "bin/tug.js" : "src/cli/main.ts");
  const args = main.endsWith(".ts") ? ["--import", "tsx", main] : [main];
  await new Promise<void>((r) => execFile(process.execPath, [...args, "down", "--data-dir", tug.dataDir, "--cni-bridge", BRIDGE], { cwd: repoRoot, timeout: 120_000 }, () => r()));
  const { rmSync } = await import("node:fs");
  rmSync(tug.dataDir, { recursive: true, force: true });
}

/** RSS (MiB) of pid's descendants, summed by command name (containerd, containerd-shim…). */
export function descendantsRss(pid: number): Record<string, number> {
  const parent = new Map<number, number>();
  const name = new Map<number, string>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      name.set(Number(d), stat.slice(stat.indexOf("(") + 1, close));
      parent.set(Number(d), Number(stat.slice(close + 2).split(" ")[1]));
    } catch {
      // gone
    }
  }
  const out: Record<string, number> = {};
  const isDescendant = (p: number): boolean => {
    for (let q = parent.get(p); q !== undefined && q > 1; q = parent.get(q)) if (q === pid) return true;
    return false;
  };
  for (const p of parent.keys()) {
    if (!isDescendant(p)) continue;
    const n = name.get(p)!;
    out[n] = Math.round(((out[n] ?? 0) + (rssMiB(p) || 0)) * 10) / 10;
  }
  return out;
}

/** RSS (MiB) and count of processes whose command line mentions `needle` (shims name their containerd's socket, under the data dir). */
export function rssOfProcessesMentioning(needle: string, namePrefix: string): { count: number; mib: number } {
  let count = 0;
  let mib = 0;
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8");
      if (!cmd.includes(needle) || !cmd.split("\0")[0]!.split("/").pop()!.startsWith(namePrefix)) continue;
      count++;
      mib += rssMiB(Number(d)) || 0;
    } catch {
      // gone
    }
  }
  return { count, mib: Math.round(mib * 10) / 10 };
}

function pod(name: string): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { app: "realpods" } },
    spec: { terminationGracePeriodSeconds: 0, containers: [{ name: "c", image: BENCH_IMAGE, imagePullPolicy: "Never", command: ["sleep", "3600"] }] },
  };
}

/** Creates n pods at once; resolves with each one's create → Running time (ms) seen on a watch. */
export async function burst(tug: Tug, ns: string, prefix: string, n: number, timeoutMs: number): Promise<number[]> {
  const issued = new Map<string, number>();
  const running = new Map<string, number>();
  const list = JSON.parse((await tug.call("GET", `/api/v1/namespaces/${ns}/pods`)).body);
  const w = await tug.watch(`/api/v1/namespaces/${ns}/pods?watch=1&resourceVersion=${list.metadata.resourceVersion}`, (line) => {
    const ev = JSON.parse(line);
    const name = ev.object?.metadata?.name;
    if (issued.has(name) && !running.has(name) && ev.object?.status?.phase === "Running") running.set(name, performance.now());
  });
  try {
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const name = `${prefix}-${i}`;
        issued.set(name, performance.now());
        const r = await tug.call("POST", `/api/v1/namespaces/${ns}/pods`, pod(name));
        if (r.status !== 201) throw new Error(`create pod: HTTP ${r.status} ${r.body.slice(0, 200)}`);
      }),
    );
    if (!(await until(() => running.size >= n, timeoutMs, 50))) throw new Error(`only ${running.size}/${n} pods Running after ${timeoutMs} ms`);
    return [...running].map(([name, at]) => at - issued.get(name)!);
  } finally {
    w.close();
  }
}

async function deleteAll(tug: Tug, ns: string): Promise<void> {
  await tug.call("DELETE", `/api/v1/namespaces/${ns}/pods?labelSelector=app%3Drealpods`, { gracePeriodSeconds: 0 });
  await until(async () => JSON.parse((await tug.call("GET", `/api/v1/namespaces/${ns}/pods`)).body).items.length === 0, 120_000, 250);
}

export const realPodsBenchmark: Benchmark = {
  name: "realpods",
  summary: "tug up with containerd: create → Running latency of 30-pod bursts (p50/p99), agent RSS",
  async run(ctx) {
    const why = realAgentUnavailable();
    if (why) return { rows: [], skipped: why };
    const n = ctx.quick ? 10 : 30;
    let tug: Tug;
    try {
      tug = await startRealCluster();
    } catch (err) {
      return { rows: [], skipped: `the real agent is not available: ${String((err as Error).message).split("\n").slice(0, 6).join(" | ")}` };
    }
    const lat: number[] = [];
    const perRunP99: number[] = [];
    let rss = { tug: NaN, children: {} as Record<string, number>, shims: { count: 0, mib: NaN } };
    try {
      ctx.log("node Ready; warm-up pod");
      await burst(tug, "default", "warm", 1, 120_000);
      await deleteAll(tug, "default");
      for (let r = 0; r < ctx.runs; r++) {
        const l = await burst(tug, "default", `r${r}`, n, 120_000);
        lat.push(...l);
        perRunP99.push(Math.max(...l));
        rss = { tug: tug.rss(), children: descendantsRss(tug.pid), shims: rssOfProcessesMentioning(tug.dataDir, "containerd-shim") };
        ctx.log(`run ${r + 1}: ${n} pods Running, slowest ${Math.round(Math.max(...l))} ms; RSS tug ${rss.tug} MiB, children ${JSON.stringify(rss.children)}, ${rss.shims.count} shims ${rss.shims.mib} MiB`);
        await deleteAll(tug, "default");
        await sleep(1000);
      }
    } finally {
      await stopRealCluster(tug);
    }
    return {
      rows: [
        judge(latencyRow(`pod create → Running (${n} at once)`, lat, { anchor: "K8s SLO p99 ≤ 5000 ms" }), "≤ 1000", true),
        runsRow(`tug up RSS (server + agent) with ${n} pods`, [rss.tug], "MiB"),
        runsRow("containerd RSS", [rss.children["containerd"] ?? NaN], "MiB"),
        runsRow(`containerd shims RSS (${rss.shims.count} shims, ${n} pods)`, [rss.shims.mib], "MiB"),
      ],
      params: { pods: n, image: BENCH_IMAGE },
    };
  },
};
