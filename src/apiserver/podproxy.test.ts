// pods/log, exec, attach, portforward and metrics.k8s.io through the real HTTPS API
// server, the pod proxy and a node agent, driven by the real kubectl 1.32 (WebSocket
// exec, WebSocket-tunnelled port-forward) and 1.29 (SPDY everywhere) against a busybox
// pod on a private containerd. Plus unit checks of container defaulting and the node
// endpoint lookup. The real-container part needs root, containerd, runc, CNI, busybox
// and kubectl; it skips otherwise.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import https from "node:https";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { realNodeSkipReason, startTestNode, waitFor, type TestNode } from "../agent/testing.js";
import { startTestApi, type TestApi } from "./testing.js";
import { ensurePKI, writeKubeconfig } from "./pki.js";
import { ApiServer } from "./server.js";
import { agentEndpoint, kubeletClientCert, podProxy, resolveContainer } from "./podproxy.js";
import { CompositeMetricsSource, metricsDiscoveryGroup, metricsHandler } from "./metrics.js";
import { SharedInformerFactory } from "../client/sharedinformers.js";
import { kubeletRunnable } from "../agent/kubelet/kubelet.js";
import { agentServer } from "../agent/server/server.js";
import { agentMetricsSource } from "../agent/stats/metricssource.js";
import { BUSYBOX_IMAGE } from "../agent/images/build.js";
import { StatusError } from "../apimachinery/errors.js";

test("container defaulting and agent endpoints", () => {
  const pod = { metadata: { name: "p" }, spec: { containers: [{ name: "a" }, { name: "b" }], initContainers: [{ name: "i" }] } } as any;
  assert.equal(resolveContainer({ metadata: { name: "p" }, spec: { containers: [{ name: "only" }] } } as any, null), "only");
  assert.equal(resolveContainer(pod, "b"), "b");
  assert.equal(resolveContainer(pod, "i"), "i");
  assert.throws(() => resolveContainer(pod, null), (e: StatusError) => e.code === 400 && e.message === "a container name must be specified for pod p, choose one of: [a b] or one of the init containers: [i]");
  assert.throws(() => resolveContainer(pod, "zz"), /container zz is not valid for pod p/);
  const node = (addresses: object[], port?: number) => ({ metadata: { name: "n" }, status: { addresses, daemonEndpoints: { kubeletEndpoint: { Port: port } } } }) as any;
  assert.deepEqual(agentEndpoint(node([{ type: "Hostname", address: "n" }, { type: "InternalIP", address: "10.0.0.5" }], 10250)), { host: "10.0.0.5", port: 10250 });
  assert.equal(agentEndpoint(node([{ type: "InternalIP", address: "10.0.0.5" }])), undefined);
});

const KUBECTL_132 = "/usr/bin/kubectl";
const KUBECTL_129 = "/usr/lib/google-cloud-sdk/bin/kubectl.1.29";
const NODE = "k3p-node";
const POD_CIDR = "10.42.94.0/24";

function skipReason(): string | false {
  const r = realNodeSkipReason();
  if (r) return r;
  if (!existsSync(KUBECTL_132) || !existsSync(KUBECTL_129)) return "kubectl 1.32/1.29 not installed";
  return false;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return p;
}

