// Sandbox configuration (sandboxconfig.ts): resolv.conf parsing, every dnsPolicy with
// dnsConfig merging, hostname/subdomain and the managed hosts file, hostPort mappings,
// sysctls and the pod security context, with plain Pod objects.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../../apimachinery/types.js";
import { parseResolvConf, podDNSConfig, podHostname, podHostsFile, podSandboxConfig, portMappings } from "./sandboxconfig.js";

const host = parseResolvConf("# comment\nnameserver 10.255.255.53\nnameserver 1.1.1.1\nsearch corp.example lab.example\noptions edns0 timeout:2\n");
const dns = { clusterDNS: ["10.43.0.10"], clusterDomain: "cluster.local", host };
const pod = (spec: any = {}, name = "web"): KObject => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "shop", uid: "u1" }, spec: { containers: [], ...spec } });

test("resolv.conf parsing", () => {
  assert.deepEqual(host, { servers: ["10.255.255.53", "1.1.1.1"], searches: ["corp.example", "lab.example"], options: ["edns0", "timeout:2"] });
});

test("dnsPolicy ClusterFirst (default): cluster DNS, namespace search path, ndots:5", () => {
  assert.deepEqual(podDNSConfig(pod(), dns), {
    servers: ["10.43.0.10"],
    searches: ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example", "lab.example"],
    options: ["ndots:5"],
  });
});

test("host network: ClusterFirst falls back to Default, ClusterFirstWithHostNet keeps cluster DNS", () => {
  assert.deepEqual(podDNSConfig(pod({ hostNetwork: true }), dns), host);
  assert.deepEqual(podDNSConfig(pod({ hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet" }), dns).servers, ["10.43.0.10"]);
  assert.deepEqual(podDNSConfig(pod({ dnsPolicy: "Default" }), dns), host);
});

test("dnsPolicy None with dnsConfig; dnsConfig merges into other policies", () => {
  const none = podDNSConfig(pod({ dnsPolicy: "None", dnsConfig: { nameservers: ["9.9.9.9"], searches: ["a.example"], options: [{ name: "ndots", value: "2" }, { name: "edns0" }] } }), dns);
  assert.deepEqual(none, { servers: ["9.9.9.9"], searches: ["a.example"], options: ["ndots:2", "edns0"] });
  const merged = podDNSConfig(pod({ dnsConfig: { nameservers: ["10.43.0.10", "8.8.8.8", "7.7.7.7", "6.6.6.6"], options: [{ name: "ndots", value: "1" }] } }), dns);
  assert.deepEqual(merged.servers, ["10.43.0.10", "8.8.8.8", "7.7.7.7"], "deduplicated, at most 3");
  assert.deepEqual(merged.options, ["ndots:1"]);
  assert.deepEqual(podDNSConfig(pod(), { ...dns, clusterDNS: [] }), host, "no cluster DNS configured: Default");
});

test("hostname, subdomain and the managed hosts file", () => {
  assert.equal(podHostname(pod({ hostname: "db-0" })), "db-0");
  assert.equal(podHostname(pod({}, "x".repeat(62) + "-abc")), "x".repeat(62));
  const hosts = podHostsFile(pod({ hostname: "db-0", subdomain: "db", hostAliases: [{ ip: "10.1.2.3", hostnames: ["foo.local", "bar.local"] }] }), ["10.42.1.5"], "cluster.local");
  assert.match(hosts, /^# Kubernetes-managed hosts file\.\n127\.0\.0\.1\tlocalhost\n/);
  assert.match(hosts, /\n10\.42\.1\.5\tdb-0\.db\.shop\.svc\.cluster\.local\tdb-0\n/);
  assert.match(hosts, /# Entries added by HostAliases\.\n10\.1\.2\.3\tfoo\.local\tbar\.local\n$/);
});

test("sandbox config: ports, sysctls, security, host namespaces", () => {
  const p = pod({
    hostNetwork: true,
    securityContext: { runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000, supplementalGroups: [4000], sysctls: [{ name: "net.core.somaxconn", value: "1024" }] },
    containers: [{ name: "a", ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 81 }, { containerPort: 53, hostPort: 53, protocol: "UDP" }] }],
  });
  assert.deepEqual(portMappings(p), [
    { protocol: "TCP", containerPort: 80, hostPort: 8080 },
    { protocol: "UDP", containerPort: 53, hostPort: 53 },
  ]);
  const cfg = podSandboxConfig(p, { dataDir: "/d", attempt: 2, dns });
  assert.equal(cfg.hostname, undefined, "host network keeps the node hostname");
  assert.equal(cfg.hostNetwork, true);
  assert.equal(cfg.metadata.attempt, 2);
  assert.equal(cfg.logDirectory, "/d/pods/shop_web_u1");
  assert.deepEqual(cfg.sysctls, { "net.core.somaxconn": "1024" });
  assert.deepEqual(cfg.supplementalGroups, [4000, 2000]);
  assert.equal(cfg.runAsUser, 1000);
  assert.equal(cfg.runAsGroup, 3000);
  assert.equal(podSandboxConfig(pod(), { dataDir: "/d", attempt: 0, dns }).hostname, "web");
});
