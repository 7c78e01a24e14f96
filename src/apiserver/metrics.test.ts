import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ApiServer } from "./server.js";
import { ensurePKI } from "./pki.js";
import { startTestApi, type TestApi } from "./testing.js";
import { CompositeMetricsSource, metricsDiscoveryGroup, metricsHandler, type MetricsSource } from "./metrics.js";

const run = promisify(execFile);
const ts = "2026-01-01T00:00:00Z";

const agentSource: MetricsSource = {
  podMetrics: () => [
    { namespace: "default", name: "web-1", timestamp: ts, window: "30s", containers: [{ name: "app", usage: { cpu: "250000000n", memory: "65536Ki" } }] },
    { namespace: "kube-system", name: "dns", timestamp: ts, window: "30s", containers: [{ name: "dns", usage: { cpu: "5000000n", memory: "10240Ki" } }, { name: "side", usage: { cpu: "5000000n", memory: "10240Ki" } }] },
  ],
  nodeMetrics: () => [{ name: "n1", timestamp: ts, window: "30s", usage: { cpu: "500m", memory: "1Gi" } }],
};
// A stale duplicate of web-1 from another source: the newer sample must win.
const staleSource: MetricsSource = {
  podMetrics: () => [{ namespace: "default", name: "web-1", timestamp: "2025-01-01T00:00:00Z", window: "30s", containers: [{ name: "app", usage: { cpu: "1", memory: "1Ki" } }] }],
  nodeMetrics: () => [{ name: "n2", timestamp: ts, window: "30s", usage: { cpu: "1", memory: "2Gi" } }],
};

describe("metrics.k8s.io", () => {
  let api: TestApi;
  let srv: ApiServer;
  let dir: string;
  let home: string;
  const kubectl = (...args: string[]) => run("kubectl", ["--kubeconfig", join(dir, "kubeconfig.yaml"), ...args], { env: { ...process.env, HOME: home, KUBECONFIG: "" }, timeout: 30_000 });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "tug-metrics-"));
    home = mkdtempSync(join(tmpdir(), "tug-metrics-home-"));
    api = await startTestApi();
    const pki = await ensurePKI(dir);
    const source = new CompositeMetricsSource([staleSource]);
    source.add(agentSource);
    srv = new ApiServer({ registry: api.registry, pki, host: "127.0.0.1", port: 0, extraHandlers: [metricsHandler(source, api.registry)], extraDiscovery: [metricsDiscoveryGroup()] });
    await srv.listen();
    // The kubeconfig must name the port actually bound.
    await ensurePKI(dir, { server: `https://127.0.0.1:${srv.port}` });
    const nodes = api.registry.def("v1/nodes");
    for (const [name, cpu, mem] of [["n1", "2", "4Gi"], ["n2", "4", "8Gi"]] as const) {
      await api.registry.create(nodes, undefined, { apiVersion: "v1", kind: "Node", metadata: { name, labels: { zone: name === "n1" ? "a" : "b" } } });
      const cur = await api.registry.get(nodes, undefined, name);
      await api.registry.update(nodes, undefined, name, { ...cur, status: { capacity: { cpu, memory: mem }, allocatable: { cpu, memory: mem } } }, { subresource: "status" });
    }
    const pods = api.registry.def("v1/pods");
    await api.registry.create(pods, "default", { apiVersion: "v1", kind: "Pod", metadata: { name: "web-1", namespace: "default", labels: { app: "web" } }, spec: { containers: [{ name: "app", image: "nginx" }] } });
  });

  after(async () => {
    await srv.close();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  it("kubectl top pods -A lists every pod's summed usage", async () => {
    const { stdout } = await kubectl("top", "pods", "-A");
    const rows = stdout.trim().split("\n").map((l) => l.trim().split(/\s+/));
    assert.deepEqual(rows[0], ["NAMESPACE", "NAME", "CPU(cores)", "MEMORY(bytes)"]);
    assert.deepEqual(rows.slice(1), [
      ["default", "web-1", "250m", "64Mi"],
      ["kube-system", "dns", "10m", "20Mi"],
    ]);
  });

  it("kubectl top pods filters by label and shows containers", async () => {
    const { stdout } = await kubectl("top", "pods", "-n", "default", "-l", "app=web", "--containers");
    const rows = stdout.trim().split("\n").map((l) => l.trim().split(/\s+/));
    assert.deepEqual(rows[0], ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]);
    assert.deepEqual(rows[1], ["web-1", "app", "250m", "64Mi"]);
    assert.equal(rows.length, 2);
  });

  it("kubectl top nodes shows usage and percentage of allocatable", async () => {
    const { stdout } = await kubectl("top", "nodes");
    const rows = stdout.trim().split("\n").map((l) => l.trim().split(/\s+/));
    assert.deepEqual(rows[0]!.slice(0, 2), ["NAME", "CPU(cores)"]);
    assert.deepEqual(rows.slice(1), [
      ["n1", "500m", "25%", "1024Mi", "25%"],
      ["n2", "1000m", "25%", "2048Mi", "25%"],
    ]);
    const { stdout: one } = await kubectl("top", "node", "-l", "zone=b", "--no-headers");
    assert.deepEqual(one.trim().split(/\s+/), ["n2", "1000m", "25%", "2048Mi", "25%"]);
  });

  it("answers a single object, a 404 Status, and discovery", async () => {
    const { stdout } = await kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/kube-system/pods/dns");
    const pm = JSON.parse(stdout);
    assert.equal(pm.kind, "PodMetrics");
    assert.equal(pm.containers.length, 2);
    await assert.rejects(kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes/nope"), /NotFound|not found/);
    const rl = JSON.parse((await kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1")).stdout);
    assert.deepEqual(rl.resources.map((r: any) => `${r.name}:${r.kind}:${r.namespaced}`).sort(), ["nodes:NodeMetrics:false", "pods:PodMetrics:true"]);
    const { stdout: res } = await kubectl("api-resources", "--api-group=metrics.k8s.io", "--no-headers");
    assert.match(res, /PodMetrics/);
  });
});
