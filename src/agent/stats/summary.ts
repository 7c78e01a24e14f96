// The kubelet's Summary API (GET /stats/summary, stats/v1alpha1; see
// https://kubernetes.io/docs/reference/instrumentation/node-metrics/ and the resource
// metrics pipeline, https://kubernetes.io/docs/tasks/debug/debug-cluster/resource-metrics-pipeline/):
// per-container CPU and memory from the runtime's CRI ContainerStats (containerd reads
// the container cgroups), per-pod sums, and node totals from /proc/stat and
// /proc/meminfo. CPU rates (usageNanoCores) come from the difference between two
// cumulative samples, so the collector keeps the previous sample of everything.

import { readFile } from "node:fs/promises";
import type { ContainerRuntime } from "../runtime/types.js";
import { CONTAINER_NAME_LABEL, POD_UID_LABEL } from "../kubelet/podworker.js";

export interface CPUStats {
  time: string;
  usageNanoCores?: number;
  usageCoreNanoSeconds?: number;
}

export interface MemoryStats {
  time: string;
  availableBytes?: number;
  usageBytes?: number;
  workingSetBytes?: number;
  rssBytes?: number;
  pageFaults?: number;
  majorPageFaults?: number;
}

export interface ContainerStatsSummary {
  name: string;
  startTime: string;
  cpu?: CPUStats;
  memory?: MemoryStats;
}

export interface PodStatsSummary {
  podRef: { name: string; namespace: string; uid: string };
  startTime: string;
  containers: ContainerStatsSummary[];
  cpu?: CPUStats;
  memory?: MemoryStats;
}

export interface StatsSummary {
  node: { nodeName: string; startTime: string; cpu?: CPUStats; memory?: MemoryStats };
  pods: PodStatsSummary[];
}

interface CumulativeSample {
  atNs: bigint;
  usageNs: number;
}

/** USER_HZ: /proc/stat counts in 1/100 s on every Linux we run on. */
const CLOCK_TICK_NS = 10_000_000;

/** Cumulative busy CPU time of the host in nanoseconds (all but idle and iowait). */
export function parseProcStat(text: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) return undefined;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return (total - idle) * CLOCK_TICK_NS;
}

