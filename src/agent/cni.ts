// Pod networking for a node through CNI (https://kubernetes.io/docs/concepts/extend-kubernetes/compute-storage-net/network-plugins/,
// spec at https://www.cni.dev/docs/spec/): the agent writes one network configuration
// list that containerd's CRI plugin runs for every pod sandbox — a `bridge` ("tug0",
// the node's gateway, hairpin on so a pod can reach itself through a Service) with
// `host-local` IPAM handing out addresses from the node's podCIDR, then `portmap` for
// hostPort. The loopback interface is brought up by containerd itself (it runs the
// `loopback` plugin from the same bin dir for every sandbox), so it is not in the chain.
// The agent also installs `unreachable` routes covering the whole cluster pod and service
// ranges: traffic for an address no node owns must die here instead of following the
// default route off the machine; the node's bridge route (a /24) is more specific and wins.

import { execFile } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Invalid } from "../apimachinery/errors.js";

export const CLUSTER_POD_CIDR = "10.42.0.0/16";
export const SERVICE_CIDR = "10.43.0.0/16";
export const DEFAULT_BRIDGE = "tug0";
export const NETWORK_NAME = "tugboat";
export const CONFLIST_NAME = "10-tugboat.conflist";
/** In the agent's data dir: the cluster network it last ran with (ranges from the server). */
export const NETWORK_STATE_FILE = "network.json";

/** The unreachable routes an agent recorded in its data dir; the defaults when it has not. */
export async function recordedUnreachableRoutes(agentDataDir: string): Promise<string[]> {
  try {
    const routes = JSON.parse(await readFile(join(agentDataDir, NETWORK_STATE_FILE), "utf8"))?.unreachableRoutes;
    if (Array.isArray(routes) && routes.every((r) => typeof r === "string")) return routes;
  } catch {
    // no record (an agent from before the file, or never started): the defaults
  }
  return [CLUSTER_POD_CIDR, SERVICE_CIDR];
}

export interface NodeNetworkOptions {
  /** Where containerd looks for CNI configs (ContainerdPaths.cniConfDir). */
  confDir: string;
  /** host-local's allocation store; default <confDir>/../networks. */
  ipamDataDir?: string;
  /** This node's pod range, e.g. "10.42.7.0/24". */
  podCIDR: string;
  bridge?: string;
  /** Masquerade pod traffic leaving the cluster ranges; off by default (nothing should leave). */
  ipMasq?: boolean;
  mtu?: number;
}

function parseCIDR(cidr: string, field: string): { ip: number[]; prefix: number } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const ip = m ? m.slice(1, 5).map(Number) : [];
  const prefix = m ? Number(m[5]) : -1;
  if (!m || ip.some((o) => o > 255) || prefix < 8 || prefix > 30) {
    throw new Invalid("Node", field, [{ reason: "FieldValueInvalid", field, message: `invalid IPv4 CIDR "${cidr}" (want a.b.c.d/8..30)` }]);
  }
  return { ip, prefix };
}

/** The conflist for a node (CNI spec 0.4.0, understood by containerd 1.6 and plugins 1.x). */
export function nodeConflist(opts: NodeNetworkOptions): Record<string, unknown> {
  parseCIDR(opts.podCIDR, "spec.podCIDR");
  const bridge = opts.bridge ?? DEFAULT_BRIDGE;
  if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(bridge)) {
    throw new Invalid("Node", "bridge", [{ reason: "FieldValueInvalid", field: "bridge", message: `invalid interface name "${bridge}"` }]);
  }
  return {
    cniVersion: "0.4.0",
    name: NETWORK_NAME,
    plugins: [
      {
        type: "bridge",
        bridge,
        isGateway: true,
        ipMasq: opts.ipMasq ?? false,
        hairpinMode: true,
        ...(opts.mtu ? { mtu: opts.mtu } : {}),
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: opts.podCIDR }]],
          routes: [{ dst: "0.0.0.0/0" }],
          dataDir: opts.ipamDataDir ?? join(opts.confDir, "..", "networks"),
        },
      },
      { type: "portmap", capabilities: { portMappings: true }, snat: true },
    ],
  };
}

/** Writes the conflist atomically enough for containerd's file watcher; returns its path. */
export async function writeNodeConflist(opts: NodeNetworkOptions): Promise<string> {
  const conf = nodeConflist(opts);
  await mkdir(opts.confDir, { recursive: true });
  const file = join(opts.confDir, CONFLIST_NAME);
  await writeFile(file, JSON.stringify(conf, null, 2) + "\n");
  return file;
}

export async function removeNodeConflist(confDir: string): Promise<void> {
  await rm(join(confDir, CONFLIST_NAME), { force: true });
}

function ip(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("ip", args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ip ${args.join(" ")}: ${String(stderr || err.message).trim()}`));
      else resolve(String(stdout));
    });
  });
}

/** `ip route replace unreachable CIDR` for each range (idempotent). */
export async function installUnreachableRoutes(cidrs: string[] = [CLUSTER_POD_CIDR, SERVICE_CIDR]): Promise<void> {
  for (const c of cidrs) {
    parseCIDR(c, "cidr");
    await ip(["route", "replace", "unreachable", c]);
  }
}

/** Removes the unreachable routes; routes already gone are fine. */
export async function removeUnreachableRoutes(cidrs: string[] = [CLUSTER_POD_CIDR, SERVICE_CIDR]): Promise<void> {
  for (const c of cidrs) {
    const out = await ip(["route", "show", "type", "unreachable", c]).catch(() => "");
    if (out.trim()) await ip(["route", "del", "unreachable", c]).catch(() => {});
  }
}

/** Deletes the node bridge (pods must be gone); a missing bridge is fine. */
export async function removeBridge(bridge = DEFAULT_BRIDGE): Promise<void> {
  const out = await ip(["link", "show", bridge]).catch(() => "");
  if (out) await ip(["link", "del", bridge]);
}

/**
 * The node network as a runnable: writes the conflist and routes, holds until `signal`
 * aborts, then removes the routes (and the bridge when `removeBridgeOnStop`).
 */
export class NodeNetwork {
  readonly needsLeader = false;
  constructor(
    private readonly opts: NodeNetworkOptions & { clusterCIDRs?: string[]; removeBridgeOnStop?: boolean },
  ) {}

  async setUp(): Promise<void> {
    await writeNodeConflist(this.opts);
    await installUnreachableRoutes(this.opts.clusterCIDRs);
  }

  async tearDown(): Promise<void> {
    await removeUnreachableRoutes(this.opts.clusterCIDRs);
    if (this.opts.removeBridgeOnStop) await removeBridge(this.opts.bridge ?? DEFAULT_BRIDGE).catch(() => {});
  }

  async start(signal: AbortSignal): Promise<void> {
    await this.setUp();
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await this.tearDown();
  }
}
