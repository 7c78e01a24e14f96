// Benchmark 3 of issue 6: watch fan-out, after the Kubernetes watch latency SLI
// (https://github.com/kubernetes/community/blob/master/sig-scalability/slos/watch_latency.md).
// A real `tug server`; W clients each hold an HTTPS watch on pods
// (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes)
// while P pods are created (64 in flight). Lag = from the create's response to the ADDED
// event's arrival at a watcher (0 if the event came first). Watch lines are not parsed,
// only scanned for the pod's index, so the measuring client stays cheap. Also the
// server's RSS at its peak.

import { latencyRow, runsRow, sleep, type Benchmark } from "./report.js";
import { pool, startTug, until } from "./tugprocess.js";

const NAME = /"name":"wf(\d+)-(\d+)"/;

interface RunFigures {
  lags: number[];
  delivered: number;
  expected: number;
  peakRss: number;
  createPerSec: number;
  drainMs: number;
  created: number;
}

export const watchFanoutBenchmark: Benchmark = {
  name: "watchfanout",
  summary: "W HTTPS watchers on pods while P pods are created: delivery lag p50/p99, server RSS",
  async run(ctx) {
    const watchers = Number(process.env.TUG_BENCH_WATCHERS) || (ctx.quick ? 50 : 500);
    const pods = Number(process.env.TUG_BENCH_PODS) || (ctx.quick ? 500 : 10_000);
    const budgetMs = ctx.quick ? 30_000 : 150_000;
    const figs: RunFigures[] = [];
    for (let r = 0; r < ctx.runs; r++) {
      const tug = await startTug();
      try {
        const ns = `wf-${r}`;
        const res = await tug.call("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
        if (res.status !== 201) throw new Error(`namespace: HTTP ${res.status}`);
        const list = JSON.parse((await tug.call("GET", `/api/v1/namespaces/${ns}/pods`)).body);
        const acked = new Float64Array(pods); // ack time per pod index (0 = not yet)
        const lags: number[] = [];
        let delivered = 0;
        const streams = [];
        for (let w = 0; w < watchers; w++) {
          streams.push(
            await tug.watch(`/api/v1/namespaces/${ns}/pods?watch=1&resourceVersion=${list.metadata.resourceVersion}`, (line) => {
              if (!line.startsWith('{"type":"ADDED"')) return;
              const m = NAME.exec(line);
              if (!m || Number(m[1]) !== r) return;
              const i = Number(m[2]);
              const now = performance.now();
              delivered++;
              lags.push(acked[i]! > 0 ? Math.max(0, now - acked[i]!) : 0);
            }),
          );
        }
        let peakRss = tug.rss();
        const sampler = setInterval(() => (peakRss = Math.max(peakRss, tug.rss())), 250);
        const t0 = performance.now();
        let created = 0;
        await pool(pods, 64, async (i) => {
          // A time budget: with hundreds of watchers the server may create slowly; the
          // figures then cover the pods created within it (reported as such).
          if (performance.now() - t0 > budgetMs) return;
          const body = { apiVersion: "v1", kind: "Pod", metadata: { name: `wf${r}-${i}` }, spec: { nodeName: "no-such-node", containers: [{ name: "c", image: "busybox" }] } };
          const c = await tug.call("POST", `/api/v1/namespaces/${ns}/pods`, body);
          if (c.status !== 201) throw new Error(`create: HTTP ${c.status} ${c.body.slice(0, 200)}`);
          acked[i] = performance.now();
          created++;
        });
        const createPerSec = created / ((performance.now() - t0) / 1000);
        const tDrain = performance.now();
        await until(() => delivered >= created * watchers, ctx.quick ? 60_000 : 600_000, 50);
        const drainMs = performance.now() - tDrain;
        clearInterval(sampler);
        peakRss = Math.max(peakRss, tug.rss());
        for (const s of streams) s.close();
        figs.push({ lags, delivered, expected: created * watchers, peakRss, createPerSec, drainMs, created });
        ctx.log(`run ${r + 1}: ${created}/${pods} pods created within the budget, ${delivered}/${created * watchers} events, created ${Math.round(createPerSec)}/s, drained ${Math.round(drainMs)} ms after the last create, peak RSS ${peakRss} MiB`);
        await sleep(200);
      } finally {
        await tug.stop();
      }
    }
    return {
      rows: [
        latencyRow(`delivery lag (${watchers} watchers, up to ${pods.toLocaleString("en-US")} pods)`, figs.flatMap((f) => f.lags), { anchor: "K8s watch SLI (no SLO): p99 lag" }),
        runsRow("events delivered / expected", figs.map((f) => f.delivered / f.expected), "ratio"),
        runsRow(`pods created within the ${budgetMs / 1000} s budget`, figs.map((f) => f.created), "pods"),
        runsRow("pod creates/s while watched", figs.map((f) => f.createPerSec), "pods/s"),
        runsRow("server peak RSS", figs.map((f) => f.peakRss), "MiB"),
      ],
      params: { watchers, pods, createConcurrency: 64, budgetMs },
      notes: ["watchers and creating client share one Node process (and the 2 cores) with the server"],
    };
  },
};
