import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../../apimachinery/types.js";
import { staticClusterView } from "./clusterview.js";
import { ClusterRecords } from "./records.js";

const svc = (ns: string, name: string, spec: Record<string, any>): KObject => ({ apiVersion: "v1", kind: "Service", metadata: { namespace: ns, name }, spec });
const slice = (ns: string, svcName: string, name: string, endpoints: any[], ports: any[] = []): KObject => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { namespace: ns, name, labels: { "kubernetes.io/service-name": svcName } },
  addressType: "IPv4",
  endpoints,
  ports,
});
const ep = (ip: string, ready: boolean | undefined, hostname?: string) => ({ addresses: [ip], conditions: ready === undefined ? {} : { ready }, ...(hostname ? { hostname } : {}) });

const view = staticClusterView({
  services: [
    svc("default", "web", { type: "ClusterIP", clusterIP: "10.43.0.20", clusterIPs: ["10.43.0.20"], ports: [{ name: "http", port: 80, protocol: "TCP" }, { port: 9000 }] }),
    svc("default", "db", { clusterIP: "None", ports: [{ name: "pg", port: 5432, protocol: "TCP" }] }),
    svc("default", "all", { clusterIP: "None", publishNotReadyAddresses: true }),
    svc("default", "ext", { type: "ExternalName", externalName: "example.org" }),
    svc("default", "alias", { type: "ExternalName", externalName: "web.default.svc.cluster.local" }),
    svc("other", "web", { clusterIP: "10.43.0.21", ports: [{ name: "dns", port: 53, protocol: "UDP" }] }),
  ],
  slices: [
    slice("default", "db", "db-a", [ep("10.42.1.5", true, "db-0"), ep("10.42.1.6", true, "db-1"), ep("10.42.1.7", false, "db-2")], [{ name: "pg", port: 5432, protocol: "TCP" }]),
    slice("default", "db", "db-b", [ep("10.42.2.9", undefined)], [{ name: "pg", port: 5432, protocol: "TCP" }]),
    slice("default", "all", "all-a", [ep("10.42.1.8", false)]),
  ],
  pods: [{ metadata: { namespace: "default", name: "p" }, status: { phase: "Running", podIP: "10.42.3.4" } }],
});
const r = new ClusterRecords(view);
const data = (res: ReturnType<ClusterRecords["resolve"]>) => res?.answers.map((a) => (typeof a.data === "string" ? `${a.type} ${a.data}` : `${a.type} ${a.data.port} ${a.data.target}`));

test("A for a ClusterIP service, case-insensitive, AAAA empty", () => {
  assert.deepEqual(data(r.resolve("web.default.svc.cluster.local", "A")), ["A 10.43.0.20"]);
  assert.deepEqual(data(r.resolve("WEB.Default.svc.cluster.local.", "A")), ["A 10.43.0.20"]);
  const aaaa = r.resolve("web.default.svc.cluster.local", "AAAA")!;
  assert.equal(aaaa.rcode, "NOERROR");
  assert.equal(aaaa.answers.length, 0);
  assert.equal(aaaa.authorities[0]!.type, "SOA");
});

test("headless service: ready endpoints only (nil ready counts as ready); publishNotReadyAddresses publishes all", () => {
  assert.deepEqual(data(r.resolve("db.default.svc.cluster.local", "A")), ["A 10.42.1.5", "A 10.42.1.6", "A 10.42.2.9"]);
  assert.deepEqual(data(r.resolve("all.default.svc.cluster.local", "A")), ["A 10.42.1.8"]);
});

test("endpoint hostnames and dashed IPs under a headless service", () => {
  assert.deepEqual(data(r.resolve("db-1.db.default.svc.cluster.local", "A")), ["A 10.42.1.6"]);
  assert.deepEqual(data(r.resolve("10-42-2-9.db.default.svc.cluster.local", "A")), ["A 10.42.2.9"]);
  // Not ready: not published.
  assert.equal(r.resolve("db-2.db.default.svc.cluster.local", "A")!.rcode, "NXDOMAIN");
});

