// `tug server` with non-default cluster flags: the values reach ClusterIP/NodePort
// allocation, the serving certificate, the kube-system/tugboat-config ConfigMap agents
// read, the DefaultTolerationSeconds admission and the node lifecycle controller (pod
// CIDRs, grace period); a restart with another service range keeps existing addresses.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { setMaxListeners } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, type RunningServer, type ServerOptions } from "./server.js";
import { silentLogger } from "../client/runnable.js";
import { CLUSTER_CONFIG_NAME, readClusterNetwork } from "../apiserver/clusterconfig.js";
import type { KObject } from "../apimachinery/types.js";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function run(dataDir: string, extra: Partial<ServerOptions>): Promise<{ s: RunningServer; stop(): Promise<void> }> {
  const ac = new AbortController();
  // Every runnable and informer listens on the one signal (as in main.ts).
  setMaxListeners(0, ac.signal);
  setMaxListeners(0);
  const s = await startServer(
    {
      dataDir,
      host: "127.0.0.1",
      port: await freePort(),
      leaderElect: false,
      advertiseAddress: "127.0.0.1",
      clusterDNSBind: "127.0.0.1",
      clusterDNSPort: await freePort(),
      disable: ["ingress"],
      log: silentLogger,
      ...extra,
    },
    ac.signal,
  );
  return {
    s,
    async stop() {
      ac.abort();
      await s.done;
    },
  };
}

const clusterIP = async (s: RunningServer, ns: string, name: string) => (await s.client.get("v1/services", ns, name)).spec?.clusterIP;

test("cluster flags reach allocation, certificate, tugboat-config, admission and node lifecycle; addresses survive a range change", { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "tug-server-flags-"));
  try {
    const first = await run(dataDir, {
      serviceCIDR: "10.45.0.0/16",
      clusterCIDR: "10.47.0.0/16",
      nodePortMin: 31000,
      nodePortMax: 31010,
      nodeMonitorGracePeriodMs: 2000,
      defaultNotReadyTolerationSeconds: 7,
      defaultUnreachableTolerationSeconds: 11,
    });
    const { s } = first;
    try {
      assert.equal(await clusterIP(s, "default", "kubernetes"), "10.45.0.1");
      assert.equal(await clusterIP(s, "kube-system", "kube-dns"), "10.45.0.10");
      for (const h of ["10.45.0.1", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "127.0.0.1"]) assert.ok(s.pki.serverHosts.includes(h), `serving cert names ${h}`);

      const cm = await s.client.get("v1/configmaps", "kube-system", CLUSTER_CONFIG_NAME);
      assert.deepEqual(cm.data, { "service-cidr": "10.45.0.0/16", "cluster-cidr": "10.47.0.0/16", "cluster-dns": "10.45.0.10", "cluster-domain": "cluster.local", "service-node-port-range": "31000-31010" });
      assert.deepEqual(await readClusterNetwork(s.client), { serviceCIDR: "10.45.0.0/16", clusterCIDR: "10.47.0.0/16", clusterDNS: "10.45.0.10", clusterDomain: "cluster.local", serviceNodePortRange: "31000-31010" });

      const np = await s.client.create("v1/services", { apiVersion: "v1", kind: "Service", metadata: { name: "np", namespace: "default" }, spec: { type: "NodePort", ports: [{ port: 80 }] } } as KObject);
      assert.match(np.spec.clusterIP, /^10\.45\./);
      assert.ok(np.spec.ports[0].nodePort >= 31000 && np.spec.ports[0].nodePort <= 31010, String(np.spec.ports[0].nodePort));
      await assert.rejects(
        s.client.create("v1/services", { apiVersion: "v1", kind: "Service", metadata: { name: "np2", namespace: "default" }, spec: { type: "NodePort", ports: [{ port: 80, nodePort: 30000 }] } } as KObject),
        /The range of valid ports is 31000-31010/,
      );

      const pod = await s.client.create("v1/pods", { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "default" }, spec: { containers: [{ name: "c", image: "x" }] } } as KObject);
      const seconds = Object.fromEntries(pod.spec.tolerations.map((t: any) => [t.key, t.tolerationSeconds]));
      assert.deepEqual(seconds, { "node.kubernetes.io/not-ready": 7, "node.kubernetes.io/unreachable": 11 });

      // A node that never heartbeats: a /24 of --cluster-cidr, then Unknown after the 2 s grace.
      const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
      await s.client.create("v1/nodes", {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name: "silent" },
        status: { conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", lastHeartbeatTime: now, lastTransitionTime: now }] },
      } as KObject);
      const node = await eventually("podCIDR and Ready=Unknown", async () => {
        const n = await s.client.get("v1/nodes", undefined, "silent");
        return n.spec?.podCIDR && n.status?.conditions?.find((c: any) => c.type === "Ready")?.status === "Unknown" && n;
      });
      assert.equal(node.spec.podCIDR, "10.47.0.0/24");
    } finally {
      await first.stop();
    }

    // Restart with the default ranges: existing Services keep their addresses; agents follow the real kube-dns IP.
    const second = await run(dataDir, {});
    try {
      const s2 = second.s;
      assert.equal(await clusterIP(s2, "default", "kubernetes"), "10.45.0.1");
      assert.equal(await clusterIP(s2, "kube-system", "kube-dns"), "10.45.0.10");
      assert.match(await clusterIP(s2, "default", "np"), /^10\.45\./);
      const net = await readClusterNetwork(s2.client);
      assert.equal(net?.serviceCIDR, "10.43.0.0/16");
      assert.equal(net?.clusterDNS, "10.45.0.10");
      for (const h of ["10.45.0.1", "10.43.0.1"]) assert.ok(s2.pki.serverHosts.includes(h), `serving cert still names ${h}`);
      const fresh = await s2.client.create("v1/services", { apiVersion: "v1", kind: "Service", metadata: { name: "fresh", namespace: "default" }, spec: { ports: [{ port: 80 }] } } as KObject);
      assert.match(fresh.spec.clusterIP, /^10\.43\./);
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
