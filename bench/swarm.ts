// Benchmark 9 of issue 6: a peer side by side. Debian's docker.io (Docker 20.10) in Swarm
// mode (https://docs.docker.com/engine/swarm/services/) converges a service of R replicas
// of the same local busybox image Tugboat uses; then Tugboat's real agent (`tug up`)
// converges a Deployment of R replicas of it. Both timed from the create command to all
// replicas running (Swarm: `docker service ls` shows R/R; Tugboat: readyReplicas = R),
// in the same benchmark run, one system at a time. dockerd runs from a temp data root
// with --iptables=false --bridge=none so it leaves the host's networking alone.

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { busyboxImage, writeImage } from "../src/agent/images/build.js";
import { rssMiB, runsRow, sleep, type Benchmark, type Row } from "./report.js";
import { BENCH_IMAGE, descendantsRss, realAgentUnavailable, startRealCluster, stopRealCluster } from "./realpods.js";
import { deployment, deploymentStatus } from "./convergence.js";
import { until } from "./tugprocess.js";

const DOCKERD = "/usr/sbin/dockerd";
const DOCKER = "/usr/bin/docker"; // Debian's client, matching the daemon (a newer one may be first on PATH)

function sh(cmd: string, args: string[], timeoutMs = 120_000): Promise<string> {
  return new Promise((res, rej) =>
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => (err ? rej(new Error(`${cmd} ${args.join(" ")}: ${String(stderr || err.message).trim()}`)) : res(String(stdout)))),
  );
}

