// Node registration against a real API and a real containerd (made small by
// agent/testing.ts): the Node and its Lease appear, the podCIDR from the IPAM controller
// reaches onPodCIDR, status is re-posted when the node controller overwrote it but not
// churned otherwise, the Lease keeps renewing, a deleted Node registers again, and a
// restarted agent adopts its existing Node.

import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startTestApi } from "../../apiserver/testing.js";
import { realNodeSkipReason, startTestNode, waitFor } from "../testing.js";
import { NodeRegistration } from "./registration.js";

const skip = realNodeSkipReason();

test("node registration, status and lease over a real runtime", { skip, timeout: 120_000 }, async () => {
  const api = await startTestApi();
  const node = await startTestNode({ bridge: "tugk4reg0", podCIDR: "10.42.215.0/24", prefix: "tug-k4reg-" });
  const cidrs: string[] = [];
  const make = () =>
    new NodeRegistration({
      client: api.client,
      runtime: node.runtime,
      identity: { name: "reg-node", internalIP: "192.0.2.77", hostname: "reg-node", arch: "amd64" },
      dataDir: node.dir,
      kubeletVersion: "v1.32.0-tugboat",
      kubeletPort: () => 12345,
      onPodCIDR: async (c) => void cidrs.push(c),
      statusUpdateIntervalMs: 200,
      statusReportIntervalMs: 60_000,
      leaseRenewIntervalMs: 200,
    });
  const stop = new AbortController();
  let running: Promise<void> | undefined;
  try {
    const reg = make();
    running = reg.start(stop.signal);
    await reg.ready();
    const n = await api.client.get("v1/nodes", undefined, "reg-node");
    assert.equal(n.status.nodeInfo.containerRuntimeVersion.startsWith("containerd://1."), true);
    assert.equal(n.status.daemonEndpoints.kubeletEndpoint.Port, 12345);
    assert.equal(n.spec.podCIDR, undefined, "waits for the IPAM controller");
    const lease = await api.client.get("coordination.k8s.io/v1/leases", "kube-node-lease", "reg-node");
    assert.equal(lease.metadata.ownerReferences?.[0]?.uid, n.metadata.uid);

    // The node IPAM controller's part, done by hand.
    await api.client.patch("v1/nodes", undefined, "reg-node", "merge", { spec: { podCIDR: "10.42.215.0/24", podCIDRs: ["10.42.215.0/24"] } });
    assert.equal(await reg.podCIDR(), "10.42.215.0/24");
    assert.deepEqual(cidrs, ["10.42.215.0/24"]);
    await waitFor("Ready=True", async () => {
      const x = await api.client.get("v1/nodes", undefined, "reg-node");
      return x.status.conditions.find((c: any) => c.type === "Ready")?.status === "True" ? true : undefined;
    });

    // Lease renews; status does not churn while nothing changes.
    // (Right after Ready the first rounds may still fill in facts such as the image list.)
    await waitFor("node status settles", async () => {
      const a = (await api.client.get("v1/nodes", undefined, "reg-node")).metadata.resourceVersion;
      await sleep(500);
      return (await api.client.get("v1/nodes", undefined, "reg-node")).metadata.resourceVersion === a ? true : undefined;
    }, 10_000);
    const t1 = (await api.client.get("coordination.k8s.io/v1/leases", "kube-node-lease", "reg-node")).spec.renewTime;
    const before = await api.client.get("v1/nodes", undefined, "reg-node");
    await sleep(1000);
    assert.notEqual((await api.client.get("coordination.k8s.io/v1/leases", "kube-node-lease", "reg-node")).spec.renewTime, t1);
    const after = await api.client.get("v1/nodes", undefined, "reg-node");
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion, `no status churn: ${JSON.stringify(before.status)} → ${JSON.stringify(after.status)}`);

    // The node controller marks it Unknown: the next round puts Ready=True back.
    const cur = await api.client.get("v1/nodes", undefined, "reg-node");
    const conditions = cur.status.conditions.map((c: any) => (c.type === "Ready" ? { ...c, status: "Unknown", reason: "NodeStatusUnknown" } : c));
    await api.client.patch("v1/nodes", undefined, "reg-node", "merge", { status: { conditions } }, { subresource: "status" });
    await waitFor("Ready=True again", async () => {
      const x = await api.client.get("v1/nodes", undefined, "reg-node");
      return x.status.conditions.find((c: any) => c.type === "Ready")?.status === "True" ? true : undefined;
    });

    // Deleted: registered again.
    await api.client.delete("v1/nodes", undefined, "reg-node");
    await waitFor("node re-registered", async () => ((await api.client.get("v1/nodes", undefined, "reg-node")).metadata.uid !== n.metadata.uid ? true : undefined));

    // A restarted agent adopts the Node it finds.
    stop.abort();
    await running;
    const uid = (await api.client.get("v1/nodes", undefined, "reg-node")).metadata.uid;
    const again = make();
    const stop2 = new AbortController();
    const r2 = again.start(stop2.signal);
    await again.ready();
    assert.equal((await api.client.get("v1/nodes", undefined, "reg-node")).metadata.uid, uid);
    stop2.abort();
    await r2;
  } finally {
    stop.abort();
    await running?.catch(() => {});
    await node.cleanup();
    await api.close();
  }
});
