// Real-kernel test of the service proxy: a "node" network namespace with forwarding on,
// two "pod" namespaces running busybox httpd, and a "client" namespace outside the pod
// range, all joined to the node by veth pairs in 10.99.0.0/16. The proxy runs against the
// node namespace (nft/ip through `ip netns exec`) and is fed by a real API (SQLite in a
// temp dir). Nothing touches the host's own netns; everything is removed afterwards.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { KObject } from "../../apimachinery/types.js";
import { startTestApi } from "../../apiserver/testing.js";
import { netnsRunner } from "./command.js";
import { listTable } from "./nftables.js";
import { serviceProxyRunnable, type SyncInfo } from "./proxy.js";

const canRun = (() => {
  try {
    execFileSync("nft", ["--version"], { stdio: "ignore" });
    execFileSync("busybox", ["true"], { stdio: "ignore" });
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
})();

async function until(cond: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("timed out waiting for condition");
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sh = (...args: string[]) => execFileSync(args[0]!, args.slice(1), { stdio: ["ignore", "pipe", "pipe"] }).toString();

/** Requests from inside a namespace: `node client.mjs URL N` prints {body: count} (errors as "ERR:code"). */
const CLIENT = `
import http from "node:http";
const [url, n] = [process.argv[2], Number(process.argv[3] ?? 1)];
const counts = {};
const one = () => new Promise((res) => {
  const req = http.get(url, { agent: false, timeout: 3000 }, (r) => { let b = ""; r.on("data", (d) => (b += d)); r.on("end", () => res(b.trim())); });
  req.on("error", (e) => res("ERR:" + e.code));
  req.on("timeout", () => { req.destroy(); res("ERR:TIMEOUT"); });
});
for (let i = 0; i < n; i++) { const b = await one(); counts[b] = (counts[b] ?? 0) + 1; }
console.log(JSON.stringify(counts));
`;

/** `node udp.mjs serve IP PORT` answers every datagram; `node udp.mjs ask IP PORT N` prints {reply: count}. */
const UDP = `
import dgram from "node:dgram";
const [mode, host, port, n] = process.argv.slice(2);
const s = dgram.createSocket("udp4");
if (mode === "serve") {
  s.on("message", (m, r) => s.send("udp-from-" + (r.address.startsWith("10.99.1.") ? "pod" : "other"), r.port, r.address));
  s.bind(Number(port), host);
} else {
  const counts = {};
  for (let i = 0; i < Number(n ?? 1); i++) {
    const reply = await new Promise((res) => {
      const c = dgram.createSocket("udp4");
      const t = setTimeout(() => { c.close(); res("ERR:TIMEOUT"); }, 2000);
      c.on("message", (m) => { clearTimeout(t); c.close(); res(String(m)); });
      c.on("error", (e) => { clearTimeout(t); c.close(); res("ERR:" + e.code); });
      c.send("q", Number(port), host);
    });
    counts[reply] = (counts[reply] ?? 0) + 1;
  }
  console.log(JSON.stringify(counts));
}
`;

test("service proxy programs a network namespace: ClusterIP, NodePort, hairpin, affinity, reject, cleanup", { skip: !canRun && "needs root, nft and busybox" }, async (t) => {
  const id = randomBytes(3).toString("hex");
  const ns = { node: `tugp-${id}-n`, p1: `tugp-${id}-p1`, p2: `tugp-${id}-p2`, client: `tugp-${id}-c` };
  const dir = mkdtempSync(join(tmpdir(), "tugp-"));
  const servers: ChildProcess[] = [];
  const api = await startTestApi();
  const ac = new AbortController();
  let proxyRun: Promise<void> | undefined;
  t.after(async () => {
    ac.abort();
    await proxyRun?.catch(() => {});
    for (const s of servers) s.kill("SIGKILL");
    for (const n of Object.values(ns)) {
      // Processes we started in the namespace (servers) go before the namespace does.
      const pids = (() => {
        try {
          return sh("ip", "netns", "pids", n).split(/\s+/).filter(Boolean);
        } catch {
          return [];
        }
      })();
      for (const p of pids) {
        try {
          process.kill(Number(p), "SIGKILL");
        } catch {}
      }
      try {
        sh("ip", "netns", "del", n);
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
    await api.close();
  });

  // --- topology ---
  sh("ip", "netns", "add", ns.node);
  sh("ip", "-n", ns.node, "link", "set", "lo", "up");
  sh("ip", "netns", "exec", ns.node, "sysctl", "-qw", "net.ipv4.ip_forward=1");
  // Like a real node: the service range is unreachable unless the proxy rewrites it.
  sh("ip", "-n", ns.node, "route", "add", "unreachable", "10.43.0.0/16");
  const links: [string, string, string][] = [
    [ns.p1, "10.99.1.1", "10.99.1.2"],
    [ns.p2, "10.99.2.1", "10.99.2.2"],
    [ns.client, "10.99.200.1", "10.99.200.2"],
  ];
  links.forEach(([peer, nodeIP, peerIP], i) => {
    sh("ip", "netns", "add", peer);
    sh("ip", "-n", ns.node, "link", "add", "name", `v${i}`, "type", "veth", "peer", "name", "eth0", "netns", peer);
    sh("ip", "-n", ns.node, "addr", "add", `${nodeIP}/24`, "dev", `v${i}`);
    sh("ip", "-n", ns.node, "link", "set", `v${i}`, "up");
    sh("ip", "-n", peer, "link", "set", "lo", "up");
    sh("ip", "-n", peer, "addr", "add", `${peerIP}/24`, "dev", "eth0");
    sh("ip", "-n", peer, "link", "set", "eth0", "up");
    sh("ip", "-n", peer, "route", "add", "default", "via", nodeIP);
  });
  for (const [name, ip] of [["pod1", "10.99.1.2"], ["pod2", "10.99.2.2"]] as const) {
    const root = join(dir, name);
    mkdirSync(root);
    writeFileSync(join(root, "index.html"), `${name}\n`);
    const s = spawn("ip", ["netns", "exec", name === "pod1" ? ns.p1 : ns.p2, "busybox", "httpd", "-f", "-p", `${ip}:8080`, "-h", root], { stdio: "ignore" });
    servers.push(s);
  }
  const clientScript = join(dir, "client.mjs");
  writeFileSync(clientScript, CLIENT);
  const udpScript = join(dir, "udp.mjs");
  writeFileSync(udpScript, UDP);
  // A UDP server on the node's own address, like the in-process cluster DNS behind kube-dns.
  servers.push(spawn("ip", ["netns", "exec", ns.node, process.execPath, udpScript, "serve", "10.99.200.1", "10053"], { stdio: "ignore" }));
  const fetchFrom = (n: string, url: string, count = 1): Record<string, number> =>
    JSON.parse(sh("ip", "netns", "exec", n, process.execPath, clientScript, url, String(count)));

  // --- objects ---
  const c = api.client;
  let svc = await c.create("v1/services", {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "default" },
    spec: { type: "NodePort", clusterIP: "10.43.77.10", selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: 8080, nodePort: 30080, protocol: "TCP" }] },
  });
  const endpoint = (ip: string, node: string, ready = true) => ({ addresses: [ip], nodeName: node, conditions: { ready, serving: ready, terminating: false } });
  let slice = await c.create("discovery.k8s.io/v1/endpointslices", {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "web-1", namespace: "default", labels: { "kubernetes.io/service-name": "web" } },
    addressType: "IPv4",
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    endpoints: [endpoint("10.99.1.2", "n1"), endpoint("10.99.2.2", "n2")],
  } as KObject);

  const syncs: SyncInfo[] = [];
  const runner = netnsRunner(ns.node);
  const proxy = serviceProxyRunnable({ client: c, nodeName: "n1", nodeIP: "10.99.200.1", clusterCIDR: "10.99.0.0/17", runner, verifyPeriodMs: 200, onSync: (i) => syncs.push(i) });
  const firstSync = proxy.nextSync();
  proxyRun = proxy.start(ac.signal);
  await firstSync;
  assert.equal(syncs[0]!.full, true);

  await t.test("200 connections from outside the pod range spread over both endpoints", () => {
    const counts = fetchFrom(ns.client, "http://10.43.77.10/", 200);
    assert.equal((counts.pod1 ?? 0) + (counts.pod2 ?? 0), 200, JSON.stringify(counts));
    assert.ok(counts.pod1! >= 60 && counts.pod2! >= 60, `balanced: ${JSON.stringify(counts)}`);
  });

  await t.test("the node itself reaches the ClusterIP (output chain + host-access route)", () => {
    const counts = fetchFrom(ns.node, "http://10.43.77.10/", 10);
    assert.equal((counts.pod1 ?? 0) + (counts.pod2 ?? 0), 10, JSON.stringify(counts));
  });

  await t.test("hairpin: a pod reaches itself through its Service", () => {
    const counts = fetchFrom(ns.p1, "http://10.43.77.10/", 30);
    assert.equal((counts.pod1 ?? 0) + (counts.pod2 ?? 0), 30, JSON.stringify(counts));
    assert.ok((counts.pod1 ?? 0) > 0, "some requests landed on the calling pod itself");
  });

  await t.test("NodePort answers on the node address", () => {
    const counts = fetchFrom(ns.client, "http://10.99.200.1:30080/", 20);
    assert.equal((counts.pod1 ?? 0) + (counts.pod2 ?? 0), 20, JSON.stringify(counts));
  });

  await t.test("UDP Service whose endpoint is the node itself (the kube-dns shape), from a pod and from the node", async () => {
    const next = proxy.nextSync();
    await c.create("v1/services", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "dns", namespace: "default" },
      spec: { clusterIP: "10.43.77.53", ports: [{ name: "dns", port: 53, targetPort: 10053, protocol: "UDP" }] },
    });
    await c.create("discovery.k8s.io/v1/endpointslices", {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "dns-1", namespace: "default", labels: { "kubernetes.io/service-name": "dns" } },
      addressType: "IPv4",
      ports: [{ name: "dns", port: 10053, protocol: "UDP" }],
      endpoints: [{ addresses: ["10.99.200.1"], conditions: { ready: true } }],
    } as KObject);
    await next;
    await until(async () => (await listTable(runner)).includes("dnat to 10.99.200.1:10053"));
    const ask = (n: string, host = "10.43.77.53", port = "53") => JSON.parse(sh("ip", "netns", "exec", n, process.execPath, udpScript, "ask", host, port, "5"));
    // The server answers directly first (it may still be starting on a busy machine).
    await until(async () => Object.keys(ask(ns.node, "10.99.200.1", "10053")).every((k) => k.startsWith("udp-from-")), 15_000);
    // From a pod the source is kept (no masquerade inside the pod range).
    assert.deepEqual(ask(ns.p1), { "udp-from-pod": 5 });
    // From the node the source is masqueraded (to one of the node's addresses).
    const fromNode = ask(ns.node);
    assert.equal(Object.values(fromNode).reduce((a: number, b) => a + (b as number), 0), 5);
    assert.ok(Object.keys(fromNode).every((k) => k.startsWith("udp-from-")), JSON.stringify(fromNode));
  });

  await t.test("endpoint change reaches the kernel quickly (latency measured)", async () => {
    const latencies: number[] = [];
    for (let i = 0; i < 6; i++) {
      const remove = i % 2 === 0;
      const next = proxy.nextSync();
      const t0 = performance.now();
      slice = await c.update("discovery.k8s.io/v1/endpointslices", {
        ...slice,
        endpoints: remove ? [endpoint("10.99.1.2", "n1")] : [endpoint("10.99.1.2", "n1"), endpoint("10.99.2.2", "n2")],
      } as KObject);
      await next;
      latencies.push(performance.now() - t0);
      const listed = await listTable(runner);
      assert.equal(listed.includes("10.99.2.2"), !remove);
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    const info = proxy.lastSync!;
    console.log(
      `# endpoint change → rules applied: median ${sorted[3]!.toFixed(1)} ms, max ${sorted[5]!.toFixed(1)} ms (render ${info.renderMs} ms, nft apply ${info.applyMs} ms, incremental=${!info.full})`,
    );
    assert.ok(sorted[5]! < 1000, `all under 1 s: ${latencies.map((l) => l.toFixed(0)).join(",")}`);
    const counts = fetchFrom(ns.client, "http://10.43.77.10/", 20);
    assert.equal((counts.pod1 ?? 0) + (counts.pod2 ?? 0), 20, JSON.stringify(counts));
  });

  await t.test("a deleted table is rebuilt: by the periodic check, or when an incremental apply fails", async () => {
    sh("ip", "netns", "exec", ns.node, "nft", "delete", "table", "ip", "tugboat");
    // The rules are in the kernel a moment before the proxy records the sync: wait for both.
    await until(async () => (await listTable(runner)).includes("10.43.77.10") && proxy.lastSync?.full === true);
    assert.equal(proxy.lastSync!.full, true);
    assert.equal(Object.values(fetchFrom(ns.client, "http://10.43.77.10/", 4)).reduce((a, b) => a + b, 0), 4);
    // Deleted again, and a change arrives before the check: the failed incremental sync falls back to a full one.
    sh("ip", "netns", "exec", ns.node, "nft", "delete", "table", "ip", "tugboat");
    slice = await c.update("discovery.k8s.io/v1/endpointslices", { ...slice, endpoints: [endpoint("10.99.2.2", "n2"), endpoint("10.99.1.2", "n1")] } as KObject);
    await until(async () => (await listTable(runner)).includes("10.43.77.10"));
    assert.deepEqual(Object.keys(fetchFrom(ns.client, "http://10.43.77.10/", 30)).sort(), ["pod1", "pod2"]);
  });

  await t.test("ClientIP session affinity sticks to one endpoint", async () => {
    const next = proxy.nextSync();
    svc = await c.update("v1/services", { ...svc, spec: { ...svc.spec, sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } } });
    await next;
    const counts = fetchFrom(ns.client, "http://10.43.77.10/", 40);
    assert.equal(Object.keys(counts).length, 1, JSON.stringify(counts));
    assert.match(Object.keys(counts)[0]!, /^pod[12]$/);
  });

  await t.test("a Service without endpoints is rejected at once, not left to time out", async () => {
    const next = proxy.nextSync();
    slice = await c.update("discovery.k8s.io/v1/endpointslices", { ...slice, endpoints: [] } as KObject);
    await next;
    const t0 = performance.now();
    assert.deepEqual(fetchFrom(ns.client, "http://10.99.200.1:30080/", 1), { "ERR:ECONNREFUSED": 1 });
    const viaClusterIP = Object.keys(fetchFrom(ns.client, "http://10.43.77.10/", 1))[0];
    // The node's unreachable route answers first for ClusterIPs (ICMP host unreachable).
    assert.match(viaClusterIP!, /^ERR:(ECONNREFUSED|EHOSTUNREACH)$/);
    assert.ok(performance.now() - t0 < 2500);
  });

  await t.test("deleting the Service removes its rules", async () => {
    const next = proxy.nextSync();
    await c.delete("v1/services", "default", "web");
    await next;
    const listed = await listTable(runner);
    assert.ok(!listed.includes("10.43.77.10"), listed);
    assert.ok(!listed.includes("30080"));
    assert.ok(!/chain (svc|ext|cls)-\S+-default-web-/.test(listed), listed);
    assert.ok(!listed.includes("10.99.2.2") && !listed.includes("10.99.1.2"), "endpoint chains gone");
    assert.match(listed, /10\.43\.77\.53 \. udp \. 53 : goto svc-/, "other Services untouched");
  });

  await t.test("shutdown removes the table and the host-access rule", async () => {
    ac.abort();
    await proxyRun;
    assert.equal(await listTable(runner), "");
    assert.ok(!sh("ip", "-n", ns.node, "rule").includes("lookup 4243"));
    assert.equal(sh("ip", "-n", ns.node, "route", "show", "table", "4243").trim(), "");
  });
});

