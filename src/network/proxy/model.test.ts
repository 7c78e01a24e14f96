import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../../apimachinery/types.js";
import { buildServiceTable, endpointsFor, usableEndpoints, type ServiceEndpoint } from "./model.js";

const node = { nodeName: "a", clusterCIDR: "10.42.0.0/16" };

function svc(name: string, spec: Record<string, any>, extra: { status?: any; created?: string; ns?: string } = {}): KObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: extra.ns ?? "default", creationTimestamp: extra.created ?? "2026-01-01T00:00:00Z" },
    spec: { ports: [{ name: "http", port: 80, protocol: "TCP" }], ...spec },
    ...(extra.status ? { status: extra.status } : {}),
  };
}

type Cond = { ready?: boolean; serving?: boolean; terminating?: boolean };
function ep(ip: string, nodeName: string, conditions: Cond = { ready: true, serving: true, terminating: false }) {
  return { addresses: [ip], nodeName, conditions };
}
function slice(service: string, endpoints: any[], ports: any[] = [{ name: "http", port: 8080, protocol: "TCP" }], extra: { ns?: string; addressType?: string; name?: string } = {}): KObject {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: extra.name ?? `${service}-abc`, namespace: extra.ns ?? "default", labels: { "kubernetes.io/service-name": service } },
    addressType: extra.addressType ?? "IPv4",
    ports,
    endpoints,
  } as KObject;
}
const ips = (eps: ServiceEndpoint[]) => eps.map((e) => `${e.ip}:${e.port}`);

test("ClusterIP Service: ready endpoints from its slices, matched by port name", () => {
  const t = buildServiceTable(
    [svc("web", { clusterIP: "10.43.0.5", ports: [{ name: "http", port: 80 }, { name: "metrics", port: 9090 }] })],
    [
      slice("web", [ep("10.42.1.3", "a"), ep("10.42.2.3", "b"), ep("10.42.2.4", "b", { ready: false, serving: false, terminating: false })], [
        { name: "http", port: 8080, protocol: "TCP" },
        { name: "metrics", port: 9100, protocol: "TCP" },
      ]),
      slice("other", [ep("10.42.9.9", "a")]),
    ],
    node,
  );
  assert.equal(t.entries.length, 2);
  const [http, metrics] = t.entries;
  assert.equal(http!.id, "default/web:http/TCP");
  assert.deepEqual(http!.clusterIPs, ["10.43.0.5"]);
  assert.deepEqual(ips(http!.internalEndpoints), ["10.42.1.3:8080", "10.42.2.3:8080"]);
  assert.deepEqual(ips(metrics!.internalEndpoints), ["10.42.1.3:9100", "10.42.2.3:9100"]);
  assert.equal(http!.nodePort, undefined);
  assert.deepEqual(http!.externalAddresses, []);
});

test("ExternalName, headless and unallocated Services are skipped; IPv6 slices ignored", () => {
  const t = buildServiceTable(
    [
      svc("ext", { type: "ExternalName", externalName: "example.com" }),
      svc("headless", { clusterIP: "None" }),
      svc("pending", {}),
      svc("v6", { clusterIP: "10.43.0.9" }),
    ],
    [slice("v6", [{ addresses: ["fd00::1"], conditions: { ready: true } }], undefined, { addressType: "IPv6" }), slice("headless", [ep("10.42.1.3", "a")])],
    node,
  );
  assert.deepEqual(t.entries.map((e) => e.name), ["v6"]);
  assert.deepEqual(t.entries[0]!.internalEndpoints, []);
});

test("terminating fallback: serving+terminating endpoints are used only when none is ready", () => {
  const term = { ready: false, serving: true, terminating: true };
  const gone = { ready: false, serving: false, terminating: true };
  const eps = endpointsFor([slice("w", [ep("10.42.1.2", "a", term), ep("10.42.1.3", "a", gone)])], "http", "TCP");
  assert.deepEqual(ips(usableEndpoints(eps)), ["10.42.1.2:8080"]);
  const withReady = endpointsFor([slice("w", [ep("10.42.1.2", "a", term), ep("10.42.1.4", "b")])], "http", "TCP");
  assert.deepEqual(ips(usableEndpoints(withReady)), ["10.42.1.4:8080"]);
  // Unset conditions mean ready (API semantics: unknown is ready).
  assert.deepEqual(ips(usableEndpoints(endpointsFor([slice("w", [{ addresses: ["10.42.1.7"] }])], "http", "TCP"))), ["10.42.1.7:8080"]);
});

test("endpoints are de-duplicated across slices and protocol must match", () => {
  const slices = [
    slice("w", [ep("10.42.1.2", "a", { ready: false, serving: false })], undefined, { name: "w-1" }),
    slice("w", [ep("10.42.1.2", "a")], undefined, { name: "w-2" }),
    slice("w", [ep("10.42.1.9", "a")], [{ name: "http", port: 8080, protocol: "UDP" }], { name: "w-3" }),
  ];
  const eps = endpointsFor(slices, "http", "TCP");
  assert.equal(eps.length, 1);
  assert.equal(eps[0]!.ready, true);
});

