import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { startTestApi, type TestApi } from "./testing.js";
import { handleResource } from "./handlers.js";
import { parseRequestInfo } from "./requestinfo.js";
import { sendStatus } from "./negotiation.js";
import { StatusError } from "../apimachinery/errors.js";
import { watchFrame } from "./watchencoding.js";
import { deleteObject } from "./deletion.js";

/** A watch client that records each JSON line; `paused` starts it without reading. */
interface Stream {
  lines: any[];
  ended: Promise<"end" | "aborted">;
  res: IncomingMessage;
  close(): void;
}

describe("watch: shared encoding and per-watcher backpressure", () => {
  let api: TestApi;
  let http: Server;
  let port: number;
  const LIMIT = 64 * 1024;

  before(async () => {
    api = await startTestApi();
    // handleResource over plain HTTP (no authn), with a small per-watcher buffer limit.
    http = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://localhost");
      const info = parseRequestInfo(req.method ?? "GET", url.pathname, url.searchParams);
      handleResource(req, res, info, url.searchParams, { registry: api.registry, watchBufferLimitBytes: LIMIT }).catch((e) =>
        sendStatus(res, e instanceof StatusError ? e : new StatusError(500, "InternalError", String(e))),
      );
    });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    port = (http.address() as AddressInfo).port;
  });

  after(async () => {
    http.closeAllConnections();
    await new Promise((r) => http.close(r));
    await api.close();
  });

  const watch = (path: string, accept = "application/json", paused = false): Promise<Stream> =>
    new Promise((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path, agent: false, headers: { accept } }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
        const lines: any[] = [];
        let buf = "";
        const ended = new Promise<"end" | "aborted">((r) => {
          res.on("end", () => r("end"));
          res.on("aborted", () => r("aborted"));
          res.on("error", () => r("aborted"));
        });
        res.setEncoding("utf8");
        if (paused) res.pause();
        res.on("data", (c: string) => {
          buf += c;
          let i: number;
          while ((i = buf.indexOf("\n")) >= 0) {
            lines.push(JSON.parse(buf.slice(0, i)));
            buf = buf.slice(i + 1);
          }
        });
        resolve({ lines, ended, res, close: () => req.destroy() });
      });
      req.on("error", reject);
      req.end();
    });

  const until = async (cond: () => boolean, ms = 10_000) => {
    const t0 = Date.now();
    while (!cond()) {
      if (Date.now() - t0 > ms) throw new Error("timed out");
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  it("decodes once and serializes once per form, sharing frozen objects and bytes", async () => {
    const cms = api.registry.def("v1/configmaps");
    const r = await api.registry.create(cms, "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "shared", namespace: "default" }, data: { a: "1" } });
    const kv = (await api.registry.store.get(api.registry.objects.key(cms, "default", "shared")))!;
    const o1 = api.registry.objects.decodeShared(cms, kv);
    const o2 = api.registry.objects.decodeShared(cms, { ...kv });
    assert.equal(o1, o2);
    assert.ok(Object.isFrozen(o1) && Object.isFrozen(o1.metadata) && Object.isFrozen(o1.data));
    assert.equal(o1.metadata.resourceVersion, r.object.metadata.resourceVersion);
    const ev = { type: "ADDED" as const, object: o1 };
    const json = watchFrame(cms, ev, { as: "Object" });
    assert.equal(watchFrame(cms, { type: "ADDED", object: o2 }, { as: "Object" }), json);
    assert.deepEqual(JSON.parse(json.toString()), { type: "ADDED", object: JSON.parse(JSON.stringify(o1)) });
    const modified = watchFrame(cms, { type: "MODIFIED", object: o1 }, { as: "Object" });
    assert.notEqual(modified, json);
    assert.equal(JSON.parse(modified.toString()).type, "MODIFIED");
    const table = watchFrame(cms, ev, { as: "Table", include: "Metadata" }, true);
    assert.equal(watchFrame(cms, ev, { as: "Table", include: "Metadata" }, true), table);
    assert.notEqual(watchFrame(cms, ev, { as: "Table", include: "Metadata" }, false), table);
    const t = JSON.parse(table.toString());
    assert.equal(t.object.kind, "Table");
    assert.equal(t.object.rows[0].cells[0], "shared");
    // A per-watcher (unfrozen) object is serialized each time, never memoized.
    const own = JSON.parse(JSON.stringify(o1));
    assert.notEqual(watchFrame(cms, { type: "ADDED", object: own }, { as: "Object" }), watchFrame(cms, { type: "ADDED", object: own }, { as: "Object" }));
  });

  it("gives watchers with different selectors and encodings their own correct streams", async () => {
    const cms = api.registry.def("v1/configmaps");
    const list = await api.registry.list(cms, "default", {});
    const rv = list.metadata.resourceVersion;
    const base = `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}`;
    const a = await watch(`${base}&labelSelector=app%3Da`);
    const b = await watch(`${base}&labelSelector=app%20in%20(a%2Cb)`, "application/json;as=Table;v=v1;g=meta.k8s.io,application/json");
    const all = await watch(`${base}&labelSelector=app`, "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io");
    const cm = (name: string, app: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "default", labels: { app } }, data: { k: name } });
    await api.registry.create(cms, "default", cm("p1", "a"));
    await api.registry.create(cms, "default", cm("p2", "b"));
    const p2 = await api.registry.get(cms, "default", "p2");
    await api.registry.update(cms, "default", "p2", { ...p2, metadata: { ...p2.metadata, labels: { app: "a" } } });
    const p1 = await api.registry.get(cms, "default", "p1");
    await api.registry.update(cms, "default", "p1", { ...p1, metadata: { ...p1.metadata, labels: { app: "c" } } });
    await deleteObject(api.registry, cms, "default", "p2", {});
    await until(() => a.lines.length >= 4 && b.lines.length >= 5 && all.lines.length >= 5);
    await new Promise((r) => setTimeout(r, 100)); // nothing more may follow
    for (const s of [a, b, all]) s.close();

    // app=a: p1 in, p2 moves in (ADDED), p1 moves out (DELETED), p2 deleted.
    assert.deepEqual(
      a.lines.map((l) => `${l.type} ${l.object.metadata.name}`),
      ["ADDED p1", "ADDED p2", "DELETED p1", "DELETED p2"],
    );
    assert.equal(a.lines[0].object.kind, "ConfigMap");
    assert.deepEqual(a.lines[0].object.data, { k: "p1" });
    assert.deepEqual(a.lines[2].object.metadata.labels, { app: "c" }, "DELETED on moving out carries the new state");

    // app in (a,b), as Tables: only the first event has column definitions.
    assert.deepEqual(
      b.lines.map((l) => `${l.type} ${l.object.rows[0].cells[0]}`),
      ["ADDED p1", "ADDED p2", "MODIFIED p2", "DELETED p1", "DELETED p2"],
    );
    assert.ok(b.lines.every((l) => l.object.kind === "Table"));
    assert.ok(b.lines[0].object.columnDefinitions.length > 0);
    assert.ok(b.lines.slice(1).every((l) => l.object.columnDefinitions.length === 0));
    assert.equal(b.lines[2].object.rows[0].object.kind, "PartialObjectMetadata");

    // Every object with an app label, as PartialObjectMetadata.
    assert.deepEqual(
      all.lines.map((l) => `${l.type} ${l.object.kind} ${l.object.metadata.name}`),
      ["ADDED PartialObjectMetadata p1", "ADDED PartialObjectMetadata p2", "MODIFIED PartialObjectMetadata p2", "MODIFIED PartialObjectMetadata p1", "DELETED PartialObjectMetadata p2"],
    );
    assert.equal(all.lines[0].object.data, undefined);
    // resourceVersions increase along each stream.
    for (const s of [a, all]) {
      const rvs = s.lines.map((l) => Number(l.object.metadata.resourceVersion));
      assert.deepEqual(rvs, [...rvs].sort((x, y) => x - y));
    }
  });

  it("closes a stalled watcher past its buffer limit without holding up the others", async () => {
    const cms = api.registry.def("v1/configmaps");
    const rv = (await api.registry.list(cms, "default", {})).metadata.resourceVersion;
    const base = `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}&labelSelector=bulk`;
    const stalled = await watch(base, "application/json", true);
    const healthy = await watch(base);
    const N = 80; // 80 × 256 KiB: well past the loopback socket buffers plus the 64 KiB limit
    const blob = "x".repeat(256 * 1024);
    for (let i = 0; i < N; i++) {
      await api.registry.create(cms, "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `bulk-${i}`, namespace: "default", labels: { bulk: "1" } }, data: { blob } });
    }
    await until(() => healthy.lines.length >= N, 30_000).catch((e) => { console.log("healthy", healthy.lines.length, "stalled", stalled.lines.length); throw e; });
    assert.deepEqual(
      healthy.lines.map((l) => l.object.metadata.name),
      Array.from({ length: N }, (_, i) => `bulk-${i}`),
    );
    // The stalled watcher was ended by the server: reading it now yields what was queued
    // before the close, then the end of the stream (fewer than N events).
    stalled.res.resume();
    const how = await Promise.race([stalled.ended, new Promise((r) => setTimeout(() => r("still open"), 15_000))]);
    assert.notEqual(how, "still open");
    assert.ok(stalled.lines.length < N, `stalled watcher got ${stalled.lines.length} of ${N}`);
    assert.deepEqual(
      stalled.lines.map((l) => l.object.metadata.name),
      Array.from({ length: stalled.lines.length }, (_, i) => `bulk-${i}`),
      "what it got is a prefix, in order",
    );
    // The healthy watcher is still open and keeps receiving.
    await api.registry.create(cms, "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "after", namespace: "default", labels: { bulk: "1" } } });
    await until(() => healthy.lines.length === N + 1);
    healthy.close();
    stalled.close();
  });
});
