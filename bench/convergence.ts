// Benchmark 5 of issue 6: convergence of a Deployment on hollow nodes, in the shape of
// kwok's CI check (https://kwok.sigs.k8s.io/, 1,000 pods within 120 s). A real
// `tug up --hollow-nodes N` process; a Deployment of R replicas is created over HTTPS and
// timed until status.readyReplicas = R; then a rolling update (a new template
// annotation) is timed until the rollout is complete: updated = ready = available = R,
// no old replicas left, observedGeneration current
// (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#complete-deployment).

import { judge, runsRow, type Benchmark } from "./report.js";
import { startTug, until, type Tug } from "./tugprocess.js";

/** A Deployment of `sleep 3600` pods; image defaults to "busybox" (hollow nodes never pull). */
export function deployment(name: string, replicas: number, extra: Record<string, unknown> = {}, image = "busybox"): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "app", image, imagePullPolicy: "IfNotPresent", command: ["sleep", "3600"], resources: { requests: { cpu: "10m", memory: "16Mi" } } }], ...extra },
      },
    },
  };
}

export async function readyNodes(tug: Tug): Promise<number> {
  const r = await tug.call("GET", "/api/v1/nodes");
  if (r.status !== 200) return 0;
  return (JSON.parse(r.body).items as any[]).filter((n) => n.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True")).length;
}

/** Starts `tug up --hollow-nodes n` and waits until all n nodes are Ready. */
export async function hollowCluster(n: number, timeoutMs = 120_000): Promise<Tug> {
  const tug = await startTug({ command: "up", args: ["--hollow-nodes", String(n)], readyTimeoutMs: timeoutMs });
  if (!(await until(async () => (await readyNodes(tug)) >= n, timeoutMs, 250))) {
    await tug.stop();
    throw new Error(`${n} hollow nodes not Ready within ${timeoutMs} ms`);
  }
  return tug;
}

export async function deploymentStatus(tug: Tug, ns: string, name: string): Promise<any> {
  const r = await tug.call("GET", `/apis/apps/v1/namespaces/${ns}/deployments/${name}`);
  if (r.status !== 200) throw new Error(`get deployment: HTTP ${r.status} ${r.body.slice(0, 200)}`);
  return JSON.parse(r.body);
}

export const convergenceBenchmark: Benchmark = {
  name: "convergence",
  summary: "R-replica Deployment on N hollow nodes: time to all Ready, then a rolling update to completion",
  async run(ctx) {
    const nodes = ctx.quick ? 10 : 100;
    const replicas = ctx.quick ? 100 : 1_000;
    const timeoutMs = ctx.quick ? 120_000 : 600_000;
    const up: number[] = [];
    const roll: number[] = [];
    for (let r = 0; r < ctx.runs; r++) {
      const tug = await hollowCluster(nodes);
      try {
        const t0 = performance.now();
        const c = await tug.call("POST", "/apis/apps/v1/namespaces/default/deployments", deployment("conv", replicas));
        if (c.status !== 201) throw new Error(`create deployment: HTTP ${c.status} ${c.body.slice(0, 300)}`);
        let last: any;
        const ok = await until(async () => {
          last = await deploymentStatus(tug, "default", "conv");
          return last.status?.readyReplicas === replicas;
        }, timeoutMs, 100);
        if (!ok) throw new Error(`not converged in ${timeoutMs} ms: ${JSON.stringify(last?.status)}`);
        up.push(performance.now() - t0);

        const t1 = performance.now();
        const patch = { spec: { template: { metadata: { annotations: { "bench/rollout": String(Date.now()) } } } } };
        const p = await tug.call("PATCH", "/apis/apps/v1/namespaces/default/deployments/conv", patch, { "content-type": "application/merge-patch+json" });
        if (p.status !== 200) throw new Error(`patch deployment: HTTP ${p.status} ${p.body.slice(0, 300)}`);
        const generation = JSON.parse(p.body).metadata.generation;
        const done = await until(async () => {
          last = await deploymentStatus(tug, "default", "conv");
          const s = last.status ?? {};
          return s.observedGeneration >= generation && s.updatedReplicas === replicas && s.readyReplicas === replicas && s.availableReplicas === replicas && s.replicas === replicas;
        }, timeoutMs, 100);
        if (!done) throw new Error(`rollout not complete in ${timeoutMs} ms: ${JSON.stringify(last?.status)}`);
        roll.push(performance.now() - t1);
        ctx.log(`run ${r + 1}: ${replicas} ready in ${Math.round(up[r]!)} ms, rolling update in ${Math.round(roll[r]!)} ms, server RSS ${tug.rss()} MiB`);
      } finally {
        await tug.stop();
      }
    }
    return {
      rows: [
        judge(runsRow(`${replicas.toLocaleString("en-US")} replicas on ${nodes} hollow nodes: create → all Ready`, up.map((x) => x / 1000), "s", { anchor: "kwok CI allows 120 s for 1,000 pods" }), `≤ ${ctx.quick ? 10 : 10}`),
        runsRow(`rolling update of ${replicas.toLocaleString("en-US")} replicas → complete`, roll.map((x) => x / 1000), "s"),
      ],
      params: { nodes, replicas, strategy: "RollingUpdate 25%/25% (defaults)" },
    };
  },
};
