// End-to-end: declarative object management with kubectl against `tug server` —
// client-side apply and its three-way strategic merge with the last-applied annotation
// (https://kubernetes.io/docs/tasks/manage-kubernetes-objects/declarative-config/),
// server-side apply with field managers and conflicts
// (https://kubernetes.io/docs/reference/using-api/server-side-apply/), the three patch
// types (https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/),
// field validation (https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation)
// and server dry runs (https://kubernetes.io/docs/reference/using-api/api-concepts/#dry-run).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYAML, stringify } from "yaml";
import { kubectlOk, missingKubectl, show, startTug, testdataDir, type KubectlOptions, type KubectlResult, type Tug } from "./harness.js";

const NS = "e2e-apply";
const skip = missingKubectl(undefined);
let tug: Tug;

const ok = (args: string[], o?: KubectlOptions) => kubectlOk(tug, args, o);

async function getJSON(what: string[]): Promise<any> {
  // kubectl hides managedFields from -o json unless asked.
  return JSON.parse(await ok(["get", ...what, "-n", NS, "-o", "json", "--show-managed-fields"]));
}

/** The fixture deployment as an object the tests can vary. */
function deployment(): any {
  return parseYAML(readFileSync(join(testdataDir, "apply-deployment.yaml"), "utf8"));
}

function applyStdin(obj: unknown, extra: string[] = []): Promise<KubectlResult> {
  return tug.kubectl(["apply", "-f", "-", ...extra], { stdin: stringify(obj) });
}

/** The fieldsV1 set of one manager (and operation), or undefined. */
function managed(obj: any, manager: string, operation?: string): any {
  return (obj.metadata.managedFields ?? []).find((m: any) => m.manager === manager && (!operation || m.operation === operation))?.fieldsV1;
}

