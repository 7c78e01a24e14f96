// Routes between nodes' pod ranges, "host-gw" style: every node gets a podCIDR
// (spec.podCIDR, https://kubernetes.io/docs/concepts/cluster-administration/networking/)
// and every other node reaches that range through the node's InternalIP, so pod-to-pod
// traffic across nodes is plain IP routing with no overlay. A Runnable per node watches
// Node objects and keeps `ip route replace <podCIDR> via <nodeIP>` for each other node,
// deleting routes of nodes that are gone and all of its routes on shutdown. Its routes
// carry their own protocol number, so leftovers of a crashed run are found and removed
// at start. It also (re)installs cni.ts's `unreachable` routes for the cluster ranges at
// start, so traffic to a pod range no node owns never follows the default route.

import type { KObject } from "../apimachinery/types.js";
import type { Client } from "../client/types.js";
import { SharedInformerFactory } from "../client/sharedinformers.js";
import { silentLogger, type Logger, type Runnable } from "../client/runnable.js";
import { CLUSTER_POD_CIDR, SERVICE_CIDR, installUnreachableRoutes } from "../agent/cni.js";
import { hostRunner, type CommandRunner } from "./proxy/command.js";

/** The rtnetlink protocol number marking our routes (`ip route … proto 123`). */
export const ROUTE_PROTOCOL = 123;

export interface NodeRoutesOptions {
  client: Client;
  /** This node: its own podCIDR is served by its bridge, not by a route. */
  nodeName: string;
  /** Where `ip` runs (default: this host). */
  runner?: CommandRunner;
  /** Reuse the agent's informers (started if needed); default: its own. */
  informers?: SharedInformerFactory;
  /**
   * Ranges given `unreachable` routes at start via cni.ts (default the cluster pod and
   * service ranges); false to skip. Only with the host runner: cni.ts runs `ip` itself.
   */
  unreachableRoutes?: string[] | false;
  /** Re-check interval, repairing routes someone else removed (default 30 s). */
  resyncMs?: number;
  log?: Logger;
  /** Called after each sync with the routes now in place (podCIDR → via). */
  onSync?: (routes: ReadonlyMap<string, string>) => void;
}

const CIDR4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const IP4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const validCIDR = (s: unknown): s is string => typeof s === "string" && !!CIDR4.exec(s) && CIDR4.exec(s)!.slice(1, 5).every((o) => Number(o) <= 255) && Number(CIDR4.exec(s)![5]) <= 32;
const validIP = (s: unknown): s is string => typeof s === "string" && !!IP4.exec(s) && IP4.exec(s)!.slice(1).every((o) => Number(o) <= 255);

/** podCIDR → InternalIP for every other node that has both (pure; tested with plain objects). */
export function desiredNodeRoutes(nodes: KObject[], self: string): Map<string, string> {
  const out = new Map<string, string>();
  const sorted = [...nodes].sort((a, b) => ((a.metadata.name ?? "") < (b.metadata.name ?? "") ? -1 : 1));
  const selfCIDRs = new Set<string>();
  for (const n of sorted) if (n.metadata.name === self) for (const c of podCIDRsOf(n)) selfCIDRs.add(c);
  for (const n of sorted) {
    if (n.metadata.name === self || n.metadata.deletionTimestamp || isHollow(n)) continue;
    const ip = ((n.status?.addresses ?? []) as any[]).find((a) => a?.type === "InternalIP" && validIP(a.address))?.address;
    if (!ip) continue;
    for (const cidr of podCIDRsOf(n)) if (!selfCIDRs.has(cidr) && !out.has(cidr)) out.set(cidr, ip);
  }
  return out;
}

/** Hollow (simulated) nodes have no network: their addresses are made up. */
export function isHollow(n: KObject): boolean {
  return n.metadata.labels?.["node.kubernetes.io/instance-type"] === "hollow";
}

function podCIDRsOf(n: KObject): string[] {
  const list: unknown[] = Array.isArray(n.spec?.podCIDRs) && n.spec.podCIDRs.length ? n.spec.podCIDRs : [n.spec?.podCIDR];
  return list.filter(validCIDR);
}

export class NodeRoutes implements Runnable {
  readonly name = "node-routes";
  readonly needsLeader = false;
  private readonly runner: CommandRunner;
  private readonly log: Logger;
  /** What we installed: podCIDR → via. */
  private applied = new Map<string, string>();
  private pending = false;
  private repair = false;
  private failed = new Set<string>();
  private running?: Promise<void>;

  constructor(private readonly opts: NodeRoutesOptions) {
    this.runner = opts.runner ?? hostRunner();
    this.log = opts.log ?? silentLogger;
  }

  routes(): ReadonlyMap<string, string> {
    return this.applied;
  }

