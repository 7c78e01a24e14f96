// Benchmark 8 of issue 6: node loss. A real `tug up --hollow-nodes N`; a Deployment spread
// over the nodes; then one node stops heartbeating (the hollow node's
// tugboat.dev/hollow-heartbeat=stopped annotation, as if its kubelet died). Timed until
// every replica is Running again and none is on the lost node: node monitor grace period
// → Ready=Unknown and the unreachable NoExecute taint → eviction after the pods'
// tolerationSeconds → replacement pods scheduled and started
// (https://kubernetes.io/docs/concepts/architecture/nodes/#node-controller,
// https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/#taint-based-evictions).
// Upstream defaults (40 s grace + 300 s toleration) take about 5 min 50 s.

import { judge, runsRow, type Benchmark } from "./report.js";
import { deployment, deploymentStatus, hollowCluster } from "./convergence.js";
import { until, type Tug } from "./tugprocess.js";

async function pods(tug: Tug, app: string): Promise<any[]> {
  const r = await tug.call("GET", `/api/v1/namespaces/default/pods?labelSelector=app%3D${app}`);
  if (r.status !== 200) throw new Error(`list pods: HTTP ${r.status}`);
  return JSON.parse(r.body).items;
}

export const nodeLossBenchmark: Benchmark = {
  name: "nodeloss",
  summary: "a hollow node stops heartbeating: time until all its pods run elsewhere",
  async run(ctx) {
    const nodes = ctx.quick ? 3 : 10;
    const replicas = ctx.quick ? 12 : 50;
    const unknown: number[] = [];
    const evicted: number[] = [];
    const replaced: number[] = [];
    for (let r = 0; r < ctx.runs; r++) {
      const tug = await hollowCluster(nodes);
      try {
        const c = await tug.call("POST", "/apis/apps/v1/namespaces/default/deployments", deployment("loss", replicas));
        if (c.status !== 201) throw new Error(`create deployment: HTTP ${c.status} ${c.body.slice(0, 300)}`);
        if (!(await until(async () => (await deploymentStatus(tug, "default", "loss")).status?.readyReplicas === replicas, 120_000, 200))) {
          throw new Error("deployment not ready in 120 s");
        }
        const perNode = new Map<string, number>();
        for (const p of await pods(tug, "loss")) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
        const [victim, count] = [...perNode].sort((a, b) => b[1] - a[1])[0]!;
        const t0 = performance.now();
        const a = await tug.call("PATCH", `/api/v1/nodes/${victim}`, { metadata: { annotations: { "tugboat.dev/hollow-heartbeat": "stopped" } } }, { "content-type": "application/merge-patch+json" });
        if (a.status !== 200) throw new Error(`annotate node: HTTP ${a.status} ${a.body.slice(0, 200)}`);
        let tUnknown = NaN;
        let tEvicted = NaN;
        const ok = await until(async () => {
          const now = performance.now() - t0;
          if (Number.isNaN(tUnknown)) {
            const n = JSON.parse((await tug.call("GET", `/api/v1/nodes/${victim}`)).body);
            if (n.status?.conditions?.some((x: any) => x.type === "Ready" && x.status !== "True")) tUnknown = now;
          }
          const ps = await pods(tug, "loss");
          const onVictim = ps.filter((p) => p.spec.nodeName === victim && !p.metadata.deletionTimestamp);
          if (Number.isNaN(tEvicted) && onVictim.length === 0) tEvicted = now;
          const running = ps.filter((p) => p.status?.phase === "Running" && !p.metadata.deletionTimestamp && p.spec.nodeName !== victim);
          return running.length >= replicas;
        }, 600_000, 250);
        if (!ok) throw new Error("pods not replaced within 10 minutes");
        const total = performance.now() - t0;
        unknown.push(tUnknown / 1000);
        evicted.push(tEvicted / 1000);
        replaced.push(total / 1000);
        ctx.log(`run ${r + 1}: node ${victim} (${count} pods): NotReady/Unknown after ${(tUnknown / 1000).toFixed(1)} s, evicted after ${(tEvicted / 1000).toFixed(1)} s, all ${replicas} Running elsewhere after ${(total / 1000).toFixed(1)} s`);
      } finally {
        await tug.stop();
      }
    }
    return {
      rows: [
        runsRow("heartbeat stops → node Ready≠True", unknown, "s"),
        runsRow("heartbeat stops → its pods evicted", evicted, "s"),
        judge(runsRow("heartbeat stops → all replicas Running elsewhere", replaced, "s", { anchor: "Kubernetes defaults ≈ 350 s" }), "≤ 60"),
      ],
      params: { nodes, replicas },
    };
  },
};