describe("kubectl apply and patch", { skip, timeout: 120_000 }, () => {
  before(async () => {
    tug = await startTug();
    await ok(["create", "namespace", NS]);
  });
  after(async () => {
    await tug?.cleanup();
  });

  test("client-side apply: created, unchanged, configured", async () => {
    const file = join(testdataDir, "apply-deployment.yaml");
    assert.match(await ok(["apply", "-f", file]), /^deployment\.apps\/app created$/m);
    const created = await getJSON(["deploy", "app"]);
    const last = JSON.parse(created.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]);
    assert.equal(last.spec.replicas, 2);
    assert.equal(last.metadata.name, "app");

    assert.match(await ok(["apply", "-f", file]), /^deployment\.apps\/app unchanged$/m);
    assert.equal((await getJSON(["deploy", "app"])).metadata.resourceVersion, created.metadata.resourceVersion, "unchanged apply must not write");

    // Someone else adds a label: not in last-applied, so apply must keep it.
    await ok(["label", "deploy", "app", "-n", NS, "extra=kept"]);

    // Change the image, drop the sidecar container and the env var.
    const d = deployment();
    d.spec.template.spec.containers[0].image = "registry.local/app:v2";
    delete d.spec.template.spec.containers[0].env;
    d.spec.template.spec.containers.splice(1, 1);
    d.metadata.labels.tier = "backend";
    const r = await applyStdin(d);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^deployment\.apps\/app configured$/m);

    const now = await getJSON(["deploy", "app"]);
    const containers = now.spec.template.spec.containers;
    assert.equal(containers.length, 1, "sidecar removed by the three-way merge");
    assert.equal(containers[0].name, "main");
    assert.equal(containers[0].image, "registry.local/app:v2");
    assert.equal(containers[0].env, undefined, "env removed");
    assert.equal(now.metadata.labels.tier, "backend");
    assert.equal(now.metadata.labels.extra, "kept", "a label set by another writer survives apply");
    assert.ok(now.metadata.generation > created.metadata.generation, "spec change bumps generation");
    const last2 = JSON.parse(now.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]);
    assert.equal(last2.spec.template.spec.containers[0].image, "registry.local/app:v2");
    // Last, so missing managedFields do not hide the behaviour checks above.
    assert.ok(managed(created, "kubectl-client-side-apply"), `creator recorded as field manager kubectl-client-side-apply: ${JSON.stringify(created.metadata.managedFields)}`);
  });

  test("patch --type=json, --type=merge, --type=strategic", async () => {
    const d = deployment();
    d.metadata.name = "patched";
    const r = await applyStdin(d);
    assert.equal(r.code, 0, show(r));

    assert.match(await ok(["patch", "deploy", "patched", "-n", NS, "--type=json", "-p", '[{"op":"replace","path":"/spec/replicas","value":4},{"op":"add","path":"/metadata/labels/json","value":"yes"}]']), /deployment\.apps\/patched patched/);
    let now = await getJSON(["deploy", "patched"]);
    assert.equal(now.spec.replicas, 4);
    assert.equal(now.metadata.labels.json, "yes");

    // A JSON patch whose test op fails is rejected and changes nothing.
    const bad = await tug.kubectl(["patch", "deploy", "patched", "-n", NS, "--type=json", "-p", '[{"op":"test","path":"/spec/replicas","value":99},{"op":"replace","path":"/spec/replicas","value":1}]']);
    assert.notEqual(bad.code, 0, show(bad));
    assert.equal((await getJSON(["deploy", "patched"])).spec.replicas, 4);

    await ok(["patch", "deploy", "patched", "-n", NS, "--type=merge", "-p", '{"metadata":{"labels":{"merge":"yes","json":null}}}']);
    now = await getJSON(["deploy", "patched"]);
    assert.equal(now.metadata.labels.merge, "yes");
    assert.equal(now.metadata.labels.json, undefined, "null deletes in a merge patch");

    // Strategic merge: containers are merged by name, the other container is untouched.
    await ok(["patch", "deploy", "patched", "-n", NS, "--type=strategic", "-p", '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"registry.local/sidecar:v9"}]}}}}']);
    now = await getJSON(["deploy", "patched"]);
    const byName = Object.fromEntries(now.spec.template.spec.containers.map((c: any) => [c.name, c]));
    assert.deepEqual(Object.keys(byName).sort(), ["main", "sidecar"]);
    assert.equal(byName.sidecar.image, "registry.local/sidecar:v9");
    assert.equal(byName.main.image, "registry.local/app:v1");
    assert.deepEqual(byName.main.env, [{ name: "MODE", value: "one" }]);

    // The same list in a JSON merge patch replaces the whole list.
    await ok(["patch", "deploy", "patched", "-n", NS, "--type=merge", "-p", '{"spec":{"template":{"spec":{"containers":[{"name":"only","image":"registry.local/only:v1"}]}}}}']);
    now = await getJSON(["deploy", "patched"]);
    assert.deepEqual(now.spec.template.spec.containers.map((c: any) => c.name), ["only"]);
  });

  test("server-side apply: create, conflict, --force-conflicts", async () => {
    const d = deployment();
    d.metadata.name = "ssa";
    const r = await applyStdin(d, ["--server-side"]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^deployment\.apps\/ssa serverside-applied$/m);
    let now = await getJSON(["deploy", "ssa"]);
    const afterCreate = now;
    assert.equal(now.spec.replicas, 2);
    assert.equal(now.metadata.annotations?.["kubectl.kubernetes.io/last-applied-configuration"], undefined, "server-side apply keeps no last-applied annotation");

    // Another manager takes spec.replicas.
    await ok(["patch", "deploy", "ssa", "-n", NS, "--type=merge", "-p", '{"spec":{"replicas":5}}', "--field-manager=other"]);
    const afterOther = await getJSON(["deploy", "ssa"]);
    assert.equal(afterOther.spec.replicas, 5);

    // Applying a different value conflicts.
    d.spec.replicas = 3;
    const conflict = await applyStdin(d, ["--server-side"]);
    assert.notEqual(conflict.code, 0, show(conflict));
    assert.match(conflict.stderr, /conflict/i);
    assert.match(conflict.stderr, /other/);
    assert.match(conflict.stderr, /\.spec\.replicas/);
    assert.equal((await getJSON(["deploy", "ssa"])).spec.replicas, 5, "a conflicting apply changes nothing");

    const forced = await applyStdin(d, ["--server-side", "--force-conflicts"]);
    assert.equal(forced.code, 0, show(forced));
    const afterForce = await getJSON(["deploy", "ssa"]);
    assert.equal(afterForce.spec.replicas, 3);

    // kubectl scale also takes spec.replicas (through the scale subresource): apply conflicts again.
    await ok(["scale", "deploy", "ssa", "-n", NS, "--replicas=7"]);
    d.spec.replicas = 2;
    const again = await applyStdin(d, ["--server-side"]);
    assert.notEqual(again.code, 0, show(again));
    assert.match(again.stderr, /conflict/i);

    // Applying the same value as the current one is not a conflict (shared ownership).
    d.spec.replicas = 7;
    const same = await applyStdin(d, ["--server-side"]);
    assert.equal(same.code, 0, show(same));

    // managedFields, checked last so their absence does not hide the behaviour above.
    const mf = (o: any) => JSON.stringify(o.metadata.managedFields);
    assert.ok(managed(afterCreate, "kubectl", "Apply")?.["f:spec"]?.["f:replicas"], `after create, kubectl (Apply) owns spec.replicas: ${mf(afterCreate)}`);
    assert.ok(managed(afterOther, "other", "Update")?.["f:spec"]?.["f:replicas"], `after the patch, other (Update) owns spec.replicas: ${mf(afterOther)}`);
    assert.ok(managed(afterForce, "kubectl", "Apply")?.["f:spec"]?.["f:replicas"], `after forcing, kubectl owns spec.replicas: ${mf(afterForce)}`);
    assert.ok(!managed(afterForce, "other")?.["f:spec"]?.["f:replicas"], `after forcing, other no longer owns spec.replicas: ${mf(afterForce)}`);
  });

  test("field validation: strict rejects unknown fields, false drops them, warn warns", async () => {
    const file = join(testdataDir, "apply-unknown-field.yaml");
    const strict = await tug.kubectl(["apply", "-f", file]);
    assert.notEqual(strict.code, 0, show(strict));
    assert.match(strict.stderr, /bogusTopLevelField/);
    assert.match(strict.stderr, /unknown field|strict decoding/i);
    const none = await tug.kubectl(["get", "cm", "unknown-field", "-n", NS]);
    assert.equal(none.code, 1, "nothing stored after a strict rejection");

    const lax = await tug.kubectl(["apply", "--validate=false", "-f", file]);
    assert.equal(lax.code, 0, show(lax));
    const stored = await getJSON(["cm", "unknown-field"]);
    assert.equal(stored.bogusTopLevelField, undefined, "unknown field dropped");
    assert.deepEqual(stored.data, { a: "1" });

    const obj = parseYAML(readFileSync(file, "utf8"));
    obj.metadata.name = "unknown-field-warn";
    const warn = await tug.kubectl(["apply", "--validate=warn", "-f", "-"], { stdin: stringify(obj) });
    assert.equal(warn.code, 0, show(warn));
    assert.match(warn.stderr, /Warning: .*unknown field "bogusTopLevelField"/);
    assert.match(warn.stdout, /configmap\/unknown-field-warn created/);

    // Server-side apply validates too.
    obj.metadata.name = "unknown-field-ssa";
    const ssa = await tug.kubectl(["apply", "--server-side", "-f", "-"], { stdin: stringify(obj) });
    assert.notEqual(ssa.code, 0, show(ssa));
    assert.match(ssa.stderr, /bogusTopLevelField/);
  });

  test("--dry-run=server stores nothing", async () => {
    const d = deployment();
    d.metadata.name = "dry";
    const r = await applyStdin(d, ["--dry-run=server"]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /deployment\.apps\/dry created \(server dry run\)/);
    assert.equal((await tug.kubectl(["get", "deploy", "dry", "-n", NS])).code, 1, "dry-run create stored nothing");

    const ssa = await applyStdin(d, ["--server-side", "--dry-run=server"]);
    assert.equal(ssa.code, 0, show(ssa));
    assert.equal((await tug.kubectl(["get", "deploy", "dry", "-n", NS])).code, 1, "dry-run server-side apply stored nothing");

    const created = JSON.parse(await ok(["create", "configmap", "dry-cm", "-n", NS, "--from-literal=a=b", "--dry-run=server", "-o", "json"]));
    assert.equal(created.metadata.name, "dry-cm");
    assert.deepEqual(created.data, { a: "b" });
    assert.ok(created.metadata.creationTimestamp, "the dry-run answer is the object as it would be stored");
    assert.equal((await tug.kubectl(["get", "cm", "dry-cm", "-n", NS])).code, 1);

    // Dry-run update and delete of an existing object leave it alone.
    const before = await getJSON(["deploy", "app"]);
    await ok(["scale", "deploy", "app", "-n", NS, "--replicas=9", "--dry-run=server"]);
    await ok(["patch", "deploy", "app", "-n", NS, "--type=merge", "-p", '{"metadata":{"labels":{"dry":"run"}}}', "--dry-run=server"]);
    assert.match(await ok(["delete", "deploy", "app", "-n", NS, "--dry-run=server"]), /deployment\.apps "app" deleted \(server dry run\)/);
    const after = await getJSON(["deploy", "app"]);
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion);
    assert.equal(after.spec.replicas, before.spec.replicas);
    assert.equal(after.metadata.labels.dry, undefined);
  });
});
