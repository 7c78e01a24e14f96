import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestApi } from "./testing.js";
import { CLUSTER_CONFIG_NAME, CLUSTER_CONFIG_NAMESPACE, DEFAULT_CLUSTER_NETWORK, clusterNetworkFromData, publishClusterConfig, readClusterNetwork } from "./clusterconfig.js";
import type { KObject } from "../apimachinery/types.js";
import { createHttpClient } from "../client/http.js";

const net = { serviceCIDR: "10.45.0.0/16", clusterCIDR: "10.47.0.0/16", clusterDNS: "10.45.0.10", clusterDomain: "example.local", serviceNodePortRange: "31000-31010" };

test("published settings are what agents read; a changed flag rewrites them, an unchanged one writes nothing", async () => {
  const api = await startTestApi();
  try {
    await publishClusterConfig(api.registry, net);
    assert.deepEqual(await readClusterNetwork(api.client), net);
    const rv = (await api.client.get("v1/configmaps", CLUSTER_CONFIG_NAMESPACE, CLUSTER_CONFIG_NAME)).metadata.resourceVersion;
    await publishClusterConfig(api.registry, net);
    assert.equal((await api.client.get("v1/configmaps", CLUSTER_CONFIG_NAMESPACE, CLUSTER_CONFIG_NAME)).metadata.resourceVersion, rv);
    await publishClusterConfig(api.registry, { ...net, clusterCIDR: "10.48.0.0/16" });
    assert.equal((await readClusterNetwork(api.client))?.clusterCIDR, "10.48.0.0/16");
  } finally {
    await api.close();
  }
});

test("without the ConfigMap (an older server): the kube-dns Service's address and the defaults", async () => {
  const api = await startTestApi();
  try {
    assert.deepEqual(await readClusterNetwork(api.client), DEFAULT_CLUSTER_NETWORK);
    await api.client.create("v1/services", { apiVersion: "v1", kind: "Service", metadata: { name: "kube-dns", namespace: "kube-system" }, spec: { clusterIP: "10.43.0.53", ports: [{ port: 53, protocol: "UDP" }] } } as KObject);
    assert.deepEqual(await readClusterNetwork(api.client), { ...DEFAULT_CLUSTER_NETWORK, clusterDNS: "10.43.0.53" });
  } finally {
    await api.close();
  }
});

test("malformed values are ignored, not trusted", () => {
  assert.deepEqual(clusterNetworkFromData({ "service-cidr": "10.45.0.0", "cluster-cidr": "10.47.0.0/16", "cluster-dns": "not-an-ip", "cluster-domain": "", "service-node-port-range": "x" }), { clusterCIDR: "10.47.0.0/16" });
  assert.deepEqual(clusterNetworkFromData(undefined), {});
});

test("an unreachable server is retried until the signal aborts", async () => {
  // Port 1 on loopback refuses connections: a server that is not up yet.
  const client = createHttpClient({ server: "https://127.0.0.1:1", token: "t" });
  const ac = new AbortController();
  const errors: string[] = [];
  setTimeout(() => ac.abort(), 300);
  const got = await readClusterNetwork(client, { signal: ac.signal, retryMs: 20, log: { info() {}, error: (m: string) => void errors.push(m) } });
  assert.equal(got, undefined);
  assert.equal(errors.length, 1, "one warning, not one per attempt");
});
