// A throwaway single-member etcd (https://etcd.io/docs/v3.4/op-guide/configuration/) on
// loopback, in a temp dir, on free ports: what etcd.test.ts and the store benchmark run the
// etcd backend against. Debian's etcd-server installs /usr/bin/etcd
// (scripts/install-node-deps.sh); without it `startEtcd` returns a reason instead.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ETCD_BINARY = process.env.TUG_ETCD_BINARY ?? "/usr/bin/etcd";

export interface EtcdProcess {
  /** "127.0.0.1:PORT", the client endpoint. */
  endpoint: string;
  /** `etcd://127.0.0.1:PORT`, for openStore. */
  url: string;
  pid: number;
  /** Kills etcd (by its pid) and removes its data dir. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Why etcd cannot run here, or undefined when it can. */
export function etcdUnavailable(): string | undefined {
  return existsSync(ETCD_BINARY) ? undefined : `${ETCD_BINARY} not found (apt-get install etcd-server, or scripts/install-node-deps.sh)`;
}

/** Starts etcd and waits until it answers /health (up to 20 s). */
export async function startEtcd(): Promise<EtcdProcess> {
  const missing = etcdUnavailable();
  if (missing) throw new Error(missing);
  const dir = mkdtempSync(join(tmpdir(), "tug-etcd-"));
  const [client, peer] = [await freePort(), await freePort()];
  const c = `http://127.0.0.1:${client}`;
  const p = `http://127.0.0.1:${peer}`;
  const child: ChildProcess = spawn(
    ETCD_BINARY,
    [
      "--name", "tug-test",
      "--data-dir", join(dir, "data"),
      "--listen-client-urls", c,
      "--advertise-client-urls", c,
      "--listen-peer-urls", p,
      "--initial-advertise-peer-urls", p,
      "--initial-cluster", `tug-test=${p}`,
      "--logger", "zap",
      "--log-level", "error",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
  let exited = false;
  const exit = new Promise<void>((r) => child.once("exit", () => ((exited = true), r())));
  const stop = async () => {
    if (!exited) {
      process.kill(child.pid!, "SIGTERM");
      const t = setTimeout(() => !exited && process.kill(child.pid!, "SIGKILL"), 5000);
      await exit;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`etcd exited at startup: ${stderr}`);
    }
    try {
      const res = await fetch(`${c}/health`, { signal: AbortSignal.timeout(1000) });
      if (res.ok && ((await res.json()) as { health?: string }).health === "true") break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`etcd did not become healthy in 20 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { endpoint: `127.0.0.1:${client}`, url: `etcd://127.0.0.1:${client}`, pid: child.pid!, stop };
}
