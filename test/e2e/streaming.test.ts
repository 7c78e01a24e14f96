// End-to-end streaming and stats on a real node (issue 4 "Streaming" and "Stats"):
// `tug up` with the containerd agent, a busybox-httpd Deployment of 2 replicas, then the
// real kubectl 1.32 (WebSocket exec, WebSocket-tunnelled port-forward) and 1.29 (SPDY):
// `logs` (deploy/x, --tail, -f), a scripted `exec -i … sh`, `exec … exit 3` → exit code
// 3, `cp` both ways (tar over exec), `port-forward` + an HTTP GET on 127.0.0.1, and
// `kubectl top pod/node` through metrics.k8s.io. Own bridge, pod /24 and free ports, so
// it runs beside other tests; `tug down` ends it. Needs root, containerd, runc, the CNI
// plugins, busybox-static and kubectl (skipped otherwise).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually, freePort, kubectlBinary, missingKubectl, repoRoot, show, startTug, type KubectlVersion, type Tug } from "./harness.js";
import { realNodeSkipReason } from "../../src/agent/testing.js";

const BRIDGE = "tugk3e2e";
const POD_CIDR = "10.42.95.0/24";
const NODE = "k3-e2e-node";
const skip = realNodeSkipReason() || missingKubectl(undefined, "1.32", "1.29");

function tugCommand(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", join(repoRoot, "src", "cli", "main.ts"), ...args], { cwd: repoRoot, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: httpd
        image: tugboat/busybox:1
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "mkdir -p /www && echo hello-tug > /www/index.html && echo serving && exec httpd -f -vv -p 8080 -h /www"]
`;

describe("streaming and stats on a real node: kubectl logs/exec/cp/port-forward/top", { skip, timeout: 600_000 }, () => {
  let tug: Tug;
  const work = mkdtempSync(join(tmpdir(), "tugk3e2e-"));

  before(async () => {
    const help = (await tugCommand(["up", "--help"])).out;
    const extra: string[] = [];
    for (const f of ["ingress-http-port", "ingress-https-port", "cluster-dns-port"]) if (help.includes(`--${f}`)) extra.push(`--${f}`, String(await freePort()));
    tug = await startTug({
      command: "up",
      args: ["--node-name", NODE, "--pod-cidr", POD_CIDR, "--cni-bridge", BRIDGE, "--kubelet-port", "0", "--no-install", ...extra],
      readyTimeoutMs: 90_000,
    });
  });

  after(async () => {
    rmSync(work, { recursive: true, force: true });
    if (!tug) return;
    await tug.stop("SIGTERM");
    const down = await tugCommand(["down", "--data-dir", tug.dataDir, "--cni-bridge", BRIDGE]);
    await tug.cleanup();
    assert.equal(down.code, 0, down.out);
  });

  test("a busybox-httpd Deployment of 2 replicas becomes Ready", async () => {
    await eventually(async () => {
      const r = await tug.kubectl(["get", "node", NODE, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}"]);
      return r.stdout === "True";
    }, 90_000, 500, "node Ready");
    const r = await tug.kubectl(["apply", "-f", "-"], { stdin: DEPLOYMENT });
    assert.equal(r.code, 0, show(r));
    const w = await tug.kubectl(["rollout", "status", "deploy/web", "--timeout=120s"], { timeoutMs: 130_000 });
    assert.equal(w.code, 0, show(w));
  });

  for (const v of ["1.32", "1.29"] as KubectlVersion[]) {
    test(`kubectl ${v}: logs, exec, cp, port-forward`, async () => {
      const logs = await tug.kubectl(["logs", "deploy/web", "--tail=5"], { version: v });
      assert.equal(logs.code, 0, show(logs));
      assert.match(logs.stdout, /serving/);

      const ex = await tug.kubectl(["exec", "-i", "deploy/web", "--", "sh"], { version: v, stdin: "echo scripted-$((1+2))\nread x <<EOF\nsecond\nEOF\necho $x\nexit\n" });
      assert.equal(ex.code, 0, show(ex));
      assert.equal(ex.stdout, "scripted-3\nsecond\n");
      const three = await tug.kubectl(["exec", "deploy/web", "--", "sh", "-c", "exit 3"], { version: v });
      assert.equal(three.code, 3, show(three));

      const pod = (await tug.kubectl(["get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}"])).stdout;
      const local = join(work, `up-${v}.txt`);
      writeFileSync(local, `copied by kubectl ${v}\n`.repeat(500));
      const up = await tug.kubectl(["cp", local, `default/${pod}:/tmp/up.txt`], { version: v });
      assert.equal(up.code, 0, show(up));
      const back = join(work, `back-${v}.txt`);
      const down = await tug.kubectl(["cp", `default/${pod}:/tmp/up.txt`, back], { version: v });
      assert.equal(down.code, 0, show(down));
      assert.equal(readFileSync(back, "utf8"), readFileSync(local, "utf8"));

      // logs -f sees the request made through port-forward
      const follow = spawn(kubectlBinary(v)!, ["logs", "-f", pod, "--tail=0"], { env: { ...process.env, KUBECONFIG: tug.kubeconfig, HOME: work } });
      let followed = "";
      follow.stdout.on("data", (d) => (followed += d));
      follow.stderr.on("data", (d) => (followed += d));
      const port = await freePort();
      const pf = spawn(kubectlBinary(v)!, ["port-forward", `pod/${pod}`, `${port}:8080`], { env: { ...process.env, KUBECONFIG: tug.kubeconfig, HOME: work } });
      try {
        await new Promise<void>((resolve, reject) => {
          let out = "";
          pf.stdout.on("data", (d) => ((out += d), /Forwarding from/.test(out) && resolve()));
          pf.stderr.on("data", (d) => (out += d));
          pf.on("close", () => reject(new Error(`port-forward exited: ${out}`)));
        });
        const res = await fetch(`http://127.0.0.1:${port}/index.html`);
        assert.equal(await res.text(), "hello-tug\n");
        await eventually(async () => /index\.html/.test(followed), 15_000, 200, `logs -f shows the request (got ${JSON.stringify(followed)})`);
      } finally {
        pf.kill();
        follow.kill();
      }
    });
  }

  test("kubectl top pod and node (metrics.k8s.io from the agent's /stats/summary)", async () => {
    const pods = await eventually(async () => {
      const r = await tug.kubectl(["top", "pod", "-l", "app=web"]);
      return r.code === 0 && /web-\S+\s+\d+m\s+\d+Mi/.test(r.stdout) && r.stdout;
    }, 90_000, 2000, "kubectl top pod");
    assert.equal(pods.trim().split("\n").length, 3, pods);
    const node = await tug.kubectl(["top", "node", NODE]);
    assert.equal(node.code, 0, show(node));
    assert.match(node.stdout, new RegExp(`${NODE}\\s+\\d+m\\s+\\d+%\\s+\\d+Mi\\s+\\d+%`));
  });
});