test("ExternalName is a CNAME; an in-zone target is followed", () => {
  const ext = r.resolve("ext.default.svc.cluster.local", "A")!;
  assert.deepEqual(data(ext), ["CNAME example.org"]);
  assert.equal(ext.externalTarget, "example.org");
  assert.deepEqual(data(r.resolve("alias.default.svc.cluster.local", "A")), ["CNAME web.default.svc.cluster.local", "A 10.43.0.20"]);
});

test("SRV for named ports: the service for a ClusterIP, each endpoint for headless", () => {
  const s = r.resolve("_http._tcp.web.default.svc.cluster.local", "SRV")!;
  assert.deepEqual(data(s), ["SRV 80 web.default.svc.cluster.local"]);
  assert.deepEqual(s.additionals.map((a) => a.data), ["10.43.0.20"]);
  assert.deepEqual(data(r.resolve("_pg._tcp.db.default.svc.cluster.local", "SRV")), [
    "SRV 5432 db-0.db.default.svc.cluster.local",
    "SRV 5432 db-1.db.default.svc.cluster.local",
    "SRV 5432 10-42-2-9.db.default.svc.cluster.local",
  ]);
  assert.deepEqual(data(r.resolve("_dns._udp.web.other.svc.cluster.local", "SRV")), ["SRV 53 web.other.svc.cluster.local"]);
  assert.equal(r.resolve("_dns._tcp.web.other.svc.cluster.local", "SRV")!.rcode, "NXDOMAIN");
  assert.equal(r.resolve("_nope._tcp.web.default.svc.cluster.local", "SRV")!.rcode, "NXDOMAIN");
});

test("NXDOMAIN for unknown cluster names; undefined (forward) outside the zone", () => {
  for (const n of ["nope.default.svc.cluster.local", "web.nons.svc.cluster.local", "x.web.default.svc.cluster.local", "foo.cluster.local", "a.b.c.web.default.svc.cluster.local"]) {
    const res = r.resolve(n, "A")!;
    assert.equal(res.rcode, "NXDOMAIN", n);
    assert.equal(res.authorities[0]!.type, "SOA");
  }
  assert.equal(r.resolve("default.svc.cluster.local", "A")!.rcode, "NOERROR");
  assert.equal(r.resolve("example.org", "A"), undefined);
  assert.equal(r.resolve("cluster.local.example.org", "A"), undefined);
});

test("pod A records (verified) and PTR for service, endpoint and pod IPs", () => {
  assert.deepEqual(data(r.resolve("10-42-3-4.default.pod.cluster.local", "A")), ["A 10.42.3.4"]);
  assert.equal(r.resolve("10-42-3-4.other.pod.cluster.local", "A")!.rcode, "NXDOMAIN");
  assert.deepEqual(data(r.resolve("20.0.43.10.in-addr.arpa", "PTR")), ["PTR web.default.svc.cluster.local"]);
  assert.deepEqual(data(r.resolve("6.1.42.10.in-addr.arpa", "PTR")), ["PTR db-1.db.default.svc.cluster.local"]);
  assert.deepEqual(data(r.resolve("4.3.42.10.in-addr.arpa", "PTR")), ["PTR 10-42-3-4.default.pod.cluster.local"]);
  assert.equal(r.resolve("99.99.42.10.in-addr.arpa", "PTR")!.rcode, "NXDOMAIN");
  assert.equal(r.resolve("1.1.168.192.in-addr.arpa", "PTR"), undefined);
});

test("another cluster domain", () => {
  const r2 = new ClusterRecords(view, { domain: "corp.internal" });
  assert.deepEqual(data(r2.resolve("web.default.svc.corp.internal", "A")), ["A 10.43.0.20"]);
  assert.equal(r2.resolve("web.default.svc.cluster.local", "A"), undefined);
});