test("NodePort and LoadBalancer: node port and ingress IPs become external addresses", () => {
  const t = buildServiceTable(
    [
      svc("np", { type: "NodePort", clusterIP: "10.43.0.6", ports: [{ name: "http", port: 80, nodePort: 30080 }] }),
      svc("lb", { type: "LoadBalancer", clusterIP: "10.43.0.7", externalIPs: ["192.0.2.9"], ports: [{ name: "http", port: 443, nodePort: 30443 }] }, { status: { loadBalancer: { ingress: [{ ip: "10.99.0.1" }, { hostname: "x" }] } } }),
      svc("cip", { clusterIP: "10.43.0.8", ports: [{ name: "http", port: 80, nodePort: 30099 }], status: {} }),
    ],
    [],
    node,
  );
  const byName = Object.fromEntries(t.entries.map((e) => [e.name, e]));
  assert.equal(byName.np!.nodePort, 30080);
  assert.equal(byName.lb!.nodePort, 30443);
  assert.deepEqual(byName.lb!.externalAddresses, ["10.99.0.1", "192.0.2.9"]);
  assert.equal(byName.cip!.nodePort, undefined, "a ClusterIP Service has no node port");
});

test("traffic policies Local keep only this node's endpoints (with their own fallback)", () => {
  const t = buildServiceTable(
    [
      svc("itp", { clusterIP: "10.43.0.10", internalTrafficPolicy: "Local" }),
      svc("etp", { type: "NodePort", clusterIP: "10.43.0.11", externalTrafficPolicy: "Local", ports: [{ name: "http", port: 80, nodePort: 30111 }] }),
      svc("etp-clusterip", { clusterIP: "10.43.0.12", externalTrafficPolicy: "Local" }),
    ],
    [
      slice("itp", [ep("10.42.1.2", "a"), ep("10.42.2.2", "b")]),
      slice("etp", [ep("10.42.1.3", "a", { ready: false, serving: true, terminating: true }), ep("10.42.2.3", "b")]),
      slice("etp-clusterip", [ep("10.42.2.4", "b")]),
    ],
    node,
  );
  const byName = Object.fromEntries(t.entries.map((e) => [e.name, e]));
  assert.deepEqual(ips(byName.itp!.internalEndpoints), ["10.42.1.2:8080"]);
  assert.deepEqual(ips(byName.itp!.externalEndpoints), ["10.42.1.2:8080", "10.42.2.2:8080"]);
  // Cluster traffic uses the ready remote endpoint; external traffic only the local terminating one.
  assert.deepEqual(ips(byName.etp!.internalEndpoints), ["10.42.2.3:8080"]);
  assert.deepEqual(ips(byName.etp!.externalEndpoints), ["10.42.1.3:8080"]);
  assert.equal(byName.etp!.externalLocal, true);
  assert.equal(byName["etp-clusterip"]!.externalLocal, false, "eTP means nothing without external traffic");
});

test("ClientIP affinity: default and explicit timeouts", () => {
  const t = buildServiceTable(
    [
      svc("a", { clusterIP: "10.43.0.20", sessionAffinity: "ClientIP" }),
      svc("b", { clusterIP: "10.43.0.21", sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }),
      svc("c", { clusterIP: "10.43.0.22", sessionAffinity: "None" }),
    ],
    [],
    node,
  );
  assert.deepEqual(t.entries.map((e) => e.affinityTimeoutSeconds), [10800, 60, undefined]);
});

test("conflicting addresses: the older Service keeps them and the conflict is reported", () => {
  const t = buildServiceTable(
    [
      svc("new", { type: "NodePort", clusterIP: "10.43.0.31", ports: [{ name: "http", port: 80, nodePort: 30500 }] }, { created: "2026-02-01T00:00:00Z" }),
      svc("old", { type: "NodePort", clusterIP: "10.43.0.30", ports: [{ name: "http", port: 80, nodePort: 30500 }] }, { created: "2026-01-01T00:00:00Z" }),
    ],
    [],
    node,
  );
  const byName = Object.fromEntries(t.entries.map((e) => [e.name, e]));
  assert.equal(byName.old!.nodePort, 30500);
  assert.equal(byName.new!.nodePort, undefined);
  assert.deepEqual(t.conflicts, ["nodeport/TCP/30500"]);
});

test("garbage in objects is skipped, not thrown on", () => {
  const t = buildServiceTable(
    [
      { apiVersion: "v1", kind: "Service", metadata: { name: "x", namespace: "default" } } as KObject,
      svc("badports", { clusterIP: "10.43.0.40", ports: [{ port: "eighty" }, { port: 70000 }, { port: 80, protocol: "ICMP" }, null] }),
      svc("badip", { clusterIP: "10.43.0.999" }),
    ],
    [{ apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name: "s", namespace: "default", labels: { "kubernetes.io/service-name": "badports" } }, addressType: "IPv4", endpoints: "nope" } as unknown as KObject],
    node,
  );
  assert.deepEqual(t.entries, []);
});
