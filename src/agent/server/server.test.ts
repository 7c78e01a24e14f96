// The node API against real containers: a private containerd (startTestNode), a real
// API with the kubelet running a busybox pod, and the agent server on a loopback port.
// Drives it as kubectl's protocols do — WebSocket v5 and SPDY exec (stdin, half-close,
// exit codes), logs (tail, timestamps, follow, previous), port-forward over SPDY and
// over the WebSocket tunnel to a server listening only on the pod's 127.0.0.1 — plus
// /stats/summary and client-certificate authentication.

import { test } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { Duplex } from "node:stream";
import * as wsModule from "ws";
import { WebSocket } from "ws";
import { realNodeSkipReason, startTestNode, waitFor, type TestNode } from "../testing.js";
import { startTestApi, type TestApi } from "../../apiserver/testing.js";
import { ensurePKI, type CertKey } from "../../apiserver/pki.js";
import { SharedInformerFactory } from "../../client/sharedinformers.js";
import { kubeletRunnable } from "../kubelet/kubelet.js";
import { BUSYBOX_IMAGE } from "../images/build.js";
import { SpdyConnection, type SpdyStream } from "../streaming/spdy.js";
import { dialSpdy } from "../streaming/remotecommand.js";
import { CLOSE, ERROR, STDERR, STDIN, STDOUT, exitCodeOf } from "../streaming/wschannel.js";
import { agentServer, APISERVER_KUBELET_CLIENT_CN, type AgentServer } from "./server.js";
import type { StatsSummary } from "../stats/summary.js";

const NODE = "k3s-node";
const POD_CIDR = "10.42.93.0/24";

interface Ctx {
  base: string;
  tls: { cert: string; key: string; rejectUnauthorized: false };
}

function get(ctx: Ctx, path: string, tls: Partial<Ctx["tls"]> = ctx.tls): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(`${ctx.base}${path}`, { ...tls, rejectUnauthorized: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      })
      .on("error", reject);
  });
}

