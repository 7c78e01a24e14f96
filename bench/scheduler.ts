// Benchmark 1 of issue 6: scheduler throughput in the shape of kube-scheduler's
// scheduler_perf "SchedulingBasic" (test/integration/scheduler_perf/config/performance-config.yaml
// upstream): N nodes, some pods already placed, then M pods to schedule, created while the
// scheduler runs. In-process like scheduler_perf (which runs the scheduler against an
// in-process API server and etcd): our Scheduler with its informers over the in-process
// client and the real registry on a durable SQLite store (src/apiserver/testing.ts), and
// nodes registered by hollow kubelets (src/agent/hollow) that are not started, so nothing
// but the scheduler writes to pods, as in scheduler_perf. Pods look like upstream's
// pod-default.yaml (one container, requests 100m CPU / 500Mi).

import type { KObject } from "../src/apimachinery/types.js";
import { startTestApi } from "../src/apiserver/testing.js";
import { SharedInformerFactory } from "../src/client/sharedinformers.js";
import { HollowNode, forEachLimited } from "../src/agent/hollow/node.js";
import { Scheduler } from "../src/scheduler/scheduler.js";
import { SqliteStore } from "../src/store/sqlite.js";
import { judge, latencyRow, runsRow, type Benchmark, type Row } from "./report.js";
import { pool } from "./tugprocess.js";

interface Shape {
  nodes: number;
  placed: number;
  pods: number;
}

function pod(name: string, nodeName?: string): KObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: { app: "sched-bench" } },
    spec: {
      ...(nodeName ? { nodeName } : {}),
      containers: [{ name: "pause", image: "registry.k8s.io/pause:3.10", resources: { requests: { cpu: "100m", memory: "500Mi" }, limits: { cpu: "100m", memory: "500Mi" } } }],
    },
  };
}

interface RunFigures {
  podsPerSec: number;
  createPerSec: number;
  latencies: number[];
  registerMs: number;
  /** Process CPU time (user + system, all threads) per scheduled pod, from first create to last binding. */
  cpuUsPerPod: number;
}

async function once(shape: Shape, log: (m: string) => void): Promise<RunFigures> {
  const api = await startTestApi();
  const ac = new AbortController();
  const informers = new SharedInformerFactory(api.client, { resyncPeriodMs: 0 });
  try {
    let t = performance.now();
    const nodes = Array.from(
      { length: shape.nodes },
      (_, i) => new HollowNode({ client: api.client, informers, name: `sched-node-${i}`, index: i, capacity: { cpu: "4", memory: "32Gi", pods: 110 }, nodeCIDRMaskSize: 29 }),
    );
    const errors = await forEachLimited(nodes, 64, (n) => n.register());
    if (errors.length) throw new Error(`node registration failed: ${String(errors[0])}`);
    const registerMs = performance.now() - t;
    await pool(shape.placed, 64, async (i) => {
      await api.client.create("v1/pods", pod(`placed-${i}`, `sched-node-${i % shape.nodes}`));
    });
    log(`${shape.nodes} nodes registered in ${Math.round(registerMs)} ms, ${shape.placed} pods placed`);

    const issued = new Map<string, number>();
    const bound = new Map<string, number>();
    let allBound!: () => void;
    const done = new Promise<void>((r) => (allBound = r));
    const seen = (p: KObject) => {
      const name = p.metadata.name!;
      if (!p.spec?.nodeName || bound.has(name) || !issued.has(name)) return;
      bound.set(name, performance.now());
      if (bound.size === shape.pods) allBound();
    };
    informers.informerFor("v1/pods").addEventHandler({ onAdd: seen, onUpdate: (_o, p) => seen(p) });
    const scheduler = new Scheduler({ client: api.client, informers });
    const running = scheduler.start(ac.signal);
    await informers.waitForSync(ac.signal, ["v1/pods", "v1/nodes"]);

    t = performance.now();
    const cpu0 = process.cpuUsage();
    await pool(shape.pods, 64, async (i) => {
      const name = `pending-${i}`;
      issued.set(name, performance.now());
      await api.client.create("v1/pods", pod(name));
    });
    const createPerSec = shape.pods / ((performance.now() - t) / 1000);
    const timeout = setTimeout(() => allBound(), 600_000);
    await done;
    clearTimeout(timeout);
    const cpu = process.cpuUsage(cpu0);
    const cpuUsPerPod = (cpu.user + cpu.system) / shape.pods;
    if (bound.size < shape.pods) throw new Error(`only ${bound.size}/${shape.pods} pods bound after 10 minutes`);
    const last = Math.max(...bound.values());
    const podsPerSec = shape.pods / ((last - t) / 1000);
    const latencies = [...bound].map(([name, at]) => at - issued.get(name)!);
    ac.abort();
    await running;
    const store = api.registry.store;
    const group = store instanceof SqliteStore ? `, store writes per commit ${(store.commitStats.writes / store.commitStats.commits).toFixed(1)}` : "";
    log(`${shape.pods} pods scheduled at ${Math.round(podsPerSec)} pods/s (created at ${Math.round(createPerSec)}/s, ${Math.round(cpuUsPerPod)} µs CPU per pod); stats ${JSON.stringify(scheduler.stats)}${group}`);
    return { podsPerSec, createPerSec, latencies, registerMs, cpuUsPerPod };
  } finally {
    ac.abort();
    await informers.stopped();
    await api.close();
  }
}

export const schedulerBenchmark: Benchmark = {
  name: "scheduler",
  summary: "SchedulingBasic: N hollow nodes, pods placed, M pods scheduled; pods/s and per-pod create→bound latency",
  async run(ctx) {
    const shapes: Shape[] = ctx.quick
      ? [
          { nodes: 100, placed: 50, pods: 500 },
          { nodes: 50, placed: 0, pods: 200 },
        ]
      : [
          { nodes: 5_000, placed: 1_000, pods: 10_000 },
          { nodes: 500, placed: 0, pods: 1_000 },
        ];
    const rows: Row[] = [];
    for (const [i, shape] of shapes.entries()) {
      const figs: RunFigures[] = [];
      for (let r = 0; r < ctx.runs; r++) figs.push(await once(shape, ctx.log));
      const label = `${shape.nodes.toLocaleString("en-US")} nodes, ${shape.pods.toLocaleString("en-US")} pods`;
      const tp = runsRow(`scheduling throughput (${label})`, figs.map((f) => f.podsPerSec), "pods/s", { anchor: i === 0 && !ctx.quick ? "kube-scheduler CI floor 270" : undefined });
      rows.push(
        i === 0 ? judge(tp, "≥ 1000") : tp,
        runsRow(`pod create rate while scheduling (${label})`, figs.map((f) => f.createPerSec), "pods/s"),
        latencyRow(`per-pod create→bound latency (${label})`, figs.flatMap((f) => f.latencies)),
        // CPU per pod (API writes + informers + scheduler, one process) moves less than pods/s on a shared machine.
        runsRow(`process CPU per pod, create to bound (${label})`, figs.map((f) => f.cpuUsPerPod), "µs"),
        runsRow(`hollow node registration (${shape.nodes.toLocaleString("en-US")} nodes)`, figs.map((f) => f.registerMs), "ms"),
      );
    }
    return {
      rows,
      params: { shapes, podRequests: "100m CPU, 500Mi", nodeCapacity: "4 CPU, 32Gi, 110 pods", createConcurrency: 64 },
      notes: ["in-process API (registry over durable SQLite) + scheduler in one Node process, as scheduler_perf runs in-process; throughput counts from the first create to the last binding seen by an informer"],
    };
  },
};
