// Issue 5's acceptance, end to end with real containers on 2 nodes in network namespaces
// (Services: https://kubernetes.io/docs/concepts/services-networking/service/, cluster DNS:
// https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/, Ingress:
// https://kubernetes.io/docs/concepts/services-networking/ingress/). `tug server` on the
// host, a `tug agent` per node namespace (multinode-cluster.ts), kubectl and curl from the
// host. Scenarios: a 4-replica busybox-httpd Deployment spread over both nodes behind a
// ClusterIP Service, reached by name from a pod on node A (every replica answers over 200
// requests); its NodePort on both node addresses; an Ingress with an HTTP host and a TLS
// host; zero failed requests at 20 req/s through the Ingress during `kubectl rollout
// restart`; 503 at once after scaling to 0; a deleted Service's nft rules gone. Figures
// (endpoint change → rules, ingress vs direct requests/s with autocannon) are printed as
// "# …" lines. Needs root, containerd, runc, CNI plugins, busybox-static, nft, curl and
// kubectl (skipped otherwise); everything it creates is removed, also after a failure.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { eventually, freePort, missingKubectl, repoRoot, show, type Tug } from "./harness.js";
import { realNodeSkipReason } from "../../src/agent/testing.js";
import { selfSignedServingCert } from "../../src/apiserver/pki.js";
import { sandboxesOf, startMultiNodeCluster, type ClusterNode, type MultiNodeCluster } from "./multinode-cluster.js";

const run = promisify(execFile);
const has = (bin: string) => {
  try {
    execFileSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};
const skip =
  realNodeSkipReason() ||
  missingKubectl() ||
  (!has("nft") && "nft not installed (nftables)") ||
  (!has("curl") && "curl not installed") ||
  (!existsSync(join(repoRoot, "node_modules", ".bin", "autocannon")) && "autocannon (dev dependency) not installed");

const WEB_HOST = "web.mn5.test";
const TLS_HOST = "secure.mn5.test";
const STATIC_HOST = "static.mn5.test";

/** busybox httpd serving its pod name; readiness probe, and a preStop sleep so endpoint removal wins the race with SIGTERM. */
function deployment(name: string, replicas: number, spread: boolean): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "default" },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          // httpd runs as PID 1 and ignores SIGTERM: the kill comes after the grace period.
          terminationGracePeriodSeconds: 5,
          ...(spread ? { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: { app: name } } }] } : {}),
          containers: [
            {
              name: "httpd",
              image: "tugboat/busybox:1",
              imagePullPolicy: "IfNotPresent",
              command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"],
              ports: [{ name: "http", containerPort: 8080 }],
              readinessProbe: { httpGet: { path: "/index.html", port: 8080 }, periodSeconds: 1, failureThreshold: 1, successThreshold: 1 },
              lifecycle: { preStop: { exec: { command: ["sleep", "3"] } } },
            },
          ],
        },
      },
    },
  });
}

function service(name: string, selector: string, type: "ClusterIP" | "NodePort" = "ClusterIP"): string {
  return JSON.stringify({ apiVersion: "v1", kind: "Service", metadata: { name, namespace: "default" }, spec: { type, selector: { app: selector }, ports: [{ name: "http", port: 80, targetPort: "http" }] } });
}

/** One GET, with an optional Host header; never throws (status -1 on a network error). */
function get(url: string, host?: string, timeoutMs = 5000): Promise<{ status: number; body: string; error?: string }> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: false, timeout: timeoutMs, headers: host ? { host } : {} }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
      res.on("error", (e) => resolve({ status: -1, body, error: e.message }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => resolve({ status: -1, body: "", error: e.message }));
    req.end();
  });
}

