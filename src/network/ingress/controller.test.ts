// The ingress controller against a real API (startTestApi) with real backends: local
// HTTP servers. EndpointSlice validation refuses loopback addresses (as upstream does),
// so the backends listen on this host's own non-loopback IPv4 address; traffic to it is
// delivered locally and never leaves the machine. Skipped when the host has none.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, request, type Server, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { X509Certificate } from "node:crypto";
import { networkInterfaces } from "node:os";
import { connect as tlsConnect } from "node:tls";
import { WebSocketServer, WebSocket } from "ws";
import { startTestApi, type TestApi } from "../../apiserver/testing.js";
import { ensurePKI, type PKI } from "../../apiserver/pki.js";
import { SharedInformerFactory } from "../../client/sharedinformers.js";
import { runController } from "../../client/controller.js";
import { MemoryEventRecorder } from "../../client/events.js";
import { IngressController } from "./controller.js";
import { ingressStatusController } from "./status.js";

const hostIP = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === "IPv4" && !a.internal)?.address;
const skip = hostIP ? false : "this host has no non-loopback IPv4 address for backends";

let api: TestApi;
let pki: PKI;
let informers: SharedInformerFactory;
let ingress: IngressController;
let ports: { http: number; https: number };
const ac = new AbortController();
const backends: Server[] = [];
let run: Promise<void>;

interface Seen {
  name: string;
  url: string;
  headers: IncomingHttpHeaders;
}
const seen: Seen[] = [];

async function backend(name: string): Promise<number> {
  const s = createServer((req, res) => {
    seen.push({ name, url: req.url!, headers: req.headers });
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      res.setHeader("x-backend", name);
      res.end(`${name} ${req.method} ${req.url}${body ? " " + body : ""}`);
    });
  });
  await new Promise<void>((r) => s.listen(0, hostIP, () => r()));
  backends.push(s);
  return (s.address() as { port: number }).port;
}

