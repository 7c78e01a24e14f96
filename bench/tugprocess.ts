// A real `tug` process for benchmarks that measure the product: `tug server` or `tug up`
// on a free loopback port with its own data dir, driven over HTTPS with the admin client
// certificate from the kubeconfig it writes
// (https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/).
// From dist (npm run bench) it runs bin/tug.js; from source (tsx) src/cli/main.ts.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYAML } from "yaml";
import { cpuMs, rssMiB, sleep } from "./report.js";

const here = dirname(fileURLToPath(import.meta.url));
const fromDist = here.split("/").includes("dist");
export const repoRoot = resolve(here, fromDist ? "../.." : "..");

export interface TugOptions {
  /** "server" (default) or "up". */
  command?: "server" | "up";
  args?: string[];
  /** Reuse a data dir (a warm restart); default a fresh temp dir, removed by stop(). */
  dataDir?: string;
  readyTimeoutMs?: number;
  /** Extra node flags, e.g. ["--cpu-prof", "--cpu-prof-dir=…"]. */
  nodeArgs?: string[];
}

export interface HttpResult {
  status: number;
  body: string;
}

export interface Tug {
  pid: number;
  port: number;
  dataDir: string;
  /** Milliseconds from spawn until /readyz answered 200. */
  readyMs: number;
  /** CPU time (ms) the process had used by then: less sensitive than readyMs to a busy machine. */
  readyCpuMs: number;
  /** One HTTPS request over a keep-alive pool (up to 256 sockets). */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<HttpResult>;
  /** Opens a watch stream; onLine gets each raw JSON line (not parsed, to keep the client cheap). */
  watch(path: string, onLine: (line: string) => void): Promise<{ close(): void }>;
  rss(): number;
  log(): string;
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

function tugCommand(nodeArgs: string[]): { cmd: string; args: string[] } {
  if (fromDist) return { cmd: process.execPath, args: [...nodeArgs, join(repoRoot, "bin", "tug.js")] };
  return { cmd: process.execPath, args: [...nodeArgs, "--import", "tsx", join(repoRoot, "src", "cli", "main.ts")] };
}

interface Creds {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

function readCreds(kubeconfig: string): Creds {
  const doc = parseYAML(readFileSync(kubeconfig, "utf8")) as any;
  const cluster = doc.clusters[0].cluster;
  const user = doc.users[0].user;
  return {
    ca: Buffer.from(cluster["certificate-authority-data"], "base64"),
    cert: Buffer.from(user["client-certificate-data"], "base64"),
    key: Buffer.from(user["client-key-data"], "base64"),
  };
}

const helpCache = new Map<string, string>();

/** The flags `tug <command> --help` lists (so the benchmarks work across CLI versions). */
function supportedFlags(command: string): string {
  let help = helpCache.get(command);
  if (help === undefined) {
    const { cmd, args } = tugCommand([]);
    try {
      help = execFileSync(cmd, [...args, command, "--help"], { cwd: repoRoot, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
    } catch (err) {
      help = String((err as { stdout?: string }).stdout ?? "") + String((err as { stderr?: string }).stderr ?? "");
    }
    helpCache.set(command, help);
  }
  return help;
}

/**
 * The built-in DNS server and ingress controller listen on fixed ports by default (10053,
 * 80, 443 on 0.0.0.0); a benchmark gives them free loopback ports so several servers
 * (and other work on the machine) never collide. They still run: they are part of the
 * footprint.
 */
async function isolationFlags(command: string): Promise<string[]> {
  const help = supportedFlags(command);
  const out: string[] = [];
  if (help.includes("--cluster-dns-port")) out.push("--cluster-dns-port", String(await freePort()), "--cluster-dns-bind", "127.0.0.1");
  if (help.includes("--ingress-http-port")) out.push("--ingress-http-port", String(await freePort()), "--ingress-https-port", String(await freePort()), "--ingress-bind", "127.0.0.1");
  return out;
}

export async function startTug(opts: TugOptions = {}): Promise<Tug> {
  const ownDir = opts.dataDir === undefined;
  const isolation = await isolationFlags(opts.command ?? "server");
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "tug-bench-"));
  const port = await freePort();
  const kubeconfig = join(dataDir, "kubeconfig.yaml");
  // TUG_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles every tug the benchmarks start.
  const envArgs = (process.env.TUG_BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const { cmd, args } = tugCommand([...envArgs, ...(opts.nodeArgs ?? [])]);
  const t0 = performance.now();
  const child: ChildProcess = spawn(cmd, [...args, opts.command ?? "server", "--data-dir", dataDir, "--listen", `127.0.0.1:${port}`, ...isolation, ...(opts.args ?? [])], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let logBuf = "";
  const append = (b: Buffer) => {
    logBuf += b.toString("utf8");
    if (logBuf.length > 200_000) logBuf = logBuf.slice(-100_000);
  };
  child.stdout!.on("data", append);
  child.stderr!.on("data", append);
  let exitCode: number | undefined;
  const exited = new Promise<void>((r) => child.once("exit", (code, sig) => ((exitCode = code ?? (sig ? -1 : 0)), r())));

  let creds: Creds | undefined;
  let agent: Agent | undefined;
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult> =>
    new Promise((res, rej) => {
      const data = body === undefined ? undefined : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
      const req = request(
        {
          host: "127.0.0.1",
          port,
          method,
          path,
          agent,
          ca: creds!.ca,
          cert: creds!.cert,
          key: creds!.key,
          headers: { accept: "application/json", ...(data ? { "content-type": "application/json", "content-length": data.length } : {}), ...headers },
          timeout: 60_000,
        },
        (r) => {
          const chunks: Buffer[] = [];
          r.on("data", (c) => chunks.push(c));
          r.on("end", () => res({ status: r.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
          r.on("error", rej);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on("error", rej);
      req.end(data);
    });

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (exitCode !== undefined) throw new Error(`tug ${opts.command ?? "server"} exited (${exitCode}) before ready:\n${logBuf.slice(-3000)}`);
    if (existsSync(kubeconfig)) {
      try {
        creds ??= readCreds(kubeconfig);
        agent ??= new Agent({ keepAlive: true, maxSockets: 256, ca: creds.ca, cert: creds.cert, key: creds.key });
        const r = await call("GET", "/readyz");
        if (r.status === 200) break;
      } catch {
        creds = undefined; // not listening yet, or the kubeconfig is half-written
        agent?.destroy();
        agent = undefined;
      }
    }
    if (Date.now() > deadline) {
      process.kill(child.pid!, "SIGKILL");
      throw new Error(`tug not ready after ${opts.readyTimeoutMs ?? 60_000} ms:\n${logBuf.slice(-3000)}`);
    }
    await sleep(10);
  }
  const readyMs = performance.now() - t0;
  const readyCpuMs = cpuMs(child.pid!);

  const watch = (path: string, onLine: (line: string) => void): Promise<{ close(): void }> =>
    new Promise((res, rej) => {
      const req = request(
        { host: "127.0.0.1", port, method: "GET", path, ca: creds!.ca, cert: creds!.cert, key: creds!.key, agent: false, headers: { accept: "application/json" } },
        (r) => {
          if (r.statusCode !== 200) return rej(new Error(`watch ${path}: HTTP ${r.statusCode}`));
          let buf = "";
          r.setEncoding("utf8");
          r.on("data", (chunk: string) => {
            buf += chunk;
            let i: number;
            while ((i = buf.indexOf("\n")) >= 0) {
              const line = buf.slice(0, i);
              buf = buf.slice(i + 1);
              if (line.length > 0) onLine(line);
            }
          });
          r.on("error", () => undefined);
          res({ close: () => req.destroy() });
        },
      );
      req.on("error", (e) => rej(e));
      req.end();
    });

  return {
    pid: child.pid!,
    port,
    dataDir,
    readyMs,
    readyCpuMs,
    call,
    watch,
    rss: () => rssMiB(child.pid!),
    log: () => logBuf,
    async stop(o = {}) {
      agent?.destroy();
      if (exitCode === undefined) {
        process.kill(child.pid!, "SIGTERM");
        const t = setTimeout(() => exitCode === undefined && process.kill(child.pid!, "SIGKILL"), 15_000);
        await exited;
        clearTimeout(t);
      }
      if (ownDir && !o.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs `fn` over `count` items with `concurrency` workers; returns per-item latencies (ms). */
export async function pool(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<number[]> {
  const lat: number[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        await fn(i);
        lat[i] = performance.now() - t;
      }
    }),
  );
  return lat;
}

/** Polls fn every intervalMs until it returns true or timeoutMs passes; returns whether it did. */
export async function until(fn: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return true;
    await sleep(intervalMs);
  }
  return false;
}
