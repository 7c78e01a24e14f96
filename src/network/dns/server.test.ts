import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import dnsPacket from "dns-packet";
import { startTestApi, type TestApi } from "../../apiserver/testing.js";
import { SharedInformerFactory } from "../../client/sharedinformers.js";
import { informerClusterView } from "./clusterview.js";
import { ClusterRecords } from "./records.js";
import { ClusterDNSServer, clusterDNSRunnable } from "./server.js";
import { Forwarder, hostUpstreams, parseResolvConf } from "./forward.js";
import { ensureKubeDNSService } from "./kubedns.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

let api: TestApi;
const ac = new AbortController();
let informers: SharedInformerFactory;

before(async () => {
  api = await startTestApi();
  informers = new SharedInformerFactory(api.client);
});

after(async () => {
  ac.abort();
  await informers.stopped();
  await api.close();
});

let nextId = 1;
function query(name: string, type: string, opts: { edns?: boolean } = {}): Buffer {
  return dnsPacket.encode({
    type: "query",
    id: nextId++,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: type as any, name }],
    additionals: opts.edns ? [{ type: "OPT", name: ".", udpPayloadSize: 4096 } as any] : [],
  });
}

function askUDP(port: number, msg: Buffer): Promise<any> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    const t = setTimeout(() => (s.close(), reject(new Error("timeout"))), 3000);
    s.on("message", (m) => {
      clearTimeout(t);
      s.close();
      resolve(dnsPacket.decode(m));
    });
    s.send(msg, port, "127.0.0.1");
  });
}

function askTCP(port: number, msg: Buffer): Promise<any> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port });
    let buf = Buffer.alloc(0);
    s.on("error", reject);
    s.on("connect", () => s.write(dnsPacket.streamEncode(dnsPacket.decode(msg))));
    s.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        s.destroy();
        resolve(dnsPacket.streamDecode(buf));
      }
    });
  });
}

async function waitFor(fn: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("timed out");
}