  async start(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const unreachable = this.opts.unreachableRoutes ?? [CLUSTER_POD_CIDR, SERVICE_CIDR];
    if (unreachable !== false) {
      if (this.runner.where !== "host") throw new Error("unreachableRoutes needs the host runner (cni.ts runs ip itself); pass unreachableRoutes: false");
      await installUnreachableRoutes(unreachable);
    }
    const informers = this.opts.informers ?? new SharedInformerFactory(this.opts.client, { onError: (gvr, err) => this.log.error("informer error", { gvr, error: String(err) }) });
    const nodes = informers.informerFor("v1/nodes");
    const kick = (repair = false) => this.kick(() => nodes.store.list(), repair);
    const changed = (o: KObject, n: KObject) => JSON.stringify([o.spec?.podCIDRs, o.spec?.podCIDR, o.status?.addresses]) !== JSON.stringify([n.spec?.podCIDRs, n.spec?.podCIDR, n.status?.addresses]);
    // Heartbeats change nodes every few seconds; only address or range changes matter.
    const handle = nodes.addEventHandler({ onAdd: () => kick(), onUpdate: (o, n) => (changed(o, n) ? kick() : undefined), onDelete: () => kick() });
    informers.start(signal);
    const timer = setInterval(() => kick(true), this.opts.resyncMs ?? 30_000);
    try {
      if (!(await informers.waitForSync(signal, ["v1/nodes"]))) return;
      await this.removeLeftovers(desiredNodeRoutes(nodes.store.list(), this.opts.nodeName));
      kick();
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    } finally {
      clearInterval(timer);
      handle.remove();
      await this.running?.catch(() => {});
      if (!this.opts.informers) await informers.stopped();
      for (const [cidr, via] of this.applied) await this.del(cidr, via);
      this.applied.clear();
    }
  }

  /** Runs a sync now, or once more after the running one (syncs never overlap). */
  private kick(list: () => KObject[], repair: boolean): void {
    this.repair ||= repair;
    if (this.running) {
      this.pending = true;
      return;
    }
    this.running = (async () => {
      do {
        this.pending = false;
        const repairNow = this.repair;
        this.repair = false;
        await this.sync(desiredNodeRoutes(list(), this.opts.nodeName), repairNow);
      } while (this.pending);
    })().finally(() => (this.running = undefined));
  }

  private async sync(desired: Map<string, string>, repair: boolean): Promise<void> {
    for (const [cidr, via] of this.applied) {
      if (desired.get(cidr) === via) continue;
      this.applied.delete(cidr);
      if (!desired.has(cidr)) await this.del(cidr, via);
    }
    let local: Set<string> | undefined;
    for (const [cidr, via] of desired) {
      if (!repair && this.applied.get(cidr) === via) continue;
      try {
        // Two nodes on one host (tests): the other node's range is on a local bridge.
        // Never replace a route we did not make (`replace` would take over the bridge's
        // connected route), and never route via one of our own addresses.
        local ??= await this.localAddresses();
        const existing = (await this.runner.run(["ip", "-o", "route", "show", "exact", cidr])).trim();
        const foreign = existing.split("\n").some((l) => l.trim() && !l.includes(`proto ${ROUTE_PROTOCOL}`));
        if (local.has(via) || foreign) {
          if (!this.failed.has(`${cidr} via ${via}`)) this.log.info("pod range served on this host; no route", { podCIDR: cidr, via });
          this.failed.add(`${cidr} via ${via}`);
          continue;
        }
        // replace is idempotent and also repairs a route changed or removed behind our back.
        await this.runner.run(["ip", "route", "replace", cidr, "via", via, "proto", String(ROUTE_PROTOCOL)]);
        if (this.applied.get(cidr) !== via) this.log.info("pod range route set", { podCIDR: cidr, via });
        this.applied.set(cidr, via);
        this.failed.delete(`${cidr} via ${via}`);
      } catch (err) {
        // e.g. the node address is not on a directly connected network; retried at the next
        // resync, logged once.
        if (!this.failed.has(`${cidr} via ${via}`)) this.log.error("pod range route failed", { podCIDR: cidr, via, error: String((err as Error)?.message ?? err) });
        this.failed.add(`${cidr} via ${via}`);
      }
    }
    this.opts.onSync?.(this.applied);
  }

  private async localAddresses(): Promise<Set<string>> {
    const out = await this.runner.run(["ip", "-o", "-4", "addr", "show"]).catch(() => "");
    return new Set([...out.matchAll(/ inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]!));
  }

  private async del(cidr: string, via: string): Promise<void> {
    await this.runner.run(["ip", "route", "del", cidr, "via", via, "proto", String(ROUTE_PROTOCOL)]).catch(() => {});
  }

  /** Routes with our protocol that no current node wants (a crashed previous run). */
  private async removeLeftovers(desired: Map<string, string>): Promise<void> {
    const out = await this.runner.run(["ip", "-o", "route", "show", "proto", String(ROUTE_PROTOCOL)]).catch(() => "");
    for (const line of out.split("\n")) {
      const m = /^(\S+) via (\S+)/.exec(line.trim());
      if (!m) continue;
      const cidr = m[1]!.includes("/") ? m[1]! : `${m[1]}/32`;
      if (desired.get(cidr) !== m[2]) await this.del(cidr, m[2]!);
    }
  }
}

/** The route keeper as a Runnable for the agent's Supervisor. */
export function nodeRoutesRunnable(opts: NodeRoutesOptions): NodeRoutes {
  return new NodeRoutes(opts);
}
