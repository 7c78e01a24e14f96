import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../apimachinery/types.js";
import { nowRFC3339 } from "../apimachinery/types.js";
import { daemonPodNode, daemonSetController, nodeShouldRunDaemonPod, scaledValue } from "./daemonset.js";
import { REVISION_HASH_LABEL } from "./controllerrevision.js";
import { type AfterHook, sleep, startControllers, until } from "./testing.js";

const node = (name: string, spec: Record<string, unknown> = {}, labels: Record<string, string> = {}): KObject => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name, labels: { "kubernetes.io/hostname": name, ...labels } },
  spec,
});

function ds(name: string, podSpec: Record<string, unknown> = {}, spec: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name, namespace: "default" },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "agent:1" }], ...podSpec } },
      ...spec,
    },
  };
}

async function setup(t: AfterHook) {
  const { api, recorder } = await startControllers(t, daemonSetController());
  const pods = async () => (await api.client.list("v1/pods", { namespace: "default" })).items.filter((p) => !p.metadata.deletionTimestamp);
  const podNodes = async () => (await pods()).map((p) => daemonPodNode(p)!).sort();
  return { api, recorder, pods, podNodes };
}

test("eligibility: selectors, taints and the daemon tolerations", () => {
  const spec = { containers: [] };
  assert.equal(nodeShouldRunDaemonPod(spec, node("a")), true);
  assert.equal(nodeShouldRunDaemonPod(spec, node("a", { taints: [{ key: "gpu", value: "yes", effect: "NoSchedule" }] })), false);
  assert.equal(nodeShouldRunDaemonPod({ tolerations: [{ key: "gpu", operator: "Exists" }] }, node("a", { taints: [{ key: "gpu", value: "yes", effect: "NoSchedule" }] })), true);
  // Cordoned and not-ready nodes still run daemons.
  assert.equal(nodeShouldRunDaemonPod(spec, node("a", { unschedulable: true, taints: [{ key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" }] })), true);
  assert.equal(nodeShouldRunDaemonPod(spec, node("a", { taints: [{ key: "node.kubernetes.io/not-ready", effect: "NoExecute" }] })), true);
  assert.equal(nodeShouldRunDaemonPod({ nodeSelector: { disk: "ssd" } }, node("a")), false);
  assert.equal(nodeShouldRunDaemonPod({ nodeSelector: { disk: "ssd" } }, node("a", {}, { disk: "ssd" })), true);
  assert.equal(scaledValue("25%", 10), 3);
  assert.equal(scaledValue(2, 10), 2);
});

test("one pod per eligible node, pinned by node affinity; tainted node skipped; later nodes get pods", async (t) => {
  const { api, podNodes, pods } = await setup(t);
  await api.client.create("v1/nodes", node("n1"));
  await api.client.create("v1/nodes", node("n2", { unschedulable: true }));
  await api.client.create("v1/nodes", node("tainted", { taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }] }));
  await api.client.create("apps/v1/daemonsets", ds("agent"));
  await until("2 pods", async () => (await podNodes()).join() === "n1,n2");
  const [p] = await pods();
  const term = p.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0];
  assert.equal(term.matchFields[0].key, "metadata.name");
  assert.ok(p.spec.tolerations.some((x: any) => x.key === "node.kubernetes.io/unschedulable"));
  assert.ok(p.metadata.labels?.[REVISION_HASH_LABEL]);

  await api.client.create("v1/nodes", node("n3"));
  await until("n3 pod", async () => (await podNodes()).join() === "n1,n2,n3");
  await sleep(100);
  assert.equal((await pods()).length, 3, "exactly one pod per node");
  const st = await until("status", async () => {
    const d = await api.client.get("apps/v1/daemonsets", "default", "agent");
    return d.status?.desiredNumberScheduled === 3 && d.status.currentNumberScheduled === 3 && d;
  });
  assert.equal(st.status.numberMisscheduled, 0);
  assert.equal(st.status.updatedNumberScheduled, 3);

  // Tainting a node out of reach removes its pod.
  const n3 = await api.client.get("v1/nodes", undefined, "n3");
  await api.client.update("v1/nodes", { ...n3, spec: { ...n3.spec, taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }] } });
  await until("n3 pod removed", async () => (await podNodes()).join() === "n1,n2");
});

test("RollingUpdate replaces pods within maxUnavailable", async (t) => {
  const { api, pods } = await setup(t);
  let stop = false;
  const kubelet = (async () => {
    while (!stop) {
      for (const p of await pods()) {
        if (!p.status?.phase || p.status.phase === "Pending") {
          await api.client
            .updateStatus("v1/pods", { ...p, status: { phase: "Running", conditions: [{ type: "Ready", status: "True", lastTransitionTime: nowRFC3339() }] } })
            .catch(() => {});
        }
      }
      await sleep(15);
    }
  })();
  t.after(async () => {
    stop = true;
    await kubelet;
  });
  for (const n of ["a", "b", "c"]) await api.client.create("v1/nodes", node(n));
  await api.client.create("apps/v1/daemonsets", ds("log"));
  await until("ready", async () => (await api.client.get("apps/v1/daemonsets", "default", "log")).status?.numberReady === 3);
  const d = await api.client.get("apps/v1/daemonsets", "default", "log");
  d.spec.template.spec.containers[0].image = "agent:2";
  await api.client.update("apps/v1/daemonsets", d);
  let minAvailable = 3;
  await until("rolled", async () => {
    const x = await api.client.get("apps/v1/daemonsets", "default", "log");
    if (x.status?.observedGeneration === x.metadata.generation) minAvailable = Math.min(minAvailable, x.status.numberAvailable);
    return x.status?.observedGeneration === x.metadata.generation && x.status.updatedNumberScheduled === 3 && x.status.numberAvailable === 3;
  });
  assert.ok(minAvailable >= 2, "at most one node unavailable at a time");
  const ps = await pods();
  assert.equal(ps.length, 3);
  assert.ok(ps.every((p) => p.spec.containers[0].image === "agent:2"));
});
