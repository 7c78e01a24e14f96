// End-to-end check of the kubelet pod worker: a real API (startTestApi), a private
// containerd with a CNI bridge, locally built images (startTestNode); a Pod bound to the
// node must reach Running with a pod IP that serves HTTP to the host, 20 pods measure
// create → Running latency (printed as "# timings"), then a graceful delete must stop
// everything, remove the sandbox and the Pod. Needs root, containerd, runc, the CNI
// plugins and busybox-static; skips otherwise. Also unit checks of the status logic.

import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { BUSYBOX_IMAGE } from "../images/build.js";
import { startTestApi } from "../../apiserver/testing.js";
import { SharedInformerFactory } from "../../client/sharedinformers.js";
import { realNodeSkipReason, startTestNode, waitFor } from "../testing.js";
import { kubeletRunnable } from "./kubelet.js";
import { POD_UID_LABEL, pullPolicyOf } from "./podworker.js";
import { podPhase, type ContainerRecord } from "./status.js";
import type { ContainerStatus } from "../runtime/types.js";

const exited = (exitCode: number): ContainerStatus => ({ state: "Exited", exitCode } as ContainerStatus);
const rec = (status?: ContainerStatus): ContainerRecord => ({ name: "c", image: "i", restartCount: 0, status });

test("pod phase and pull policy rules", () => {
  assert.equal(podPhase([rec()], "Always"), "Pending");
  assert.equal(podPhase([rec({ state: "Running" } as ContainerStatus)], "Never"), "Running");
  assert.equal(podPhase([rec(exited(0))], "Never"), "Succeeded");
  assert.equal(podPhase([rec(exited(0)), rec(exited(2))], "Never"), "Failed");
  assert.equal(podPhase([rec(exited(0))], "OnFailure"), "Succeeded");
  assert.equal(podPhase([rec(exited(1))], "OnFailure"), "Running");
  assert.equal(podPhase([rec(exited(0))], "Always"), "Running");
  assert.equal(pullPolicyOf({ image: "busybox" }), "Always");
  assert.equal(pullPolicyOf({ image: "busybox:latest" }), "Always");
  assert.equal(pullPolicyOf({ image: "localhost:5000/busybox" }), "Always");
  assert.equal(pullPolicyOf({ image: "tugboat/busybox:1" }), "IfNotPresent");
  assert.equal(pullPolicyOf({ image: "busybox:latest", imagePullPolicy: "Never" }), "Never");
});

const POD_CIDR = "10.42.77.0/24";
const BRIDGE = "tugkl0";
const NODE = "kl-node-1";

