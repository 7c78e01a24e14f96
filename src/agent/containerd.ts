// Supervision of the node's own containerd, the container runtime behind the kubelet's
// CRI endpoint (https://kubernetes.io/docs/setup/production-environment/container-runtimes/#containerd).
// Like k3s, Tugboat runs a private containerd with everything under its data directory
// (DATA/containerd/{root,state,containerd.sock,config.toml}), so it never touches a
// system containerd. The config makes runc (io.containerd.runc.v2) the default runtime,
// overlayfs the snapshotter, points the CRI plugin's CNI at DATA/cni/net.d + /usr/lib/cni,
// and sets the sandbox image to the locally built pause image
// (https://github.com/containerd/containerd/blob/release/1.6/docs/cri/config.md).

import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { CriClient } from "./runtime/cri/client.js";
import { PAUSE_IMAGE } from "./images/build.js";

export interface ContainerdOptions {
  /** Tugboat's data directory; containerd's files go to DATA/containerd. */
  dataDir: string;
  /** Sandbox ("pause") image; must already be imported or pullable. */
  sandboxImage?: string;
  cniBinDir?: string;
  /** Default DATA/cni/net.d (cni.ts writes the conflist there). */
  cniConfDir?: string;
  containerdBinary?: string;
  /** runc binary the shim runs (default: "runc" on PATH). */
  runcBinary?: string;
  /** "info" by default; "debug" for troubleshooting. */
  logLevel?: string;
  /** How long to wait for the socket and a CRI Version answer. */
  readyTimeoutMs?: number;
  /** Grace period between SIGTERM and SIGKILL on stop. */
  stopTimeoutMs?: number;
}

export interface ContainerdPaths {
  dir: string;
  root: string;
  state: string;
  address: string;
  config: string;
  log: string;
  cniConfDir: string;
  cniBinDir: string;
}

export function containerdPaths(opts: Pick<ContainerdOptions, "dataDir" | "cniConfDir" | "cniBinDir">): ContainerdPaths {
  const dir = join(opts.dataDir, "containerd");
  return {
    dir,
    root: join(dir, "root"),
    state: join(dir, "state"),
    address: join(dir, "containerd.sock"),
    config: join(dir, "config.toml"),
    log: join(dir, "containerd.log"),
    cniConfDir: opts.cniConfDir ?? join(opts.dataDir, "cni", "net.d"),
    cniBinDir: opts.cniBinDir ?? "/usr/lib/cni",
  };
}

function tomlString(s: string): string {
  return JSON.stringify(s); // TOML basic strings use the same escapes as JSON for our inputs
}

/** The config.toml (version 2) Tugboat runs containerd with. */
export function containerdConfig(paths: ContainerdPaths, sandboxImage: string, runcBinary = ""): string {
  const cri = `plugins."io.containerd.grpc.v1.cri"`;
  return `version = 2
root = ${tomlString(paths.root)}
state = ${tomlString(paths.state)}
# Snapshotters that cannot work here, and tracing, only slow startup down. (The legacy
# io.containerd.runtime.v1.linux must stay: 1.6's tasks service requires it.)
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = ${tomlString(paths.address)}

[plugins."io.containerd.internal.v1.opt"]
  path = ${tomlString(join(paths.dir, "opt"))}

[${cri}]
  sandbox_image = ${tomlString(sandboxImage)}
  # Pod network namespaces live under our state dir, not /var/run/netns.
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  max_container_log_line_size = 16384
  # These machines lack CAP_SYS_RESOURCE, so nothing may lower oom_score_adj below our
  # own (the CRI plugin gives sandboxes -998): clamp instead of failing every sandbox.
  restrict_oom_score_adj = true

  [${cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [${cri}.containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = ${tomlString(runcBinary)}
        # runc's state next to ours instead of /run/containerd/runc
        Root = ${tomlString(join(paths.state, "runc"))}

  [${cri}.cni]
    bin_dir = ${tomlString(paths.cniBinDir)}
    conf_dir = ${tomlString(paths.cniConfDir)}
    max_conf_num = 1

  [${cri}.registry]
    config_path = ${tomlString(join(paths.dir, "certs.d"))}
`;
}

/** Normalises "tugboat/pause:1" to the fully qualified name containerd stores. */
export function qualifyImage(ref: string): string {
  const first = ref.split("/")[0]!;
  const hasRegistry = ref.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  let out = hasRegistry ? ref : `docker.io/${ref.includes("/") ? ref : `library/${ref}`}`;
  if (!/[:@][^/]*$/.test(out.slice(out.lastIndexOf("/")))) out += ":latest";
  return out;
}

/** The pid file DATA/containerd/containerd.pid names the containerd an agent run started. */
export function containerdPidFile(paths: ContainerdPaths): string {
  return join(paths.dir, "containerd.pid");
}

/**
 * The containerd an earlier agent run started for these paths, if it still runs: the pid
 * file's process, checked by its command line (a recycled PID runs something else).
 */