async function curl(args: string[]): Promise<{ code: number; body: string }> {
  try {
    const r = await run("curl", ["-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "5", ...args]);
    const i = r.stdout.lastIndexOf("\n");
    return { code: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i).trim() };
  } catch (e) {
    return { code: -1, body: String((e as Error).message) };
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};

interface PodInfo {
  name: string;
  node: string;
  ip: string;
  ready: boolean;
}

async function pods(tug: Tug, app: string): Promise<PodInfo[]> {
  const r = await tug.kubectl(["get", "pods", "-l", `app=${app}`, "-o", "json"]);
  assert.equal(r.code, 0, show(r));
  return JSON.parse(r.stdout).items
    .filter((p: any) => !p.metadata.deletionTimestamp)
    .map((p: any) => ({
      name: p.metadata.name,
      node: p.spec.nodeName,
      ip: p.status?.podIP,
      ready: (p.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True"),
    }));
}

/** autocannon as a child process; its JSON result. */
async function autocannon(url: string, headers: Record<string, string>, seconds: number): Promise<{ rps: number; p50: number; p99: number; non2xx: number; errors: number }> {
  const args = ["-j", "-c", "10", "-d", String(seconds)];
  for (const [k, v] of Object.entries(headers)) args.push("-H", `${k}=${v}`);
  const r = await run(join(repoRoot, "node_modules", ".bin", "autocannon"), [...args, url], { maxBuffer: 16 << 20, timeout: (seconds + 30) * 1000 });
  const j = JSON.parse(r.stdout);
  return { rps: j.requests.average, p50: j.latency.p50, p99: j.latency.p99, non2xx: j.non2xx ?? 0, errors: (j.errors ?? 0) + (j.timeouts ?? 0) };
}

describe("issue 5 acceptance: Services, DNS and Ingress across 2 real nodes in network namespaces", { skip, timeout: 600_000 }, () => {
  let c: MultiNodeCluster;
  let tug: Tug;
  let nodeA: ClusterNode;
  let nodeB: ClusterNode;
  let work: string;
  const hostServers: ChildProcess[] = [];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "tugmn5-"));
    const t0 = performance.now();
    c = await startMultiNodeCluster({ podCIDRs: ["10.42.171.0/24", "10.42.172.0/24"], bridgePrefix: "tugmn5b", nodeNamePrefix: "mn5-node-" });
    tug = c.tug;
    [nodeA, nodeB] = c.nodes as [ClusterNode, ClusterNode];
    console.log(`# 2 nodes joined and Ready in ${Math.round(performance.now() - t0)} ms (server on host ${c.net.hostIP}, nodes ${nodeA.ip} and ${nodeB.ip})`);
  });

  after(async () => {
    for (const s of hostServers) if (s.exitCode === null) s.kill("SIGKILL");
    if (work) rmSync(work, { recursive: true, force: true });
    if (!c) return;
    const t0 = performance.now();
    const problems = await c.teardown();
    console.log(`# teardown in ${Math.round(performance.now() - t0)} ms`);
    assert.deepEqual(problems, [], "teardown left things behind");
  });

  test("nodes register with their namespace addresses and pod ranges", async () => {
    for (const n of c.nodes) {
      const r = await tug.kubectl(["get", "node", n.nodeName, "-o", "json"]);
      assert.equal(r.code, 0, show(r));
      const node = JSON.parse(r.stdout);
      assert.equal(node.spec.podCIDR, n.podCIDR);
      assert.ok(node.status.addresses.some((a: any) => a.type === "InternalIP" && a.address === n.ip), JSON.stringify(node.status.addresses));
    }
    // host-gw: each node routes the other's pod range via its address.
    await eventually(async () => nodeA.exec(["ip", "route", "show", nodeB.podCIDR]).includes(`via ${nodeB.ip}`) && nodeB.exec(["ip", "route", "show", nodeA.podCIDR]).includes(`via ${nodeA.ip}`), 20_000, 250, "node routes to the other pod range");
  });

  test("a 4-replica Deployment spreads over both nodes behind a ClusterIP Service", async () => {
    for (const doc of [deployment("web", 4, true), service("web", "web"), service("web-np", "web", "NodePort"), deployment("echo", 1, false), service("echo", "echo")]) {
      const r = await tug.kubectl(["apply", "-f", "-"], { stdin: doc });
      assert.equal(r.code, 0, show(r));
    }
    for (const d of ["web", "echo"]) {
      const r = await tug.kubectl(["rollout", "status", `deploy/${d}`, "--timeout=150s"], { timeoutMs: 160_000 });
      assert.equal(r.code, 0, `${show(r)}\n--- agent A\n${nodeA.agentLog().slice(-2000)}\n--- agent B\n${nodeB.agentLog().slice(-2000)}`);
    }
    const web = await pods(tug, "web");
    assert.equal(web.length, 4);
    const perNode = (n: ClusterNode) => web.filter((p) => p.node === n.nodeName).length;
    assert.deepEqual([perNode(nodeA), perNode(nodeB)], [2, 2], JSON.stringify(web));
    for (const p of web) assert.ok(p.ip?.startsWith(p.node === nodeA.nodeName ? "10.42.171." : "10.42.172."), JSON.stringify(p));
    // Each node's own containerd holds its pods (their UIDs are checked for cgroup leaks at the end).
    for (const n of c.nodes) assert.ok((await sandboxesOf(n, c.podUIDs)).length >= 2, `${n.nodeName} runs its pods`);
  });

  test("from a pod on node A, http://web.default.svc.cluster.local works and every replica answers over 200 requests", async () => {
    const client = JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "client", namespace: "default" },
      spec: { nodeName: nodeA.nodeName, terminationGracePeriodSeconds: 0, containers: [{ name: "c", image: "tugboat/busybox:1", imagePullPolicy: "IfNotPresent", command: ["sleep", "3600"] }] },
    });
    assert.equal((await tug.kubectl(["apply", "-f", "-"], { stdin: client })).code, 0);
    await eventually(async () => (await tug.kubectl(["get", "pod", "client", "-o", "jsonpath={.status.phase}"])).stdout === "Running", 60_000, 500, "client pod Running");
    const names = new Set((await pods(tug, "web")).map((p) => p.name));

    const one = await eventually(async () => {
      const r = await tug.kubectl(["exec", "client", "--", "wget", "-qO-", "http://web.default.svc.cluster.local"]);
      return r.code === 0 && r.stdout.trim();
    }, 30_000, 1000, "wget web.default.svc.cluster.local from the client pod");
    assert.ok(names.has(one), `answer ${JSON.stringify(one)} is one of ${[...names]}`);

    const t0 = performance.now();
    const loop = 'i=0; while [ $i -lt 200 ]; do wget -qO- http://web.default.svc.cluster.local || echo FAIL; i=$((i+1)); done';
    const r = await tug.kubectl(["exec", "client", "--", "sh", "-c", loop], { timeoutMs: 180_000 });
    const ms = performance.now() - t0;
    assert.equal(r.code, 0, show(r));
    const counts: Record<string, number> = {};
    for (const line of r.stdout.split("\n").filter(Boolean)) counts[line] = (counts[line] ?? 0) + 1;
    assert.equal(counts.FAIL ?? 0, 0, JSON.stringify(counts));
    assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), 200, JSON.stringify(counts));
    assert.deepEqual(Object.keys(counts).sort(), [...names].sort(), `every replica answers: ${JSON.stringify(counts)}`);
    console.log(`# 200 requests by DNS name from a pod on ${nodeA.nodeName}: ${Math.round(ms)} ms, per replica ${JSON.stringify(counts)}`);
  });

  test("hairpin: a replica reaches its own Service by its short name and can be answered by itself", async () => {
    const [self] = await pods(tug, "web");
    const loop = 'i=0; while [ $i -lt 40 ]; do wget -qO- http://web || echo FAIL; i=$((i+1)); done';
    const r = await tug.kubectl(["exec", self!.name, "--", "sh", "-c", loop], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, show(r));
    const lines = r.stdout.split("\n").filter(Boolean);
    assert.equal(lines.filter((l) => l === "FAIL").length, 0, r.stdout);
    assert.ok(lines.includes(self!.name), `${self!.name} never answered itself in 40 tries: ${[...new Set(lines)]}`);
  });

  test("the NodePort answers on both node addresses", async () => {
    const r = await tug.kubectl(["get", "svc", "web-np", "-o", "jsonpath={.spec.ports[0].nodePort}"]);
    const nodePort = Number(r.stdout);
    assert.ok(nodePort >= 30000 && nodePort <= 32767, show(r));
    const names = new Set((await pods(tug, "web")).map((p) => p.name));
    for (const n of c.nodes) {
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const res = await get(`http://${n.ip}:${nodePort}/`);
        assert.equal(res.status, 200, `${n.ip}:${nodePort} → ${JSON.stringify(res)}`);
        assert.ok(names.has(res.body), res.body);
        seen.add(res.body);
      }
      assert.ok(seen.size >= 2, `NodePort on ${n.nodeName} balances over replicas: ${[...seen]}`);
    }
  });

  test("an Ingress with an HTTP host and a TLS host routes curl --resolve requests to the right Services", async () => {
    const cert = await selfSignedServingCert([TLS_HOST]);
    const caFile = join(work, "tls.crt");
    writeFileSync(caFile, cert.certPem);
    const secret = { apiVersion: "v1", kind: "Secret", type: "kubernetes.io/tls", metadata: { name: "secure-tls", namespace: "default" }, data: { "tls.crt": Buffer.from(cert.certPem).toString("base64"), "tls.key": Buffer.from(cert.keyPem).toString("base64") } };
    const ingress = {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name: "mn5", namespace: "default" },
      spec: {
        tls: [{ hosts: [TLS_HOST], secretName: "secure-tls" }],
        rules: [
          { host: WEB_HOST, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { number: 80 } } } }] } },
          { host: TLS_HOST, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "echo", port: { name: "http" } } } }] } },
        ],
      },
    };
    for (const doc of [secret, ingress]) {
      const r = await tug.kubectl(["apply", "-f", "-"], { stdin: JSON.stringify(doc) });
      assert.equal(r.code, 0, show(r));
    }
    const web = new Set((await pods(tug, "web")).map((p) => p.name));
    const echo = new Set((await pods(tug, "echo")).map((p) => p.name));
    const http = await eventually(async () => {
      const r = await curl(["--resolve", `${WEB_HOST}:${c.ingressHttpPort}:127.0.0.1`, `http://${WEB_HOST}:${c.ingressHttpPort}/`]);
      return r.code === 200 && r;
    }, 20_000, 250, `curl http://${WEB_HOST}`);
    assert.ok(web.has(http.body), `${WEB_HOST} → web: ${http.body}`);
    const https = await eventually(async () => {
      const r = await curl(["--cacert", caFile, "--resolve", `${TLS_HOST}:${c.ingressHttpsPort}:127.0.0.1`, `https://${TLS_HOST}:${c.ingressHttpsPort}/`]);
      return r.code === 200 && r;
    }, 20_000, 250, `curl https://${TLS_HOST} (verified against the Secret's certificate)`);
    assert.ok(echo.has(https.body), `${TLS_HOST} → echo: ${https.body}`);
    // An unknown host has no rule and there is no default backend.
    const other = await curl(["--resolve", `nothing.mn5.test:${c.ingressHttpPort}:127.0.0.1`, `http://nothing.mn5.test:${c.ingressHttpPort}/`]);
    assert.equal(other.code, 404, JSON.stringify(other));
    // The Ingress status names the advertise address.
    await eventually(async () => (await tug.kubectl(["get", "ingress", "mn5", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}"])).stdout === c.net.hostIP, 15_000, 250, "Ingress status.loadBalancer");
  });

  test("kubectl rollout restart under a steady 20 req/s through the Ingress: zero failed requests", async () => {
    const before = new Set((await pods(tug, "web")).map((p) => p.name));
    const results: { status: number; error?: string; at: number }[] = [];
    const inflight = new Set<Promise<void>>();
    let stop = false;
    const t0 = performance.now();
    const loader = (async () => {
      for (let i = 0; !stop; i++) {
        const p = get(`http://127.0.0.1:${c.ingressHttpPort}/`, WEB_HOST).then((r) => void results.push({ status: r.status, error: r.error, at: performance.now() - t0 }));
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
        // 20 req/s on a fixed schedule, whatever the latency.
        const next = t0 + (i + 1) * 50;
        await sleep(Math.max(0, next - performance.now()));
      }
    })();
    await sleep(1000);
    const rr = await tug.kubectl(["rollout", "restart", "deploy/web"]);
    assert.equal(rr.code, 0, show(rr));
    const rs = await tug.kubectl(["rollout", "status", "deploy/web", "--timeout=150s"], { timeoutMs: 160_000 });
    const rolledMs = performance.now() - t0 - 1000;
    // The risky part is the old pods' exit (endpoint removal racing SIGTERM): keep the load
    // on until every old pod is gone, preStop sleep and all.
    await eventually(async () => {
      const r = await tug.kubectl(["get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.name}"]);
      return r.code === 0 && r.stdout.split(" ").every((n) => !before.has(n));
    }, 60_000, 250, "old pods gone");
    const goneMs = performance.now() - t0 - 1000;
    await sleep(1000);
    stop = true;
    await loader;
    await Promise.all([...inflight]);
    assert.equal(rs.code, 0, show(rs));
    const failed = results.filter((r) => r.status !== 200);
    console.log(`# rollout restart of 4 replicas under 20 req/s through the Ingress: rollout status done after ${Math.round(rolledMs)} ms, old pods gone after ${Math.round(goneMs)} ms; ${results.length} requests, ${failed.length} failed`);
    assert.deepEqual(failed.slice(0, 10), [], `${failed.length} of ${results.length} requests failed during the rollout`);
    assert.ok(results.length >= 20 * ((performance.now() - t0) / 1000) * 0.8, `steady rate: ${results.length} requests`);
    const after = await pods(tug, "web");
    assert.equal(after.length, 4);
    assert.ok(after.every((p) => !before.has(p.name)), "every replica replaced");
  });

  test("requests/s through the Ingress on 127.0.0.1 next to the same page served directly (autocannon)", async () => {
    const [pod] = await pods(tug, "web");
    const page = (await get(`http://${pod!.ip}:8080/index.html`)).body;
    // The same page served directly on the host: nginx when installed, else busybox httpd.
    const root = join(work, "www");
    mkdirSync(root);
    writeFileSync(join(root, "index.html"), `${page}\n`);
    const port = await freePort();
    let direct: string;
    const nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((p) => existsSync(p));
    if (nginx) {
      // One worker, like the ingress (one Node.js process); root because the temp dir is 0700.
      const conf = join(work, "nginx.conf");
      writeFileSync(conf, `daemon off; user root; worker_processes 1; pid ${work}/nginx.pid; error_log ${work}/nginx.err;\nevents {}\nhttp { access_log off; server { listen 127.0.0.1:${port}; listen ${c.net.hostIP}:${port}; root ${root}; } }\n`);
      hostServers.push(spawn(nginx, ["-e", join(work, "nginx.err"), "-c", conf, "-p", work], { stdio: "ignore" }));
      direct = "nginx (1 worker)";
    } else {
      hostServers.push(spawn("busybox", ["httpd", "-f", "-p", `127.0.0.1:${port}`, "-h", root], { stdio: "ignore" }));
      hostServers.push(spawn("busybox", ["httpd", "-f", "-p", `${c.net.hostIP}:${port}`, "-h", root], { stdio: "ignore" }));
      direct = "busybox httpd (nginx not installed; no keep-alive)";
    }
    await eventually(async () => (await get(`http://127.0.0.1:${port}/index.html`)).status === 200, 10_000, 100, "direct server up");
    // The same server behind the Ingress too (a selector-less Service on the host address),
    // so the proxy's own cost shows apart from busybox httpd's.
    const staticObjs = [
      { apiVersion: "v1", kind: "Service", metadata: { name: "static", namespace: "default" }, spec: { ports: [{ name: "http", port: 80, targetPort: port }] } },
      { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name: "static-1", namespace: "default", labels: { "kubernetes.io/service-name": "static" } }, addressType: "IPv4", ports: [{ name: "http", port, protocol: "TCP" }], endpoints: [{ addresses: [c.net.hostIP], conditions: { ready: true } }] },
      { apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "static", namespace: "default" }, spec: { rules: [{ host: STATIC_HOST, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "static", port: { number: 80 } } } }] } }] } },
    ];
    for (const o of staticObjs) assert.equal((await tug.kubectl(["apply", "-f", "-"], { stdin: JSON.stringify(o) })).code, 0);
    await eventually(async () => (await get(`http://127.0.0.1:${c.ingressHttpPort}/index.html`, STATIC_HOST)).body === page, 15_000, 100, "Ingress → host server");
    const ingStatic = await autocannon(`http://127.0.0.1:${c.ingressHttpPort}/index.html`, { host: STATIC_HOST }, 5);
    const ing = await autocannon(`http://127.0.0.1:${c.ingressHttpPort}/index.html`, { host: WEB_HOST }, 5);
    const dir = await autocannon(`http://127.0.0.1:${port}/index.html`, {}, 5);
    const podDirect = await autocannon(`http://${pod!.ip}:8080/index.html`, {}, 5);
    const fmt = (x: typeof ing) => `${Math.round(x.rps)} req/s (p50 ${x.p50} ms, p99 ${x.p99} ms, non-2xx ${x.non2xx}, errors ${x.errors})`;
    console.log(`# autocannon -c 10 -d 5, same page: Ingress on 127.0.0.1 → 4 pods on 2 nodes: ${fmt(ing)}`);
    console.log(`# autocannon -c 10 -d 5, same page: ${direct} on 127.0.0.1: ${fmt(dir)}`);
    console.log(`# autocannon -c 10 -d 5, same page: Ingress on 127.0.0.1 → that ${direct}: ${fmt(ingStatic)}`);
    console.log(`# autocannon -c 10 -d 5, same page: one pod's busybox httpd by pod IP (closes every connection, so autocannon's latencies are not comparable): ${fmt(podDirect)}`);
    for (const x of [ing, ingStatic]) assert.ok(x.rps > 0 && x.non2xx === 0 && x.errors === 0, fmt(x));
  });

  test("endpoint change → nft rules in place on both nodes (latency)", async () => {
    // A selector-less Service whose EndpointSlice the test writes itself: the clock starts at the API's answer.
    const svc = { apiVersion: "v1", kind: "Service", metadata: { name: "lat", namespace: "default" }, spec: { ports: [{ name: "http", port: 80, targetPort: 8080 }] } };
    assert.equal((await tug.kubectl(["apply", "-f", "-"], { stdin: JSON.stringify(svc) })).code, 0);
    const slice = (ip: string) => ({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "lat-1", namespace: "default", labels: { "kubernetes.io/service-name": "lat" } },
      addressType: "IPv4",
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      endpoints: [{ addresses: [ip], conditions: { ready: true } }],
    });
    const samples: Record<string, number[]> = { [nodeA.nodeName]: [], [nodeB.nodeName]: [] };
    for (let i = 0; i < 10; i++) {
      const ip = `10.42.172.${200 + i}`;
      const body = slice(ip);
      const existing = await tug.http("GET", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/lat-1");
      const res = existing.status === 200
        ? await tug.http("PUT", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/lat-1", { ...body, metadata: { ...body.metadata, resourceVersion: existing.json().metadata.resourceVersion } })
        : await tug.http("POST", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", body);
      assert.ok(res.status === 200 || res.status === 201, res.body);
      const t0 = performance.now();
      await Promise.all(
        c.nodes.map(async (n) => {
          // One `nft list` per poll; "ip daddr set … dnat to 10.42.172.2xx:8080" shows the change applied.
          await eventually(async () => n.nftRules().includes(`${ip}:8080`), 10_000, 5, `${ip} in ${n.nodeName}'s rules`);
          samples[n.nodeName]!.push(performance.now() - t0);
        }),
      );
    }
    for (const [n, xs] of Object.entries(samples)) {
      console.log(`# EndpointSlice write → nft rules on ${n}: median ${Math.round(median(xs))} ms, p90 ${Math.round(quantile(xs, 0.9))} ms, max ${Math.round(Math.max(...xs))} ms (10 changes; includes ~${Math.round(pollCost(c.nodes[0]!))} ms per nft listing)`);
      assert.ok(median(xs) < 1000, `changes applied within 1 s: ${xs.map(Math.round)}`);
    }
  });

  test("scaling the backend to 0 makes the Ingress answer 503 at once", async () => {
    assert.equal((await get(`http://127.0.0.1:${c.ingressHttpPort}/`, WEB_HOST)).status, 200);
    const t0 = performance.now();
    const r = await tug.kubectl(["scale", "deploy/web", "--replicas=0"]);
    assert.equal(r.code, 0, show(r));
    const scaledMs = performance.now() - t0;
    await eventually(async () => (await get(`http://127.0.0.1:${c.ingressHttpPort}/`, WEB_HOST)).status === 503, 5_000, 10, "503 from the Ingress");
    const ms = performance.now() - t0;
    console.log(`# scale to 0 → Ingress 503 after ${Math.round(ms)} ms (kubectl scale itself ${Math.round(scaledMs)} ms; pods still in their preStop sleep)`);
    assert.ok(ms < 3000, `503 within 3 s, took ${Math.round(ms)} ms`);
    // And it stays 503 (not a hang or a reset) while the pods terminate.
    for (let i = 0; i < 10; i++) assert.equal((await get(`http://127.0.0.1:${c.ingressHttpPort}/`, WEB_HOST)).status, 503);
  });

  test("deleting a Service removes its rules from every node", async () => {
    const r = await tug.kubectl(["get", "svc", "web-np", "-o", "json"]);
    assert.equal(r.code, 0, show(r));
    const s = JSON.parse(r.stdout);
    const clusterIP: string = s.spec.clusterIP;
    const nodePort: number = s.spec.ports[0].nodePort;
    for (const n of c.nodes) {
      const rules = n.nftRules();
      assert.ok(rules.includes(clusterIP), `${n.nodeName} has rules for ${clusterIP}:\n${rules.slice(0, 3000)}`);
    }
    const t0 = performance.now();
    const d = await tug.kubectl(["delete", "svc", "web-np"]);
    assert.equal(d.code, 0, show(d));
    for (const n of c.nodes) {
      await eventually(async () => {
        const rules = n.nftRules();
        return rules !== "" && !rules.includes(clusterIP) && !new RegExp(`\\b${nodePort}\\b`).test(rules);
      }, 10_000, 20, `${clusterIP} and :${nodePort} gone from ${n.nodeName}'s nft table`);
    }
    console.log(`# Service delete → its rules gone from both nodes in ${Math.round(performance.now() - t0)} ms`);
  });

});

/** What one `ip netns exec … nft list table` costs here (to read the latency figures). */
function pollCost(n: ClusterNode): number {
  const t0 = performance.now();
  for (let i = 0; i < 3; i++) n.nftRules();
  return (performance.now() - t0) / 3;
}