/** Kills what runs in the namespaces, then deletes them (missing ones are fine). */
function removeNetns(names: string[]): void {
  for (const n of names) {
    let pids: string[] = [];
    try {
      pids = sh("ip", "netns", "pids", n).split(/\s+/).filter(Boolean);
    } catch {}
    for (const p of pids) {
      try {
        process.kill(Number(p), "SIGKILL");
      } catch {}
    }
    try {
      sh("ip", "netns", "del", n);
    } catch {}
  }
}

test("pods on one bridge (the CNI shape): same-node balancing and hairpin without masquerading everything", { skip: !canRun && "needs root, nft and busybox" }, async (t) => {
  const id = randomBytes(3).toString("hex");
  const ns = { node: `tugp-${id}-bn`, a: `tugp-${id}-ba`, b: `tugp-${id}-bb` };
  const dir = mkdtempSync(join(tmpdir(), "tugp-"));
  const api = await startTestApi();
  const ac = new AbortController();
  let proxyRun: Promise<void> | undefined;
  t.after(async () => {
    ac.abort();
    await proxyRun?.catch(() => {});
    removeNetns(Object.values(ns));
    rmSync(dir, { recursive: true, force: true });
    await api.close();
  });
  sh("ip", "netns", "add", ns.node);
  const node = (...a: string[]) => sh("ip", "-n", ns.node, ...a);
  node("link", "set", "lo", "up");
  node("link", "add", "name", "tugt0", "type", "bridge");
  node("addr", "add", "10.42.241.1/24", "dev", "tugt0");
  node("link", "set", "tugt0", "up");
  node("route", "add", "unreachable", "10.43.0.0/16");
  const pods: [string, string][] = [
    [ns.a, "10.42.241.2"],
    [ns.b, "10.42.241.3"],
  ];
  pods.forEach(([pod, ip], i) => {
    sh("ip", "netns", "add", pod);
    node("link", "add", "name", `veth${i}`, "type", "veth", "peer", "name", "eth0", "netns", pod);
    node("link", "set", `veth${i}`, "master", "tugt0");
    // As the CNI bridge plugin does with hairpinMode: a pod's packets may come back out its own port.
    sh("ip", "netns", "exec", ns.node, "bridge", "link", "set", "dev", `veth${i}`, "hairpin", "on");
    node("link", "set", `veth${i}`, "up");
    sh("ip", "-n", pod, "link", "set", "lo", "up");
    sh("ip", "-n", pod, "addr", "add", `${ip}/24`, "dev", "eth0");
    sh("ip", "-n", pod, "link", "set", "eth0", "up");
    sh("ip", "-n", pod, "route", "add", "default", "via", "10.42.241.1");
    const root = join(dir, `pod${i}`);
    mkdirSync(root);
    writeFileSync(join(root, "index.html"), `pod${i}\n`);
    spawn("ip", ["netns", "exec", pod, "busybox", "httpd", "-f", "-p", `${ip}:8080`, "-h", root], { stdio: "ignore" });
  });
  const clientScript = join(dir, "client.mjs");
  writeFileSync(clientScript, CLIENT);
  const c = api.client;
  await c.create("v1/services", { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default" }, spec: { clusterIP: "10.43.241.10", ports: [{ name: "http", port: 80, targetPort: 8080 }] } });
  await c.create("discovery.k8s.io/v1/endpointslices", {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "web-1", namespace: "default", labels: { "kubernetes.io/service-name": "web" } },
    addressType: "IPv4",
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    endpoints: pods.map(([, ip]) => ({ addresses: [ip], nodeName: "n", conditions: { ready: true } })),
  } as KObject);
  const proxy = serviceProxyRunnable({ client: c, nodeName: "n", nodeIP: "10.42.241.1", runner: netnsRunner(ns.node) });
  const synced = proxy.nextSync();
  proxyRun = proxy.start(ac.signal);
  await synced;
  // The reply from the other pod is bridged, not routed: only br_netfilter's conntrack
  // can undo the DNAT; the hairpin case relies on the masquerade mark.
  const counts = JSON.parse(sh("ip", "netns", "exec", ns.a, process.execPath, clientScript, "http://10.43.241.10/", "40"));
  assert.equal((counts.pod0 ?? 0) + (counts.pod1 ?? 0), 40, JSON.stringify(counts));
  assert.ok(counts.pod0 > 0 && counts.pod1 > 0, JSON.stringify(counts));
});