export function runningContainerd(paths: ContainerdPaths): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(containerdPidFile(paths), "utf8").trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    const i = argv.indexOf("--address");
    if (i >= 0 && argv[i + 1] === paths.address && /containerd$/.test(argv[0] ?? "")) return pid;
  } catch {
    // gone
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie child of ours still answers signal 0; its /proc state says Z.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/**
 * A Tugboat-owned containerd process, as a runnable: `start(signal)` spawns it and
 * resolves when it has stopped after `signal` aborted; `ready` resolves once the socket
 * answers a CRI Version call (and rejects if containerd dies first).
 *
 * Restart safety: containerd runs in its own session with its output going straight to
 * its log file, so it outlives an agent killed with SIGKILL (no pipe to break, no
 * terminal signal to share). The next agent run finds it through the pid file and adopts
 * it, unless the config changed, in which case it is replaced; a replacement reconnects
 * to the running shims. Either way the containers never notice. Stopping containerd
 * (SIGTERM) leaves the shims, and so the containers, running: what runs is the kubelet's
 * business, not the runtime's (k3s behaves the same; `tug down` stops the pods).
 */
export class ContainerdProcess {
  readonly needsLeader = false;
  readonly paths: ContainerdPaths;
  readonly ready: Promise<{ startMs: number; runtimeVersion: string; adopted: boolean }>;
  private resolveReady!: (v: { startMs: number; runtimeVersion: string; adopted: boolean }) => void;
  private rejectReady!: (err: unknown) => void;
  private currentPid: number | undefined;

  constructor(private readonly opts: ContainerdOptions) {
    this.paths = containerdPaths(opts);
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {}); // observed through start() too; avoid unhandled rejection
  }

  get address(): string {
    return this.paths.address;
  }

  get pid(): number | undefined {
    return this.currentPid;
  }

  async start(signal: AbortSignal): Promise<void> {
    const p = this.paths;
    for (const d of [p.dir, p.root, p.state, p.cniConfDir, join(p.dir, "certs.d")]) await mkdir(d, { recursive: true });
    const config = containerdConfig(p, qualifyImage(this.opts.sandboxImage ?? PAUSE_IMAGE), this.opts.runcBinary);
    const previousConfig = await readFile(p.config, "utf8").catch(() => "");
    await writeFile(p.config, config);
    if (signal.aborted) {
      this.rejectReady(new Error("containerd: aborted before start"));
      return;
    }

    const started = performance.now();
    let adopted = false;
    let pid = runningContainerd(p);
    if (pid !== undefined && previousConfig !== config) {
      await this.killPid(pid); // its config is stale; the new one reconnects to the shims
      pid = undefined;
    }
    let exited: Promise<number | string>;
    if (pid !== undefined) {
      adopted = true;
      exited = this.pollExit(pid, signal);
    } else {
      await rm(p.address, { force: true }); // a stale socket would pass the readiness check's existsSync
      const logFd = openSync(p.log, "a");
      const args = ["--root", p.root, "--state", p.state, "--address", p.address, "--config", p.config, "--log-level", this.opts.logLevel ?? "info"];
      const child = spawn(this.opts.containerdBinary ?? "containerd", args, { stdio: ["ignore", logFd, logFd], detached: true });
      closeSync(logFd);
      exited = new Promise<number | string>((resolve) => {
        child.once("exit", (code, sig) => resolve(code ?? sig ?? "unknown"));
        child.once("error", (err) => resolve(err.message));
      });
      pid = child.pid;
      if (pid !== undefined) await writeFile(containerdPidFile(p), `${pid}\n`);
    }
    this.currentPid = pid;

    // Wait for readiness, racing against early exit and abort.
    const readiness = this.waitReady(started, signal, adopted);
    const first = await Promise.race([readiness.then(() => "ready" as const, (e: unknown) => e), exited.then((c) => ({ exited: c }))]);
    if (first !== "ready") {
      const err = typeof first === "object" && first !== null && "exited" in first
        ? new Error(`containerd exited during startup (${String((first as { exited: unknown }).exited)}); see ${p.log}`)
        : first instanceof Error ? first : new Error(String(first));
      this.rejectReady(err);
      if (pid !== undefined) await this.killPid(pid);
      if (signal.aborted) return;
      throw err;
    }

    // Run until aborted or until containerd dies on its own.
    const aborted = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => resolve(), { once: true });
    });
    const outcome = await Promise.race([aborted.then(() => "aborted" as const), exited.then((c) => ({ exited: c }))]);
    if (outcome === "aborted" && pid !== undefined) await this.killPid(pid);
    await rm(containerdPidFile(p), { force: true });
    if (outcome !== "aborted") throw new Error(`containerd exited unexpectedly (${String(outcome.exited)}); see ${p.log}`);
  }

  /** An adopted containerd is not our child: notice its exit by polling. */
  private pollExit(pid: number, signal: AbortSignal): Promise<string> {
    return new Promise((resolve) => {
      const t = setInterval(() => {
        if (!alive(pid)) {
          clearInterval(t);
          resolve("gone");
        } else if (signal.aborted) clearInterval(t);
      }, 500);
    });
  }

  private async waitReady(started: number, signal: AbortSignal, adopted: boolean): Promise<void> {
    const timeout = this.opts.readyTimeoutMs ?? 30_000;
    const deadline = Date.now() + timeout;
    let lastErr: unknown;
    while (Date.now() < deadline) {
      if (signal.aborted) throw new Error("containerd: aborted while starting");
      if (existsSync(this.paths.address)) {
        const client = new CriClient(this.paths.address, { timeoutMs: 2000 });
        try {
          const v = await client.call("Version", { version: "v1" });
          this.resolveReady({ startMs: performance.now() - started, runtimeVersion: v.runtimeVersion, adopted });
          return;
        } catch (err) {
          lastErr = err;
        } finally {
          client.close();
        }
      }
      await sleep(50);
    }
    throw new Error(`containerd not ready after ${timeout} ms: ${String(lastErr ?? "no socket")}; see ${this.paths.log}`);
  }

  /** SIGTERM, then SIGKILL after the grace period; by the PID we started (or adopted). */
  private async killPid(pid: number): Promise<void> {
    if (!alive(pid)) return;
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      return;
    }
    const deadline = Date.now() + (this.opts.stopTimeoutMs ?? 10_000);
    while (alive(pid) && Date.now() < deadline) await sleep(50);
    if (alive(pid)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        return;
      }
      while (alive(pid)) await sleep(50);
    }
  }
}
