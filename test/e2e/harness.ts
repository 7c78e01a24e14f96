// End-to-end harness: starts a real `tug server` child process on a free loopback port
// with its own data directory and drives it the way users do, with the real kubectl
// binaries (https://kubernetes.io/docs/reference/kubectl/) and plain HTTPS requests
// authenticated by the admin client certificate from the kubeconfig the server writes
// (https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/).
// The server runs from the compiled dist when the test itself runs from dist
// (`node --test dist/test/e2e/*.test.js`), otherwise from source through tsx.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { createServer } from "node:net";
import { request as httpsRequest, type Agent, type RequestOptions } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYAML } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
/** True when this file is the compiled dist/test/e2e/harness.js. */
const fromDist = fileURLToPath(import.meta.url).endsWith(".js") && here.split("/").includes("dist");
/** Repository root: test/e2e → ../.. ; dist/test/e2e → ../../.. */
export const repoRoot = resolve(here, fromDist ? "../../.." : "../..");
/** Directory holding the YAML fixtures (always the source copy: tsc does not copy YAML). */
export const testdataDir = join(repoRoot, "test", "e2e", "testdata");

export type KubectlVersion = "1.27" | "1.28" | "1.29" | "1.30" | "1.31" | "1.32" | "1.33";

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  /** Run a specific kubectl minor (e.g. 1.31 sends JSON bodies, 1.32 protobuf). Default: /usr/bin/kubectl dispatcher. */
  version?: KubectlVersion;
  stdin?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

export interface TlsCreds {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): any;
}