interface Docker {
  pid: number;
  docker(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

async function startDocker(dir: string): Promise<Docker> {
  const sock = join(dir, "docker.sock");
  const logFd = openSync(join(dir, "dockerd.log"), "a");
  const child: ChildProcess = spawn(
    DOCKERD,
    ["--data-root", join(dir, "root"), "--exec-root", join(dir, "exec"), "--pidfile", join(dir, "dockerd.pid"), "-H", `unix://${sock}`, "--iptables=false", "--ip6tables=false", "--bridge=none"],
    { stdio: ["ignore", logFd, logFd] },
  );
  let exited = false;
  const exit = new Promise<void>((r) => child.once("exit", () => ((exited = true), r())));
  const docker = (...args: string[]) => sh(DOCKER, ["-H", `unix://${sock}`, ...args]);
  const up = await until(async () => !exited && (await docker("info").then(() => true, () => false)), 60_000, 250);
  const stop = async () => {
    await docker("swarm", "leave", "--force").catch(() => undefined);
    if (!exited) {
      process.kill(child.pid!, "SIGTERM");
      const t = setTimeout(() => !exited && process.kill(child.pid!, "SIGKILL"), 20_000);
      await exit;
      clearTimeout(t);
    }
    // `swarm leave` leaves its gateway bridge behind.
    await sh("ip", ["link", "delete", "docker_gwbridge"]).catch(() => undefined);
  };
  if (!up) {
    await stop();
    throw new Error(`dockerd did not start (see ${join(dir, "dockerd.log")})`);
  }
  return { pid: child.pid!, docker, stop };
}

export async function swarmRuns(dir: string, replicas: number, runs: number, log: (m: string) => void): Promise<{ times: number[]; rss: Record<string, number> }> {
  const d = await startDocker(dir);
  try {
    await d.docker("swarm", "init", "--advertise-addr", "127.0.0.1");
    const image = await writeImage(busyboxImage(), join(dir, "images"));
    await d.docker("load", "-i", image.file);
    const times: number[] = [];
    let rss: Record<string, number> = {};
    for (let r = 0; r < runs; r++) {
      const name = `bench${r}`;
      const t0 = performance.now();
      await d.docker("service", "create", "--detach", "--name", name, "--replicas", String(replicas), "--no-resolve-image", BENCH_IMAGE, "sleep", "3600");
      const ok = await until(async () => (await d.docker("service", "ls", "--filter", `name=${name}`, "--format", "{{.Replicas}}")).trim().startsWith(`${replicas}/${replicas}`), 600_000, 250);
      if (!ok) throw new Error(`swarm service ${name} did not converge in 10 minutes`);
      times.push(performance.now() - t0);
      rss = { dockerd: rssMiB(d.pid), ...descendantsRss(d.pid) };
      log(`swarm run ${r + 1}: ${replicas} replicas running after ${Math.round(times[r]!)} ms; RSS ${JSON.stringify(rss)}`);
      await d.docker("service", "rm", name);
      await until(async () => (await d.docker("ps", "-q")).trim() === "", 120_000, 500);
    }
    return { times, rss };
  } finally {
    await d.stop();
  }
}

async function tugRuns(replicas: number, runs: number, log: (m: string) => void): Promise<{ times: number[]; rss: Record<string, number> }> {
  const tug = await startRealCluster();
  try {
    const times: number[] = [];
    let rss: Record<string, number> = {};
    for (let r = 0; r < runs; r++) {
      const name = `bench${r}`;
      const t0 = performance.now();
      const c = await tug.call("POST", "/apis/apps/v1/namespaces/default/deployments", deployment(name, replicas, { terminationGracePeriodSeconds: 0 }, BENCH_IMAGE));
      if (c.status !== 201) throw new Error(`create deployment: HTTP ${c.status} ${c.body.slice(0, 200)}`);
      let last: any;
      const ok = await until(async () => (last = await deploymentStatus(tug, "default", name)).status?.readyReplicas === replicas, 300_000, 250);
      if (!ok) throw new Error(`deployment ${name} did not converge in 5 minutes: ${JSON.stringify(last?.status)}`);
      times.push(performance.now() - t0);
      rss = { tug: tug.rss(), ...descendantsRss(tug.pid) };
      log(`tugboat run ${r + 1}: ${replicas} replicas ready after ${Math.round(times[r]!)} ms; RSS ${JSON.stringify(rss)}`);
      await tug.call("DELETE", `/apis/apps/v1/namespaces/default/deployments/${name}`, { propagationPolicy: "Foreground" });
      await until(async () => JSON.parse((await tug.call("GET", "/api/v1/namespaces/default/pods")).body).items.length === 0, 180_000, 500);
    }
    return { times, rss };
  } finally {
    await stopRealCluster(tug);
  }
}

export const swarmBenchmark: Benchmark = {
  name: "swarm",
  summary: "Docker Swarm (Debian docker.io 20.10) vs Tugboat's real agent: time to converge R replicas of one local image",
  async run(ctx) {
    if (!existsSync(DOCKERD) || !existsSync(DOCKER)) return { rows: [], skipped: "Debian's docker.io is not installed (apt-get install docker.io): no peer to compare with" };
    const why = realAgentUnavailable();
    if (why) return { rows: [], skipped: why };
    const replicas = ctx.quick ? 10 : 50;
    const dir = mkdtempSync(join(tmpdir(), "tug-bench-swarm-"));
    const rows: Row[] = [];
    const notes: string[] = [];
    try {
      const swarm = await swarmRuns(dir, replicas, ctx.runs, ctx.log);
      await sleep(2000);
      let tug: { times: number[]; rss: Record<string, number> } | undefined;
      try {
        tug = await tugRuns(replicas, ctx.runs, ctx.log);
      } catch (err) {
        notes.push(`Tugboat side not measured: ${String((err as Error).message).split("\n")[0]}`);
      }
      rows.push(runsRow(`Docker Swarm: ${replicas}-replica service → all running`, swarm.times.map((t) => t / 1000), "s"));
      if (tug) {
        rows.push(runsRow(`Tugboat (real agent): ${replicas}-replica Deployment → all ready`, tug.times.map((t) => t / 1000), "s"));
        const ratio = tug.times.map((t, i) => swarm.times[i]! / t);
        rows.push(runsRow("Swarm time / Tugboat time (same run)", ratio, "×"));
        notes.push(`RSS after convergence: swarm ${JSON.stringify(swarm.rss)}; tugboat ${JSON.stringify(tug.rss)} (MiB; shims that daemonize are not counted)`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return { rows, notes, params: { replicas, image: BENCH_IMAGE, dockerd: "--iptables=false --bridge=none, swarm on 127.0.0.1" } };
  },
};
