// A real two-node cluster on one machine for the networking end-to-end tests (issue 5,
// "Multi-node tests run 2–3 nodes as network namespaces on one machine … each with its own
// `tug agent` and containerd state; the test removes all of it afterwards"). `tug server`
// runs in the host namespace (listening on 0.0.0.0 so agents reach it at the harness host
// address, which is also its --advertise-address); each node namespace of the multi-node
// harness runs `tug agent --server https://HOST:PORT --token … --ca-file …` with its own
// data dir, bridge and pod /24, exactly as a second machine would join (k3s agent,
// https://docs.k3s.io/architecture#how-agent-node-registration-works). The host gets a
// route to each pod /24 via its node, so the in-server ingress reaches pods (host-gw).
//
// teardown() is idempotent and runs after failures too: workloads are deleted through the
// API while the agents still run (so each kubelet removes its sandboxes through its own
// containerd), then the agents get SIGTERM, `tug down` runs inside each node namespace for
// anything left, and the harness removes namespaces and veths; host routes and temp dirs
// go last. leaks() lists whatever survived (processes, mounts, cgroups, routes, netns).

import { execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { eventually, freePort, repoRoot, startTug, type Tug } from "./harness.js";
import { createMultiNodeNetwork, harnessLeftovers, type HarnessNode, type MultiNodeNetwork } from "./multinode-harness.js";
import { containerdPaths } from "../../src/agent/containerd.js";
import { CriRuntime } from "../../src/agent/runtime/cri/runtime.js";
import { POD_UID_LABEL } from "../../src/agent/kubelet/podworker.js";

export interface ClusterNode extends HarnessNode {
  /** Kubernetes node name. */
  nodeName: string;
  podCIDR: string;
  bridge: string;
  /** The service proxy's nftables table inside the node namespace. */
  nftTable: string;
  /** The agent's --data-dir. */
  dataDir: string;
  agent?: ChildProcess;
  agentLog(): string;
  /** `nft list table ip <nftTable>` inside the node namespace ("" when absent). */
  nftRules(): string;
}

export interface MultiNodeCluster {
  net: MultiNodeNetwork;
  tug: Tug;
  nodes: ClusterNode[];
  ingressHttpPort: number;
  ingressHttpsPort: number;
  dnsPort: number;
  /** Pod UIDs seen on the nodes (their cgroups are checked after teardown). */
  podUIDs: Set<string>;
  teardown(): Promise<string[]>;
}

export interface ClusterOptions {
  /** Pod /24 per node, e.g. ["10.42.171.0/24", "10.42.172.0/24"]. */
  podCIDRs: string[];
  /** Bridge name prefix (≤ 12 chars); node i gets `${prefix}${i}`. */
  bridgePrefix: string;
  nodeNamePrefix: string;
}

const sh = (...argv: string[]): string => execFileSync(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] }).toString();
const quiet = (...argv: string[]): void => {
  try {
    sh(...argv);
  } catch {
    /* already gone */
  }
};

/** `tug …` the way the harness runs the server: compiled when this file is, else from source. */
const fromDist = fileURLToPath(import.meta.url).split("/").includes("dist");
const tugArgv = (args: string[]): string[] =>
  fromDist ? [process.execPath, join(repoRoot, "bin", "tug.js"), ...args] : [process.execPath, "--import", "tsx", join(repoRoot, "src", "cli", "main.ts"), ...args];

/** Processes whose command line mentions `needle`. */
function processesMentioning(needle: string): string[] {
  const out: string[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, "utf8");
      if (cmd.includes(needle)) out.push(`process ${p}: ${cmd.replace(/\0/g, " ").slice(0, 200)}`);
    } catch {
      /* exited */
    }
  }
  return out;
}

async function waitExit(c: ChildProcess, ms: number): Promise<boolean> {
  if (c.exitCode !== null || c.signalCode !== null) return true;
  return Promise.race([new Promise<boolean>((r) => c.once("exit", () => r(true))), sleep(ms).then(() => false)]);
}

