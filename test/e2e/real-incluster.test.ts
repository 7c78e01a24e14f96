// End-to-end test of in-cluster API access with non-default cluster ranges: `tug up`
// with --service-cidr 10.45.0.0/16 and --cluster-cidr 10.47.0.0/16 and one real
// containerd node. The `kubernetes` Service takes the first service address and
// kube-dns the tenth; the node learns the ranges and the DNS address from the server
// (kube-system/tugboat-config) — its pod /24 comes from the new pod range, its
// `unreachable` routes and pods' resolv.conf follow — and a busybox pod reaches the API
// server from inside through the Service (https://kubernetes.default.svc with its
// service-account token) and resolves kubernetes.default.svc.cluster.local through the
// cluster DNS. The API listens on every interface (the `kubernetes` endpoint is the
// advertise address); the DNS server too.
//
// busybox's own TLS client (what its wget uses without an openssl binary, as in the pod)
// sends no signature_algorithms extension, so TLS 1.2 falls back to SHA-1 handshake
// signatures, which OpenSSL 3 (Node's TLS) refuses at its default security level
// (handshake_failure, alert 40). So the pod only carries the bytes: `kubectl exec -i
// POD -- nc kubernetes.default.svc 443` is the pod's TCP connection through the Service,
// and the test speaks TLS over it (verifying the serving certificate against the cluster
// CA for the name kubernetes.default.svc) with the pod's own service-account token.
//
// Own bridge and ranges no other test uses;
// `tug down` and a leak check (routes, ip rules, nft table included) end it.
// Needs root, containerd, runc, the CNI plugins and busybox-static (skipped otherwise).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { Duplex } from "node:stream";
import { connect } from "node:tls";
import { eventually, kubectlBinary, missingKubectl, show, startTug, type Tug } from "./harness.js";
import { getJSON, stopAndTearDown, tugCommand } from "./real-node.js";
import { realNodeSkipReason } from "../../src/agent/testing.js";

const BRIDGE = "tugic0";
const SERVICE_CIDR = "10.45.0.0/16";
const CLUSTER_CIDR = "10.47.0.0/16";
const NODE = "ic-e2e-node";

const skip = realNodeSkipReason() || missingKubectl();


const sh = (cmd: string, args: string[]) => {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return "";
  }
};
const unreachableRoutes = () => sh("ip", ["route", "show", "type", "unreachable"]);

/**
 * GET `path` from the API over a TCP connection the pod opens (`nc host 443` inside it),
 * with TLS checked against the cluster CA for `host`: the pod's network path, the
 * Service, DNS and the serving certificate all take part.
 */
async function apiFromPod(tug: Tug, pod: string, host: string, path: string, token?: string): Promise<{ status: number; body: string }> {
  const child = spawn(kubectlBinary()!, ["--kubeconfig", tug.kubeconfig, "exec", "-i", pod, "--", "nc", host, "443"], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tug.dataDir },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (b) => (stderr += b));
  const socket = Duplex.from({ readable: child.stdout!, writable: child.stdin! });
  const ca = readFileSync(join(tug.dataDir, "pki", "ca.crt"), "utf8");
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer through the pod: ${stderr}`)), 15_000);
      const req = request(
        {
          host,
          path,
          headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), connection: "close" },
          createConnection: () => connect({ socket, servername: host, ca }),
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (body += c));
          res.on("end", () => (clearTimeout(timer), resolve({ status: res.statusCode ?? 0, body })));
        },
      );
      req.on("error", (e) => (clearTimeout(timer), reject(new Error(`${e.message} ${stderr}`))));
      req.end();
    });
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
}

describe("in-cluster API access with a non-default service range", { skip, timeout: 600_000 }, () => {
  let tug: Tug;
  const podUIDs = new Set<string>();

  before(async () => {
    tug = await startTug({
      command: "up",
      // Pods reach the API and DNS at the advertise address (the host's IPv4), not loopback.
      listenHost: "0.0.0.0",
      args: [
        "--node-name", NODE, "--cni-bridge", BRIDGE, "--kubelet-port", "0", "--no-install", "--no-demo",
        "--service-cidr", SERVICE_CIDR, "--cluster-cidr", CLUSTER_CIDR, "--cluster-dns-bind", "0.0.0.0",
      ],
      readyTimeoutMs: 90_000,
    });
  });

  after(async () => {
    if (!tug) return;
    const leaks = await stopAndTearDown(tug, BRIDGE, podUIDs);
    const routes = unreachableRoutes();
    for (const cidr of [SERVICE_CIDR, CLUSTER_CIDR]) if (routes.includes(cidr)) leaks.push(`unreachable route ${cidr}`);
    for (const l of sh("ip", ["rule", "show"]).split("\n")) if (l.includes("10.45.0.0/16")) leaks.push(`ip rule ${l.trim()}`);
    if (sh("nft", ["list", "tables"]).includes(`tugboat-${BRIDGE}`)) leaks.push(`nft table tugboat-${BRIDGE}`);
    assert.deepEqual(leaks, [], "tug down left things behind");
  });

  test("tug server and tug up listen on every interface by default", async () => {
    const help = await tugCommand(["up", "--help"]);
    assert.match(help.out, /--listen VALUE.*\(default 0\.0\.0\.0:6443\)/);
    assert.match(help.out, /--service-cidr VALUE.*\(default 10\.43\.0\.0\/16\)/);
    assert.match(help.out, /--node-monitor-grace-period VALUE.*\(default 20s\)/);
    const bad = await tugCommand(["server", "--service-cidr", "10.45.0.0/33"]);
    assert.equal(bad.code, 2, bad.out);
    assert.match(bad.out, /--service-cidr must be an IPv4 CIDR/);
  });

  test("the Services take the first and tenth addresses of --service-cidr; the node its /24 of --cluster-cidr", async () => {
    const svc = await tug.kubectl(["get", "svc", "kubernetes"]);
    assert.equal(svc.code, 0, show(svc));
    assert.match(svc.stdout, /kubernetes\s+ClusterIP\s+10\.45\.0\.1\s/);
    const dns = await getJSON(tug, ["-n", "kube-system", "get", "svc", "kube-dns"]);
    assert.equal(dns.spec.clusterIP, "10.45.0.10");
    const cm = await getJSON(tug, ["-n", "kube-system", "get", "configmap", "tugboat-config"]);
    assert.equal(cm.data["service-cidr"], SERVICE_CIDR);
    assert.equal(cm.data["cluster-cidr"], CLUSTER_CIDR);
    assert.equal(cm.data["cluster-dns"], "10.45.0.10");
    const node = await eventually(async () => {
      const n = await getJSON(tug, ["get", "node", NODE]);
      return n.status?.conditions?.find((c: any) => c.type === "Ready")?.status === "True" && n;
    }, 120_000, 500, "node Ready");
    assert.equal(node.spec.podCIDR, "10.47.0.0/24");
    const routes = unreachableRoutes();
    for (const cidr of [SERVICE_CIDR, CLUSTER_CIDR]) assert.ok(routes.includes(cidr), `unreachable ${cidr} installed:\n${routes}`);
  });

  test("a pod reaches the API through kubernetes.default.svc with its token, and resolves it through the cluster DNS", async () => {
    let r = await tug.kubectl(["apply", "-f", "-"], {
      stdin: `apiVersion: v1
