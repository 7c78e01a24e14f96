// End-to-end, issue 3 Acceptance (Deployments and scheduling) on `tug up --hollow-nodes 5`
// with the real kubectl: a Deployment's pods all run; a RollingUpdate with
// maxUnavailable=0 never drops available replicas below desired; `rollout undo` brings
// back the previous ReplicaSet instead of creating one; pause/resume; scale 3 → 10 → 0;
// rollout status/history/restart
// (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/); and an
// unschedulable pod's reasoned FailedScheduling message in `kubectl describe pod`
// (https://kubernetes.io/docs/concepts/scheduling-eviction/kube-scheduler/).
// Each scenario has its own namespace and runs concurrently with the others.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { missingKubectl } from "./harness.js";
import { isReady, sleep, startHollowCluster, type HollowCluster } from "./convergence-cluster.js";

const skip = missingKubectl();
let c: HollowCluster;

function deployment(name: string, replicas: number, image: string, strategy = ""): string {
  return `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  ${strategy}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {containers: [{name: app, image: "${image}"}]}
`;
}

/** The app's pods that are not terminating. */
async function pods(ns: string, app: string): Promise<any[]> {
  return (await c.json(["get", "pods", "-n", ns, "-l", `app=${app}`])).items.filter((p: any) => !p.metadata.deletionTimestamp);
}

async function replicaSets(ns: string, app: string): Promise<any[]> {
  return (await c.json(["get", "rs", "-n", ns, "-l", `app=${app}`])).items;
}

/** All `n` pods of the app Ready and the Deployment reporting n available at its generation. */
async function settled(ns: string, name: string, n: number, timeoutMs = 30_000): Promise<void> {
  await c.until(`${ns}/${name}: ${n} available`, async () => {
    const d = await c.json(["get", "deploy", name, "-n", ns]);
    const ready = (await pods(ns, name)).filter(isReady).length;
    const s = d.status ?? {};
    return s.observedGeneration === d.metadata.generation && (s.availableReplicas ?? 0) === n && (s.updatedReplicas ?? 0) === n && (s.replicas ?? 0) === n && ready === n;
  }, timeoutMs);
}