/** {totalBytes, availableBytes} from /proc/meminfo. */
export function parseMeminfo(text: string): { totalBytes: number; availableBytes: number } | undefined {
  const kb = (k: string) => {
    const m = new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const total = kb("MemTotal");
  const avail = kb("MemAvailable") ?? kb("MemFree");
  return total === undefined || avail === undefined ? undefined : { totalBytes: total, availableBytes: avail };
}

const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

export interface StatsCollectorOptions {
  /** Where /proc lives (tests). */
  procRoot?: string;
  /** A sample younger than this is reused instead of taking a new one (default 1 s). */
  minIntervalMs?: number;
}

export class StatsCollector {
  private prev = new Map<string, CumulativeSample>();
  private rates = new Map<string, number>();
  private last: StatsSummary | undefined;
  private lastAt = 0;
  private inflight: Promise<StatsSummary> | undefined;
  private readonly bootTime = new Date(Date.now() - process.uptime() * 1000).toISOString();

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly nodeName: string,
    private readonly opts: StatsCollectorOptions = {},
  ) {}

  /** The summary, sampling anew unless the last sample is very recent. */
  summary(): Promise<StatsSummary> {
    if (this.last && Date.now() - this.lastAt < (this.opts.minIntervalMs ?? 1000)) return Promise.resolve(this.last);
    this.inflight ??= this.sample().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  /** Records a cumulative value and returns the rate against the previous sample (nanocores). */
  private rate(key: string, usageNs: number | undefined, atNs: bigint): number | undefined {
    if (usageNs === undefined) return undefined;
    const p = this.prev.get(key);
    this.prev.set(key, { atNs, usageNs });
    if (p && atNs > p.atNs && usageNs >= p.usageNs) {
      const r = Math.round(((usageNs - p.usageNs) * 1e9) / Number(atNs - p.atNs));
      this.rates.set(key, r);
      return r;
    }
    return this.rates.get(key);
  }

  async sample(): Promise<StatsSummary> {
    const now = Date.now();
    const nowNs = process.hrtime.bigint();
    const time = rfc3339(now);
    const proc = this.opts.procRoot ?? "/proc";
    const [stat, meminfo, sandboxes, containers, stats] = await Promise.all([
      readFile(`${proc}/stat`, "utf8").catch(() => ""),
      readFile(`${proc}/meminfo`, "utf8").catch(() => ""),
      this.runtime.listPodSandboxes(),
      this.runtime.listContainers({ state: "Running" }),
      this.runtime.listContainerStats(),
    ]);
    const seen = new Set<string>(["node"]);
    const nodeUsage = parseProcStat(stat);
    const mem = parseMeminfo(meminfo);
    const node: StatsSummary["node"] = { nodeName: this.nodeName, startTime: this.bootTime };
    if (nodeUsage !== undefined) node.cpu = { time, usageCoreNanoSeconds: nodeUsage, usageNanoCores: this.rate("node", nodeUsage, nowNs) };
    if (mem) {
      const used = mem.totalBytes - mem.availableBytes;
      node.memory = { time, availableBytes: mem.availableBytes, usageBytes: used, workingSetBytes: used };
    }

    const running = new Map(containers.map((c) => [c.id, c]));
    const podsByUid = new Map<string, PodStatsSummary>();
    for (const s of sandboxes) {
      const uid = s.labels[POD_UID_LABEL] ?? s.metadata.uid;
      if (s.state !== "Ready" || podsByUid.has(uid)) continue;
      podsByUid.set(uid, { podRef: { name: s.metadata.name, namespace: s.metadata.namespace, uid }, startTime: rfc3339(s.createdAt), containers: [] });
    }
    for (const st of stats) {
      const c = running.get(st.id);
      if (!c) continue;
      const pod = podsByUid.get(st.labels[POD_UID_LABEL] ?? c.labels[POD_UID_LABEL] ?? "");
      if (!pod) continue;
      seen.add(st.id);
      const cs: ContainerStatsSummary = { name: st.labels[CONTAINER_NAME_LABEL] ?? c.name, startTime: rfc3339(c.createdAt) };
      const nano = this.rate(st.id, st.cpuUsageCoreNanoSeconds, nowNs) ?? st.cpuUsageNanoCores;
      if (st.cpuUsageCoreNanoSeconds !== undefined || nano !== undefined) cs.cpu = { time, usageCoreNanoSeconds: st.cpuUsageCoreNanoSeconds, usageNanoCores: nano };
      if (st.memoryWorkingSetBytes !== undefined || st.memoryUsageBytes !== undefined) {
        cs.memory = { time, workingSetBytes: st.memoryWorkingSetBytes ?? 0, usageBytes: st.memoryUsageBytes, rssBytes: st.memoryRssBytes, pageFaults: st.memoryPageFaults, majorPageFaults: st.memoryMajorPageFaults };
      }
      pod.containers.push(cs);
    }
    for (const pod of podsByUid.values()) {
      const cpu = pod.containers.map((c) => c.cpu?.usageNanoCores).filter((x): x is number => x !== undefined);
      const ws = pod.containers.map((c) => c.memory?.workingSetBytes).filter((x): x is number => x !== undefined);
      if (cpu.length) pod.cpu = { time, usageNanoCores: cpu.reduce((a, b) => a + b, 0) };
      if (ws.length) pod.memory = { time, workingSetBytes: ws.reduce((a, b) => a + b, 0) };
    }
    // Forget containers that are gone so the maps do not grow forever.
    for (const k of [...this.prev.keys()]) if (!seen.has(k)) {
      this.prev.delete(k);
      this.rates.delete(k);
    }
    this.last = { node, pods: [...podsByUid.values()].filter((p) => p.containers.length > 0) };
    this.lastAt = now;
    return this.last;
  }
}