export interface Tug {
  dataDir: string;
  url: string;
  port: number;
  kubeconfig: string;
  pid: number;
  /** Admin credentials parsed from the kubeconfig. */
  tls: TlsCreds;
  kubectl(args: string[], o?: KubectlOptions): Promise<KubectlResult>;
  /** Spawn kubectl without waiting (for `get -w`); caller kills it by PID. */
  spawnKubectl(args: string[], o?: KubectlOptions): ChildProcess;
  /** One HTTPS request with the admin client certificate. */
  http(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<HttpResult>;
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Start again on the same data dir and port. */
  restart(): Promise<void>;
  /** stop() if running, then remove every temp dir. */
  cleanup(): Promise<void>;
  /** Server stderr/stdout collected so far (for failure messages). */
  logs(): string;
}

export interface StartOptions {
  /** Reuse an existing data dir (default: a fresh temp dir). */
  dataDir?: string;
  /** Which tug command to run: `server` (default) or `up` (server plus nodes). */
  command?: "server" | "up";
  /** Extra flags for that command (e.g. ["--hollow-nodes", "5"]). */
  args?: string[];
  readyTimeoutMs?: number;
  /** Address the API server listens on (default 127.0.0.1; "0.0.0.0" when nodes in other netns must reach it). */
  listenHost?: string;
}

/** The versioned kubectl binary, or undefined when this machine lacks it. */
export function kubectlBinary(version?: KubectlVersion): string | undefined {
  const p = version ? `/usr/lib/google-cloud-sdk/bin/kubectl.${version}` : "/usr/bin/kubectl";
  return existsSync(p) ? p : undefined;
}

/** A reason to skip (for `test(..., { skip })`) when a kubectl binary is missing. */
export function missingKubectl(...versions: (KubectlVersion | undefined)[]): string | false {
  for (const v of versions) if (!kubectlBinary(v)) return `kubectl ${v ?? "(default)"} not installed at ${v ? `/usr/lib/google-cloud-sdk/bin/kubectl.${v}` : "/usr/bin/kubectl"}`;
  return false;
}

/** Bind :0 on loopback, read the port, close: the kernel will not hand it out again soon. */
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

function serverCommand(): { cmd: string; args: string[] } {
  if (fromDist) return { cmd: process.execPath, args: [join(repoRoot, "bin", "tug.js")] };
  return { cmd: process.execPath, args: ["--import", "tsx", join(repoRoot, "src", "cli", "main.ts")] };
}

function readCreds(kubeconfig: string): { server: string; tls: TlsCreds } {
  const doc = parseYAML(readFileSync(kubeconfig, "utf8")) as any;
  const ctxName = doc["current-context"];
  const ctx = (doc.contexts ?? []).find((c: any) => c.name === ctxName)?.context ?? doc.contexts?.[0]?.context;
  const cluster = (doc.clusters ?? []).find((c: any) => c.name === ctx?.cluster)?.cluster ?? doc.clusters?.[0]?.cluster;
  const user = (doc.users ?? []).find((u: any) => u.name === ctx?.user)?.user ?? doc.users?.[0]?.user;
  const b64 = (s: string | undefined, what: string) => {
    if (!s) throw new Error(`kubeconfig ${kubeconfig}: missing ${what}`);
    return Buffer.from(s, "base64");
  };
  return {
    server: cluster.server,
    tls: {
      ca: b64(cluster["certificate-authority-data"], "certificate-authority-data"),
      cert: b64(user["client-certificate-data"], "client-certificate-data"),
      key: b64(user["client-key-data"], "client-key-data"),
    },
  };
}

/** One HTTPS request to the server at 127.0.0.1:port with client-certificate auth. */
export function httpsCall(port: number, tls: TlsCreds, method: string, path: string, body?: unknown, headers: Record<string, string> = {}, o: { timeoutMs?: number; agent?: Agent } = {}): Promise<HttpResult> {
  const timeoutMs = o.timeoutMs ?? 15_000;
  return new Promise((res, rej) => {
    const data = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    const opts: RequestOptions = {
      host: "127.0.0.1",
      port,
      method,
      path,
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      servername: "localhost",
      checkServerIdentity: () => undefined,
      headers: { accept: "application/json", ...(data !== undefined ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(data)) } : {}), ...headers },
      timeout: timeoutMs,
      agent: o.agent ?? false,
    };
    const req = httpsRequest(opts, (r) => {
      const chunks: Buffer[] = [];
      r.on("data", (c) => chunks.push(c));
      r.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        res({ status: r.statusCode ?? 0, headers: r.headers, body: text, json: () => JSON.parse(text) });
      });
      r.on("error", rej);
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out after ${timeoutMs} ms`)));
    req.on("error", rej);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

/** Every child this process started; killed if the test process exits without cleanup. */
const liveChildren = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of liveChildren) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});
function track<C extends ChildProcess>(c: C): C {
  liveChildren.add(c);
  c.once("exit", () => liveChildren.delete(c));
  return c;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `fn` until it returns a truthy value or the deadline passes. */
export async function eventually<T>(fn: () => Promise<T | undefined | false | null>, timeoutMs = 20_000, intervalMs = 250, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await sleep(intervalMs);
  }
}

/**
 * Tests never take the host's well-known ports: unless a test chooses them, the ingress
 * and cluster DNS listen on free high ports on 127.0.0.1.
 */
async function quietPorts(args: string[]): Promise<string[]> {
  const out: string[] = [];
  const has = (flag: string) => args.some((a) => a === flag || a.startsWith(`${flag}=`));
  if (!has("--ingress-http-port")) out.push("--ingress-http-port", String(await freePort()));
  if (!has("--ingress-https-port")) out.push("--ingress-https-port", String(await freePort()));
  if (!has("--ingress-bind")) out.push("--ingress-bind", "127.0.0.1");
  if (!has("--cluster-dns-port")) out.push("--cluster-dns-port", String(await freePort()));
  if (!has("--cluster-dns-bind")) out.push("--cluster-dns-bind", "127.0.0.1");
  return out;
}

export async function startTug(opts: StartOptions = {}): Promise<Tug> {
  const tempDirs: string[] = [];
  const mk = (prefix: string) => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    tempDirs.push(d);
    return d;
  };
  const dataDir = opts.dataDir ?? mk("tug-e2e-data-");
  const home = mk("tug-e2e-home-");
  const port = await freePort();
  const kubeconfig = join(dataDir, "kubeconfig.yaml");
  const url = `https://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let logBuf = "";
  let tls: TlsCreds | undefined;
  const kubectlChildren = new Set<ChildProcess>();

  async function launch(): Promise<void> {
    const { cmd, args } = serverCommand();
    const c = track(spawn(cmd, [...args, opts.command ?? "server", "--data-dir", dataDir, "--listen", `${opts.listenHost ?? "127.0.0.1"}:${port}`, ...(await quietPorts(opts.args ?? [])), ...(opts.args ?? [])], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, HOME: home },
    }));
    child = c;
    const append = (b: Buffer) => {
      logBuf += b.toString("utf8");
      if (logBuf.length > 200_000) logBuf = logBuf.slice(-100_000);
    };
    c.stdout!.on("data", append);
    c.stderr!.on("data", append);
    let exitCode: number | null | undefined;
    exited = new Promise((r) => c.once("exit", (code, sig) => {
      exitCode = code ?? (sig ? -1 : 0);
      r();
    }));
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
    for (;;) {
      if (exitCode !== undefined) throw new Error(`tug server exited (${exitCode}) before ready:\n${logBuf.slice(-4000)}`);
      if (existsSync(kubeconfig)) {
        try {
          tls ??= readCreds(kubeconfig).tls;
          const r = await httpsCall(port, tls, "GET", "/readyz", undefined, {}, { timeoutMs: 2_000 });
          if (r.status === 200) return;
        } catch {
          /* not listening yet, or kubeconfig half-written */
          tls = undefined;
        }
      }
      if (Date.now() > deadline) {
        c.kill("SIGKILL");
        throw new Error(`tug server not ready after ${opts.readyTimeoutMs ?? 60_000} ms:\n${logBuf.slice(-4000)}`);
      }
      await sleep(150);
    }
  }

  async function stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    for (const k of kubectlChildren) if (k.exitCode === null && k.pid) k.kill("SIGKILL");
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    process.kill(c.pid!, signal);
    const t = setTimeout(() => c.exitCode === null && c.signalCode === null && process.kill(c.pid!, "SIGKILL"), 15_000);
    await exited;
    clearTimeout(t);
  }

  function kubectlCommand(args: string[], o: KubectlOptions = {}): { bin: string; argv: string[]; env: NodeJS.ProcessEnv } {
    const bin = kubectlBinary(o.version);
    if (!bin) throw new Error(missingKubectl(o.version) as string);
    return { bin, argv: ["--kubeconfig", kubeconfig, ...args], env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, ...o.env } };
  }

  await launch();

  const tug: Tug = {
    dataDir,
    url,
    port,
    kubeconfig,
    get pid() {
      return child!.pid!;
    },
    get tls() {
      return tls!;
    },
    kubectl(args, o = {}) {
      const { bin, argv, env } = kubectlCommand(args, o);
      return new Promise((res) => {
        const k = track(spawn(bin, argv, { env, stdio: ["pipe", "pipe", "pipe"] }));
        kubectlChildren.add(k);
        let stdout = "";
        let stderr = "";
        k.stdout.on("data", (b) => (stdout += b));
        k.stderr.on("data", (b) => (stderr += b));
        const timeoutMs = o.timeoutMs ?? 30_000;
        const t = setTimeout(() => {
          stderr += `\n[harness] kubectl timed out after ${timeoutMs} ms`;
          k.kill("SIGKILL");
        }, timeoutMs);
        k.on("close", (code) => {
          clearTimeout(t);
          kubectlChildren.delete(k);
          res({ code: code ?? -1, stdout, stderr });
        });
        k.stdin.on("error", () => undefined);
        k.stdin.end(o.stdin ?? "");
      });
    },
    spawnKubectl(args, o = {}) {
      const { bin, argv, env } = kubectlCommand(args, o);
      const k = track(spawn(bin, argv, { env, stdio: ["ignore", "pipe", "pipe"] }));
      kubectlChildren.add(k);
      k.on("exit", () => kubectlChildren.delete(k));
      return k;
    },
    http(method, path, body, headers) {
      return httpsCall(port, tls!, method, path, body, headers);
    },
    stop,
    async restart() {
      await stop("SIGTERM");
      await launch();
    },
    async cleanup() {
      await stop("SIGTERM");
      for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
    },
    logs: () => logBuf,
  };
  return tug;
}