kind: Pod
metadata: {name: incluster, namespace: default}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: tugboat/busybox:1
    command: ["sleep", "3600"]
`,
    });
    assert.equal(r.code, 0, show(r));
    const pod = await eventually(async () => {
      const p = await getJSON(tug, ["get", "pod", "incluster"]);
      return p.status?.phase === "Running" && p;
    }, 120_000, 500, "incluster Running");
    podUIDs.add(pod.metadata.uid);
    assert.ok(pod.status.podIP.startsWith("10.47.0."), pod.status.podIP);

    r = await tug.kubectl(["exec", "incluster", "--", "cat", "/etc/resolv.conf"]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^nameserver 10\.45\.0\.10$/m);

    const lookup = await eventually(async () => {
      const x = await tug.kubectl(["exec", "incluster", "--", "nslookup", "kubernetes.default.svc.cluster.local"]);
      return x.code === 0 && /10\.45\.0\.1\b/.test(x.stdout.split(/Name:/)[1] ?? "") && x;
    }, 30_000, 1000, "nslookup kubernetes.default.svc.cluster.local from the pod");
    assert.match(lookup.stdout, /Address:?\s+10\.45\.0\.1\b/);

    // A plain TCP connection from the pod to the Service address (DNAT to the advertise address).
    const tcp = await eventually(async () => {
      const x = await tug.kubectl(["exec", "incluster", "--", "sh", "-c", "nc -w 5 10.45.0.1 443 </dev/null && echo connected"]);
      return x.code === 0 && /connected/.test(x.stdout) && x;
    }, 30_000, 1000, "TCP 10.45.0.1:443 from the pod");
    assert.match(tcp.stdout, /connected/);

    // HTTPS through the pod's connection to kubernetes.default.svc (the search path makes it
    // kubernetes.default.svc.cluster.local) with the pod's projected token.
    const token = await tug.kubectl(["exec", "incluster", "--", "cat", "/var/run/secrets/kubernetes.io/serviceaccount/token"]);
    assert.equal(token.code, 0, show(token));
    const api = await eventually(() => apiFromPod(tug, "incluster", "kubernetes.default.svc", "/api/v1/namespaces/default/pods", token.stdout.trim()), 30_000, 1000, "the API through the pod");
    assert.equal(api.status, 200, api.body);
    const list = JSON.parse(api.body);
    assert.equal(list.kind, "PodList");
    assert.ok(list.items.some((p: any) => p.metadata.name === "incluster"), "the pod sees itself");
    // Without the token the API refuses: the pod got in with its own credentials.
    const anon = await apiFromPod(tug, "incluster", "kubernetes.default.svc", "/api/v1/namespaces/default/pods");
    assert.equal(anon.status, 401, anon.body);

    r = await tug.kubectl(["delete", "pod", "incluster", "--wait=true"], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, show(r));
  });
});
