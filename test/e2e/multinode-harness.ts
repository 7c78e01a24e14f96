// A multi-node network on one machine for end-to-end tests (issue 5: "Multi-node tests
// run 2–3 nodes as network namespaces on one machine (`ip netns` + veth + a test bridge
// the test creates)"). Layout, all created and removed by the harness:
//
//   host netns ── veth tmh<id> (10.99.K.1/24) ──┐
//                                              switch netns tugs-<id>: bridge br0
//   node netns tugn-<id>-0 ── eth0 10.99.K.10 ─┤   (the bridge lives in its own namespace,
//   node netns tugn-<id>-1 ── eth0 10.99.K.11 ─┘    so the host's firewall never sees node traffic)
//
// The host end is where `tug server` listens/advertises for the nodes; each node runs its
// own `tug agent` (spawned with spawn(), i.e. `nsenter --net`: `ip netns exec` would also
// remount /sys, hiding /sys/fs/cgroup from runc). Nodes get no default
// route: nothing they send can leave the machine. K is picked so that parallel harnesses
// never share a subnet. cleanup() kills every process in the namespaces, deletes them
// and the host veth; it is idempotent and runs even after a half-finished setup.

import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { randomBytes } from "node:crypto";
import { netnsRunner, type CommandRunner } from "../../src/network/proxy/command.js";

export interface HarnessNode {
  /** Logical node name ("node-0"), also a good Kubernetes node name. */
  name: string;
  netns: string;
  /** The node's address on the test network (its InternalIP). */
  ip: string;
  /** Runs nft/ip/anything inside the node's namespace. */
  runner: CommandRunner;
  /** Spawns a long-running process in the node's network namespace (host mounts, so containerd/runc work; tracked for cleanup). */
  spawn(argv: string[], opts?: SpawnOptions): ChildProcess;
  /** Runs a command inside the node's namespace and returns stdout (throws on failure). */
  exec(argv: string[]): string;
}

export interface MultiNodeNetwork {
  id: string;
  switchNetns: string;
  /** The host's address on the test network: servers the nodes must reach listen here. */
  hostIP: string;
  /** The test network, e.g. 10.99.123.0/24. */
  subnet: string;
  nodes: HarnessNode[];
  /** Kills every process in the namespaces and removes namespaces and the host veth. */
  cleanup(): Promise<void>;
}

export interface MultiNodeOptions {
  /** Number of node namespaces (default 2, at most 20). */
  nodes?: number;
  /** Enable IP forwarding in the nodes (default true: they route pod traffic). */
  forwarding?: boolean;
}

const sh = (...argv: string[]): string => execFileSync(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] }).toString();
const quiet = (...argv: string[]): void => {
  try {
    sh(...argv);
  } catch {
    /* already gone */
  }
};

/** A 10.99.K.0/24 not used by any address in this (host) namespace. */
function freeSubnet(): number {
  const used = sh("ip", "-4", "-o", "addr", "show");
  for (let tries = 0; tries < 50; tries++) {
    const k = 100 + Math.floor(Math.random() * 150);
    if (!used.includes(`10.99.${k}.`)) return k;
  }
  throw new Error("no free 10.99.K.0/24 test subnet");
}

export async function createMultiNodeNetwork(opts: MultiNodeOptions = {}): Promise<MultiNodeNetwork> {
  const count = opts.nodes ?? 2;
  if (!Number.isInteger(count) || count < 1 || count > 20) throw new Error(`nodes must be 1..20, got ${count}`);
  const id = randomBytes(3).toString("hex");
  const k = freeSubnet();
  const switchNetns = `tugs-${id}`;
  const hostVeth = `tmh${id}`;
  const netnses: string[] = [];
  const children: ChildProcess[] = [];
  let cleaned = false;

  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    for (const ns of [...netnses].reverse()) {
      // Anything still running inside (agents, containerd shims, servers) goes first.
      let pids: string[] = [];
      try {
        pids = sh("ip", "netns", "pids", ns).split(/\s+/).filter(Boolean);
      } catch {
        /* namespace gone */
      }
      for (const p of pids) {
        try {
          process.kill(Number(p), "SIGKILL");
        } catch {
          /* exited */
        }
      }
      if (pids.length) await new Promise((r) => setTimeout(r, 50));
      quiet("ip", "netns", "del", ns);
    }
    // Deleting the switch namespace destroys the peer, and with it the host end; be sure.
    quiet("ip", "link", "del", hostVeth);
  };

  try {
    sh("ip", "netns", "add", switchNetns);
    netnses.push(switchNetns);
    const sw = (...a: string[]) => sh("ip", "-n", switchNetns, ...a);
    sw("link", "set", "lo", "up");
    sw("link", "add", "name", "br0", "type", "bridge");
    sw("link", "set", "br0", "up");
    // Host end.
    sh("ip", "link", "add", "name", hostVeth, "type", "veth", "peer", "name", "host", "netns", switchNetns);
    sh("ip", "addr", "add", `10.99.${k}.1/24`, "dev", hostVeth);
    sh("ip", "link", "set", hostVeth, "up");
    sw("link", "set", "host", "master", "br0");
    sw("link", "set", "host", "up");

    const nodes: HarnessNode[] = [];
    for (let i = 0; i < count; i++) {
      const netns = `tugn-${id}-${i}`;
      sh("ip", "netns", "add", netns);
      netnses.push(netns);
      const ip = `10.99.${k}.${10 + i}`;
      sw("link", "add", "name", `n${i}`, "type", "veth", "peer", "name", "eth0", "netns", netns);
      sw("link", "set", `n${i}`, "master", "br0");
      sw("link", "set", `n${i}`, "up");
      sh("ip", "-n", netns, "link", "set", "lo", "up");
      sh("ip", "-n", netns, "addr", "add", `${ip}/24`, "dev", "eth0");
      sh("ip", "-n", netns, "link", "set", "eth0", "up");
      if (opts.forwarding !== false) sh("ip", "netns", "exec", netns, "sysctl", "-qw", "net.ipv4.ip_forward=1");
      nodes.push({
        name: `node-${i}`,
        netns,
        ip,
        runner: netnsRunner(netns),
        spawn(argv, spawnOpts) {
          const child = spawn("nsenter", [`--net=/var/run/netns/${netns}`, "--", ...argv], { stdio: "ignore", ...spawnOpts });
          children.push(child);
          return child;
        },
        exec: (argv) => sh("ip", "netns", "exec", netns, ...argv),
      });
    }
    return { id, switchNetns, hostIP: `10.99.${k}.1`, subnet: `10.99.${k}.0/24`, nodes, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Namespaces and links a harness run left behind (for a test's final assertion). */
export function harnessLeftovers(id: string): string[] {
  const out: string[] = [];
  const netns = sh("ip", "netns", "list");
  for (const line of netns.split("\n")) if (line.includes(id)) out.push(`netns ${line.split(" ")[0]}`);
  const links = sh("ip", "-o", "link", "show");
  if (links.includes(`tmh${id}`)) out.push(`link tmh${id}`);
  return out;
}