test("cluster names over UDP and TCP from informer caches; forwarding to a local upstream", async (t) => {
  // A fake upstream resolver on loopback: the test never leaves the host.
  const upstream = createSocket("udp4");
  await new Promise<void>((r) => upstream.bind(0, "127.0.0.1", () => r()));
  upstream.on("message", (m, rinfo) => {
    const q = dnsPacket.decode(m);
    const answers = q.questions![0]!.name === "example.org" ? [{ type: "A", name: "example.org", ttl: 60, data: "203.0.113.7" }] : [];
    upstream.send(dnsPacket.encode({ type: "response", id: q.id, flags: answers.length ? 0 : 3, questions: q.questions, answers: answers as any }), rinfo.port, rinfo.address);
  });
  t.after(() => upstream.close());

  const { view } = informerClusterView(informers);
  informers.start(ac.signal);
  const server = new ClusterDNSServer({ records: new ClusterRecords(view), forwarder: new Forwarder([{ host: "127.0.0.1", port: upstream.address().port }], 1000), host: "127.0.0.1", port: 0 });
  const { port } = await server.listen();
  t.after(() => server.close());

  const c = api.client;
  await c.create("v1/services", { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default" }, spec: { ports: [{ name: "http", port: 80 }] } });
  await c.create("v1/services", { apiVersion: "v1", kind: "Service", metadata: { name: "db", namespace: "default" }, spec: { clusterIP: "None", ports: [{ name: "pg", port: 5432 }] } });
  const many = Array.from({ length: 60 }, (_, i) => ({ addresses: [`10.42.7.${i + 1}`], conditions: { ready: true } }));
  await c.create("discovery.k8s.io/v1/endpointslices", {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "db-x", namespace: "default", labels: { "kubernetes.io/service-name": "db" } },
    addressType: "IPv4",
    endpoints: many,
    ports: [{ name: "pg", port: 5432, protocol: "TCP" }],
  });
  const web = await c.get("v1/services", "default", "web");

  await waitFor(async () => (await askUDP(port, query("web.default.svc.cluster.local", "A"))).answers.length === 1);
  const a = await askUDP(port, query("web.default.svc.cluster.local", "A"));
  assert.equal(a.rcode, "NOERROR");
  assert.equal(a.flag_aa, true);
  assert.equal(a.flag_rd, true);
  assert.equal(a.answers[0].data, web.spec.clusterIP);
  assert.equal(a.answers[0].ttl, 5);

  const nx = await askUDP(port, query("nope.default.svc.cluster.local", "A"));
  assert.equal(nx.rcode, "NXDOMAIN");
  assert.equal(nx.authorities[0].type, "SOA");

  const aaaa = await askUDP(port, query("web.default.svc.cluster.local", "AAAA"));
  assert.equal(aaaa.rcode, "NOERROR");
  assert.equal(aaaa.answers.length, 0);

  // 60 A records do not fit in 512 bytes: truncated over UDP, complete over TCP and with EDNS.
  await waitFor(async () => (await askTCP(port, query("db.default.svc.cluster.local", "A"))).answers.length === 60);
  const tc = await askUDP(port, query("db.default.svc.cluster.local", "A"));
  assert.equal(tc.flag_tc, true);
  assert.equal(tc.answers.length, 0);
  const edns = await askUDP(port, query("db.default.svc.cluster.local", "A", { edns: true }));
  assert.equal(edns.flag_tc, false);
  assert.equal(edns.answers.length, 60);

  const srv = await askTCP(port, query("_http._tcp.web.default.svc.cluster.local", "SRV"));
  assert.deepEqual(srv.answers.map((x: any) => [x.data.port, x.data.target]), [[80, "web.default.svc.cluster.local"]]);

  // Other names go to the upstream, over UDP and TCP-less fallback alike.
  const fwd = await askUDP(port, query("example.org", "A"));
  assert.equal(fwd.answers[0].data, "203.0.113.7");
  const fwdNx = await askUDP(port, query("nothing.example", "A"));
  assert.equal(fwdNx.rcode, "NXDOMAIN");

  // Deleting the service removes the name at once (watch → cache).
  await c.delete("v1/services", "default", "web");
  await waitFor(async () => (await askUDP(port, query("web.default.svc.cluster.local", "A"))).rcode === "NXDOMAIN");
});

test("no upstreams: SERVFAIL for outside names; malformed queries get FORMERR", async (t) => {
  const { view } = informerClusterView(informers);
  const server = new ClusterDNSServer({ records: new ClusterRecords(view), host: "127.0.0.1", port: 0 });
  const { port } = await server.listen();
  t.after(() => server.close());
  const r = await askUDP(port, query("example.org", "A"));
  assert.equal(r.rcode, "SERVFAIL");
  const bad = Buffer.from(query("x.cluster.local", "A").subarray(0, 14));
  const out = await server.answer(bad, false);
  assert.equal(out!.readUInt16BE(2) & 0xf, 1);
  assert.equal(out!.readUInt16BE(0), bad.readUInt16BE(0));
});

test("kube-dns Service at 10.43.0.10 with endpoints at the advertise address", async () => {
  const err = await ensureKubeDNSService(api.registry, { clusterIP: "10.43.0.10", address: "192.0.2.10", port: 10053 });
  assert.equal(err, undefined);
  // Idempotent.
  assert.equal(await ensureKubeDNSService(api.registry, { clusterIP: "10.43.0.10", address: "192.0.2.10", port: 10053 }), undefined);
  const svc = await api.client.get("v1/services", "kube-system", "kube-dns");
  assert.equal(svc.spec.clusterIP, "10.43.0.10");
  assert.deepEqual(svc.spec.ports.map((p: any) => [p.name, p.port, p.protocol, p.targetPort]), [["dns", 53, "UDP", 10053], ["dns-tcp", 53, "TCP", 10053]]);
  const ep = await api.client.get("v1/endpoints", "kube-system", "kube-dns");
  assert.equal(ep.subsets[0].addresses[0].ip, "192.0.2.10");
  const slice = await api.client.get("discovery.k8s.io/v1/endpointslices", "kube-system", "kube-dns");
  assert.deepEqual(slice.endpoints[0].addresses, ["192.0.2.10"]);
  assert.deepEqual(slice.ports.map((p: any) => p.port), [10053, 10053]);
  // A new address (and port) is written on the next start.
  assert.equal(await ensureKubeDNSService(api.registry, { clusterIP: "10.43.0.10", address: "192.0.2.11", port: 10054 }), undefined);
  const slice2 = await api.client.get("discovery.k8s.io/v1/endpointslices", "kube-system", "kube-dns");
  assert.deepEqual(slice2.endpoints[0].addresses, ["192.0.2.11"]);
  const svc2 = await api.client.get("v1/services", "kube-system", "kube-dns");
  assert.equal(svc2.spec.ports[0].targetPort, 10054);
});

test("resolv.conf parsing; the systemd stub is replaced by its upstreams; our service IP is skipped", () => {
  const dir = mkdtempSync(join(tmpdir(), "tug-dns-"));
  try {
    assert.deepEqual(parseResolvConf("# c\nnameserver 1.1.1.1\nsearch x\nnameserver 10.43.0.10\nnameserver 1.1.1.1\n"), ["1.1.1.1", "10.43.0.10"]);
    writeFileSync(join(dir, "a"), "nameserver 127.0.0.53\noptions edns0\n");
    writeFileSync(join(dir, "b"), "nameserver 192.0.2.53\nnameserver 10.43.0.10\n");
    assert.deepEqual(hostUpstreams({ resolvConf: join(dir, "a"), systemdResolvConf: join(dir, "b"), exclude: ["10.43.0.10"] }), [{ host: "192.0.2.53", port: 53 }]);
    assert.deepEqual(hostUpstreams({ resolvConf: join(dir, "missing") }), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the runnable retries a busy port in the background and stops on abort", async () => {
  const blocker = createSocket("udp4");
  await new Promise<void>((r) => blocker.bind(0, "127.0.0.1", () => r()));
  const port = blocker.address().port;
  const logs: string[] = [];
  const stop = new AbortController();
  const run = clusterDNSRunnable({ informers, host: "127.0.0.1", port, upstreams: [], bindRetryMs: 50, log: { info: (m) => logs.push(m), error: (m) => logs.push(m) } }).start(stop.signal);
  await new Promise((r) => setTimeout(r, 120));
  assert.ok(logs.some((l) => l.includes("cannot listen")));
  blocker.close();
  await waitFor(async () => logs.includes("cluster DNS listening"));
  const r = await askUDP(port, query("nope.default.svc.cluster.local", "A"));
  assert.equal(r.rcode, "NXDOMAIN");
  stop.abort();
  await run;
});

test("the wildcard address binds UDP per local address (answers come from the address asked)", async (t) => {
  const { view } = informerClusterView(informers);
  const server = new ClusterDNSServer({ records: new ClusterRecords(view), host: "0.0.0.0", port: 0 });
  const { port } = await server.listen();
  t.after(() => server.close());
  assert.equal((await askUDP(port, query("nope.default.svc.cluster.local", "A"))).rcode, "NXDOMAIN");
  assert.equal((await askTCP(port, query("nope.default.svc.cluster.local", "A"))).rcode, "NXDOMAIN");
});

test("a real resolver (c-ares through node:dns) reads our answers", async (t) => {
  const { Resolver } = await import("node:dns/promises");
  const { view } = informerClusterView(informers);
  informers.start(ac.signal);
  const server = new ClusterDNSServer({ records: new ClusterRecords(view), host: "127.0.0.1", port: 0 });
  const { port } = await server.listen();
  t.after(() => server.close());
  await api.client.create("v1/services", { apiVersion: "v1", kind: "Service", metadata: { name: "cares", namespace: "default" }, spec: { clusterIP: "10.43.0.77", ports: [{ name: "http", port: 80 }] } });
  const r = new Resolver({ timeout: 1000, tries: 1 });
  r.setServers([`127.0.0.1:${port}`]);
  await waitFor(async () => (await r.resolve4("cares.default.svc.cluster.local").catch(() => [])).length === 1);
  assert.deepEqual(await r.resolve4("cares.default.svc.cluster.local"), ["10.43.0.77"]);
  assert.deepEqual(await r.resolveSrv("_http._tcp.cares.default.svc.cluster.local"), [{ name: "cares.default.svc.cluster.local", port: 80, priority: 0, weight: 100 }]);
  assert.deepEqual(await r.reverse("10.43.0.77"), ["cares.default.svc.cluster.local"]);
  await assert.rejects(r.resolve4("missing.default.svc.cluster.local"), (e: NodeJS.ErrnoException) => e.code === "ENOTFOUND");
  await assert.rejects(r.resolve6("cares.default.svc.cluster.local"), (e: NodeJS.ErrnoException) => e.code === "ENODATA");
});
