// Probes and handlers (probes.ts, handlers.ts): API defaults, success/failure thresholds
// and the liveness hold, named ports, and the httpGet / tcpSocket / exec actions against a
// local HTTP server on 127.0.0.1.

import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { ProbeState, probeSpec } from "./probes.js";
import { resolvePort, runAction } from "./handlers.js";
import type { ContainerRuntime } from "../runtime/types.js";

test("probe defaults", () => {
  assert.deepEqual({ ...probeSpec({ exec: { command: ["true"] } }), handler: undefined }, {
    initialDelaySeconds: 0,
    periodSeconds: 10,
    timeoutSeconds: 1,
    successThreshold: 1,
    failureThreshold: 3,
    handler: undefined,
  });
});

test("thresholds: results flip only after consecutive outcomes; liveness holds after failure", () => {
  const ready = new ProbeState("readiness", { successThreshold: 2, failureThreshold: 3 });
  assert.equal(ready.result, "Failure");
  assert.equal(ready.observe("Success"), false);
  assert.equal(ready.observe("Success"), true);
  assert.equal(ready.result, "Success");
  assert.equal(ready.observe("Failure"), false);
  assert.equal(ready.observe("Success"), false, "a success breaks the failure run");
  assert.equal(ready.observe("Failure"), false);
  assert.equal(ready.observe("Failure"), false);
  assert.equal(ready.observe("Failure"), true);
  assert.equal(ready.result, "Failure");
  assert.equal(ready.onHold, false, "readiness keeps probing");

  const live = new ProbeState("liveness", { successThreshold: 1, failureThreshold: 2 });
  assert.equal(live.result, "Success");
  live.observe("Failure");
  assert.equal(live.result, "Success");
  assert.equal(live.observe("Failure"), true);
  assert.equal(live.onHold, true);
  assert.equal(live.observe("Success"), false, "on hold until the next instance");

  assert.equal(new ProbeState("startup", { successThreshold: 1, failureThreshold: 3 }).result, "Unknown");
});

test("named and numeric ports", () => {
  const c = { ports: [{ name: "http", containerPort: 8080 }] };
  assert.equal(resolvePort("http", c), 8080);
  assert.equal(resolvePort(81, c), 81);
  assert.equal(resolvePort("82", c), 82);
  assert.equal(resolvePort("nope", c), undefined);
});

test("httpGet, tcpSocket and exec actions", async () => {
  let seen: http.IncomingHttpHeaders = {};
  const server = http.createServer((req, res) => {
    seen = req.headers;
    if (req.url === "/slow") return void setTimeout(() => res.end("late"), 3000);
    res.statusCode = req.url === "/healthz" ? 200 : req.url === "/redirect" ? 302 : 500;
    res.end("body");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const runtime = {
    execSync: async (_id: string, cmd: string[]) => ({ stdout: Buffer.from(cmd.join(" ")), stderr: Buffer.alloc(0), exitCode: cmd[0] === "fail" ? 1 : 0 }),
  } as unknown as ContainerRuntime;
  const t = { runtime, containerId: "c1", container: { ports: [{ name: "web", containerPort: port }] }, podIP: "127.0.0.1", env: [{ name: "X", value: "42" }] };
  try {
    const ok = await runAction({ httpGet: { path: "/healthz", port: "web", httpHeaders: [{ name: "X-Probe", value: "yes" }] } }, t, 1);
    assert.equal(ok.ok, true);
    assert.equal(seen["x-probe"], "yes");
    assert.match(String(seen["user-agent"]), /^kube-probe\//);
    assert.equal((await runAction({ httpGet: { path: "/redirect", port } }, t, 1)).ok, true);
    assert.deepEqual(await runAction({ httpGet: { path: "/bad", port } }, t, 1), { ok: false, output: "HTTP probe failed with statuscode: 500" });
    const slow = await runAction({ httpGet: { path: "/slow", port } }, t, 1);
    assert.equal(slow.ok, false);
    assert.match(slow.output, /deadline exceeded/);
    const refused = await runAction({ httpGet: { port: closedPort } }, t, 1);
    assert.match(refused.output, /connect: connection refused/);
    assert.equal((await runAction({ tcpSocket: { port } }, t, 1)).ok, true);
    assert.equal((await runAction({ tcpSocket: { port: closedPort } }, t, 1)).ok, false);
    assert.deepEqual(await runAction({ exec: { command: ["echo", "$(X)"] } }, t, 1), { ok: true, output: "echo 42" });
    assert.equal((await runAction({ exec: { command: ["fail"] } }, t, 1)).ok, false);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