test("kubectl logs/exec/attach/cp/port-forward/top through the API server and the node agent", { skip: skipReason(), timeout: 240_000 }, async () => {
  let node: TestNode | undefined;
  let api: TestApi | undefined;
  let server: ApiServer | undefined;
  const abort = new AbortController();
  const dir = await mkdtemp(join(tmpdir(), "tugk3p-"));
  const running: Promise<void>[] = [];
  const children: ReturnType<typeof spawn>[] = [];
  const sessions: { kind: unknown; websocket: boolean }[] = [];
  let failure: unknown;
  try {
    node = await startTestNode({ bridge: "tugk3p", podCIDR: POD_CIDR, prefix: "tugk3p-node-" });
    api = await startTestApi();
    const pki = await ensurePKI(dir);
    const kubeletClient = await kubeletClientCert(pki);
    // Issued once, reused after.
    assert.equal((await kubeletClientCert(pki)).certPem, kubeletClient.certPem);
    const metrics = new CompositeMetricsSource();
    const agentMetrics = agentMetricsSource({ client: api.client, clientCert: kubeletClient, intervalMs: 2000 });
    metrics.add(agentMetrics);
    const proxy = podProxy({ registry: api.registry, clientCert: kubeletClient });
    server = new ApiServer({
      registry: api.registry,
      pki,
      host: "127.0.0.1",
      port: 0,
      streaming: proxy.streaming,
      upgrade: proxy.upgrade,
      extraHandlers: [metricsHandler(metrics, api.registry)],
      extraDiscovery: [metricsDiscoveryGroup()],
    });
    await server.listen();
    const kubeconfig = join(dir, "kubeconfig.yaml");
    writeKubeconfig(kubeconfig, { server: `https://127.0.0.1:${server.port}`, caPem: pki.ca.certPem, certPem: pki.admin.certPem, keyPem: pki.admin.keyPem });

    const agent = agentServer({
      runtime: node.runtime,
      nodeName: NODE,
      ca: pki.ca.certPem,
      listen: { host: "127.0.0.1", port: 0 },
      log: { info: (msg: string, f?: Record<string, unknown>) => void (msg === "streaming session" && sessions.push({ kind: f?.kind, websocket: f?.websocket === true })), error() {} },
    });
    running.push(agent.start(abort.signal));
    await agent.ready!();
    // What the real agent does at registration: InternalIP and the kubelet port.
    await api.client.create("v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: NODE }, spec: { podCIDR: POD_CIDR, podCIDRs: [POD_CIDR] } });
    const n = await api.client.get("v1/nodes", undefined, NODE);
    n.status = { addresses: [{ type: "InternalIP", address: "127.0.0.1" }, { type: "Hostname", address: NODE }], daemonEndpoints: { kubeletEndpoint: { Port: agent.port } }, capacity: { cpu: "2", memory: "8Gi" }, allocatable: { cpu: "2", memory: "8Gi" } };
    await api.client.updateStatus("v1/nodes", n);
    const kubelet = kubeletRunnable({ client: api.client, informers: new SharedInformerFactory(api.client), runtime: node.runtime, nodeName: NODE, podCIDR: POD_CIDR, dataDir: node.dir, hostIP: "127.0.0.1" });
    running.push(kubelet.start(abort.signal));
    running.push(agentMetrics.start(abort.signal));
    await kubelet.ready!();

    const pod = await api.client.create("v1/pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "box", namespace: "default", labels: { app: "box" } },
      spec: {
        nodeName: NODE,
        // This test API runs no token issuer, ServiceAccount or kube-root-ca.crt publisher.
        automountServiceAccountToken: false,
        containers: [
          { name: "main", image: BUSYBOX_IMAGE, command: ["sh", "-c", 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.2; done'] },
          { name: "web", image: BUSYBOX_IMAGE, command: ["sh", "-c", "mkdir -p /www && echo hello-pf > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www"] },
        ],
      },
    });
    node.trackPod(pod.metadata.uid!);
    await waitFor("pod Running", async () => ((await api!.client.get("v1/pods", "default", "box")).status?.phase === "Running" ? true : undefined), 60_000);

    const env = { ...process.env, KUBECONFIG: kubeconfig, HOME: dir };
    const kubectl = (bin: string, args: string[], input?: string) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        const c = spawn(bin, args, { env });
        let stdout = "";
        let stderr = "";
        c.stdout.on("data", (d) => (stdout += d));
        c.stderr.on("data", (d) => (stderr += d));
        c.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
        c.stdin.end(input ?? "");
      });
    /** Starts a long-running kubectl and resolves once its stdout matches. */
    const until = (bin: string, args: string[], re: RegExp) =>
      new Promise<string>((resolve, reject) => {
        const c = spawn(bin, args, { env });
        children.push(c);
        let out = "";
        const t = setTimeout(() => reject(new Error(`kubectl ${args.join(" ")}: no match for ${re} in ${JSON.stringify(out)}`)), 20_000);
        c.stdout.on("data", (d) => {
          out += d;
          if (re.test(out)) {
            clearTimeout(t);
            c.kill();
            resolve(out);
          }
        });
        c.stderr.on("data", (d) => (out += d));
      });

    // The server's own defaulting error (kubectl itself picks a default container).
    const direct = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      https
        .get(`https://127.0.0.1:${server!.port}/api/v1/namespaces/default/pods/box/log`, { ca: pki.ca.certPem, cert: pki.admin.certPem, key: pki.admin.keyPem }, (res) => {
          let body = "";
          res.on("data", (d) => (body += d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on("error", reject);
    });
    assert.equal(direct.status, 400);
    assert.equal(JSON.parse(direct.body).message, "a container name must be specified for pod box, choose one of: [main web]");

    const local = join(dir, "upload.txt");
    await writeFile(local, "payload for kubectl cp\n".repeat(1000));
    for (const [bin, ws] of [[KUBECTL_132, true], [KUBECTL_129, false]] as const) {
      const v = bin === KUBECTL_132 ? "1.32" : "1.29";
      const before = sessions.length;
      // logs
      const logs = await kubectl(bin, ["logs", "box", "-c", "main", "--tail=2"]);
      assert.equal(logs.code, 0, logs.stderr);
      assert.match(logs.stdout, /^tick \d+\ntick \d+\n$/, v);
      const ts = await kubectl(bin, ["logs", "box", "-c", "main", "--tail=1", "--timestamps"]);
      assert.match(ts.stdout, /^\d{4}-\d\d-\d\dT[\d:.]+Z tick \d+\n$/, v);
      assert.match(await until(bin, ["logs", "-f", "box", "-c", "main", "--tail=0"], /(tick \d+\n){3}/), /tick/);
      const missing = await kubectl(bin, ["logs", "box", "-c", "nope"]);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /container nope is not valid for pod box/);

      // exec: stdin, exit codes
      const ex = await kubectl(bin, ["exec", "-i", "box", "-c", "main", "--", "sh", "-c", "read a; read b; echo got:$a:$b; cat"], "one\ntwo\nrest\n");
      assert.equal(ex.code, 0, ex.stderr);
      assert.equal(ex.stdout, "got:one:two\nrest\n", v);
      const three = await kubectl(bin, ["exec", "box", "-c", "main", "--", "sh", "-c", "echo bye >&2; exit 3"]);
      assert.equal(three.code, 3, `${v}: ${three.stderr}`);
      assert.match(three.stderr, /bye/);

      // cp (tar over exec) both ways
      const up = await kubectl(bin, ["cp", local, `default/box:/tmp/up-${v}.txt`, "-c", "main"]);
      assert.equal(up.code, 0, up.stderr);
      const wc = await kubectl(bin, ["exec", "box", "-c", "main", "--", "wc", "-c", `/tmp/up-${v}.txt`]);
      assert.match(wc.stdout, /^23000 /, v);
      const back = join(dir, `back-${v}.txt`);
      const down = await kubectl(bin, ["cp", `default/box:/tmp/up-${v}.txt`, back, "-c", "main"]);
      assert.equal(down.code, 0, down.stderr);
      assert.equal(await readFile(back, "utf8"), await readFile(local, "utf8"));

      // port-forward to a server that listens only on the pod's 127.0.0.1
      const port = await freePort();
      const pf = spawn(bin, ["port-forward", "pod/box", `${port}:8080`], { env });
      children.push(pf);
      await new Promise<void>((resolve, reject) => {
        let out = "";
        pf.stdout.on("data", (d) => ((out += d), /Forwarding from/.test(out) && resolve()));
        pf.stderr.on("data", (d) => (out += d));
        pf.on("close", () => reject(new Error(`port-forward exited: ${out}`)));
      });
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/index.html`);
        assert.equal(await res.text(), "hello-pf\n", v);
      }
      pf.kill();
      // kubectl ≥ 1.30 speaks WebSocket to exec; 1.29 SPDY (passed through).
      const used = sessions.slice(before);
      assert.ok(used.length >= 6, v);
      assert.ok(used.some((s) => s.kind === "portForward"), v);
      assert.ok(used.every((s) => s.websocket === ws), `${v}: ${JSON.stringify(used)}`);
    }

    // attach: the main container's output
    assert.match(await until(KUBECTL_132, ["attach", "box", "-c", "main"], /tick \d+\n/), /tick/);
    // Deployments resolve to a pod through the API (logs deploy/x) — here via the pod's label.
    const byLabel = await kubectl(KUBECTL_132, ["logs", "-l", "app=box", "-c", "main", "--tail=1"]);
    assert.match(byLabel.stdout, /^tick \d+\n$/);

    // kubectl top through metrics.k8s.io
    await agentMetrics.scrape();
    await new Promise((r) => setTimeout(r, 1100));
    await agentMetrics.scrape();
    const top = await waitFor("kubectl top pod", async () => {
      const r = await kubectl(KUBECTL_132, ["top", "pod", "box", "--containers"]);
      return r.code === 0 ? r.stdout : (await agentMetrics.scrape(), undefined);
    }, 30_000, 1000);
    assert.match(top, /box\s+main\s+\d+m\s+\d+Mi/);
    const topNode = await kubectl(KUBECTL_132, ["top", "node"]);
    assert.equal(topNode.code, 0, topNode.stderr);
    assert.match(topNode.stdout, new RegExp(`${NODE}\\s+\\d+m\\s+\\d+%\\s+\\d+Mi`));

    // nodes/N/proxy/<path> reaches the agent's own API
    const raw = await kubectl(KUBECTL_132, ["get", "--raw", `/api/v1/nodes/${NODE}/proxy/stats/summary`]);
    assert.equal(raw.code, 0, raw.stderr);
    assert.equal(JSON.parse(raw.stdout).node.nodeName, NODE);
    assert.equal((await kubectl(KUBECTL_132, ["get", "--raw", `/api/v1/nodes/${NODE}/proxy/healthz`])).stdout, "ok");

    await api.client.delete("v1/pods", "default", "box", { gracePeriodSeconds: 0 });
    await waitFor("sandbox removed", async () => ((await node!.runtime.listPodSandboxes()).length === 0 ? true : undefined), 30_000);
  } catch (err) {
    failure = err;
  } finally {
    for (const c of children) c.kill();
    abort.abort();
    await Promise.allSettled(running);
    await server?.close();
    await api?.close();
    try {
      await node?.cleanup();
    } catch (err) {
      failure ??= err;
    }
    await rm(dir, { recursive: true, force: true });
  }
  if (failure) throw failure;
});
