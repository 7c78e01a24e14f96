// End-to-end: deletion with kubectl against `tug server` — cascading deletion through
// ownerReferences and the garbage collector in background, foreground and orphan modes
// (https://kubernetes.io/docs/concepts/architecture/garbage-collection/,
// https://kubernetes.io/docs/tasks/administer-cluster/use-cascading-deletion/),
// finalizers (https://kubernetes.io/docs/concepts/overview/working-with-objects/finalizers/),
// namespace termination
// (https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/),
// forced deletion and deleting by label selector / deletecollection.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { eventually, kubectlOk, missingKubectl, show, startTug, testdataDir, type KubectlOptions, type Tug } from "./harness.js";

const NS = "e2e-delete";
const HOLD = "e2e.tugboat.dev/hold";
const skip = missingKubectl(undefined);
let tug: Tug;

const ok = (args: string[], o?: KubectlOptions) => kubectlOk(tug, args, o);

/** The object as JSON, or undefined when it does not exist. */
async function getCM(name: string, ns = NS): Promise<any | undefined> {
  const r = await tug.kubectl(["get", "cm", name, "-n", ns, "-o", "json"]);
  if (r.code !== 0) {
    assert.match(r.stderr, /NotFound/, show(r));
    return undefined;
  }
  return JSON.parse(r.stdout);
}

/** Create an owner ConfigMap and dependents pointing at its uid; returns the uid. */
async function family(owner: string, dependents: string[]): Promise<string> {
  await ok(["apply", "-f", "-"], { stdin: readFileSync(join(testdataDir, "owner.yaml"), "utf8").replaceAll("NAME", owner) });
  const uid = await ok(["get", "cm", owner, "-n", NS, "-o", "jsonpath={.metadata.uid}"]);
  assert.match(uid, /^[0-9a-f-]{36}$/);
  const tmpl = readFileSync(join(testdataDir, "dependent.yaml"), "utf8");
  const docs = dependents.map((d) => tmpl.replaceAll("OWNER_UID", uid).replaceAll("OWNER", owner).replaceAll("NAME", d)).join("\n---\n");
  await ok(["apply", "-f", "-"], { stdin: docs });
  return uid;
}

async function namesWithLabel(selector: string, ns = NS): Promise<string[]> {
  const out = await ok(["get", "cm", "-n", ns, "-l", selector, "-o", "jsonpath={.items[*].metadata.name}"]);
  return out.trim() ? out.trim().split(/\s+/).sort() : [];
}

