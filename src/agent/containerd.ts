// Supervision of the node's own containerd, the container runtime behind the kubelet's
// CRI endpoint (https://kubernetes.io/docs/setup/production-environment/container-runtimes/#containerd).
// Like k3s, Tugboat runs a private containerd with everything under its data directory
// (DATA/containerd/{root,state,containerd.sock,config.toml}), so it never touches a
// system containerd. The config makes runc (io.containerd.runc.v2) the default runtime,
// overlayfs the snapshotter, points the CRI plugin's CNI at DATA/cni/net.d + /usr/lib/cni,
// and sets the sandbox image to the locally built pause image
// (https://github.com/containerd/containerd/blob/release/1.6/docs/cri/config.md).

import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
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

/**
 * A Tugboat-owned containerd process, as a runnable: `start(signal)` spawns it and
 * resolves when it has stopped after `signal` aborted; `ready` resolves once the socket
 * answers a CRI Version call (and rejects if containerd dies first).
 */
export class ContainerdProcess {
  readonly needsLeader = false;
  readonly paths: ContainerdPaths;
  readonly ready: Promise<{ startMs: number; runtimeVersion: string }>;
  private resolveReady!: (v: { startMs: number; runtimeVersion: string }) => void;
  private rejectReady!: (err: unknown) => void;
  private child: ChildProcess | undefined;

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
    return this.child?.pid;
  }

  async start(signal: AbortSignal): Promise<void> {
    const p = this.paths;
    for (const d of [p.dir, p.root, p.state, p.cniConfDir, join(p.dir, "certs.d")]) await mkdir(d, { recursive: true });
    await writeFile(p.config, containerdConfig(p, qualifyImage(this.opts.sandboxImage ?? PAUSE_IMAGE), this.opts.runcBinary));
    if (signal.aborted) {
      this.rejectReady(new Error("containerd: aborted before start"));
      return;
    }

    const started = performance.now();
    const log = createWriteStream(p.log, { flags: "a" });
    const args = ["--root", p.root, "--state", p.state, "--address", p.address, "--config", p.config, "--log-level", this.opts.logLevel ?? "info"];
    const child = spawn(this.opts.containerdBinary ?? "containerd", args, { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    const exited = new Promise<number | string>((resolve) => {
      child.once("exit", (code, sig) => resolve(code ?? sig ?? "unknown"));
      child.once("error", (err) => resolve(err.message));
    });

    let stopping = false;
    const onAbort = (): void => {
      stopping = true;
    };
    signal.addEventListener("abort", onAbort, { once: true });

    // Wait for readiness, racing against early exit and abort.
    const readiness = this.waitReady(started, signal);
    const first = await Promise.race([readiness.then(() => "ready" as const, (e: unknown) => e), exited.then((c) => ({ exited: c }))]);
    if (first !== "ready") {
      const err = typeof first === "object" && first !== null && "exited" in first
        ? new Error(`containerd exited during startup (${String((first as { exited: unknown }).exited)}); see ${p.log}`)
        : first instanceof Error ? first : new Error(String(first));
      this.rejectReady(err);
      await this.kill(child, exited);
      log.end();
      signal.removeEventListener("abort", onAbort);
      if (stopping) return;
      throw err;
    }

    // Run until aborted or until containerd dies on its own.
    const aborted = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => resolve(), { once: true });
    });
    const outcome = await Promise.race([aborted.then(() => "aborted" as const), exited.then((c) => ({ exited: c }))]);
    if (outcome === "aborted") await this.kill(child, exited);
    log.end();
    signal.removeEventListener("abort", onAbort);
    if (outcome !== "aborted") throw new Error(`containerd exited unexpectedly (${String(outcome.exited)}); see ${p.log}`);
  }

  private async waitReady(started: number, signal: AbortSignal): Promise<void> {
    const timeout = this.opts.readyTimeoutMs ?? 30_000;
    const deadline = Date.now() + timeout;
    let lastErr: unknown;
    while (Date.now() < deadline) {
      if (signal.aborted) throw new Error("containerd: aborted while starting");
      if (existsSync(this.paths.address)) {
        const client = new CriClient(this.paths.address, { timeoutMs: 2000 });
        try {
          const v = await client.call("Version", { version: "v1" });
          this.resolveReady({ startMs: performance.now() - started, runtimeVersion: v.runtimeVersion });
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

  /** SIGTERM, then SIGKILL after the grace period; by PID of the process we spawned. */
  private async kill(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const grace = this.opts.stopTimeoutMs ?? 10_000;
    const timer = new AbortController(); // cancel the grace timer so it cannot hold the event loop
    const done = await Promise.race([exited.then(() => true), sleep(grace, undefined, { signal: timer.signal }).then(() => false, () => true)]);
    timer.abort();
    if (!done) {
      child.kill("SIGKILL");
      await exited;
    }
  }
}
