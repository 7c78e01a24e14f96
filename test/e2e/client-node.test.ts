// End-to-end: the official JavaScript client (@kubernetes/client-node,
// https://github.com/kubernetes-client/javascript) against `tug server` — typed CRUD,
// optimistic concurrency with resourceVersion
// (https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions),
// watch streams (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes)
// and the deployments/scale subresource.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import type { AppsV1Api, CoreV1Api, KubeConfig, V1ConfigMap } from "@kubernetes/client-node";
import { eventually, repoRoot, startTug, type Tug } from "./harness.js";

// Loaded dynamically: @kubernetes/client-node 2.x pulls in undici 8, which needs
// Node >= 22.19 and throws at import time on Node 20; 1.x (node-fetch) works on 20.
// A load failure skips the suite with the reason instead of crashing the test run.
// The trial import runs in a child process: a failed import in this process leaves
// an unhandled rejection behind that the test runner reports as a failure.
const probe = spawnSync(process.execPath, ["--input-type=module", "-e", 'await import("@kubernetes/client-node")'], { cwd: repoRoot, encoding: "utf8", timeout: 30_000 });
const loadError = probe.status === 0 ? undefined : (probe.stderr.split("\n").find((l) => /Error/.test(l)) ?? `exit ${probe.status}`).trim();
const client = loadError ? undefined! : await import("@kubernetes/client-node");
function clientVersion(): string {
  try {
    return createRequire(import.meta.url)("@kubernetes/client-node/package.json").version;
  } catch {
    return "?";
  }
}
const skip = loadError ? `@kubernetes/client-node ${clientVersion()} does not load on Node ${process.version} (${loadError}); client-node 2.x needs Node >= 22.19, use ^1.4.0 on Node 20` : false;

const NS = "e2e-client-node";
let tug: Tug;
let kc: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;

/** The HTTP status of a rejected client call. */
async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    const code = (e as { code?: number }).code;
    if (typeof code === "number") return code;
    throw e;
  }
  return 200;
}

describe("@kubernetes/client-node", { skip, timeout: 90_000 }, () => {
  before(async () => {
    tug = await startTug();
    kc = new client.KubeConfig();
    kc.loadFromFile(tug.kubeconfig);
    core = kc.makeApiClient(client.CoreV1Api);
    apps = kc.makeApiClient(client.AppsV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
  });
  after(async () => {
    await tug?.cleanup();
  });

  test("list namespaces", async () => {
    const list = await core.listNamespace();
    const names = list.items.map((n) => n.metadata?.name);
    for (const n of ["default", "kube-system", "kube-public", "kube-node-lease", NS]) assert.ok(names.includes(n), `missing ${n}: ${names.join(",")}`);
    assert.match(list.metadata?.resourceVersion ?? "", /^\d+$/);
  });

  test("ConfigMap create, read, replace, stale replace (409), delete", async () => {
    const created = await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: "crud", labels: { a: "b" } }, data: { k: "v1" } } });
    assert.equal(created.metadata?.name, "crud");
    assert.equal(created.metadata?.namespace, NS);
    assert.ok(created.metadata?.uid);
    assert.ok(created.metadata?.creationTimestamp instanceof Date, "creationTimestamp parsed as a Date");

    const read = await core.readNamespacedConfigMap({ name: "crud", namespace: NS });
    assert.deepEqual(read.data, { k: "v1" });
    assert.equal(read.metadata?.resourceVersion, created.metadata?.resourceVersion);

    const stale: V1ConfigMap = structuredClone(read);
    read.data = { k: "v2" };
    const replaced = await core.replaceNamespacedConfigMap({ name: "crud", namespace: NS, body: read });
    assert.deepEqual(replaced.data, { k: "v2" });
    assert.ok(BigInt(replaced.metadata!.resourceVersion!) > BigInt(created.metadata!.resourceVersion!));
    assert.equal(replaced.metadata?.uid, created.metadata?.uid);

    stale.data = { k: "stale" };
    assert.equal(await statusOf(core.replaceNamespacedConfigMap({ name: "crud", namespace: NS, body: stale })), 409);
    assert.deepEqual((await core.readNamespacedConfigMap({ name: "crud", namespace: NS })).data, { k: "v2" });

    assert.equal(await statusOf(core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: "crud" } } })), 409, "AlreadyExists");

    await core.deleteNamespacedConfigMap({ name: "crud", namespace: NS });
    assert.equal(await statusOf(core.readNamespacedConfigMap({ name: "crud", namespace: NS })), 404);
    assert.equal(await statusOf(core.deleteNamespacedConfigMap({ name: "crud", namespace: NS })), 404);
  });

  test("Watch on configmaps receives ADDED, MODIFIED, DELETED", async () => {
    const events: { type: string; name: string; rv: string; data?: Record<string, string> }[] = [];
    let doneErr: unknown = "open";
    const list = await core.listNamespacedConfigMap({ namespace: NS });
    const watch = new client.Watch(kc);
    const ac = await watch.watch(
      `/api/v1/namespaces/${NS}/configmaps`,
      { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true },
      (type: string, obj: any) => {
        if (type !== "BOOKMARK") events.push({ type, name: obj.metadata.name, rv: obj.metadata.resourceVersion, data: obj.data });
      },
      (err: unknown) => (doneErr = err),
    );
    try {
      await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: "watched" }, data: { n: "1" } } });
      await core.patchNamespacedConfigMap({ name: "watched", namespace: NS, body: [{ op: "replace", path: "/data/n", value: "2" }] });
      await core.deleteNamespacedConfigMap({ name: "watched", namespace: NS });
      const seen = await eventually(async () => (events.filter((e) => e.name === "watched").length >= 3 ? events.filter((e) => e.name === "watched") : undefined), 10_000, 100, `three watch events (got ${JSON.stringify(events)}, done: ${String(doneErr)})`);
      assert.deepEqual(seen.map((e) => e.type), ["ADDED", "MODIFIED", "DELETED"]);
      assert.deepEqual(seen[1].data, { n: "2" });
      const rvs = seen.map((e) => BigInt(e.rv));
      assert.ok(rvs[0] < rvs[1] && rvs[1] < rvs[2], `resourceVersions increase: ${seen.map((e) => e.rv)}`);
      assert.equal(doneErr, "open", "the watch stays open");
    } finally {
      ac.abort();
    }
  });

  test("AppsV1Api: create a deployment and read its scale", async () => {
    const d = await apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: "web" } },
          template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "registry.local/web:1" }] } },
        },
      },
    });
    assert.equal(d.spec?.replicas, 3);
    assert.equal(d.spec?.strategy?.type, "RollingUpdate");
    const scale = await apps.readNamespacedDeploymentScale({ name: "web", namespace: NS });
    assert.equal(scale.kind, "Scale");
    assert.equal(scale.apiVersion, "autoscaling/v1");
    assert.equal(scale.metadata?.name, "web");
    assert.equal(scale.spec?.replicas, 3);
    assert.equal(scale.status?.selector, "app=web");

    const updated = await apps.replaceNamespacedDeploymentScale({ name: "web", namespace: NS, body: { metadata: { name: "web", namespace: NS }, spec: { replicas: 5 } } });
    assert.equal(updated.spec?.replicas, 5);
    assert.equal((await apps.readNamespacedDeployment({ name: "web", namespace: NS })).spec?.replicas, 5);
  });
});