describe("kubectl delete", { skip, timeout: 150_000 }, () => {
  before(async () => {
    tug = await startTug();
    await ok(["create", "namespace", NS]);
  });
  after(async () => {
    await tug?.cleanup();
  });

  test("background cascade: dependents are garbage collected", async () => {
    await family("bg-owner", ["bg-dep-1", "bg-dep-2", "bg-dep-3"]);
    assert.deepEqual(await namesWithLabel("owner=bg-owner"), ["bg-dep-1", "bg-dep-2", "bg-dep-3"]);
    assert.match(await ok(["delete", "cm", "bg-owner", "-n", NS]), /configmap "bg-owner" deleted/);
    assert.equal(await getCM("bg-owner"), undefined);
    await eventually(async () => (await namesWithLabel("owner=bg-owner")).length === 0, 20_000, 300, "garbage collector to delete bg-owner's dependents");
  });

  test("dependents whose owner uid does not exist are collected", async () => {
    // An ownerReference to a uid that never existed: the owner is absent, so the GC deletes it.
    const tmpl = readFileSync(join(testdataDir, "dependent.yaml"), "utf8");
    await ok(["apply", "-f", "-"], { stdin: tmpl.replaceAll("OWNER_UID", "00000000-0000-4000-8000-000000000000").replaceAll("OWNER", "ghost").replaceAll("NAME", "ghost-dep") });
    await eventually(async () => (await getCM("ghost-dep")) === undefined, 20_000, 300, "garbage collector to delete ghost-dep (owner missing)");
  });

  test("--cascade=orphan keeps dependents and strips their ownerReferences", async () => {
    const uid = await family("orphan-owner", ["orphan-dep-1", "orphan-dep-2"]);
    assert.match(await ok(["delete", "cm", "orphan-owner", "-n", NS, "--cascade=orphan"]), /configmap "orphan-owner" deleted/);
    await eventually(async () => (await getCM("orphan-owner")) === undefined, 20_000, 300, "orphan-owner to be gone");
    for (const d of ["orphan-dep-1", "orphan-dep-2"]) {
      const dep = await eventually(async () => {
        const o = await getCM(d);
        assert.ok(o, `${d} must survive an orphaning delete`);
        return (o.metadata.ownerReferences ?? []).some((r: any) => r.uid === uid) ? undefined : o;
      }, 20_000, 300, `${d} ownerReferences to be removed`);
      assert.equal(dep.metadata.deletionTimestamp, undefined);
    }
    // And they stay: give the GC time to (wrongly) act on them.
    await new Promise((r) => setTimeout(r, 2_000));
    assert.deepEqual(await namesWithLabel("owner=orphan-owner"), ["orphan-dep-1", "orphan-dep-2"]);
  });

  test("--cascade=foreground: the owner waits for its blocking dependents", async () => {
    await family("fg-owner", ["fg-dep-held", "fg-dep-free"]);
    // A finalizer keeps one dependent (blockOwnerDeletion: true) around after its deletion starts.
    await ok(["patch", "cm", "fg-dep-held", "-n", NS, "--type=merge", "-p", JSON.stringify({ metadata: { finalizers: [HOLD] } })]);
    await ok(["delete", "cm", "fg-owner", "-n", NS, "--cascade=foreground", "--wait=false"]);

    const owner = await eventually(async () => {
      const o = await getCM("fg-owner");
      return o?.metadata.deletionTimestamp ? o : undefined;
    }, 10_000, 200, "fg-owner to carry a deletionTimestamp");
    assert.ok(owner.metadata.finalizers?.includes("foregroundDeletion"), `foregroundDeletion finalizer on the owner: ${JSON.stringify(owner.metadata)}`);

    await eventually(async () => (await getCM("fg-dep-free")) === undefined, 20_000, 300, "fg-dep-free to be deleted");
    const held = await eventually(async () => {
      const o = await getCM("fg-dep-held");
      return o?.metadata.deletionTimestamp ? o : undefined;
    }, 20_000, 300, "fg-dep-held to be marked for deletion");
    assert.deepEqual(held.metadata.finalizers, [HOLD]);
    // While the held dependent exists, the owner must too.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.ok(await getCM("fg-owner"), "owner must wait for its blocking dependent");

    await ok(["patch", "cm", "fg-dep-held", "-n", NS, "--type=json", "-p", '[{"op":"remove","path":"/metadata/finalizers"}]']);
    await eventually(async () => (await getCM("fg-dep-held")) === undefined, 20_000, 300, "fg-dep-held to be gone once its finalizer is removed");
    await eventually(async () => (await getCM("fg-owner")) === undefined, 20_000, 300, "fg-owner to be gone after its dependents");
  });

  test("deleting a namespace deletes its contents, then the namespace", async () => {
    const ns = "e2e-doomed";
    await ok(["create", "namespace", ns]);
    await ok(["create", "configmap", "c1", "-n", ns, "--from-literal=a=b"]);
    await ok(["create", "secret", "generic", "s1", "-n", ns, "--from-literal=a=b"]);
    await ok(["create", "deployment", "d1", "-n", ns, "--image=registry.local/x:1"]);
    await ok(["create", "configmap", "held", "-n", ns]);
    await ok(["patch", "cm", "held", "-n", ns, "--type=merge", "-p", JSON.stringify({ metadata: { finalizers: [HOLD] } })]);

    assert.match(await ok(["delete", "namespace", ns, "--wait=false"]), new RegExp(`namespace "${ns}" deleted`));
    // The finalizer on "held" keeps the namespace Terminating: new content is refused.
    const phase = await ok(["get", "ns", ns, "-o", "jsonpath={.status.phase}"]);
    assert.equal(phase, "Terminating");
    const refused = await tug.kubectl(["create", "configmap", "late", "-n", ns]);
    assert.notEqual(refused.code, 0, show(refused));
    assert.match(refused.stderr, /forbidden.*being terminated/i);
    const contents = async () => (await ok(["get", "cm,secret,deploy", "-n", ns, "-o", "name"])).trim().split("\n").filter((l) => l && l !== "configmap/kube-root-ca.crt");
    await eventually(async () => (await contents()).join() === "configmap/held", 30_000, 500, `contents of ${ns} (all but the held configmap) to be deleted`);

    await ok(["patch", "cm", "held", "-n", ns, "--type=json", "-p", '[{"op":"remove","path":"/metadata/finalizers"}]']);
    const w = await tug.kubectl(["wait", "--for=delete", `ns/${ns}`, "--timeout=60s"], { timeoutMs: 70_000 });
    assert.equal(w.code, 0, show(w));
    const gone = await tug.kubectl(["get", "ns", ns]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /NotFound/);
    assert.deepEqual(await contents(), []);
  });

  test("delete --grace-period=0 --force", async () => {
    await ok(["create", "configmap", "forced", "-n", NS]);
    const r = await tug.kubectl(["delete", "cm", "forced", "-n", NS, "--grace-period=0", "--force"]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stderr, /Immediate deletion does not wait for confirmation/);
    assert.match(r.stdout, /configmap "forced" force deleted/);
    assert.equal(await getCM("forced"), undefined);
  });

  test("delete by label selector and the deletecollection verb", async () => {
    for (const n of ["x1", "x2", "x3"]) await ok(["create", "configmap", n, "-n", NS]);
    for (const n of ["y1", "y2"]) await ok(["create", "configmap", n, "-n", NS]);
    await ok(["create", "configmap", "keep", "-n", NS]);
    await ok(["label", "cm", "x1", "x2", "x3", "-n", NS, "app=x"]);
    await ok(["label", "cm", "y1", "y2", "-n", NS, "app=y"]);

    const r = await ok(["delete", "cm", "-l", "app=x", "-n", NS]);
    assert.deepEqual(r.trim().split("\n").sort(), ['configmap "x1" deleted', 'configmap "x2" deleted', 'configmap "x3" deleted']);
    assert.deepEqual(await namesWithLabel("app=x"), []);

    // kubectl deletes one by one; DELETE on the collection is the deletecollection verb.
    const dc = await tug.http("DELETE", `/api/v1/namespaces/${NS}/configmaps?labelSelector=app%3Dy`);
    assert.equal(dc.status, 200, dc.body);
    assert.deepEqual(await namesWithLabel("app=y"), []);
    assert.ok(await getCM("keep"), "objects outside the selector stay");

    const none = await tug.kubectl(["delete", "cm", "-l", "app=nothing", "-n", NS]);
    assert.equal(none.code, 0, show(none));
    assert.match(none.stdout + none.stderr, /No resources found/);
  });

  test("delete of a missing object is NotFound; --ignore-not-found succeeds", async () => {
    const r = await tug.kubectl(["delete", "cm", "never-was", "-n", NS]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Error from server \(NotFound\): configmaps "never-was" not found/);
    assert.equal((await tug.kubectl(["delete", "cm", "never-was", "-n", NS, "--ignore-not-found"])).code, 0);
  });
});