test("kubelet runs a pod on a private containerd and deletes it gracefully", { skip: realNodeSkipReason(), timeout: 120_000 }, async () => {
  const node = await startTestNode({ bridge: BRIDGE, podCIDR: POD_CIDR, prefix: "tugkl-" });
  const kubeletAbort = new AbortController();
  const api = await startTestApi({ serviceAccounts: true });
  const runtime = node.runtime;
  const dir = node.dir;
  let kubeletDone: Promise<void> | undefined;
  let podUid = "";
  const timings: Record<string, number> = {};
  try {
    await api.client.create("v1/nodes", {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: NODE },
      spec: { podCIDR: POD_CIDR, podCIDRs: [POD_CIDR] },
    });
    const informers = new SharedInformerFactory(api.client);
    const kubelet = kubeletRunnable({ client: api.client, informers, runtime, nodeName: NODE, podCIDR: POD_CIDR, dataDir: dir, hostIP: "10.42.77.1" });
    kubeletDone = kubelet.start(kubeletAbort.signal);
    await kubelet.ready!();

    const t0 = performance.now();
    const created = await api.client.create("v1/pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web", namespace: "default" },
      spec: {
        nodeName: NODE,
        restartPolicy: "Always",
        containers: [{ name: "httpd", image: BUSYBOX_IMAGE, command: ["httpd"], args: ["-f", "-p", "8080", "-h", "/www"], env: [{ name: "A", value: "1" }] }],
      },
    });
    podUid = created.metadata.uid!;
    node.trackPod(podUid);
    const pod = await waitFor("pod Running with an IP", async () => {
      const p = await api.client.get("v1/pods", "default", "web");
      return p.status?.phase === "Running" && p.status?.podIP ? p : undefined;
    });
    timings.createToRunningMs = Math.round(performance.now() - t0);
    assert.match(pod.status.podIP, /^10\.42\.77\.\d+$/);
    assert.deepEqual(pod.status.podIPs, [{ ip: pod.status.podIP }]);
    assert.equal(pod.status.hostIP, "10.42.77.1");
    assert.ok(pod.status.startTime);
    for (const t of ["PodScheduled", "Initialized", "ContainersReady", "Ready"]) {
      assert.equal(pod.status.conditions.find((c: any) => c.type === t)?.status, "True", `condition ${t}`);
    }
    const cs = pod.status.containerStatuses[0];
    assert.equal(cs.name, "httpd");
    assert.equal(cs.image, BUSYBOX_IMAGE);
    assert.equal(cs.ready, true);
    assert.equal(cs.started, true);
    assert.equal(cs.restartCount, 0);
    assert.match(cs.containerID, /^containerd:\/\/[0-9a-f]+$/);
    assert.ok(cs.imageID);
    assert.ok(cs.state.running.startedAt);

    const body = await waitFor("HTTP from the pod", async () => {
      const res = await fetch(`http://${pod.status.podIP}:8080/index.html`, { signal: AbortSignal.timeout(2000) });
      return res.ok ? await res.text() : undefined;
    });
    timings.createToHttpMs = Math.round(performance.now() - t0);
    assert.equal(body, "hello from tugboat\n");

    // Status is stable: no rewrites while nothing changes.
    const rv = (await api.client.get("v1/pods", "default", "web")).metadata.resourceVersion;
    await sleep(2500);
    assert.equal((await api.client.get("v1/pods", "default", "web")).metadata.resourceVersion, rv, "no status churn");

    // Startup latency (create → Running, image present) over 20 pods, one after another.
    const lat: number[] = [];
    for (let i = 0; i < 20; i++) {
      const name = `lat-${i}`;
      const s0 = performance.now();
      const p = await api.client.create("v1/pods", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: "default" },
        spec: { nodeName: NODE, automountServiceAccountToken: false, terminationGracePeriodSeconds: 0, containers: [{ name: "main", image: BUSYBOX_IMAGE, command: ["sleep", "600"] }] },
      });
      node.trackPod(p.metadata.uid!);
      await waitFor(`${name} Running`, async () => ((await api.client.get("v1/pods", "default", name)).status?.phase === "Running" ? true : undefined), 20_000, 5);
      lat.push(performance.now() - s0);
    }
    lat.sort((a, b) => a - b);
    const pct = (q: number) => Math.round(lat[Math.min(lat.length - 1, Math.ceil(q * lat.length) - 1)]!);
    timings.startupP50Ms = pct(0.5);
    timings.startupP99Ms = pct(0.99);
    for (let i = 0; i < 20; i++) await api.client.delete("v1/pods", "default", `lat-${i}`, { gracePeriodSeconds: 0 });
    await waitFor("latency pods' sandboxes removed", async () => ((await runtime.listPodSandboxes()).length === 1 ? true : undefined), 30_000);

    // restartPolicy: Never ends in Failed with the exit code; Always restarts the container.
    const mk = (name: string, restartPolicy: string, script: string) =>
      api.client.create("v1/pods", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: "default" },
        spec: { nodeName: NODE, automountServiceAccountToken: false, restartPolicy, containers: [{ name: "main", image: BUSYBOX_IMAGE, command: ["sh", "-c", script] }] },
      });
    const job = await mk("job", "Never", "exit 3");
    const crash = await mk("crash", "Always", "sleep 0.2; exit 1");
    node.trackPod(job.metadata.uid!);
    node.trackPod(crash.metadata.uid!);
    const failed = await waitFor("job Failed", async () => {
      const p = await api.client.get("v1/pods", "default", "job");
      return p.status?.phase === "Failed" ? p : undefined;
    });
    const term = failed.status.containerStatuses[0].state.terminated;
    assert.equal(term.exitCode, 3);
    assert.equal(term.reason, "Error");
    assert.equal(failed.status.conditions.find((c: any) => c.type === "Ready")?.status, "False");
    const restarted = await waitFor("crash restarted", async () => {
      const p = await api.client.get("v1/pods", "default", "crash");
      return (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 ? p : undefined;
    });
    assert.equal(restarted.status.containerStatuses[0].lastState.terminated.exitCode, 1);
    // Force deletion removes the Pod at once: the kubelet sees it vanish and tears the sandbox down.
    for (const name of ["job", "crash"]) await api.client.delete("v1/pods", "default", name, { gracePeriodSeconds: 0 });
    for (const uid of [job.metadata.uid!, crash.metadata.uid!]) {
      await waitFor("vanished pod's sandbox removed", async () => ((await runtime.listPodSandboxes({ labelSelector: { [POD_UID_LABEL]: uid } })).length === 0 ? true : undefined), 10_000);
    }

    const d0 = performance.now();
    await api.client.delete("v1/pods", "default", "web", { gracePeriodSeconds: 1 });
    await waitFor("pod gone", async () => {
      try {
        await api.client.get("v1/pods", "default", "web");
        return undefined;
      } catch (err) {
        return (err as { code?: number }).code === 404 ? true : undefined;
      }
    });
    timings.deleteToGoneMs = Math.round(performance.now() - d0);
    assert.deepEqual(await runtime.listPodSandboxes({ labelSelector: { [POD_UID_LABEL]: podUid } }), []);
    assert.deepEqual(await runtime.listContainers(), []);
    await waitFor("worker released", async () => (kubelet.workerCount() === 0 ? true : undefined), 5000);
  } finally {
    kubeletAbort.abort();
    await kubeletDone?.catch(() => {});
    await api.close();
    console.log(`# timings ${JSON.stringify(timings)}`);
    await node.cleanup();
  }
});
