import * as https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ensurePKI, type PKI } from "../apiserver/pki.js";
import { authenticate } from "../apiserver/authn.js";
import { AlreadyExists, BadRequest, Gone, Invalid, NotFound, ServiceUnavailable, StatusError, Timeout, fieldError } from "../apimachinery/errors.js";
import type { WatchEvent } from "../apimachinery/types.js";
import { builtinScope, createHttpClient, type HttpClient } from "./http.js";

interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
  user?: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

const pod = (name: string, rv = "1") => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default", resourceVersion: rv } });

function json(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(code, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

describe("http client", () => {
  let dir: string;
  let pki: PKI;
  let server: https.Server;
  let port: number;
  let client: HttpClient;
  let seen: Recorded[] = [];
  let handler: Handler = (_req, res) => json(res, 200, pod("p"));
  const sockets = new Set<Socket>();
  let connections = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "tug-http-"));
    pki = await ensurePKI(dir, {});
    server = https.createServer({ cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body, user: authenticate(req, { tokens: new Map([["tok", { name: "tokuser", groups: [] }]]) })?.name });
        handler(req, res, body);
      });
    });
    server.on("secureConnection", (s) => {
      connections++;
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
    client = createHttpClient({ server: `https://127.0.0.1:${port}`, ca: pki.ca.certPem, cert: pki.admin.certPem, key: pki.admin.keyPem });
  });

  after(async () => {
    client.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    seen = [];
    handler = (_req, res) => json(res, 200, pod("p"));
  });

  it("builds core, group and cluster-scoped paths", async () => {
    await client.get("v1/pods", "default", "p");
    await client.get("apps/v1/deployments", "kube-system", "coredns");
    await client.get("v1/nodes", "ignored", "n1");
    await client.get("rbac.authorization.k8s.io/v1/clusterroles", undefined, "admin");
    await client.get("example.com/v1/widgets", "ns1", "w");
    await client.get("example.com/v1/gadgets", undefined, "g");
    await client.list("v1/pods");
    await client.list("v1/pods", { namespace: "a b" });
    assert.deepEqual(
      seen.map((r) => r.url),
      [
        "/api/v1/namespaces/default/pods/p",
        "/apis/apps/v1/namespaces/kube-system/deployments/coredns",
        "/api/v1/nodes/n1",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin",
        "/apis/example.com/v1/namespaces/ns1/widgets/w",
        "/apis/example.com/v1/gadgets/g",
        "/api/v1/pods",
        "/api/v1/namespaces/a%20b/pods",
      ],
    );
    assert.equal(seen[0]!.user, "admin", "client certificate presented");
    assert.equal(seen[0]!.headers.accept, "application/json");
    assert.match(String(seen[0]!.headers["user-agent"]), /tugboat/);
  });

  it("passes list and write query parameters", async () => {
    handler = (_req, res) => json(res, 200, { apiVersion: "v1", kind: "PodList", metadata: { resourceVersion: "9", continue: "c2" }, items: [pod("a")] });
    const list = await client.list("v1/pods", { namespace: "default", labelSelector: "app=web,tier in (a,b)", fieldSelector: "spec.nodeName=n1", limit: 500, continue: "c1", resourceVersion: "0" });
    assert.equal(list.items.length, 1);
    assert.equal(list.metadata.continue, "c2");
    const u = new URL(seen[0]!.url, "https://x");
    assert.equal(u.pathname, "/api/v1/namespaces/default/pods");
    assert.equal(u.searchParams.get("labelSelector"), "app=web,tier in (a,b)");
    assert.equal(u.searchParams.get("fieldSelector"), "spec.nodeName=n1");
    assert.equal(u.searchParams.get("limit"), "500");
    assert.equal(u.searchParams.get("continue"), "c1");
    assert.equal(u.searchParams.get("resourceVersion"), "0");

    handler = (_req, res, body) => json(res, 201, JSON.parse(body));
    const created = await client.create("v1/pods", pod("new"), { dryRun: true, fieldManager: "tug", fieldValidation: "Strict" });
    assert.equal(created.metadata.name, "new");
    const c = seen[1]!;
    assert.equal(c.method, "POST");
    assert.equal(c.url, "/api/v1/namespaces/default/pods?dryRun=All&fieldManager=tug&fieldValidation=Strict");
    assert.equal(c.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(c.body), pod("new"));
  });

  it("updates the object and its status subresource with PUT", async () => {
    handler = (_req, res, body) => json(res, 200, JSON.parse(body));
    await client.update("apps/v1/deployments", { metadata: { name: "d", namespace: "ns" }, spec: { replicas: 2 } });
    await client.updateStatus("apps/v1/deployments", { metadata: { name: "d", namespace: "ns" }, status: { replicas: 2 } }, { fieldManager: "deployment-controller" });
    await client.update("v1/namespaces", { metadata: { name: "gone" }, spec: { finalizers: [] } }, { subresource: "finalize" });
    await client.createSubresource("v1/pods", "ns", "p", "binding", { apiVersion: "v1", kind: "Binding", metadata: { name: "p" }, target: { kind: "Node", name: "n1" } });
    assert.deepEqual(
      seen.map((r) => `${r.method} ${r.url}`),
      [
        "PUT /apis/apps/v1/namespaces/ns/deployments/d",
        "PUT /apis/apps/v1/namespaces/ns/deployments/d/status?fieldManager=deployment-controller",
        "PUT /api/v1/namespaces/gone/finalize",
        "POST /api/v1/namespaces/ns/pods/p/binding",
      ],
    );
    assert.equal(JSON.parse(seen[3]!.body).target.name, "n1");
  });

  it("sends each patch type with its media type", async () => {
    await client.patch("apps/v1/deployments", "ns", "d", "merge", { spec: { replicas: 3 } }, { subresource: "scale" });
    await client.patch("apps/v1/deployments", "ns", "d", "strategic", { spec: { template: {} } });
    await client.patch("apps/v1/deployments", "ns", "d", "json", [{ op: "replace", path: "/spec/replicas", value: 1 }]);
    await client.patch("apps/v1/deployments", "ns", "d", "apply", { apiVersion: "apps/v1", kind: "Deployment" }, { fieldManager: "kubectl", force: true });
    await client.patch("v1/pods", "ns", "p", "merge", { metadata: { labels: { a: "b" } } }, { force: true });
    assert.deepEqual(
      seen.map((r) => [r.method, r.url, r.headers["content-type"]]),
      [
        ["PATCH", "/apis/apps/v1/namespaces/ns/deployments/d/scale", "application/merge-patch+json"],
        ["PATCH", "/apis/apps/v1/namespaces/ns/deployments/d", "application/strategic-merge-patch+json"],
        ["PATCH", "/apis/apps/v1/namespaces/ns/deployments/d", "application/json-patch+json"],
        ["PATCH", "/apis/apps/v1/namespaces/ns/deployments/d?fieldManager=kubectl&force=true", "application/apply-patch+yaml"],
        ["PATCH", "/api/v1/namespaces/ns/pods/p", "application/merge-patch+json"],
      ],
    );
    assert.deepEqual(JSON.parse(seen[2]!.body), [{ op: "replace", path: "/spec/replicas", value: 1 }]);
  });

  it("deletes with a DeleteOptions body", async () => {
    handler = (_req, res) => json(res, 200, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success" });
    const st = await client.delete("v1/pods", "ns", "p", { propagationPolicy: "Foreground", gracePeriodSeconds: 0, preconditions: { uid: "u1" }, dryRun: true });
    assert.equal(st.status, "Success");
    await client.deleteCollection("v1/pods", { namespace: "ns", labelSelector: "app=x", propagationPolicy: "Background" });
    assert.equal(seen[0]!.method, "DELETE");
    assert.equal(seen[0]!.url, "/api/v1/namespaces/ns/pods/p");
    assert.deepEqual(JSON.parse(seen[0]!.body), {
      kind: "DeleteOptions",
      apiVersion: "v1",
      propagationPolicy: "Foreground",
      gracePeriodSeconds: 0,
      preconditions: { uid: "u1" },
      dryRun: ["All"],
    });
    assert.equal(seen[1]!.url, "/api/v1/namespaces/ns/pods?labelSelector=app%3Dx");
    assert.equal(JSON.parse(seen[1]!.body).propagationPolicy, "Background");
  });

  it("maps Status answers onto the error catalogue, preserving them", async () => {
    const nf = new NotFound("deployments", "d", "apps").toStatus();
    handler = (_req, res) => json(res, 404, nf);
    const e1 = await client.get("apps/v1/deployments", "ns", "d").catch((e) => e);
    assert.ok(e1 instanceof NotFound);
    assert.ok(e1 instanceof StatusError);
    assert.equal(e1.name, "NotFound");
    assert.equal(e1.code, 404);
    assert.equal(e1.message, 'deployments.apps "d" not found');
    assert.deepEqual(e1.details, nf.details);
    assert.deepEqual(e1.toStatus(), nf);

    handler = (_req, res) => json(res, 409, new AlreadyExists("pods", "p").toStatus());
    assert.ok((await client.create("v1/pods", pod("p")).catch((e) => e)) instanceof AlreadyExists);

    const inv = new Invalid("Pod", "p", [fieldError.required("spec.containers")]).toStatus();
    handler = (_req, res) => json(res, 422, inv);
    const e3 = await client.create("v1/pods", pod("p")).catch((e) => e);
    assert.ok(e3 instanceof Invalid);
    assert.deepEqual(e3.details?.causes, [{ reason: "FieldValueRequired", field: "spec.containers", message: "Required value" }]);

    handler = (_req, res) => json(res, 418, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", reason: "Teapot", message: "short and stout", code: 418 });
    const e4 = await client.get("v1/pods", "ns", "p").catch((e) => e);
    assert.equal(e4.constructor, StatusError);
    assert.equal(e4.code, 418);
    assert.equal(e4.reason, "Teapot");
    assert.equal(e4.message, "short and stout");

    handler = (_req, res) => {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end("upstream went away");
    };
    const e5 = await client.get("v1/pods", "ns", "p").catch((e) => e);
    assert.ok(e5 instanceof StatusError);
    assert.equal(e5.code, 502);
    assert.equal(e5.message, "upstream went away");

    handler = (_req, res) => json(res, 410, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", reason: "Expired", message: "too old", code: 410 });
    const e6 = await client.list("v1/pods", { continue: "old" }).catch((e) => e);
    assert.ok(e6 instanceof Gone);
    assert.equal(e6.reason, "Expired");
  });

  it("refuses bad input before touching the network", async () => {
    await assert.rejects(client.get("v1/pods", undefined, "p"), (e) => e instanceof BadRequest && /namespace/.test(e.message));
    await assert.rejects(client.get("v1/pods", "ns", ""), (e) => e instanceof BadRequest && /metadata\.name/.test(e.message));
    await assert.rejects(client.create("v1/pods", { metadata: { name: "x" } }), (e) => e instanceof BadRequest && /namespace/.test(e.message));
    await assert.rejects(client.get("pods", "ns", "p"), (e) => e instanceof BadRequest && /v1\/pods/.test(e.message));
    await assert.rejects(client.patch("v1/pods", "ns", "p", "yaml" as never, {}), (e) => e instanceof BadRequest && /patch type/.test(e.message));
    assert.equal(seen.length, 0);
  });

  it("reports Warning headers", async () => {
    const warnings: string[] = [];
    const c = createHttpClient({ server: `https://127.0.0.1:${port}`, ca: pki.ca.certPem, token: "tok", onWarning: (w) => warnings.push(w) });
    handler = (_req, res) => json(res, 200, pod("p"), { Warning: '299 - "unknown field \\"spec.foo\\""' });
    await c.get("v1/pods", "ns", "p");
    c.close();
    assert.deepEqual(warnings, ['unknown field "spec.foo"']);
    assert.equal(seen[0]!.headers.authorization, "Bearer tok");
    assert.equal(seen[0]!.user, "tokuser");
  });

  it("reuses keep-alive connections", async () => {
    const c = createHttpClient({ server: `https://localhost:${port}`, ca: pki.ca.certPem, token: "tok" });
    const before = connections;
    for (let i = 0; i < 5; i++) await c.get("v1/pods", "ns", "p");
    await Promise.all([1, 2, 3].map(() => c.get("v1/pods", "ns", "p")));
    c.close();
    assert.ok(connections - before <= 3, `opened ${connections - before} connections`);
  });

  it("times out slow requests and maps unreachable servers", async () => {
    handler = () => {}; // never answers
    const c = createHttpClient({ server: `https://127.0.0.1:${port}`, ca: pki.ca.certPem, timeoutMs: 150 });
    await assert.rejects(c.get("v1/pods", "ns", "p"), (e) => e instanceof Timeout && e.code === 504);
    c.close();
    const dead = createHttpClient({ server: "https://127.0.0.1:1", ca: pki.ca.certPem });
    await assert.rejects(dead.get("v1/pods", "ns", "p"), (e) => e instanceof ServiceUnavailable && /ECONNREFUSED/.test(e.message));
    dead.close();
  });

  it("rejects a server whose certificate is not signed by the configured CA", async () => {
    const other = await ensurePKI(join(dir, "other"), {});
    const c = createHttpClient({ server: `https://127.0.0.1:${port}`, ca: other.ca.certPem });
    await assert.rejects(c.get("v1/pods", "ns", "p"), (e) => e instanceof ServiceUnavailable);
    c.close();
  });

  describe("watch", () => {
    it("streams NDJSON events split across chunks and resolves done at the end", async () => {
      handler = (_req, res) => {
        res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
        const lines = [
          JSON.stringify({ type: "ADDED", object: pod("a", "5") }),
          JSON.stringify({ type: "MODIFIED", object: pod("a", "6") }),
          JSON.stringify({ type: "BOOKMARK", object: { kind: "Pod", apiVersion: "v1", metadata: { resourceVersion: "7" } } }),
          JSON.stringify({ type: "DELETED", object: pod("a", "8") }),
        ].join("\n") + "\n";
        // Cut the stream mid-object and mid-character to exercise line reassembly.
        const buf = Buffer.from(lines.replace('"a"', '"ä"'));
        const cuts = [7, 40, 41, 90, buf.length - 3, buf.length];
        let at = 0;
        const next = () => {
          const end = cuts.shift();
          if (end === undefined) return res.end();
          res.write(buf.subarray(at, end));
          at = end;
          setTimeout(next, 2);
        };
        next();
      };
      const events: WatchEvent[] = [];
      const w = await client.watch("v1/pods", { namespace: "default", resourceVersion: "4", allowWatchBookmarks: true, timeoutSeconds: 30, labelSelector: "app=a" }, (ev) => events.push(ev));
      await w.done;
      assert.deepEqual(
        events.map((e) => `${e.type}:${e.object.metadata.name ?? "-"}:${e.object.metadata.resourceVersion}`),
        ["ADDED:ä:5", "MODIFIED:a:6", "BOOKMARK:-:7", "DELETED:a:8"],
      );
      const u = new URL(seen[0]!.url, "https://x");
      assert.equal(u.pathname, "/api/v1/namespaces/default/pods");
      assert.equal(u.searchParams.get("watch"), "true");
      assert.equal(u.searchParams.get("resourceVersion"), "4");
      assert.equal(u.searchParams.get("allowWatchBookmarks"), "true");
      assert.equal(u.searchParams.get("timeoutSeconds"), "30");
      assert.equal(u.searchParams.get("labelSelector"), "app=a");
    });

    it("stop() ends an open stream", async () => {
      let serverSawClose!: () => void;
      const closed = new Promise<void>((r) => (serverSawClose = r));
      handler = (req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.write(JSON.stringify({ type: "ADDED", object: pod("x") }) + "\n");
        req.socket.on("close", () => serverSawClose());
      };
      const events: WatchEvent[] = [];
      let first!: () => void;
      const gotFirst = new Promise<void>((r) => (first = r));
      const w = await client.watch("v1/pods", {}, (ev) => {
        events.push(ev);
        first();
      });
      await gotFirst;
      w.stop();
      await w.done;
      await closed;
      assert.equal(events.length, 1);
    });

    it("passes ERROR events through and rejects a refused watch with the Status", async () => {
      handler = (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ type: "ERROR", object: new Gone("too old resource version: 3 (10)").toStatus() }) + "\n");
      };
      const events: WatchEvent[] = [];
      const w = await client.watch("apps/v1/deployments", { resourceVersion: "3" }, (ev) => events.push(ev));
      await w.done;
      assert.equal(events[0]!.type, "ERROR");
      assert.equal((events[0]!.object as unknown as { code: number }).code, 410);
      assert.equal(seen[0]!.url.split("?")[0], "/apis/apps/v1/deployments");

      handler = (_req, res) => json(res, 403, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", reason: "Forbidden", message: "no", code: 403 });
      await assert.rejects(client.watch("v1/secrets", {}, () => {}), (e) => e instanceof StatusError && e.code === 403 && e.message === "no");
    });

    it("reports an undecodable line as an ERROR event and ends the watch", async () => {
      handler = (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.write("{not json\n");
      };
      const events: WatchEvent[] = [];
      const w = await client.watch("v1/pods", {}, (ev) => events.push(ev));
      await w.done;
      assert.equal(events.length, 1);
      assert.equal(events[0]!.type, "ERROR");
    });

    it("does not starve ordinary requests when many watches are open", async () => {
      handler = (req, res) => {
        if (req.url!.includes("watch=true")) {
          res.writeHead(200, { "content-type": "application/json" });
          res.write("\n");
        } else json(res, 200, pod("p"));
      };
      const c = createHttpClient({ server: `https://127.0.0.1:${port}`, ca: pki.ca.certPem, maxSockets: 2 });
      const watches = await Promise.all([1, 2, 3, 4].map(() => c.watch("v1/pods", {}, () => {})));
      const got = await c.get("v1/pods", "ns", "p");
      assert.equal(got.metadata.name, "p");
      for (const w of watches) w.stop();
      await Promise.all(watches.map((w) => w.done));
      c.close();
    });
  });

  it("knows the scope of built-in resources", () => {
    assert.equal(builtinScope("v1/pods"), true);
    assert.equal(builtinScope("v1/nodes"), false);
    assert.equal(builtinScope("apps/v1/deployments"), true);
    assert.equal(builtinScope("storage.k8s.io/v1/storageclasses"), false);
    assert.equal(builtinScope("coordination.k8s.io/v1/leases"), true);
    assert.equal(builtinScope("example.com/v1/widgets"), undefined);
  });
});