/** A port that nobody listens on (bound, read, closed). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, hostIP, () => r()));
  const p = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

function get(port: number, host: string, path: string, o: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: o.method ?? "GET", headers: { host, ...o.headers }, agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on("error", reject);
    req.end(o.body);
  });
}

async function eventually(fn: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("timed out");
}

const svc = (name: string, ports: any[]) => ({ apiVersion: "v1", kind: "Service", metadata: { name, namespace: "default" }, spec: { ports } });
const slice = (name: string, svcName: string, port: { name?: string; port: number }, ips: [string, boolean?][]) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name, namespace: "default", labels: { "kubernetes.io/service-name": svcName } },
  addressType: "IPv4",
  ports: [{ name: port.name ?? "", port: port.port, protocol: "TCP" }],
  endpoints: ips.map(([ip, ready]) => ({ addresses: [ip], conditions: { ready: ready ?? true } })),
});

before(async () => {
  if (skip) return;
  api = await startTestApi();
  pki = await ensurePKI(api.dir);
  informers = new SharedInformerFactory(api.client);
  ingress = new IngressController({ informers, host: "127.0.0.1", httpPort: 0, httpsPort: 0, defaultCertificate: () => pki.issueServingCert(["ingress.default.invalid"], "tugboat ingress default") });
  informers.start(ac.signal);
  run = ingress.start(ac.signal);
  ports = await ingress.listening();
});

after(async () => {
  if (skip) return;
  ac.abort();
  await run;
  await informers.stopped();
  for (const b of backends) b.close();
  await api.close();
});

test("HTTP routing by host and path, round-robin, X-Forwarded headers, 404 and 503", { skip }, async () => {
  const c = api.client;
  const [a1, a2, b1] = [await backend("a1"), await backend("a2"), await backend("b1")];
  await c.create("v1/services", svc("app-a", [{ name: "web", port: 80, targetPort: "http" }]));
  await c.create("v1/services", svc("app-b", [{ port: 8080 }]));
  // Two slices (one per backend port) make one endpoint set; the named port resolves through "web".
  await c.create("discovery.k8s.io/v1/endpointslices", slice("app-a-1", "app-a", { name: "web", port: a1 }, [[hostIP!]]));
  await c.create("discovery.k8s.io/v1/endpointslices", slice("app-a-2", "app-a", { name: "web", port: a2 }, [[hostIP!]]));
  await c.create("discovery.k8s.io/v1/endpointslices", slice("app-b-1", "app-b", { port: b1 }, [[hostIP!]]));
  await c.create("networking.k8s.io/v1/ingresses", {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "web", namespace: "default" },
    spec: {
      rules: [
        { host: "a.example.test", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "app-a", port: { name: "web" } } } }] } },
        { host: "b.example.test", http: { paths: [{ path: "/api", pathType: "Prefix", backend: { service: { name: "app-b", port: { number: 8080 } } } }] } },
      ],
    },
  });
  await eventually(async () => (await get(ports.http, "a.example.test", "/")).status === 200);

  const names = new Set<string>();
  for (let i = 0; i < 6; i++) names.add((await get(ports.http, "a.example.test", "/x?y=1")).headers["x-backend"] as string);
  assert.deepEqual([...names].sort(), ["a1", "a2"]);

  seen.length = 0;
  const r = await get(ports.http, "b.example.test:8000", "/api/items", { method: "POST", body: "hello", headers: { "x-forwarded-for": "203.0.113.9", connection: "keep-alive, x-secret", "x-secret": "drop me" } });
  assert.equal(r.status, 200);
  assert.equal(r.body, "b1 POST /api/items hello");
  const h = seen[0]!.headers;
  assert.equal(h.host, "b.example.test:8000");
  assert.equal(h["x-forwarded-for"], "203.0.113.9, 127.0.0.1");
  assert.equal(h["x-forwarded-proto"], "http");
  assert.equal(h["x-forwarded-host"], "b.example.test:8000");
  assert.equal(h["x-real-ip"], "127.0.0.1");
  assert.equal(h["x-secret"], undefined);

  assert.equal((await get(ports.http, "b.example.test", "/other")).status, 404);
  assert.equal((await get(ports.http, "nobody.example.test", "/")).status, 404);

  // Scale to zero: the slice empties (the controller keeps one empty slice) → 503 at once.
  await c.delete("discovery.k8s.io/v1/endpointslices", "default", "app-b-1");
  await c.create("discovery.k8s.io/v1/endpointslices", { ...slice("app-b-1", "app-b", { port: b1 }, []), endpoints: [] });
  await eventually(async () => (await get(ports.http, "b.example.test", "/api")).status === 503);
  // Not-ready endpoints do not count either.
  const cur = await c.get("discovery.k8s.io/v1/endpointslices", "default", "app-b-1");
  await c.update("discovery.k8s.io/v1/endpointslices", { ...cur, endpoints: [{ addresses: [hostIP!], conditions: { ready: false } }] });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal((await get(ports.http, "b.example.test", "/api")).status, 503);
  const cur2 = await c.get("discovery.k8s.io/v1/endpointslices", "default", "app-b-1");
  await c.update("discovery.k8s.io/v1/endpointslices", { ...cur2, endpoints: [{ addresses: [hostIP!], conditions: { ready: true } }] });
  await eventually(async () => (await get(ports.http, "b.example.test", "/api")).status === 200);
});

test("a refused connection is retried on another endpoint", { skip }, async () => {
  const c = api.client;
  const [live, dead] = [await backend("live"), await deadPort()];
  await c.create("v1/services", svc("flaky", [{ port: 80 }]));
  await c.create("discovery.k8s.io/v1/endpointslices", slice("flaky-dead", "flaky", { port: dead }, [[hostIP!]]));
  await c.create("discovery.k8s.io/v1/endpointslices", slice("flaky-live", "flaky", { port: live }, [[hostIP!]]));
  await c.create("networking.k8s.io/v1/ingresses", {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "flaky", namespace: "default" },
    spec: { ingressClassName: "tugboat", rules: [{ host: "flaky.example.test", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "flaky", port: { number: 80 } } } }] } }] },
  });
  await eventually(async () => (await get(ports.http, "flaky.example.test", "/")).status === 200);
  for (let i = 0; i < 6; i++) {
    const r = await get(ports.http, "flaky.example.test", "/", { method: "POST", body: `n${i}` });
    assert.equal(r.status, 200);
    assert.equal(r.body, `live POST / n${i}`);
  }
  // Another class is not ours.
  await c.create("networking.k8s.io/v1/ingressclasses", { apiVersion: "networking.k8s.io/v1", kind: "IngressClass", metadata: { name: "other" }, spec: { controller: "example.com/other" } });
  await c.create("networking.k8s.io/v1/ingresses", {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "not-ours", namespace: "default" },
    spec: { ingressClassName: "other", rules: [{ host: "other.example.test", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "flaky", port: { number: 80 } } } }] } }] },
  });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal((await get(ports.http, "other.example.test", "/")).status, 404);
});

function tlsCert(port: number, servername: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: "127.0.0.1", port, servername, rejectUnauthorized: false }, () => {
      const pc = s.getPeerX509Certificate();
      s.destroy();
      if (!pc) reject(new Error("no certificate"));
      else resolve(pc);
    });
    s.on("error", reject);
  });
}

test("HTTPS: certificates from TLS secrets by SNI, the default certificate otherwise", { skip }, async () => {
  const c = api.client;
  const port = await backend("secure");
  const cert = await pki.issueServingCert(["secure.example.test"], "secure");
  await c.create("v1/secrets", { apiVersion: "v1", kind: "Secret", metadata: { name: "secure-tls", namespace: "default" }, type: "kubernetes.io/tls", data: { "tls.crt": Buffer.from(cert.certPem).toString("base64"), "tls.key": Buffer.from(cert.keyPem).toString("base64") } });
  await c.create("v1/services", svc("secure", [{ port: 443 }]));
  await c.create("discovery.k8s.io/v1/endpointslices", slice("secure-1", "secure", { port }, [[hostIP!]]));
  await c.create("networking.k8s.io/v1/ingresses", {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "secure", namespace: "default" },
    spec: {
      tls: [{ hosts: ["secure.example.test"], secretName: "secure-tls" }],
      rules: [{ host: "secure.example.test", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "secure", port: { number: 443 } } } }] } }],
    },
  });
  await eventually(async () => (await tlsCert(ports.https, "secure.example.test")).checkHost("secure.example.test") !== undefined);
  const other = await tlsCert(ports.https, "elsewhere.example.test");
  assert.equal(other.checkHost("secure.example.test"), undefined);
  assert.ok(other.subject.includes("tugboat ingress default"));

  // A verified request with the cluster CA, proxied with X-Forwarded-Proto https.
  seen.length = 0;
  const body = await new Promise<string>((resolve, reject) => {
    const req = httpsRequest({ host: "127.0.0.1", port: ports.https, servername: "secure.example.test", path: "/hello", headers: { host: "secure.example.test" }, ca: pki.ca.certPem, agent: false }, (res) => {
      let b = "";
      res.on("data", (d) => (b += d));
      res.on("end", () => resolve(b));
    });
    req.on("error", reject);
    req.end();
  });
  assert.equal(body, "secure GET /hello");
  assert.equal(seen[0]!.headers["x-forwarded-proto"], "https");
});

test("WebSockets through the proxy", { skip }, async () => {
  const c = api.client;
  const wss = new WebSocketServer({ host: hostIP, port: 0 });
  await new Promise<void>((r) => wss.on("listening", () => r()));
  wss.on("connection", (ws, req) => {
    ws.send(`hello ${req.headers["x-forwarded-for"]}`);
    ws.on("message", (m) => ws.send(`echo ${m}`));
  });
  try {
    await c.create("v1/services", svc("ws", [{ port: 80 }]));
    await c.create("discovery.k8s.io/v1/endpointslices", slice("ws-1", "ws", { port: (wss.address() as { port: number }).port }, [[hostIP!]]));
    await c.create("networking.k8s.io/v1/ingresses", {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name: "ws", namespace: "default" },
      spec: { rules: [{ host: "ws.example.test", http: { paths: [{ path: "/socket", pathType: "Exact", backend: { service: { name: "ws", port: { number: 80 } } } }] } }] },
    });
    await eventually(async () => (await get(ports.http, "ws.example.test", "/socket")).status !== 404);
    const ws = new WebSocket(`ws://127.0.0.1:${ports.http}/socket`, { headers: { host: "ws.example.test" } });
    const msgs: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on("error", reject);
      ws.on("message", (m) => {
        msgs.push(String(m));
        if (msgs.length === 1) ws.send("ping");
        if (msgs.length === 2) resolve();
      });
    });
    ws.close();
    assert.deepEqual(msgs, ["hello 127.0.0.1", "echo ping"]);
  } finally {
    wss.close();
  }
});

test("status.loadBalancer.ingress is the advertise address", { skip }, async () => {
  const stop = new AbortController();
  const done = runController(ingressStatusController({ address: "192.0.2.44" }), { client: api.client, informers, recorder: new MemoryEventRecorder() }, stop.signal);
  try {
    await eventually(async () => (await api.client.get("networking.k8s.io/v1/ingresses", "default", "web")).status?.loadBalancer?.ingress?.[0]?.ip === "192.0.2.44");
    // Not ours: left alone.
    const other = await api.client.get("networking.k8s.io/v1/ingresses", "default", "not-ours").catch(() => undefined);
    if (other) assert.equal(other.status?.loadBalancer?.ingress, undefined);
  } finally {
    stop.abort();
    await done;
  }
});
