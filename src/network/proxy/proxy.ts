// The service proxy of one node, like kube-proxy
// (https://kubernetes.io/docs/reference/command-line-tools-reference/kube-proxy/ and
// https://kubernetes.io/docs/reference/networking/virtual-ips/): a Runnable that watches
// Services and EndpointSlices through informers, turns them into a service table
// (model.ts) and programs the kernel with nftables (nftables.ts). Changes are debounced
// (default 20 ms) and each sync is one atomic `nft -f -` transaction, so an endpoint
// change reaches the kernel well within a second. On shutdown the table is deleted.
// It also lets the node itself reach ClusterIPs: the service range carries an
// `unreachable` route (cni.ts) and a local socket's route lookup happens before the
// output hook could DNAT, so traffic from this host (`iif lo`) to the service range is
// given its own routing table with a route via lo; the nat output chain then DNATs it.

import type { KObject } from "../../apimachinery/types.js";
import type { Client } from "../../client/types.js";
import { SharedInformerFactory } from "../../client/sharedinformers.js";
import { silentLogger, type Logger, type Runnable } from "../../client/runnable.js";
import { CLUSTER_POD_CIDR, SERVICE_CIDR } from "../../agent/cni.js";
import { buildServiceTable } from "./model.js";
import { DEFAULT_TABLE, applyRuleset, deleteTable, renderRuleset, type RulesetState } from "./nftables.js";
import { hostRunner, type CommandRunner } from "./command.js";

export const SERVICES_GVR = "v1/services";
export const ENDPOINTSLICES_GVR = "discovery.k8s.io/v1/endpointslices";
/** Routing table and rule priority used for host → ClusterIP traffic. */
export const HOST_ACCESS_TABLE = 4243;

/**
 * The routing table (and rule priority) for one proxy's host access: 4243 for the
 * default nft table, another fixed number per table name otherwise, so two proxies on
 * one host (tests with two nodes) never remove each other's rule.
 */
export function hostAccessTable(nftTable: string): number {
  if (nftTable === DEFAULT_TABLE) return HOST_ACCESS_TABLE;
  let h = 0;
  for (const ch of nftTable) h = (h * 31 + ch.charCodeAt(0)) % 1000;
  return HOST_ACCESS_TABLE + 1 + h;
}

export interface ServiceProxyOptions {
  client: Client;
  /** This node's name (endpoints with this nodeName are local for traffic policies). */
  nodeName: string;
  /** This node's InternalIP: source address for host → ClusterIP traffic. */
  nodeIP?: string;
  /** Cluster pod range (default 10.42.0.0/16); ClusterIP traffic from outside is masqueraded. */
  clusterCIDR?: string;
  /** Service range (default 10.43.0.0/16), for the host-access route. */
  serviceCIDR?: string;
  /** Where nft/ip run (default: this host). Tests pass netnsRunner(ns). */
  runner?: CommandRunner;
  /** nft table name in family ip (default "tugboat"). */
  table?: string;
  masqueradeAll?: boolean;
  /** Let processes on the node reach ClusterIPs (policy route, see header). Default true. */
  hostAccess?: boolean;
  /** Delay between a change and the sync it triggers, to batch bursts (default 20 ms, max 100). */
  debounceMs?: number;
  /** How often to check that the table is still in the kernel (default 30 s); a missing table is rebuilt. */
  verifyPeriodMs?: number;
  /** Use the agent's informers (they are started if not already); default: the proxy's own. */
  informers?: SharedInformerFactory;
  log?: Logger;
  /** Called after every successful sync. */
  onSync?: (info: SyncInfo) => void;
}

export interface SyncInfo {
  /** Sync count since start (1 = first). */
  generation: number;
  full: boolean;
  /** Time from the first change event this sync covers to the rules being applied (ms). */
  latencyMs?: number;
  renderMs: number;
  applyMs: number;
  services: number;
  endpointChains: number;
  elements: number;
  /** nft commands sent (0: nothing changed, nft not run). */
  changes: number;
  conflicts: string[];
}

export class ServiceProxy implements Runnable {
  readonly name = "service-proxy";
  readonly needsLeader = false;
  lastSync?: SyncInfo;
  private readonly runner: CommandRunner;
  private readonly log: Logger;
  private state?: RulesetState;
  private generation = 0;
  private timer?: ReturnType<typeof setTimeout>;
  private dirtySince?: number;
  private syncing?: Promise<void>;
  private active = false;
  private failures = 0;
  private waiters: Array<{ gen: number; resolve: () => void }> = [];

  constructor(private readonly opts: ServiceProxyOptions) {
    this.runner = opts.runner ?? hostRunner();
    this.log = opts.log ?? silentLogger;
  }

  private get debounceMs(): number {
    return Math.max(0, Math.min(this.opts.debounceMs ?? 20, 100));
  }

  /** Resolves after the next successful sync that starts after this call. */
  nextSync(): Promise<void> {
    return new Promise((resolve) => this.waiters.push({ gen: this.generation + (this.syncing ? 2 : 1), resolve }));
  }

