// End-to-end, issue 3 Acceptance (nodes and autoscaling) on `tug up --hollow-nodes 5`
// with the real kubectl: a node whose heartbeats stop becomes Unknown and tainted, and
// its pods run on other nodes within 60 s
// (https://kubernetes.io/docs/concepts/architecture/nodes/#node-controller); `kubectl
// drain` waits while a PodDisruptionBudget forbids the eviction and finishes once it
// allows it, with cordon/uncordon
// (https://kubernetes.io/docs/tasks/administer-cluster/safely-drain-node/); an HPA scales
// a Deployment up on synthetic CPU and back down after its scale-down stabilization
// window, and `kubectl top pods/nodes` shows the usage
// (https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/).
// A hollow node's heartbeat is stopped from outside with the Node annotation
// tugboat.dev/hollow-heartbeat=stopped (src/agent/hollow/stages.ts).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { missingKubectl, show } from "./harness.js";
import { isReady, sleep, startHollowCluster, type HollowCluster } from "./convergence-cluster.js";

const skip = missingKubectl();
let c: HollowCluster;

/** A Deployment whose pods prefer (not require) one node, so a test knows where they start. */
function deploymentPreferring(name: string, replicas: number, node: string, extra = ""): string {
  return `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      affinity:
        nodeAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            preference: {matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [${node}]}]}
      containers: [{name: app, image: "app:1"${extra}}]
`;
}

async function readyPods(ns: string, app: string): Promise<any[]> {
  return ((await c.json(["get", "pods", "-n", ns, "-l", `app=${app}`])).items as any[]).filter(isReady);
}

