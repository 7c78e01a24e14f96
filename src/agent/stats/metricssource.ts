// Resource metrics from real node agents, the part metrics-server plays upstream
// (https://kubernetes.io/docs/tasks/debug/debug-cluster/resource-metrics-pipeline/):
// every 15 s (and on demand when a reader finds the data stale) the API server scrapes
// GET /stats/summary from each Node that advertises a kubelet port
// (status.daemonEndpoints.kubeletEndpoint.Port) at its InternalIP, skipping hollow
// nodes (their usage comes from hollow/metricssource.ts), and turns the summaries into
// PodMetrics/NodeMetrics samples for apiserver/metrics.ts (kubectl top, the HPA).

import https from "node:https";
import type { Client } from "../../client/types.js";
import { silentLogger, type Logger, type Runnable } from "../../client/runnable.js";
import type { MetricsSource, NodeMetricsSample, PodMetricsSample } from "../../apiserver/metrics.js";
import type { CertKey } from "../../apiserver/pki.js";
import { agentEndpoint } from "../../apiserver/podproxy.js";
import type { KObject } from "../../apimachinery/types.js";
import type { StatsSummary } from "./summary.js";

export interface AgentMetricsOptions {
  /** Lists Nodes. */
  client: Client;
  /** The client certificate agents accept (kube-apiserver-kubelet-client). */
  clientCert: CertKey;
  /** Verify agents' serving certificates with this CA; default not verified. */
  agentCA?: string;
  /** Scrape period (default 15 s, metrics-server's --metric-resolution). */
  intervalMs?: number;
  timeoutMs?: number;
  log?: Logger;
}

export interface AgentMetricsSource extends MetricsSource, Runnable {
  /** Scrapes every real node now. */
  scrape(): Promise<void>;
}

/** Hollow nodes advertise a port too but serve nothing. */
export function isHollowNode(node: KObject): boolean {
  return node.metadata.labels?.["node.kubernetes.io/instance-type"] === "hollow" || String(node.status?.nodeInfo?.containerRuntimeVersion ?? "").startsWith("hollow://");
}

const cpuQuantity = (nanoCores: number) => `${Math.max(0, Math.round(nanoCores))}n`;
const memoryQuantity = (bytes: number) => `${Math.max(0, Math.round(bytes / 1024))}Ki`;

/** PodMetrics/NodeMetrics samples from one summary; containers without both numbers are skipped. */
export function samplesFromSummary(s: StatsSummary, window: string): { pods: PodMetricsSample[]; node?: NodeMetricsSample } {
  const pods: PodMetricsSample[] = [];
  for (const p of s.pods) {
    const containers: PodMetricsSample["containers"] = [];
    let ts = "";
    for (const c of p.containers) {
      const cpu = c.cpu?.usageNanoCores;
      const mem = c.memory?.workingSetBytes;
      if (cpu === undefined || mem === undefined) continue;
      containers.push({ name: c.name, usage: { cpu: cpuQuantity(cpu), memory: memoryQuantity(mem) } });
      if (c.cpu!.time > ts) ts = c.cpu!.time;
    }
    if (containers.length) pods.push({ namespace: p.podRef.namespace, name: p.podRef.name, timestamp: ts, window, containers });
  }
  const cpu = s.node.cpu?.usageNanoCores;
  const mem = s.node.memory?.workingSetBytes;
  const node = cpu !== undefined && mem !== undefined ? { name: s.node.nodeName, timestamp: s.node.cpu!.time, window, usage: { cpu: cpuQuantity(cpu), memory: memoryQuantity(mem) } } : undefined;
  return { pods, node };
}

export function agentMetricsSource(opts: AgentMetricsOptions): AgentMetricsSource {
  const log = opts.log ?? silentLogger;
  const interval = opts.intervalMs ?? 15_000;
  const window = `${Math.max(1, Math.round(interval / 1000))}s`;
  const byNode = new Map<string, { pods: PodMetricsSample[]; node?: NodeMetricsSample }>();
  let lastScrape = 0;
  let inflight: Promise<void> | undefined;

  function fetchSummary(host: string, port: number): Promise<StatsSummary> {
    return new Promise((resolve, reject) => {
      const req = https.get(
        {
          host,
          port,
          path: "/stats/summary",
          cert: opts.clientCert.certPem,
          key: opts.clientCert.keyPem,
          ...(opts.agentCA ? { ca: opts.agentCA } : { rejectUnauthorized: false }),
          timeout: opts.timeoutMs ?? 5000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            if (res.statusCode !== 200) return reject(new Error(`${host}:${port} answered ${res.statusCode}`));
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString()) as StatsSummary);
            } catch (err) {
              reject(err);
            }
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${host}:${port} timed out`)));
      req.on("error", reject);
    });
  }

  async function scrapeOnce(): Promise<void> {
    const nodes = (await opts.client.list("v1/nodes")).items;
    const live = new Set<string>();
    await Promise.all(
      nodes.map(async (n) => {
        const name = n.metadata.name!;
        const ep = agentEndpoint(n);
        if (!ep || isHollowNode(n)) return;
        live.add(name);
        try {
          byNode.set(name, samplesFromSummary(await fetchSummary(ep.host, ep.port), window));
        } catch (err) {
          log.error("stats scrape failed", { node: name, error: String((err as Error)?.message ?? err) });
          byNode.delete(name);
        }
      }),
    );
    for (const k of [...byNode.keys()]) if (!live.has(k)) byNode.delete(k);
    lastScrape = Date.now();
  }

  const scrape = () => (inflight ??= scrapeOnce().finally(() => (inflight = undefined)));
  /** A reader finding the data older than two periods triggers a scrape (served next time). */
  const freshen = () => {
    if (Date.now() - lastScrape > 2 * interval) void scrape().catch(() => {});
  };

  return {
    name: "agent-metrics-scraper",
    needsLeader: false,
    scrape,
    podMetrics() {
      freshen();
      return [...byNode.values()].flatMap((v) => v.pods);
    },
    nodeMetrics() {
      freshen();
      return [...byNode.values()].flatMap((v) => (v.node ? [v.node] : []));
    },
    async start(signal) {
      while (!signal.aborted) {
        await scrape().catch((err) => log.error("stats scrape failed", { error: String((err as Error)?.message ?? err) }));
        await new Promise<void>((r) => {
          const t = setTimeout(r, interval);
          signal.addEventListener("abort", () => (clearTimeout(t), r()), { once: true });
        });
      }
    },
  };
}
