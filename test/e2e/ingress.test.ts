// End-to-end: `tug server` with its built-in ingress controller and cluster DNS on high
// ports on 127.0.0.1, driven with kubectl, curl and DNS queries. Backends are local HTTP
// servers behind selector-less Services with hand-made EndpointSlices
// (https://kubernetes.io/docs/concepts/services-networking/service/#services-without-selectors).
// EndpointSlices may not hold loopback addresses, so the backends listen on this host's
// own non-loopback IPv4 address (locally delivered; nothing leaves the machine).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createSocket } from "node:dgram";
import { createServer, type Server } from "node:http";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import dnsPacket from "dns-packet";
import { stringify } from "yaml";
import { eventually, freePort, missingKubectl, show, startTug, type Tug } from "./harness.js";

const run = promisify(execFile);
const hostIP = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === "IPv4" && !a.internal)?.address;
const skip = missingKubectl() || (hostIP ? false : "no non-loopback IPv4 address for backends");

let tug: Tug;
let ports: { http: number; https: number; dns: number };
let tmp: string;
const backends: Server[] = [];

async function backend(name: string): Promise<number> {
  const s = createServer((req, res) => res.end(`${name} ${req.url} proto=${req.headers["x-forwarded-proto"]}\n`));
  await new Promise<void>((r) => s.listen(0, hostIP, () => r()));
  backends.push(s);
  return (s.address() as { port: number }).port;
}

async function curl(args: string[]): Promise<{ code: number; body: string }> {
  try {
    const r = await run("curl", ["-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "5", ...args]);
    const i = r.stdout.lastIndexOf("\n");
    return { code: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i) };
  } catch (e) {
    return { code: -1, body: String((e as Error).message) };
  }
}

function dnsQuery(port: number, name: string, type: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    const t = setTimeout(() => (s.close(), reject(new Error("DNS timeout"))), 3000);
    s.on("message", (m) => {
      clearTimeout(t);
      s.close();
      resolve(dnsPacket.decode(m));
    });
    s.send(dnsPacket.encode({ type: "query", id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: type as any, name }] }), port, "127.0.0.1");
  });
}

before(async () => {
  if (skip) return;
  ports = { http: await freePort(), https: await freePort(), dns: await freePort() };
  tmp = mkdtempSync(join(tmpdir(), "tug-e2e-ingress-"));
  tug = await startTug({
    args: ["--advertise-address", hostIP!, "--ingress-bind", "127.0.0.1", "--ingress-http-port", String(ports.http), "--ingress-https-port", String(ports.https), "--cluster-dns-bind", "127.0.0.1", "--cluster-dns-port", String(ports.dns)],
  });
});

