// Benchmark 7 of issue 6: footprint of `tug server`. Cold start = spawn of a fresh
// server (empty data dir: it also generates its CA and certificates) until /readyz
// answers 200 (https://kubernetes.io/docs/reference/using-api/health-checks/); warm start
// = a restart on the same data dir. Then resident memory idle, and with 1,000 and 10,000
// pods stored (pods bound to a node that does not exist, so nothing acts on them).

import { judge, runsRow, sleep, type Benchmark } from "./report.js";
import { pool, startTug } from "./tugprocess.js";

function pod(name: string): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { app: "footprint", tier: "bench" } },
    spec: { nodeName: "no-such-node", containers: [{ name: "c", image: "busybox", command: ["sleep", "3600"], resources: { requests: { cpu: "10m", memory: "16Mi" } } }] },
  };
}

interface RunFigures {
  coldMs: number;
  coldCpuMs: number;
  warmCpuMs: number;
  warmMs: number;
  idle: number;
  filled: number[];
  createsPerSec: number;
}

export const footprintBenchmark: Benchmark = {
  name: "footprint",
  summary: "tug server cold/warm start to /readyz; RSS idle and with 1,000 / 10,000 pods stored",
  async run(ctx) {
    const levels = ctx.quick ? [200, 1_000] : [1_000, 10_000];
    const settleMs = ctx.quick ? 2_000 : 10_000;
    const figs: RunFigures[] = [];
    for (let r = 0; r < ctx.runs; r++) {
      const cold = await startTug();
      const dataDir = cold.dataDir;
      await cold.stop({ keepData: true });
      const warm = await startTug({ dataDir });
      try {
        await sleep(settleMs);
        const idle = warm.rss();
        const filled: number[] = [];
        let createsPerSec = NaN;
        let have = 0;
        const tFill = performance.now();
        for (const n of levels) {
          await pool(n - have, 32, async (i) => {
            const res = await warm.call("POST", "/api/v1/namespaces/default/pods", pod(`fp-${have + i}`));
            if (res.status !== 201) throw new Error(`create pod: HTTP ${res.status} ${res.body.slice(0, 200)}`);
          });
          have = n;
          if (n === levels[levels.length - 1]) createsPerSec = n / ((performance.now() - tFill - settleMs * (levels.length - 1)) / 1000);
          await sleep(settleMs);
          filled.push(warm.rss());
        }
        figs.push({ createsPerSec, coldMs: cold.readyMs, coldCpuMs: cold.readyCpuMs, warmCpuMs: warm.readyCpuMs, warmMs: warm.readyMs, idle, filled });
        ctx.log(`run ${r + 1}: cold ${Math.round(cold.readyMs)} ms, warm ${Math.round(warm.readyMs)} ms, RSS idle ${idle} MiB, ${levels.map((n, i) => `${n} pods ${filled[i]} MiB`).join(", ")}`);
      } finally {
        await warm.stop();
        const { rmSync } = await import("node:fs");
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
    const fromSource = !import.meta.url.includes("/dist/");
    return {
      rows: [
        judge(runsRow("cold start to /readyz (fresh data dir, makes PKI)", figs.map((f) => f.coldMs), "ms"), "≤ 1000"),
        runsRow("warm start to /readyz (existing data dir)", figs.map((f) => f.warmMs), "ms"),
        runsRow("CPU time used until ready, cold start", figs.map((f) => f.coldCpuMs), "ms"),
        runsRow("CPU time used until ready, warm start", figs.map((f) => f.warmCpuMs), "ms"),
        judge(runsRow(`RSS idle (${settleMs / 1000} s after start)`, figs.map((f) => f.idle), "MiB"), "≤ 150"),
        ...levels.map((n, i) => runsRow(`RSS with ${n.toLocaleString("en-US")} pods stored`, figs.map((f) => f.filled[i]!), "MiB")),
        runsRow("pod creates/s over HTTPS while filling (32 in flight)", figs.map((f) => f.createsPerSec), "pods/s"),
      ],
      notes: fromSource ? ["run from source through tsx: start times include TypeScript compilation; `npm run bench` runs the compiled dist"] : [],
      params: { levels, settleMs },
    };
  },
};