  async start(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const informers = this.opts.informers ?? new SharedInformerFactory(this.opts.client, { onError: (gvr, err) => this.log.error("informer error", { gvr, error: String(err) }) });
    const services = informers.informerFor(SERVICES_GVR);
    const slices = informers.informerFor(ENDPOINTSLICES_GVR);
    const onChange = { onAdd: () => this.schedule(), onUpdate: () => this.schedule(), onDelete: () => this.schedule() };
    const handles = [services.addEventHandler(onChange), slices.addEventHandler(onChange)];
    informers.start(signal);
    let verifier: ReturnType<typeof setInterval> | undefined;
    try {
      if (!(await informers.waitForSync(signal, [SERVICES_GVR, ENDPOINTSLICES_GVR]))) return;
      if (this.opts.hostAccess !== false) await this.installHostAccess();
      this.active = true;
      this.read = () => ({ services: services.store.list(), slices: slices.store.list() });
      this.schedule(0);
      verifier = setInterval(() => void this.verify(), this.opts.verifyPeriodMs ?? 30_000);
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    } finally {
      clearInterval(verifier);
      this.active = false;
      for (const h of handles) h.remove();
      if (this.timer) clearTimeout(this.timer);
      await this.syncing?.catch(() => {});
      if (!this.opts.informers) await informers.stopped();
      await deleteTable(this.runner, this.opts.table ?? DEFAULT_TABLE).catch((err) => this.log.error("removing nft table failed", { error: String(err) }));
      if (this.opts.hostAccess !== false) await this.removeHostAccess();
      this.state = undefined;
    }
  }

  /** Someone flushed the ruleset or deleted our table (e.g. a firewall reload): rebuild it. */
  private async verify(): Promise<void> {
    if (!this.active || !this.state || this.syncing) return;
    const t = this.opts.table ?? DEFAULT_TABLE;
    const present = await this.runner.run(["nft", "list", "chain", "ip", t, "services"]).then(
      () => true,
      () => false,
    );
    if (present || !this.active || this.syncing || !this.state) return;
    this.log.info("nft table missing; rebuilding it", { table: t });
    this.state = undefined;
    this.schedule(0);
  }

  private read: () => { services: KObject[]; slices: KObject[] } = () => ({ services: [], slices: [] });

  private schedule(delay = this.debounceMs): void {
    this.dirtySince ??= Date.now();
    if (!this.active || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.syncing) return; // the running sync loops while dirty
      this.syncing = this.syncLoop().finally(() => (this.syncing = undefined));
    }, delay);
  }

  private async syncLoop(): Promise<void> {
    while (this.active && this.dirtySince !== undefined) {
      const since = this.dirtySince;
      this.dirtySince = undefined;
      try {
        await this.syncOnce(since);
        this.failures = 0;
      } catch (err) {
        this.failures++;
        // Next attempt rebuilds the whole table: the kernel state is unknown now.
        this.state = undefined;
        this.dirtySince ??= since;
        const backoff = Math.min(500 * 2 ** Math.min(this.failures - 1, 6), 30_000);
        this.log.error("service proxy sync failed; retrying", { error: String((err as Error)?.message ?? err), retryInMs: backoff });
        if (this.active && !this.timer) {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            if (!this.syncing) this.syncing = this.syncLoop().finally(() => (this.syncing = undefined));
          }, backoff);
        }
        return;
      }
    }
  }

  private async syncOnce(since: number): Promise<void> {
    const t0 = performance.now();
    const { services, slices } = this.read();
    const table = buildServiceTable(services, slices, { nodeName: this.opts.nodeName, clusterCIDR: this.opts.clusterCIDR ?? CLUSTER_POD_CIDR });
    const full = this.state === undefined;
    const rendered = renderRuleset(table, { table: this.opts.table, clusterCIDR: this.opts.clusterCIDR ?? CLUSTER_POD_CIDR, masqueradeAll: this.opts.masqueradeAll }, this.state);
    const t1 = performance.now();
    if (rendered.stats.changes > 0) await applyRuleset(this.runner, rendered.script);
    const t2 = performance.now();
    this.state = rendered.state;
    this.generation++;
    const info: SyncInfo = {
      generation: this.generation,
      full,
      latencyMs: Date.now() - since,
      renderMs: Math.round((t1 - t0) * 10) / 10,
      applyMs: Math.round((t2 - t1) * 10) / 10,
      ...rendered.stats,
      conflicts: table.conflicts,
    };
    if (table.conflicts.join() !== (this.lastSync?.conflicts ?? []).join() && table.conflicts.length) {
      this.log.error("Services claim the same address and port; the older keeps it", { conflicts: table.conflicts });
    }
    this.lastSync = info;
    this.log.debug?.("service proxy synced", { ...info });
    this.opts.onSync?.(info);
    this.waiters = this.waiters.filter((w) => (w.gen <= this.generation ? (w.resolve(), false) : true));
  }

  private hostAccessArgs(): { rule: string[]; route: string[] } {
    const cidr = this.opts.serviceCIDR ?? SERVICE_CIDR;
    const t = String(hostAccessTable(this.opts.table ?? DEFAULT_TABLE));
    return {
      rule: ["pref", t, "iif", "lo", "to", cidr, "lookup", t],
      route: [cidr, "dev", "lo", "table", t, ...(this.opts.nodeIP ? ["src", this.opts.nodeIP] : [])],
    };
  }

  private async installHostAccess(): Promise<void> {
    const { rule, route } = this.hostAccessArgs();
    await this.runner.run(["ip", "route", "replace", ...route]);
    // Rules are not idempotent: drop a leftover from a previous run first.
    await this.runner.run(["ip", "rule", "del", ...rule]).catch(() => {});
    await this.runner.run(["ip", "rule", "add", ...rule]);
  }

  private async removeHostAccess(): Promise<void> {
    const { rule, route } = this.hostAccessArgs();
    await this.runner.run(["ip", "rule", "del", ...rule]).catch(() => {});
    await this.runner.run(["ip", "route", "del", ...route]).catch(() => {});
  }
}

/** The service proxy as a Runnable for the agent's Supervisor. */
export function serviceProxyRunnable(opts: ServiceProxyOptions): ServiceProxy {
  return new ServiceProxy(opts);
}