after(async () => {
  if (skip) return;
  for (const b of backends) b.close();
  await tug?.cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

test("Ingress with two hosts (one TLS) routes curl requests; scale to zero answers 503", { skip }, async () => {
  const [web, api] = [await backend("web"), await backend("api")];
  await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=api.example.test", "-addext", "subjectAltName=DNS:api.example.test", "-keyout", join(tmp, "tls.key"), "-out", join(tmp, "tls.crt")]);
  const r0 = await tug.kubectl(["create", "secret", "tls", "api-tls", "--cert", join(tmp, "tls.crt"), "--key", join(tmp, "tls.key")]);
  assert.equal(r0.code, 0, show(r0));
  const slice = (name: string, svc: string, port: number, ips: string[]) => ({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name, labels: { "kubernetes.io/service-name": svc } },
    addressType: "IPv4",
    ports: [{ name: "http", port, protocol: "TCP" }],
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
  });
  const docs = [
    { apiVersion: "v1", kind: "Service", metadata: { name: "web" }, spec: { ports: [{ name: "http", port: 80 }] } },
    { apiVersion: "v1", kind: "Service", metadata: { name: "api" }, spec: { ports: [{ name: "http", port: 8080 }] } },
    slice("web-1", "web", web, [hostIP!]),
    slice("api-1", "api", api, [hostIP!]),
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name: "two-hosts" },
      spec: {
        tls: [{ hosts: ["api.example.test"], secretName: "api-tls" }],
        rules: [
          { host: "web.example.test", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { number: 80 } } } }] } },
          { host: "api.example.test", http: { paths: [{ path: "/v1", pathType: "Prefix", backend: { service: { name: "api", port: { name: "http" } } } }] } },
        ],
      },
    },
  ];
  const r1 = await tug.kubectl(["apply", "-f", "-"], { stdin: docs.map((d) => stringify(d)).join("---\n") });
  assert.equal(r1.code, 0, show(r1));

  const webURL = ["--resolve", `web.example.test:${ports.http}:127.0.0.1`, `http://web.example.test:${ports.http}/hello`];
  await eventually(async () => (await curl(webURL)).code === 200, 10_000, 100, "web through the ingress");
  assert.equal((await curl(webURL)).body.trim(), "web /hello proto=http");

  const apiURL = ["--cacert", join(tmp, "tls.crt"), "--resolve", `api.example.test:${ports.https}:127.0.0.1`, `https://api.example.test:${ports.https}/v1/items`];
  await eventually(async () => (await curl(apiURL)).code === 200, 10_000, 100, "api over TLS (certificate verified)");
  assert.equal((await curl(apiURL)).body.trim(), "api /v1/items proto=https");
  // No rule for this path / host.
  assert.equal((await curl(["--resolve", `api.example.test:${ports.http}:127.0.0.1`, `http://api.example.test:${ports.http}/other`])).code, 404);
  assert.equal((await curl(["--resolve", `nope.example.test:${ports.http}:127.0.0.1`, `http://nope.example.test:${ports.http}/`])).code, 404);

  // ADDRESS column: the advertise address.
  await eventually(async () => {
    const r = await tug.kubectl(["get", "ingress", "two-hosts", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}"]);
    return r.stdout === hostIP;
  }, 10_000, 100, "ingress status");

  // Scale to zero: the slice empties and the ingress answers 503 at once.
  const t0 = Date.now();
  const r2 = await tug.kubectl(["apply", "-f", "-"], { stdin: JSON.stringify({ ...slice("web-1", "web", web, []), endpoints: [] }) });
  assert.equal(r2.code, 0, show(r2));
  await eventually(async () => (await curl(webURL)).code === 503, 5_000, 20, "503 after scale to zero");
  console.log(`# 503 after the slice emptied: ${Date.now() - t0} ms (including kubectl)`);
});

test("cluster DNS answers for Services and the kube-dns Service points at it", { skip }, async () => {
  const svc = await tug.kubectl(["get", "service", "-n", "kube-system", "kube-dns", "-o", "json"]);
  assert.equal(svc.code, 0, show(svc));
  const s = JSON.parse(svc.stdout);
  assert.equal(s.spec.clusterIP, "10.43.0.10");
  assert.deepEqual(s.spec.ports.map((p: any) => `${p.name}:${p.port}/${p.protocol}->${p.targetPort}`), [`dns:53/UDP->${ports.dns}`, `dns-tcp:53/TCP->${ports.dns}`]);
  const slice = JSON.parse((await tug.kubectl(["get", "endpointslice", "-n", "kube-system", "kube-dns", "-o", "json"])).stdout);
  assert.deepEqual(slice.endpoints[0].addresses, [hostIP]);
  const k8s = JSON.parse((await tug.kubectl(["get", "endpoints", "kubernetes", "-o", "json"])).stdout);
  assert.equal(k8s.subsets[0].addresses[0].ip, hostIP);

  const web = JSON.parse((await tug.kubectl(["get", "service", "web", "-o", "json"])).stdout);
  await eventually(async () => (await dnsQuery(ports.dns, "web.default.svc.cluster.local", "A")).answers?.[0]?.data === web.spec.clusterIP, 10_000, 100, "A record");
  const k = await dnsQuery(ports.dns, "kubernetes.default.svc.cluster.local", "A");
  assert.equal(k.answers?.[0]?.data, "10.43.0.1", JSON.stringify(k));
  const nx = await dnsQuery(ports.dns, "missing.default.svc.cluster.local", "A");
  assert.equal(nx.rcode, "NXDOMAIN");
  const srv = await dnsQuery(ports.dns, "_http._tcp.api.default.svc.cluster.local", "SRV");
  assert.equal(srv.answers[0].data.port, 8080);
});