/** kubectl ≥ 1.30 style exec: WebSocket v5, stdin then the close-stdin signal. */
function wsExec(ctx: Ctx, path: string, stdin?: string): Promise<{ stdout: string; stderr: string; code: number | undefined }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${ctx.base.replace("https", "wss")}${path}`, ["v5.channel.k8s.io"], ctx.tls);
    const out: Record<number, Buffer[]> = { [STDOUT]: [], [STDERR]: [], [ERROR]: [] };
    ws.on("open", () => {
      assert.equal(ws.protocol, "v5.channel.k8s.io");
      if (stdin !== undefined) {
        ws.send(Buffer.concat([Buffer.from([STDIN]), Buffer.from(stdin)]));
        ws.send(Buffer.from([CLOSE, STDIN]));
      }
    });
    ws.on("message", (d: Buffer) => out[d[0]!]?.push(d.subarray(1)));
    ws.on("close", () => {
      const status = Buffer.concat(out[ERROR]!).toString();
      resolve({ stdout: Buffer.concat(out[STDOUT]!).toString(), stderr: Buffer.concat(out[STDERR]!).toString(), code: status ? exitCodeOf(JSON.parse(status)) : undefined });
    });
    ws.on("error", reject);
  });
}

const collect = (s: SpdyStream) =>
  new Promise<string>((resolve) => {
    const chunks: Buffer[] = [];
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("end", () => resolve(Buffer.concat(chunks).toString()));
  });

/** kubectl 1.29 style exec: SPDY/3.1, streams error/stdin/stdout/stderr, stdin half-closed. */
async function spdyExec(ctx: Ctx, path: string, stdin: string): Promise<{ stdout: string; stderr: string; code: number | undefined }> {
  const { conn, protocol } = await dialSpdy(`${ctx.base}${path}`, ["v4.channel.k8s.io", "v3.channel.k8s.io"], { tls: ctx.tls });
  assert.equal(protocol, "v4.channel.k8s.io");
  const error = conn.openStream({ streamtype: "error" });
  const inS = conn.openStream({ streamtype: "stdin" });
  const outS = conn.openStream({ streamtype: "stdout" });
  const errS = conn.openStream({ streamtype: "stderr" });
  const [status, stdout, stderr] = [collect(error), collect(outS), collect(errS)];
  inS.write(stdin);
  inS.end();
  const s = await status;
  conn.destroy();
  return { stdout: await stdout, stderr: await stderr, code: s ? exitCodeOf(JSON.parse(s)) : undefined };
}

/**
 * A WebSocket client for a subprotocol the ws library will not send ("/" is not a token
 * character, but kubectl sends SPDY/3.1+portforward.k8s.io): our own handshake, then ws's
 * frame Sender/Receiver, as a Duplex of the binary message payloads.
 */
async function rawWebSocket(ctx: Ctx, path: string, protocol: string): Promise<Duplex> {
  const key = randomBytes(16).toString("base64");
  const socket = await new Promise<Duplex>((resolve, reject) => {
    const req = https.request(`${ctx.base}${path}`, {
      ...ctx.tls,
      headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": key, "Sec-WebSocket-Protocol": protocol },
    });
    req.on("upgrade", (res, sock, head) => {
      assert.equal(res.headers["sec-websocket-protocol"], protocol);
      assert.equal(res.headers["sec-websocket-accept"], createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64"));
      if (head.length) sock.unshift(head);
      resolve(sock);
    });
    req.on("response", (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
    req.on("error", reject);
    req.end();
  });
  // Sender and Receiver are exported by ws at runtime but missing from its type definitions.
  const wsLib = wsModule as unknown as { Sender: new (s: Duplex) => any; Receiver: new (o: object) => any };
  const sender = new wsLib.Sender(socket);
  const receiver = new wsLib.Receiver({ isServer: false });
  const duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      sender.send(chunk, { binary: true, fin: true, mask: true, compress: false }, cb);
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  receiver.on("message", (data: Buffer) => duplex.push(data));
  receiver.on("conclude", () => duplex.push(null));
  socket.pipe(receiver);
  socket.on("close", () => duplex.destroy());
  return duplex;
}

/** One port-forward request on a SPDY session (error + data stream pair), HTTP/1.0 GET. */
async function forwardGet(conn: SpdyConnection, port: number, requestId: number): Promise<string> {
  const error = conn.openStream({ streamtype: "error", port: String(port), requestid: String(requestId) });
  error.end();
  const data = conn.openStream({ streamtype: "data", port: String(port), requestid: String(requestId) });
  const body = collect(data);
  const err = collect(error);
  data.write("GET /index.html HTTP/1.0\r\nHost: x\r\n\r\n");
  data.end();
  const text = await body;
  assert.equal(await Promise.race([err, new Promise((r) => setTimeout(() => r(""), 200))]), "");
  return text;
}

test("agent server: logs, exec, port-forward and stats against real containers", { skip: realNodeSkipReason(), timeout: 150_000 }, async () => {
  let node: TestNode | undefined;
  let api: TestApi | undefined;
  const abort = new AbortController();
  const pkiDir = await mkdtemp(join(tmpdir(), "tugk3s-pki-"));
  const running: Promise<void>[] = [];
  let failure: unknown;
  try {
    node = await startTestNode({ bridge: "tugk3s", podCIDR: POD_CIDR, prefix: "tugk3s-" });
    api = await startTestApi({ serviceAccounts: true });
    const pki = await ensurePKI(pkiDir);
    const client: CertKey = await pki.issueClientCert(APISERVER_KUBELET_CLIENT_CN);
    const stranger: CertKey = await pki.issueClientCert("system:node:other", ["system:nodes"]);
    await api.client.create("v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: NODE }, spec: { podCIDR: POD_CIDR, podCIDRs: [POD_CIDR] } });
    const kubelet = kubeletRunnable({ client: api.client, informers: new SharedInformerFactory(api.client), runtime: node.runtime, nodeName: NODE, podCIDR: POD_CIDR, dataDir: node.dir, hostIP: "10.42.93.1" });
    running.push(kubelet.start(abort.signal));
    await kubelet.ready!();
    const srv: AgentServer = agentServer({ runtime: node.runtime, nodeName: NODE, ca: pki.ca.certPem, listen: { host: "127.0.0.1", port: 0 } });
    running.push(srv.start(abort.signal));
    await srv.ready!();
    const ctx: Ctx = { base: `https://127.0.0.1:${srv.port}`, tls: { cert: client.certPem, key: client.keyPem, rejectUnauthorized: false } };

    const pod = await api.client.create("v1/pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "box", namespace: "default" },
      spec: {
        nodeName: NODE,
        containers: [
          { name: "main", image: BUSYBOX_IMAGE, command: ["sh", "-c", 'echo start; i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.2; done'] },
          { name: "web", image: BUSYBOX_IMAGE, command: ["sh", "-c", "mkdir -p /www && echo hello-pf > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www"] },
          { name: "crash", image: BUSYBOX_IMAGE, command: ["sh", "-c", 'echo "run $RANDOM"; sleep 1; exit 1'] },
        ],
      },
    });
    node.trackPod(pod.metadata.uid!);
    await waitFor("pod Running", async () => ((await api!.client.get("v1/pods", "default", "box")).status?.phase === "Running" ? true : undefined), 60_000);

    // --- authentication ---
    assert.equal((await get(ctx, "/healthz", {})).status, 200);
    assert.equal((await get(ctx, "/stats/summary", {})).status, 401);
    assert.equal((await get(ctx, "/stats/summary", { cert: stranger.certPem, key: stranger.keyPem })).status, 403);

    // --- logs ---
    await waitFor("a few ticks", async () => ((await get(ctx, "/containerLogs/default/box/main")).body.includes("tick 3") ? true : undefined));
    const all = (await get(ctx, "/containerLogs/default/box/main")).body;
    assert.match(all, /^start\ntick 0\ntick 1\n/);
    const tail = (await get(ctx, "/containerLogs/default/box/main?tailLines=2")).body;
    assert.equal(tail.split("\n").length, 3, tail);
    assert.match(tail, /^tick \d+\ntick \d+\n$/);
    const ts = (await get(ctx, "/containerLogs/default/box/main?tailLines=1&timestamps=true")).body;
    assert.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z tick \d+\n$/);
    assert.equal((await get(ctx, "/containerLogs/default/box/main?limitBytes=3")).body, "sta");
    assert.equal((await get(ctx, "/containerLogs/default/box/main?sinceTime=2999-01-01T00:00:00Z")).body, "");
    assert.equal((await get(ctx, "/containerLogs/default/box/main?tailLines=x")).status, 400);
    assert.equal((await get(ctx, "/containerLogs/default/box/nope")).status, 400);
    assert.equal((await get(ctx, "/containerLogs/default/nobox/main")).status, 404);

    // follow streams new lines as they are written
    const followed = await new Promise<string>((resolve, reject) => {
      let text = "";
      const req = https.get(`${ctx.base}/containerLogs/default/box/main?follow=true&tailLines=0`, { ...ctx.tls }, (res) => {
        res.on("data", (c: Buffer) => {
          text += c.toString();
          if ((text.match(/tick/g) ?? []).length >= 3) {
            req.destroy();
            resolve(text);
          }
        });
      });
      req.on("error", (e) => (text ? undefined : reject(e)));
    });
    assert.match(followed, /^tick \d+\ntick \d+\ntick \d+/);

    // --previous after a restart; following the current run ends when it exits
    await waitFor("crash restarted", async () => {
      const p = await api!.client.get("v1/pods", "default", "box");
      return (p.status?.containerStatuses?.find((c: any) => c.name === "crash")?.restartCount ?? 0) >= 1 ? true : undefined;
    }, 60_000);
    const prev = await get(ctx, "/containerLogs/default/box/crash?previous=true");
    assert.equal(prev.status, 200, prev.body);
    assert.match(prev.body, /^run \d+\n$/);
    assert.equal((await get(ctx, "/containerLogs/default/box/main?previous=true")).status, 400);
    const t0 = Date.now();
    const cur = await get(ctx, "/containerLogs/default/box/crash?follow=true");
    assert.match(cur.body, /^run \d+\n$/);
    assert.ok(Date.now() - t0 < 10_000, "follow ends when the container exits");

    // --- exec over WebSocket v5 ---
    const q = (cmd: string[], extra = "&stdout=true&stderr=true") => `?${cmd.map((c) => `command=${encodeURIComponent(c)}`).join("&")}${extra}`;
    const r1 = await wsExec(ctx, `/exec/default/box/main${q(["sh", "-c", "read x; echo got:$x; echo oops >&2; exit 3"], "&stdin=true&stdout=true&stderr=true")}`, "hello\n");
    assert.deepEqual(r1, { stdout: "got:hello\n", stderr: "oops\n", code: 3 });
    const r2 = await wsExec(ctx, `/exec/default/box/main${q(["cat"], "&stdin=true&stdout=true&stderr=true")}`, "line a\nline b\n");
    assert.deepEqual(r2, { stdout: "line a\nline b\n", stderr: "", code: 0 });
    const big = await wsExec(ctx, `/exec/default/box/main${q(["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' a"])}`);
    assert.equal(big.stdout.length, 300_000);
    assert.equal(big.code, 0);

    // a TTY: the terminal size arrives on the resize channel
    const tty = await new Promise<{ out: string; code: number | undefined }>((resolve, reject) => {
      const ws = new WebSocket(`${ctx.base.replace("https", "wss")}/exec/default/box/main${q(["sh"], "&stdin=true&stdout=true&tty=true")}`, ["v5.channel.k8s.io"], ctx.tls);
      let out = "";
      let status = "";
      ws.on("open", () => {
        ws.send(Buffer.concat([Buffer.from([4]), Buffer.from(JSON.stringify({ Width: 101, Height: 31 }))]));
        setTimeout(() => ws.send(Buffer.concat([Buffer.from([STDIN]), Buffer.from("stty size; exit 5\n")])), 300);
      });
      ws.on("message", (d: Buffer) => (d[0] === STDOUT ? (out += d.subarray(1).toString()) : d[0] === ERROR ? (status += d.subarray(1).toString()) : undefined));
      ws.on("close", () => resolve({ out, code: status ? exitCodeOf(JSON.parse(status)) : undefined }));
      ws.on("error", reject);
    });
    assert.match(tty.out, /31 101/);
    assert.equal(tty.code, 5);

    // --- exec over SPDY (passed through to containerd's streaming server) ---
    const r3 = await spdyExec(ctx, `/exec/default/box/main${q(["sh", "-c", "wc -c; exit 7"], "&stdin=true&stdout=true&stderr=true")}`, "12345");
    assert.equal(r3.stdout.trim(), "5");
    assert.equal(r3.code, 7);

    // --- port-forward to a server bound to the pod's 127.0.0.1 ---
    const { conn, protocol } = await dialSpdy(`${ctx.base}/portForward/default/box`, ["portforward.k8s.io"], { tls: ctx.tls });
    assert.equal(protocol, "portforward.k8s.io");
    assert.match(await forwardGet(conn, 8080, 0), /^HTTP\/1\.[01] 200 OK[\s\S]*\r\n\r\nhello-pf\n$/);
    assert.match(await forwardGet(conn, 8080, 1), /hello-pf/);
    conn.destroy();
    // kubectl 1.31+: the same SPDY session tunnelled in WebSocket messages
    const tunnelled = new SpdyConnection(await rawWebSocket(ctx, "/portForward/default/box", "SPDY/3.1+portforward.k8s.io"), false);
    assert.match(await forwardGet(tunnelled, 8080, 0), /hello-pf/);
    tunnelled.destroy();

    // --- stats ---
    const s1 = JSON.parse((await get(ctx, "/stats/summary")).body) as StatsSummary;
    assert.equal(s1.node.nodeName, NODE);
    assert.ok((s1.node.memory?.workingSetBytes ?? 0) > 0);
    const summary = await waitFor("pod stats with CPU rates", async () => {
      const s = JSON.parse((await get(ctx, "/stats/summary")).body) as StatsSummary;
      const p = s.pods.find((x) => x.podRef.name === "box");
      return p?.containers.find((c) => c.name === "main")?.cpu?.usageNanoCores !== undefined ? s : undefined;
    }, 15_000, 1100);
    const p = summary.pods.find((x) => x.podRef.name === "box")!;
    assert.equal(p.podRef.namespace, "default");
    assert.equal(p.podRef.uid, pod.metadata.uid);
    const main = p.containers.find((c) => c.name === "main")!;
    assert.ok((main.memory?.workingSetBytes ?? 0) > 0, JSON.stringify(main));
    assert.ok(typeof summary.node.cpu?.usageNanoCores === "number");

    // The kubelet tears the pod down (and removes its cgroups) before the node goes.
    await api.client.delete("v1/pods", "default", "box", { gracePeriodSeconds: 0 });
    await waitFor("sandbox removed", async () => ((await node!.runtime.listPodSandboxes()).length === 0 ? true : undefined), 30_000);
  } catch (err) {
    failure = err;
  } finally {
    abort.abort();
    await Promise.allSettled(running);
    await api?.close();
    try {
      await node?.cleanup();
    } catch (err) {
      failure ??= err;
    }
    await rm(pkiDir, { recursive: true, force: true });
  }
  if (failure) throw failure;
});
