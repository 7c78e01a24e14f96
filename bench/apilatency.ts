// Benchmark 2 of issue 6: API latency under load, in the shape of the Kubernetes API call
// latency SLO (https://github.com/kubernetes/community/blob/master/sig-scalability/slos/api_call_latency.md:
// p99 ≤ 1 s for mutating calls on single objects). A real `tug server` process; 100
// concurrent clients over HTTPS (keep-alive, client certificates) each loop
// create → get → list (its namespace) → update → delete on ConfigMaps and on Pods, for a
// fixed time. Pods carry spec.nodeName of a node that does not exist, so the scheduler
// leaves them alone and no kubelet answers: the figures are the API path only.

import { judge, latencyRow, runsRow, sleep, type Benchmark, type Row } from "./report.js";
import { startTug, type Tug } from "./tugprocess.js";

const VERBS = ["create", "get", "list", "update", "delete"] as const;
type Verb = (typeof VERBS)[number];
const KINDS = ["configmaps", "pods"] as const;
type Kind = (typeof KINDS)[number];

function object(kind: Kind, name: string, seq: number): Record<string, unknown> {
  if (kind === "configmaps") return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, labels: { bench: "api" } }, data: { seq: String(seq), pad: "x".repeat(512) } };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { bench: "api" } },
    spec: { nodeName: "no-such-node", containers: [{ name: "c", image: "busybox", command: ["sleep", "3600"], resources: { requests: { cpu: "10m" } } }] },
  };
}

interface RunFigures {
  lat: Map<string, number[]>;
  requests: number;
  errors: number;
  seconds: number;
  firstError?: string;
}

async function once(tug: Tug, clients: number, seconds: number, run: number): Promise<RunFigures> {
  const lat = new Map<string, number[]>();
  for (const k of KINDS) for (const v of VERBS) lat.set(`${k} ${v}`, []);
  let requests = 0;
  let errors = 0;
  let firstError: string | undefined;
  const ns = (c: number) => `bench-api-${c % 10}`;
  const end = Date.now() + seconds * 1000;
  const t0 = performance.now();
  const timed = async (k: Kind, v: Verb, method: string, path: string, body?: unknown, want = [200, 201]): Promise<string | undefined> => {
    const t = performance.now();
    const r = await tug.call(method, path, body).catch((e: Error) => ({ status: 0, body: e.message }));
    const ms = performance.now() - t;
    requests++;
    if (!want.includes(r.status)) {
      errors++;
      firstError ??= `${k} ${v}: HTTP ${r.status} ${r.body.slice(0, 200)}`;
      return undefined;
    }
    lat.get(`${k} ${v}`)!.push(ms);
    return r.body;
  };
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      let seq = 0;
      while (Date.now() < end) {
        const kind = KINDS[seq % 2]!;
        const name = `r${run < 0 ? "w" : run}-c${c}-${seq++}`;
        const base = `/api/v1/namespaces/${ns(c)}/${kind}`;
        const created = await timed(kind, "create", "POST", base, object(kind, name, seq), [201]);
        if (!created) continue;
        await timed(kind, "get", "GET", `${base}/${name}`);
        await timed(kind, "list", "GET", `${base}?labelSelector=bench%3Dapi&limit=50`);
        const obj = JSON.parse(created);
        obj.metadata.labels.updated = "yes";
        await timed(kind, "update", "PUT", `${base}/${name}`, obj);
        await timed(kind, "delete", "DELETE", `${base}/${name}`, { gracePeriodSeconds: 0 }, [200, 202]);
      }
    }),
  );
  return { lat, requests, errors, firstError, seconds: (performance.now() - t0) / 1000 };
}

export const apiLatencyBenchmark: Benchmark = {
  name: "apilatency",
  summary: "100 concurrent HTTPS clients create/get/list/update/delete ConfigMaps and Pods: p50/p99 per verb, requests/s",
  async run(ctx) {
    const clients = Number(process.env.TUG_BENCH_CLIENTS) || (ctx.quick ? 20 : 100);
    const seconds = Number(process.env.TUG_BENCH_SECONDS) || (ctx.quick ? 5 : 60);
    const tug = await startTug();
    const figs: RunFigures[] = [];
    try {
      for (let i = 0; i < 10; i++) {
        const r = await tug.call("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: `bench-api-${i}` } });
        if (r.status !== 201) throw new Error(`namespace: HTTP ${r.status} ${r.body}`);
      }
      await sleep(1000); // let the service account controller settle the namespaces
      await once(tug, clients, ctx.quick ? 2 : 10, -1); // warm-up (JIT, TLS sessions), not counted
      for (let r = 0; r < ctx.runs; r++) {
        const f = await once(tug, clients, seconds, r);
        figs.push(f);
        ctx.log(`run ${r + 1}: ${Math.round(f.requests / f.seconds)} req/s, ${f.errors} errors${f.firstError ? ` (first: ${f.firstError})` : ""}, server RSS ${tug.rss()} MiB`);
      }
    } finally {
      await tug.stop();
    }
    const rows: Row[] = [runsRow(`requests/s (${clients} clients, ${seconds} s)`, figs.map((f) => f.requests / f.seconds), "req/s")];
    const mutating: number[] = [];
    for (const k of KINDS) {
      for (const v of VERBS) {
        const samples = figs.flatMap((f) => f.lat.get(`${k} ${v}`)!);
        if (v !== "get" && v !== "list") mutating.push(...samples);
        rows.push(latencyRow(`${k} ${v}`, samples));
      }
    }
    rows.push(judge(latencyRow("all mutating calls", mutating, { anchor: "SLO p99 ≤ 1000 ms" }), "≤ 50", true));
    rows.push(runsRow("errors per run", figs.map((f) => f.errors), "count"));
    return { rows, params: { clients, seconds, namespaces: 10, listLimit: 50 } };
  },
};
