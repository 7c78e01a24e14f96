// Helpers shared by the real-node end-to-end tests (real-*.test.ts): running `tug`
// commands to completion, plain HTTP to pod IPs, free ports for the server's ingress and
// DNS listeners, and the leak check after `tug down`.

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import assert from "node:assert/strict";
import { freePort, repoRoot, show, type Tug } from "./harness.js";

/** Runs `tug ARGS` (from source, like the harness) to completion. */
export function tugCommand(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", join(repoRoot, "src", "cli", "main.ts"), ...args], { cwd: repoRoot, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

/** Starts a long-running `tug ARGS` (e.g. an agent); output is collected into `log()`. */
export function spawnTug(args: string[]): { child: ChildProcess; log(): string } {
  let buf = "";
  const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "src", "cli", "main.ts"), ...args], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (b) => (buf += b));
  child.stderr!.on("data", (b) => (buf += b));
  process.once("exit", () => child.exitCode === null && child.kill("SIGKILL"));
  return { child, log: () => buf };
}

/** Flags giving the server's ingress and DNS listeners free ports, where this build has them. */
export async function serverPortFlags(command: "up" | "server"): Promise<{ args: string[]; ingressPort: number }> {
  const help = await tugCommand([command, "--help"]);
  const flags = new Set([...help.out.matchAll(/--([a-z0-9-]+)/g)].map((m) => m[1]!));
  const args: string[] = [];
  let ingressPort = 0;
  if (flags.has("ingress-http-port")) {
    ingressPort = await freePort();
    args.push("--ingress-http-port", String(ingressPort));
  }
  if (flags.has("ingress-https-port")) args.push("--ingress-https-port", String(await freePort()));
  if (flags.has("cluster-dns-port")) args.push("--cluster-dns-port", String(await freePort()));
  return { args, ingressPort };
}

export function httpGet(url: string, opts: { timeoutMs?: number; host?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: opts.timeoutMs ?? 3000, agent: false, headers: opts.host ? { host: opts.host } : {} }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/**
 * What a node left on the host under `dataDir`: processes naming it, mounts below it,
 * the bridge, pod cgroups of the given UIDs. Empty after a clean `tug down`.
 */
export function nodeLeaks(dataDir: string, bridge: string, podUIDs: Iterable<string>): string[] {
  const leaks: string[] = [];
  for (const p of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, "utf8");
      if (cmd.includes(dataDir)) leaks.push(`process ${p}: ${cmd.replace(/\0/g, " ")}`);
    } catch {
      // exited
    }
  }
  for (const m of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) if (m.includes(dataDir)) leaks.push(`mount ${m}`);
  if (existsSync(`/sys/class/net/${bridge}`)) leaks.push(`bridge ${bridge}`);
  for (const ctrl of readdirSync("/sys/fs/cgroup")) {
    for (const uid of podUIDs) if (existsSync(join("/sys/fs/cgroup", ctrl, "tugboat", `pod${uid}`))) leaks.push(`cgroup ${ctrl}/tugboat/pod${uid}`);
  }
  return leaks;
}

/** `kubectl ARGS -o json`, parsed; fails the test on a non-zero exit. */
export async function getJSON(tug: Tug, args: string[]): Promise<any> {
  const r = await tug.kubectl([...args, "-o", "json"]);
  assert.equal(r.code, 0, show(r));
  return JSON.parse(r.stdout);
}

/**
 * Stops a `tug up` and removes its node the way a user would: pods outlive a plain stop
 * (k3s behaviour), so `tug down` removes them and the node's host state. Returns what was
 * left behind (empty when clean) after asserting `tug down` succeeded.
 */
export async function stopAndTearDown(tug: Tug, bridge: string, podUIDs: Iterable<string>): Promise<string[]> {
  await tug.stop("SIGTERM");
  const down = await tugCommand(["down", "--data-dir", tug.dataDir, "--cni-bridge", bridge]);
  const dataDir = tug.dataDir;
  await tug.cleanup();
  assert.equal(down.code, 0, down.out);
  return nodeLeaks(dataDir, bridge, podUIDs);
}
