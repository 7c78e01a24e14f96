// Hollow nodes' synthetic usage as a metrics.k8s.io source: pod samples straight from
// the hollow runtime's table, node usage as the sum of its pods plus a small system
// overhead, the way a kubelet's summary API feeds metrics-server
// (https://kubernetes.io/docs/tasks/debug/debug-cluster/resource-metrics-pipeline/).

import type { MetricsSource, NodeMetricsSample, PodMetricsSample } from "../../apiserver/metrics.js";
import { formatQuantity, parseQuantity } from "../../apimachinery/quantity.js";
import { hollowMetrics } from "./runtime.js";
import { hollowNodeNames } from "./node.js";

const SYSTEM_CPU_NANOS = 50_000_000n; // 50m
const SYSTEM_MEMORY_NANOS = 256n * 1024n * 1024n * 1_000_000_000n; // 256Mi

export function hollowMetricsSource(): MetricsSource {
  return {
    *podMetrics(): Iterable<PodMetricsSample> {
      for (const [key, u] of hollowMetrics) {
        const [namespace, name] = key.split("/");
        yield {
          namespace: namespace!,
          name: name!,
          timestamp: u.timestamp,
          window: u.window,
          containers: u.containers.map((c) => ({ name: c.name, usage: { cpu: c.cpu, memory: c.memory } })),
        };
      }
    },
    *nodeMetrics(): Iterable<NodeMetricsSample> {
      const byNode = new Map<string, { cpu: bigint; mem: bigint; ts: string }>();
      // A node without pods still reports its system overhead (`kubectl top nodes` lists it).
      const now = new Date().toISOString();
      for (const name of hollowNodeNames) byNode.set(name, { cpu: SYSTEM_CPU_NANOS, mem: SYSTEM_MEMORY_NANOS, ts: now });
      for (const u of hollowMetrics.values()) {
        const cur = byNode.get(u.node) ?? { cpu: SYSTEM_CPU_NANOS, mem: SYSTEM_MEMORY_NANOS, ts: u.timestamp };
        cur.cpu += parseQuantity(u.cpu).nanos;
        cur.mem += parseQuantity(u.memory).nanos;
        if (u.timestamp > cur.ts) cur.ts = u.timestamp;
        byNode.set(u.node, cur);
      }
      for (const [name, v] of byNode) {
        yield {
          name,
          timestamp: v.ts,
          window: "30s",
          usage: { cpu: formatQuantity({ nanos: v.cpu, format: "DecimalSI" }), memory: formatQuantity({ nanos: v.mem, format: "BinarySI" }) },
        };
      }
    },
  };
}
