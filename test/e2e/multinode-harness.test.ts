// Self-test of the multi-node harness, and of the node-side networking across nodes
// without containers: each node namespace gets a "pod" address inside its podCIDR (on a
// bridge, like the CNI bridge), the route keeper (src/network/routes.ts) runs for every
// node, and the service proxy of node-0 balances a ClusterIP over "pods" on both nodes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KObject } from "../../src/apimachinery/types.js";
import { startTestApi } from "../../src/apiserver/testing.js";
import { nodeRoutesRunnable } from "../../src/network/routes.js";
import { serviceProxyRunnable } from "../../src/network/proxy/proxy.js";
import { createMultiNodeNetwork, harnessLeftovers } from "./multinode-harness.js";

const canRun = (() => {
  try {
    execFileSync("nft", ["--version"], { stdio: "ignore" });
    execFileSync("busybox", ["true"], { stdio: "ignore" });
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
})();

const FETCH = `
import http from "node:http";
const [url, n] = [process.argv[2], Number(process.argv[3] ?? 1)];
const counts = {};
for (let i = 0; i < n; i++) {
  const b = await new Promise((res) => {
    const req = http.get(url, { agent: false, timeout: 3000 }, (r) => { let s = ""; r.on("data", (d) => (s += d)); r.on("end", () => res(s.trim())); });
    req.on("error", (e) => res("ERR:" + e.code));
    req.on("timeout", () => { req.destroy(); res("ERR:TIMEOUT"); });
  });
  counts[b] = (counts[b] ?? 0) + 1;
}
console.log(JSON.stringify(counts));
`;

async function until(cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting for condition");
    await new Promise((r) => setTimeout(r, 25));
  }
}

test("multi-node harness: 2 node namespaces on a switch, pod routes between them, a ClusterIP across nodes, full cleanup", { skip: !canRun && "needs root, nft and busybox" }, async (t) => {
  const net = await createMultiNodeNetwork({ nodes: 2 });
  const dir = mkdtempSync(join(tmpdir(), "tugmn-"));
  const api = await startTestApi();
  const ac = new AbortController();
  const runs: Promise<void>[] = [];
  t.after(async () => {
    ac.abort();
    await Promise.allSettled(runs);
    await net.cleanup();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const [n0, n1] = net.nodes as [(typeof net.nodes)[0], (typeof net.nodes)[0]];
  assert.equal(n0.name, "node-0");
  const fetchScript = join(dir, "fetch.mjs");
  writeFileSync(fetchScript, FETCH);

  // The host reaches both nodes, and the nodes reach each other and the host, over the switch.
  const web = join(dir, "web");
  mkdirSync(web);
  writeFileSync(join(web, "index.html"), "node-1\n");
  n1.spawn(["busybox", "httpd", "-f", "-p", `${n1.ip}:8080`, "-h", web]);
  await until(() => {
    try {
      return n0.exec([process.execPath, fetchScript, `http://${n1.ip}:8080/`]).includes('"node-1":1');
    } catch {
      return false;
    }
  });
  assert.ok(n1.exec(["ip", "-4", "addr", "show", "eth0"]).includes(n1.ip));
  const fromHost = execFileSync(process.execPath, [fetchScript, `http://${n1.ip}:8080/`]).toString();
  assert.deepEqual(JSON.parse(fromHost), { "node-1": 1 }, "the host (where tug server runs) reaches the nodes");
  assert.ok(!n0.exec(["ip", "route", "show"]).includes("default"), "nodes have no way off the machine");

  // "Pods": a bridge per node holding the gateway and one pod address of the node's podCIDR.
  const pods = [
    { node: n0, cidr: "10.42.231.0/24", gw: "10.42.231.1", ip: "10.42.231.2" },
    { node: n1, cidr: "10.42.232.0/24", gw: "10.42.232.1", ip: "10.42.232.2" },
  ];
  for (const p of pods) {
    p.node.exec(["ip", "link", "add", "name", "tugt0", "type", "bridge"]);
    p.node.exec(["ip", "addr", "add", `${p.gw}/24`, "dev", "tugt0"]);
    // The pod address sits on the node's lo in this test: reachable as a local address.
    p.node.exec(["ip", "addr", "add", `${p.ip}/32`, "dev", "lo"]);
    p.node.exec(["ip", "link", "set", "tugt0", "up"]);
    const root = join(dir, p.node.name);
    mkdirSync(root);
    writeFileSync(join(root, "index.html"), `pod-on-${p.node.name}\n`);
    p.node.spawn(["busybox", "httpd", "-f", "-p", `${p.ip}:8080`, "-h", root]);
  }

  // Node objects as the node lifecycle controller and the agents would leave them.
  const c = api.client;
  for (const [i, p] of pods.entries()) {
    const n = await c.create("v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: net.nodes[i]!.name }, spec: { podCIDR: p.cidr, podCIDRs: [p.cidr] } });
    await c.updateStatus("v1/nodes", { ...n, status: { addresses: [{ type: "InternalIP", address: net.nodes[i]!.ip }], conditions: [{ type: "Ready", status: "True" }] } });
  }
  for (const node of net.nodes) runs.push(nodeRoutesRunnable({ client: c, nodeName: node.name, runner: node.runner, unreachableRoutes: false }).start(ac.signal));
  await until(() => n0.exec(["ip", "route", "show", "10.42.232.0/24"]).includes(`via ${n1.ip}`) && n1.exec(["ip", "route", "show", "10.42.231.0/24"]).includes(`via ${n0.ip}`));
  assert.deepEqual(JSON.parse(n0.exec([process.execPath, fetchScript, "http://10.42.232.2:8080/"])), { "pod-on-node-1": 1 });

  // A ClusterIP on node-0 balancing over the pods of both nodes.
  await c.create("v1/services", { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default" }, spec: { clusterIP: "10.43.231.10", ports: [{ name: "http", port: 80, targetPort: 8080 }] } });
  await c.create("discovery.k8s.io/v1/endpointslices", {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "web-1", namespace: "default", labels: { "kubernetes.io/service-name": "web" } },
    addressType: "IPv4",
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    endpoints: pods.map((p, i) => ({ addresses: [p.ip], nodeName: net.nodes[i]!.name, conditions: { ready: true } })),
  } as KObject);
  const proxy = serviceProxyRunnable({ client: c, nodeName: n0.name, nodeIP: n0.ip, runner: n0.runner });
  const synced = proxy.nextSync();
  runs.push(proxy.start(ac.signal));
  await synced;
  const counts = JSON.parse(n0.exec([process.execPath, fetchScript, "http://10.43.231.10/", "40"]));
  assert.equal((counts["pod-on-node-0"] ?? 0) + (counts["pod-on-node-1"] ?? 0), 40, JSON.stringify(counts));
  assert.ok(counts["pod-on-node-0"] > 0 && counts["pod-on-node-1"] > 0, JSON.stringify(counts));

  // Cleanup removes everything, and is idempotent.
  ac.abort();
  await Promise.allSettled(runs);
  await net.cleanup();
  await net.cleanup();
  assert.deepEqual(harnessLeftovers(net.id), []);
});