describe("convergence: nodes, disruption and autoscaling", { skip, timeout: 180_000, concurrency: true }, () => {
  before(async () => {
    c = await startHollowCluster(["--horizontal-pod-autoscaler-sync-period", "1s"]);
    for (const ns of ["lost", "drain", "hpa"]) await c.ok(["create", "namespace", ns]);
  });
  after(async () => {
    await c?.cleanup();
  });

  test("a node that stops heartbeating loses its pods to other nodes within 60 s", async () => {
    const ns = "lost";
    const node = "hollow-node-4";
    await c.apply(deploymentPreferring("victim", 3, node), ns);
    await c.until("3 ready victims", async () => (await readyPods(ns, "victim")).length === 3);
    const onNode = (await readyPods(ns, "victim")).filter((p) => p.spec.nodeName === node).length;
    assert.ok(onNode > 0, "at least one victim on the node that will die");

    const t0 = Date.now();
    await c.ok(["annotate", "node", node, "tugboat.dev/hollow-heartbeat=stopped"]);
    await c.until("3 ready victims, none on the lost node", async () => {
      const pods = await readyPods(ns, "victim");
      return pods.length === 3 && pods.every((p) => p.spec.nodeName !== node);
    }, 60_000, 1_000);
    const took = Date.now() - t0;
    assert.ok(took <= 60_000, `pods moved in ${took} ms`);
    const lost = await c.json(["get", "node", node]);
    assert.equal(lost.status.conditions.find((x: any) => x.type === "Ready").status, "Unknown");
    assert.ok(lost.spec.taints?.some((t: any) => t.key === "node.kubernetes.io/unreachable" && t.effect === "NoExecute"), JSON.stringify(lost.spec.taints));
    assert.match(await c.ok(["get", "node", node]), new RegExp(`${node}\\s+NotReady`));

    // The node comes back: Ready again and the unreachable taints are gone.
    await c.ok(["annotate", "node", node, "tugboat.dev/hollow-heartbeat-"]);
    await c.until("node Ready without taints", async () => {
      const n = await c.json(["get", "node", node]);
      return n.status.conditions.find((x: any) => x.type === "Ready").status === "True" && !(n.spec.taints ?? []).some((t: any) => t.key.startsWith("node.kubernetes.io/"));
    }, 40_000, 1_000);
  });

  test("drain waits for the PodDisruptionBudget; cordon and uncordon", async () => {
    const ns = "drain";
    const node = "hollow-node-0";
    await c.apply(deploymentPreferring("guarded", 2, node) + `---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: guarded}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: guarded}}
`, ns);
    await c.until("2 ready, PDB allows 0", async () => {
      const pdb = await c.json(["get", "pdb", "guarded", "-n", ns]);
      return (await readyPods(ns, "guarded")).length === 2 && pdb.status?.currentHealthy === 2 && pdb.status?.disruptionsAllowed === 0;
    });
    const guardedThere = (await readyPods(ns, "guarded")).filter((p) => p.spec.nodeName === node).map((p) => p.metadata.name);
    assert.ok(guardedThere.length > 0, "a guarded pod on the node to drain");

    // drain retries the refused eviction (429) every 5 s; let it try for a while.
    const drain = c.tug.kubectl(["drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=90s"], { timeoutMs: 100_000 });
    await c.until("node cordoned", async () => (await c.json(["get", "node", node])).spec.unschedulable === true);
    await sleep(7_000);
    for (const name of guardedThere) {
      const p = await c.json(["get", "pod", name, "-n", ns]);
      assert.ok(!p.metadata.deletionTimestamp, `${name} must not be evicted while the PDB forbids it`);
    }
    assert.match(await c.ok(["get", "node", node]), /Ready,SchedulingDisabled/);

    await c.ok(["patch", "pdb", "guarded", "-n", ns, "--type=merge", "-p", '{"spec":{"minAvailable":1}}']);
    const r = await drain;
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout + r.stderr, /Cannot evict pod as it would violate the pod's disruption budget/);
    assert.match(r.stdout, new RegExp(`node/${node} drained`));
    await c.until("2 guarded pods ready elsewhere", async () => {
      const pods = await readyPods(ns, "guarded");
      return pods.length === 2 && pods.every((p) => p.spec.nodeName !== node);
    });
    await c.ok(["uncordon", node]);
    assert.equal((await c.json(["get", "node", node])).spec.unschedulable, undefined);
  });

  test("HPA scales up on synthetic CPU and back down after the stabilization window; kubectl top", async () => {
    const ns = "hpa";
    await c.apply(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: burn}
spec:
  replicas: 1
  selector: {matchLabels: {app: burn}}
  template:
    metadata: {labels: {app: burn}, annotations: {tugboat.dev/cpu-usage: 40m}}
    spec:
      # Away from the nodes the other scenarios drain and kill.
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/hostname, operator: NotIn, values: [hollow-node-0, hollow-node-4]}]}]
      containers: [{name: c, image: "burn:1", resources: {requests: {cpu: 100m}}}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: burn}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: burn}
  minReplicas: 1
  maxReplicas: 4
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 6}
`, ns);
    await c.until("HPA sees 40%", async () => (await c.json(["get", "hpa", "burn", "-n", ns])).status?.currentMetrics?.[0]?.resource?.current?.averageUtilization === 40);
    const top = await c.until("top pods shows 40m", async () => {
      const r = await c.tug.kubectl(["top", "pods", "-n", ns]);
      return r.code === 0 && /burn-\S+\s+40m\s+\d+Mi/.test(r.stdout) && r.stdout;
    });
    assert.match(top, /^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)/);
    const nodes = await c.ok(["top", "nodes"]);
    for (let i = 0; i < 5; i++) assert.match(nodes, new RegExp(`hollow-node-${i}\\s+\\d+m\\s+\\d+%\\s+\\d+Mi\\s+\\d+%`));

    // 200m on a 100m request = 200% → ceil(1 × 200/50) = 4 replicas.
    await c.ok(["annotate", "pods", "-n", ns, "-l", "app=burn", "--overwrite", "tugboat.dev/cpu-usage=200m"]);
    await c.until("scaled up to 4", async () => (await c.json(["get", "deploy", "burn", "-n", ns])).spec.replicas === 4, 30_000);
    await c.until("4 ready", async () => (await readyPods(ns, "burn")).length === 4);
    await c.until("hpa table shows 4 replicas", async () => /burn\s+Deployment\/burn\s+cpu: \d+%\/50%\s+1\s+4\s+4\s/.test(await c.ok(["get", "hpa", "burn", "-n", ns])));

    const t0 = Date.now();
    await c.ok(["annotate", "pods", "-n", ns, "-l", "app=burn", "--overwrite", "tugboat.dev/cpu-usage=5m"]);
    await c.until("scaled down to 1", async () => (await c.json(["get", "deploy", "burn", "-n", ns])).spec.replicas === 1, 40_000, 500);
    const took = Date.now() - t0;
    // The last high recommendation is at most a sync period (1 s) old when usage drops,
    // so the 6 s window holds the scale-down back for about 5 s; allow slack for load.
    assert.ok(took >= 3_000, `scale-down waited for the 6 s window (took ${took} ms)`);
    const hpa = await c.json(["get", "hpa", "burn", "-n", ns]);
    assert.equal(hpa.status.desiredReplicas, 1);
  });
});
