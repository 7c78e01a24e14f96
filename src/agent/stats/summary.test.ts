// Node CPU/memory parsing and the summary → metrics.k8s.io conversion.

import { test } from "node:test";
import assert from "node:assert/strict";
import { parseMeminfo, parseProcStat, type StatsSummary } from "./summary.js";
import { isHollowNode, samplesFromSummary } from "./metricssource.js";

test("/proc/stat and /proc/meminfo", () => {
  // user nice system idle iowait irq softirq steal
  assert.equal(parseProcStat("cpu  100 0 50 1000 20 5 5 0 0 0\ncpu0 1 2 3\n"), 160 * 10_000_000);
  assert.equal(parseProcStat("nothing"), undefined);
  assert.deepEqual(parseMeminfo("MemTotal:       8000 kB\nMemFree:  100 kB\nMemAvailable:   6000 kB\n"), { totalBytes: 8000 * 1024, availableBytes: 6000 * 1024 });
});

test("summaries become PodMetrics/NodeMetrics samples", () => {
  const s: StatsSummary = {
    node: { nodeName: "n1", startTime: "t", cpu: { time: "2026-01-01T00:00:00Z", usageNanoCores: 250_000_000 }, memory: { time: "x", workingSetBytes: 2 * 1024 * 1024 } },
    pods: [
      {
        podRef: { name: "p", namespace: "default", uid: "u" },
        startTime: "t",
        containers: [
          { name: "a", startTime: "t", cpu: { time: "2026-01-01T00:00:01Z", usageNanoCores: 1234 }, memory: { time: "x", workingSetBytes: 4096 } },
          { name: "b", startTime: "t", memory: { time: "x", workingSetBytes: 1 } },
        ],
      },
    ],
  };
  const out = samplesFromSummary(s, "15s");
  assert.deepEqual(out.pods, [{ namespace: "default", name: "p", timestamp: "2026-01-01T00:00:01Z", window: "15s", containers: [{ name: "a", usage: { cpu: "1234n", memory: "4Ki" } }] }]);
  assert.deepEqual(out.node, { name: "n1", timestamp: "2026-01-01T00:00:00Z", window: "15s", usage: { cpu: "250000000n", memory: "2048Ki" } });
  assert.equal(isHollowNode({ metadata: { labels: { "node.kubernetes.io/instance-type": "hollow" } } } as any), true);
  assert.equal(isHollowNode({ metadata: {}, status: { nodeInfo: { containerRuntimeVersion: "containerd://1.6.20" } } } as any), false);
});