describe("convergence: deployments and scheduling", { skip, timeout: 180_000, concurrency: true }, () => {
  before(async () => {
    c = await startHollowCluster();
    for (const ns of ["dep-roll", "dep-undo", "dep-pause", "dep-scale", "sched"]) await c.ok(["create", "namespace", ns]);
  });
  after(async () => {
    await c?.cleanup();
  });

  test("rollout with maxUnavailable=0 never drops available replicas below desired", async () => {
    const ns = "dep-roll";
    await c.apply(deployment("web", 4, "web:v1", "strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}"), ns);
    await settled(ns, "web", 4);
    for (const p of await pods(ns, "web")) assert.ok(p.spec.nodeName?.startsWith("hollow-node-"), `pod ${p.metadata.name} bound to a hollow node`);

    await c.ok(["set", "image", "-n", ns, "deploy/web", "app=web:v2"]);
    // Sample available pods (Ready and not terminating) and the reported status until done.
    const samples: { ready: number; available: number }[] = [];
    let done = false;
    const deadline = Date.now() + 60_000;
    while (!done && Date.now() < deadline) {
      const [d, ps] = await Promise.all([c.json(["get", "deploy", "web", "-n", ns]), pods(ns, "web")]);
      samples.push({ ready: ps.filter(isReady).length, available: d.status?.availableReplicas ?? 0 });
      const s = d.status ?? {};
      done = s.observedGeneration === d.metadata.generation && s.updatedReplicas === 4 && s.availableReplicas === 4 && s.replicas === 4 && ps.every((p) => p.spec.containers[0].image === "web:v2");
    }
    assert.ok(done, `rollout did not finish; last samples ${JSON.stringify(samples.slice(-5))}`);
    assert.ok(samples.length >= 3, `too few samples (${samples.length})`);
    const low = samples.filter((s) => s.ready < 4 || s.available < 4);
    assert.deepEqual(low, [], `available dropped below 4 during the rollout (${samples.length} samples)`);
    const status = await c.ok(["rollout", "status", "-n", ns, "deploy/web", "--timeout=30s"]);
    assert.match(status, /successfully rolled out/);
  });

  test("rollout undo re-uses the previous ReplicaSet; history, restart", async () => {
    const ns = "dep-undo";
    await c.apply(deployment("web", 3, "web:v1"), ns);
    await settled(ns, "web", 3);
    const [first] = await replicaSets(ns, "web");
    await c.ok(["set", "image", "-n", ns, "deploy/web", "app=web:v2"]);
    await c.ok(["annotate", "-n", ns, "deploy/web", "kubernetes.io/change-cause=move to v2"]);
    await c.ok(["rollout", "status", "-n", ns, "deploy/web", "--timeout=60s"]);
    await settled(ns, "web", 3);
    const history = await c.ok(["rollout", "history", "-n", ns, "deploy/web"]);
    assert.match(history, /^1\s+<none>$/m);
    assert.match(history, /^2\s+move to v2$/m);
    assert.equal((await replicaSets(ns, "web")).length, 2);

    await c.ok(["rollout", "undo", "-n", ns, "deploy/web"]);
    await c.ok(["rollout", "status", "-n", ns, "deploy/web", "--timeout=60s"]);
    await settled(ns, "web", 3);
    const after = await replicaSets(ns, "web");
    assert.equal(after.length, 2, `undo must not create a ReplicaSet: ${after.map((r) => r.metadata.name).join(", ")}`);
    const active = after.find((r) => r.spec.replicas === 3)!;
    assert.equal(active.metadata.uid, first.metadata.uid, "the v1 ReplicaSet is scaled back up");
    assert.equal(active.metadata.annotations["deployment.kubernetes.io/revision"], "3");
    for (const p of await pods(ns, "web")) assert.equal(p.spec.containers[0].image, "web:v1");
    assert.match(await c.ok(["rollout", "history", "-n", ns, "deploy/web", "--revision=3"]), /Image:\s+web:v1/);

    // Undo to an explicit revision flips back to v2's ReplicaSet, still without a new one.
    await c.ok(["rollout", "undo", "-n", ns, "deploy/web", "--to-revision=2"]);
    await c.ok(["rollout", "status", "-n", ns, "deploy/web", "--timeout=60s"]);
    assert.equal((await replicaSets(ns, "web")).length, 2);

    // restart: a new template annotation → a third ReplicaSet and fresh pods.
    const before = new Set((await pods(ns, "web")).map((p) => p.metadata.name));
    await c.ok(["rollout", "restart", "-n", ns, "deploy/web"]);
    await c.ok(["rollout", "status", "-n", ns, "deploy/web", "--timeout=60s"]);
    await settled(ns, "web", 3);
    const fresh = await pods(ns, "web");
    assert.ok(fresh.every((p) => !before.has(p.metadata.name)), "every pod replaced");
    assert.ok(fresh.every((p) => p.metadata.annotations?.["kubectl.kubernetes.io/restartedAt"]));
    assert.equal((await replicaSets(ns, "web")).length, 3);
  });

  test("pause holds a template change back until resume", async () => {
    const ns = "dep-pause";
    await c.apply(deployment("web", 2, "web:v1"), ns);
    await settled(ns, "web", 2);
    await c.ok(["rollout", "pause", "-n", ns, "deploy/web"]);
    await c.ok(["set", "image", "-n", ns, "deploy/web", "app=web:v2"]);
    await sleep(2_000);
    assert.equal((await replicaSets(ns, "web")).length, 1, "paused: no new ReplicaSet");
    for (const p of await pods(ns, "web")) assert.equal(p.spec.containers[0].image, "web:v1");
    const d = await c.json(["get", "deploy", "web", "-n", ns]);
    assert.equal(d.status.conditions.find((x: any) => x.type === "Progressing")?.reason, "DeploymentPaused");
    await c.ok(["rollout", "resume", "-n", ns, "deploy/web"]);
    await c.ok(["rollout", "status", "-n", ns, "deploy/web", "--timeout=60s"]);
    await settled(ns, "web", 2);
    for (const p of await pods(ns, "web")) assert.equal(p.spec.containers[0].image, "web:v2");
  });

  test("scale 3 → 10 → 0", async () => {
    const ns = "dep-scale";
    await c.apply(deployment("web", 3, "web:v1"), ns);
    await settled(ns, "web", 3);
    await c.ok(["scale", "-n", ns, "deploy/web", "--replicas=10"]);
    await settled(ns, "web", 10);
    const perNode = new Map<string, number>();
    for (const p of await pods(ns, "web")) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
    // LeastAllocated spreads them; pods of the tests running beside this one load the
    // nodes unevenly, so one node may be skipped, but none may take a pile of them.
    const spread = JSON.stringify([...perNode]);
    assert.ok(perNode.size >= 4, `ten pods spread over at least four of the five nodes: ${spread}`);
    assert.ok(Math.max(...perNode.values()) <= 4, `no node takes more than four of the ten: ${spread}`);
    await c.ok(["scale", "-n", ns, "deploy/web", "--replicas=0"]);
    await c.until("no pods left", async () => (await pods(ns, "web")).length === 0);
    await settled(ns, "web", 0);
    assert.match(await c.ok(["get", "deploy", "web", "-n", ns]), /web\s+0\/0\s+0\s+0\s/);
  });

  test("an unschedulable pod shows the reasoned message in describe", async () => {
    const ns = "sched";
    await c.apply(`
apiVersion: v1
kind: Pod
metadata: {name: huge}
spec:
  containers: [{name: app, image: app:1, resources: {requests: {cpu: "100"}}}]
`, ns);
    const described = await c.until("FailedScheduling event", async () => {
      const out = await c.ok(["describe", "pod", "huge", "-n", ns]);
      return /FailedScheduling/.test(out) && out;
    });
    assert.match(described, /Warning\s+FailedScheduling\s+.*default-scheduler\s+0\/5 nodes are available: 5 Insufficient cpu\./);
    const pod = await c.json(["get", "pod", "huge", "-n", ns]);
    const cond = pod.status.conditions.find((x: any) => x.type === "PodScheduled");
    assert.equal(cond.status, "False");
    assert.equal(cond.reason, "Unschedulable");
    assert.match(cond.message, /^0\/5 nodes are available: 5 Insufficient cpu\./);
    assert.equal(pod.spec.nodeName, undefined);
  });
});