/** Write an executable shell script (for KUBE_EDITOR) into dir and return its path. */
export function writeScript(dir: string, name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

/** Assertion message helper: a kubectl result in full. */
export function show(r: KubectlResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/** Runs kubectl against `tug` and returns its stdout; a non-zero exit fails with the command and the result in full. */
export async function kubectlOk(tug: Tug, args: string[], o?: KubectlOptions): Promise<string> {
  const r = await tug.kubectl(args, o);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}\n${show(r)}`);
  return r.stdout;
}

export interface WatchStream {
  /** Events received so far, in order: `{type, object}`. */
  events: { type: string; object: any }[];
  /** HTTP status of the watch response (0 until headers arrive). */
  status(): number;
  /** True once the server closed the stream. */
  ended(): boolean;
  close(): void;
}

/**
 * Open a watch (`?watch=true` is added) and collect its newline-delimited JSON events
 * (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes).
 * Resolves once the response headers arrived.
 */
export function openWatch(port: number, tls: TlsCreds, path: string): Promise<WatchStream> {
  return new Promise((res, rej) => {
    const events: { type: string; object: any }[] = [];
    let status = 0;
    let ended = false;
    let buf = "";
    const req = httpsRequest(
      { host: "127.0.0.1", port, method: "GET", path: path + (path.includes("?") ? "&" : "?") + "watch=true", ca: tls.ca, cert: tls.cert, key: tls.key, servername: "localhost", checkServerIdentity: () => undefined, headers: { accept: "application/json" }, agent: false },
      (r) => {
        status = r.statusCode ?? 0;
        r.setEncoding("utf8");
        r.on("data", (chunk: string) => {
          buf += chunk;
          let i: number;
          while ((i = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, i).trim();
            buf = buf.slice(i + 1);
            if (line) events.push(JSON.parse(line));
          }
        });
        r.on("end", () => (ended = true));
        r.on("error", () => (ended = true));
        r.on("close", () => (ended = true));
        res({ events, status: () => status, ended: () => ended, close: () => req.destroy() });
      },
    );
    req.on("error", (e) => {
      ended = true;
      if (status === 0) rej(e);
    });
    req.end();
  });
}