export async function startMultiNodeCluster(o: ClusterOptions): Promise<MultiNodeCluster> {
  const net = await createMultiNodeNetwork({ nodes: o.podCIDRs.length });
  const hostRoutes: string[] = [];
  const dirs: string[] = [];
  const podUIDs = new Set<string>();
  let tug: Tug | undefined;
  const nodes: ClusterNode[] = [];
  let tornDown: Promise<string[]> | undefined;

  const teardown = (): Promise<string[]> =>
    (tornDown ??= (async () => {
      const notes: string[] = [];
      // 1. Workloads go through the API while kubelets run: each removes its own sandboxes.
      if (tug) {
        await tug.kubectl(["delete", "deploy,rs", "--all", "-n", "default", "--wait=false"], { timeoutMs: 20_000 }).catch(() => {});
        await tug.kubectl(["delete", "pods", "--all", "-n", "default", "--wait=false"], { timeoutMs: 20_000 }).catch(() => {});
        await eventually(async () => {
          let total = 0;
          // A node whose agent died is left to `tug down` below.
          for (const n of nodes) if (n.agent && n.agent.exitCode === null && n.agent.signalCode === null) total += (await sandboxesOf(n, podUIDs)).length;
          return total === 0;
        }, 45_000, 500, "every pod sandbox removed by its kubelet").catch((e) => notes.push(String(e.message)));
      }
      // 2. Agents stop (pods would outlive them; there are none left now).
      for (const n of nodes) {
        if (!n.agent) continue;
        n.agent.kill("SIGTERM");
        if (!(await waitExit(n.agent, 20_000))) {
          notes.push(`agent ${n.nodeName} ignored SIGTERM for 20 s`);
          n.agent.kill("SIGKILL");
          await waitExit(n.agent, 5_000);
        }
      }
      // 3. `tug down` inside each node namespace: sandboxes, containerd, bridge, routes.
      for (const n of nodes) {
        try {
          execFileSync("nsenter", [`--net=/var/run/netns/${n.netns}`, "--", ...tugArgv(["down", "--data-dir", n.dataDir, "--cni-bridge", n.bridge])], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"], timeout: 90_000 });
        } catch (e) {
          notes.push(`tug down on ${n.nodeName}: ${String((e as { stderr?: Buffer }).stderr ?? e).slice(-500)}`);
        }
      }
      if (tug) await tug.cleanup();
      await net.cleanup();
      for (const r of hostRoutes) quiet("ip", "route", "del", r);
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
      return notes;
    })());

  try {
    // Host → pod /24 via each node: the ingress and the test reach pods (host-gw style).
    for (const [i, cidr] of o.podCIDRs.entries()) {
      sh("ip", "route", "replace", cidr, "via", net.nodes[i]!.ip);
      hostRoutes.push(cidr);
    }
    const ingressHttpPort = await freePort();
    const ingressHttpsPort = await freePort();
    const dnsPort = await freePort();
    tug = await startTug({
      command: "server",
      listenHost: "0.0.0.0",
      args: [
        "--advertise-address", net.hostIP,
        "--cluster-dns-bind", net.hostIP, "--cluster-dns-port", String(dnsPort),
        "--ingress-bind", "127.0.0.1", "--ingress-http-port", String(ingressHttpPort), "--ingress-https-port", String(ingressHttpsPort),
      ],
      readyTimeoutMs: 60_000,
    });
    const token = readFileSync(join(tug.dataDir, "pki", "token"), "utf8").trim();
    const caFile = join(tug.dataDir, "pki", "ca.crt");
    for (const [i, h] of net.nodes.entries()) {
      const dataDir = mkdtempSync(join(tmpdir(), "tugmn5-agent-"));
      dirs.push(dataDir);
      const bridge = `${o.bridgePrefix}${i}`;
      let log = "";
      const node: ClusterNode = {
        ...h,
        nodeName: `${o.nodeNamePrefix}${i}`,
        podCIDR: o.podCIDRs[i]!,
        bridge,
        nftTable: `tugboat-${bridge}`,
        dataDir,
        agentLog: () => log,
        nftRules: () => {
          try {
            return h.exec(["nft", "list", "table", "ip", `tugboat-${bridge}`]);
          } catch {
            return "";
          }
        },
      };
      // The harness spawns with `nsenter --net` (not `ip netns exec`, whose fresh /sys hides the cgroup mounts runc needs).
      const agent = h.spawn(
        tugArgv([
          "agent", "--server", `https://${net.hostIP}:${tug.port}`, "--token", token, "--ca-file", caFile,
          "--data-dir", dataDir, "--node-name", node.nodeName, "--node-ip", h.ip,
          "--pod-cidr", node.podCIDR, "--cni-bridge", bridge, "--no-install",
        ]),
        { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] },
      );
      const append = (b: Buffer) => {
        log += b.toString("utf8");
        if (log.length > 200_000) log = log.slice(-100_000);
      };
      agent.stdout!.on("data", append);
      agent.stderr!.on("data", append);
      node.agent = agent;
      process.once("exit", () => agent.exitCode === null && agent.signalCode === null && agent.kill("SIGKILL"));
      nodes.push(node);
    }
    const t = tug;
    for (const n of nodes) {
      await eventually(async () => {
        if (n.agent!.exitCode !== null) throw new Error(`agent exited ${n.agent!.exitCode}:\n${n.agentLog().slice(-3000)}`);
        const r = await t.kubectl(["get", "node", n.nodeName, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}"]);
        return r.stdout === "True";
      }, 120_000, 500, `node ${n.nodeName} Ready`).catch((e) => {
        throw new Error(`${(e as Error).message}\n--- agent log\n${n.agentLog().slice(-3000)}`);
      });
    }
    return { net, tug, nodes, ingressHttpPort, ingressHttpsPort, dnsPort, podUIDs, teardown: async () => [...(await teardown()), ...leaks()] };
  } catch (err) {
    await teardown();
    throw err;
  }

  function leaks(): string[] {
    const out: string[] = [...harnessLeftovers(net.id).map((l) => `harness ${l}`)];
    for (const n of nodes) out.push(...processesMentioning(n.dataDir));
    const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n");
    for (const n of nodes) for (const m of mounts) if (m.includes(n.dataDir)) out.push(`mount ${m}`);
    // Bridges and nft tables live in the node namespaces; none may show up on the host.
    const links = sh("ip", "-o", "link", "show");
    let tables = "";
    try {
      tables = sh("nft", "list", "tables");
    } catch {
      /* no nft */
    }
    for (const n of nodes) {
      if (links.includes(`${n.bridge}:`)) out.push(`host link ${n.bridge}`);
      if (tables.includes(n.nftTable)) out.push(`host nft table ${n.nftTable}`);
    }
    const routes = sh("ip", "route", "show");
    for (const cidr of o.podCIDRs) if (routes.includes(cidr)) out.push(`host route ${cidr}`);
    for (const ctrl of readdirSync("/sys/fs/cgroup")) {
      for (const uid of podUIDs) if (existsSync(join("/sys/fs/cgroup", ctrl, "tugboat", `pod${uid}`))) out.push(`cgroup ${ctrl}/tugboat/pod${uid}`);
    }
    for (const d of dirs) if (existsSync(d)) out.push(`dir ${d}`);
    return out;
  }
}

/** Pod sandboxes in the node's containerd (its socket is a file: reachable from the host). */
export async function sandboxesOf(n: Pick<ClusterNode, "dataDir">, seen?: Set<string>): Promise<string[]> {
  const address = containerdPaths({ dataDir: join(n.dataDir, "agent") }).address;
  if (!existsSync(address)) return [];
  const rt = new CriRuntime(address, { timeoutMs: 5_000 });
  try {
    const list = await rt.listPodSandboxes();
    for (const s of list) if (s.labels[POD_UID_LABEL]) seen?.add(s.labels[POD_UID_LABEL]!);
    return list.map((s) => s.id);
  } finally {
    rt.close();
  }
}
