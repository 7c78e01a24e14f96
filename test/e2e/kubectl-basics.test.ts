// End-to-end: everyday kubectl against `tug server` — version and discovery
// (https://kubernetes.io/docs/reference/using-api/api-concepts/#discovery-api), `get`
// for every built-in kind with tables and output formats
// (https://kubernetes.io/docs/reference/kubectl/#output-options), describe, watch,
// label/annotate/scale/edit, and the typed `kubectl create` generators sent as protobuf
// by kubectl 1.32 and as JSON by kubectl 1.31
// (https://kubernetes.io/docs/reference/using-api/api-concepts/#alternate-representations-of-resources).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually, missingKubectl, show, startTug, testdataDir, writeScript, type KubectlOptions, type Tug } from "./harness.js";

const NS = "e2e-basics";
/** Bare pods (no controller) live apart from the deployment's pods. */
const PODS = "e2e-basics-pods";
const skip = missingKubectl(undefined, "1.31", "1.32");
let tug: Tug;
let scratch: string;

/** Run kubectl and require exit 0; returns stdout. */
async function ok(args: string[], o?: KubectlOptions): Promise<string> {
  const r = await tug.kubectl(args, o);
  assert.equal(r.code, 0, `kubectl ${args.join(" ")}\n${show(r)}`);
  return r.stdout;
}

/** Split a kubectl table into rows of whitespace-separated columns (header first). */
function headerOf(table: string): string {
  return table.split("\n")[0].trim().replace(/\s{2,}/g, "  ");
}

function namesIn(table: string): string[] {
  return table.trim().split("\n").slice(1).map((l) => l.trim().split(/\s+/)[0]);
}

describe("kubectl basics", { skip, timeout: 120_000 }, () => {
  before(async () => {
    tug = await startTug();
    scratch = mkdtempSync(join(tmpdir(), "tug-e2e-basics-"));
    await ok(["create", "namespace", NS]);
    await ok(["create", "namespace", PODS]);
    await ok(["apply", "-f", join(testdataDir, "basics.yaml")]);
  });
  after(async () => {
    await tug?.cleanup();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  test("kubectl version reports server 1.32", async () => {
    const out = JSON.parse(await ok(["version", "-o", "json"]));
    assert.equal(out.serverVersion.major, "1");
    assert.equal(out.serverVersion.minor, "32");
    assert.match(out.serverVersion.gitVersion, /^v1\.32\./);
  });

  test("api-resources lists the built-in resources with short names and groups", async () => {
    const out = await ok(["api-resources"]);
    const rows = out.split("\n").map((l) => l.trim().split(/\s+/));
    const has = (name: string, shortname: string | undefined, groupVersion: string, kind: string) => {
      const row = rows.find((r) => r[0] === name && r.includes(groupVersion));
      assert.ok(row, `api-resources lacks ${name} ${groupVersion}\n${out}`);
      if (shortname) assert.ok(row.includes(shortname), `${name}: short name ${shortname} missing: ${row.join(" ")}`);
      assert.equal(row[row.length - 1], kind, `${name}: kind`);
    };
    assert.match(out.split("\n")[0], /^NAME\s+SHORTNAMES\s+APIVERSION\s+NAMESPACED\s+KIND/);
    has("pods", "po", "v1", "Pod");
    has("namespaces", "ns", "v1", "Namespace");
    has("services", "svc", "v1", "Service");
    has("configmaps", "cm", "v1", "ConfigMap");
    has("deployments", "deploy", "apps/v1", "Deployment");
    has("replicasets", "rs", "apps/v1", "ReplicaSet");
    has("statefulsets", "sts", "apps/v1", "StatefulSet");
    has("daemonsets", "ds", "apps/v1", "DaemonSet");
    has("jobs", undefined, "batch/v1", "Job");
    has("cronjobs", "cj", "batch/v1", "CronJob");
    has("ingresses", "ing", "networking.k8s.io/v1", "Ingress");
    has("leases", undefined, "coordination.k8s.io/v1", "Lease");
    has("horizontalpodautoscalers", "hpa", "autoscaling/v2", "HorizontalPodAutoscaler");
    has("events", "ev", "events.k8s.io/v1", "Event");
    has("endpointslices", undefined, "discovery.k8s.io/v1", "EndpointSlice");
    has("poddisruptionbudgets", "pdb", "policy/v1", "PodDisruptionBudget");
    has("priorityclasses", "pc", "scheduling.k8s.io/v1", "PriorityClass");
  });

  test("get ns shows the four system namespaces", async () => {
    const out = await ok(["get", "ns"]);
    assert.equal(headerOf(out), "NAME  STATUS  AGE");
    const names = namesIn(out);
    for (const n of ["default", "kube-system", "kube-public", "kube-node-lease"]) assert.ok(names.includes(n), `missing namespace ${n}\n${out}`);
    assert.match(out, /default\s+Active\s+/);
  });

  test("get <kind> -A succeeds for every built-in kind", async () => {
    const kinds = ["namespaces", "pods", "nodes", "services", "endpoints", "configmaps", "secrets", "serviceaccounts", "events", "pv", "pvc", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs", "ingresses", "ingressclasses", "endpointslices", "leases", "hpa", "pdb", "priorityclasses"];
    const failures: string[] = [];
    for (const k of kinds) {
      const r = await tug.kubectl(["get", k, "-A"]);
      if (r.code !== 0) failures.push(`get ${k} -A → ${show(r)}`);
    }
    assert.deepEqual(failures, []);
  });

  test("pod table columns, -o wide, --show-labels, -l, --field-selector, --sort-by", async () => {
    const plain = await ok(["get", "pods", "-n", PODS]);
    assert.equal(headerOf(plain), "NAME  READY  STATUS  RESTARTS  AGE");
    assert.deepEqual(namesIn(plain).sort(), ["db-0", "web-a", "web-b"]);
    assert.match(plain, /web-a\s+0\/1\s+Pending\s+0\s+\S+/);

    const wide = await ok(["get", "pods", "-n", PODS, "-o", "wide"]);
    assert.equal(headerOf(wide), "NAME  READY  STATUS  RESTARTS  AGE  IP  NODE  NOMINATED NODE  READINESS GATES");

    const labels = await ok(["get", "pods", "-n", PODS, "--show-labels"]);
    assert.match(labels.split("\n")[0], /LABELS\s*$/);
    assert.match(labels, /web-a\s.*\bapp=web,tier=front\b/);

    const selected = await ok(["get", "pods", "-n", PODS, "-l", "app=web", "-o", "name"]);
    assert.deepEqual(selected.trim().split("\n").sort(), ["pod/web-a", "pod/web-b"]);

    const notIn = await ok(["get", "pods", "-n", PODS, "-l", "app!=web", "-o", "name"]);
    assert.deepEqual(notIn.trim().split("\n"), ["pod/db-0"]);

    const byField = await ok(["get", "pods", "-n", PODS, "--field-selector", "metadata.name=web-b", "-o", "name"]);
    assert.deepEqual(byField.trim().split("\n"), ["pod/web-b"]);

    const sorted = await ok(["get", "pods", "-n", PODS, "--sort-by=.metadata.name"]);
    assert.deepEqual(namesIn(sorted), ["db-0", "web-a", "web-b"]);
    const byLabel = await ok(["get", "pods", "-n", PODS, "--sort-by=.metadata.labels.app", "-o", "name"]);
    assert.equal(byLabel.trim().split("\n")[0], "pod/db-0");
  });

  test("deployment table columns", async () => {
    const out = await ok(["get", "deployments", "-n", NS]);
    assert.equal(headerOf(out), "NAME  READY  UP-TO-DATE  AVAILABLE  AGE");
    assert.match(out, /\nweb\s+\d+\/1\s+\d+\s+\d+\s+\S+/);
    const wide = await ok(["get", "deploy", "-n", NS, "-o", "wide"]);
    assert.equal(headerOf(wide), "NAME  READY  UP-TO-DATE  AVAILABLE  AGE  CONTAINERS  IMAGES  SELECTOR");
    assert.match(wide, /web\s.*\sweb\s+registry\.local\/web:v1\s+app=web/);
  });

  test("-o yaml, -o json, -o jsonpath", async () => {
    const json = JSON.parse(await ok(["get", "configmaps", "-n", NS, "-o", "json"]));
    assert.equal(json.kind, "List");
    const cm = json.items.find((i: any) => i.metadata.name === "settings");
    assert.equal(cm.kind, "ConfigMap");
    assert.equal(cm.apiVersion, "v1");
    assert.deepEqual(cm.data, { mode: "v1", color: "blue" });
    assert.match(cm.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.match(cm.metadata.resourceVersion, /^\d+$/);
    assert.ok(cm.metadata.creationTimestamp);

    const one = JSON.parse(await ok(["get", "cm", "settings", "-n", NS, "-o", "json"]));
    assert.equal(one.metadata.name, "settings");
    assert.equal(one.metadata.namespace, NS);

    const yaml = await ok(["get", "cm", "settings", "-n", NS, "-o", "yaml"]);
    assert.match(yaml, /^apiVersion: v1$/m);
    assert.match(yaml, /^kind: ConfigMap$/m);
    assert.match(yaml, /^ {2}mode: v1$/m);

    const names = await ok(["get", "cm", "-n", NS, "-o", "jsonpath={.items[*].metadata.name}"]);
    // kube-root-ca.crt may be published into every namespace; the two fixtures must be there.
    assert.deepEqual(names.trim().split(" ").filter((n) => n !== "kube-root-ca.crt").sort(), ["other", "settings"]);
    const data = await ok(["get", "cm", "settings", "-n", NS, "-o", "jsonpath={.data.color}"]);
    assert.equal(data, "blue");
    const custom = await ok(["get", "cm", "-n", NS, "-l", "app=web", "-o", "custom-columns=N:.metadata.name,M:.data.mode"]);
    assert.equal(custom.trim().replace(/ +/g, " "), "N M\nsettings v1");
  });

  test("describe deployment and configmap", async () => {
    const d = await ok(["describe", "deployment", "web", "-n", NS]);
    assert.match(d, /^Name:\s+web$/m);
    assert.match(d, /^Namespace:\s+e2e-basics$/m);
    assert.match(d, /^Selector:\s+app=web$/m);
    assert.match(d, /^Replicas:\s+1 desired/m);
    assert.match(d, /^Pod Template:/m);
    assert.match(d, /Image:\s+registry\.local\/web:v1/);
    const c = await ok(["describe", "configmap", "settings", "-n", NS]);
    assert.match(c, /^Name:\s+settings$/m);
    assert.match(c, /^Labels:\s+app=web$/m);
    assert.match(c, /^color:\n----\nblue$/m);
  });

  test("get -w shows objects created while watching", async () => {
    const w = tug.spawnKubectl(["get", "cm", "-n", NS, "-w"]);
    let out = "";
    let err = "";
    w.stdout!.on("data", (b) => (out += b));
    w.stderr!.on("data", (b) => (err += b));
    try {
      await eventually(async () => out.includes("settings"), 15_000, 100, `initial watch listing (stdout: ${out} stderr: ${err})`);
      await ok(["create", "configmap", "watched-cm", "-n", NS, "--from-literal=a=b"]);
      await eventually(async () => /\nwatched-cm\s+1\s+/.test(out), 15_000, 100, `watched-cm in kubectl get -w output:\n${out}\nstderr: ${err}`);
      assert.equal(w.exitCode, null, `kubectl get -w exited early: ${err}`);
    } finally {
      if (w.pid && w.exitCode === null) process.kill(w.pid, "SIGKILL");
    }
  });

  test("label and annotate", async () => {
    assert.match(await ok(["label", "cm", "settings", "-n", NS, "env=prod"]), /configmap\/settings labeled/);
    assert.equal(await ok(["get", "cm", "settings", "-n", NS, "-o", "jsonpath={.metadata.labels.env}"]), "prod");
    assert.match(await ok(["label", "cm", "settings", "-n", NS, "env-"]), /configmap\/settings unlabeled/);
    assert.equal(await ok(["get", "cm", "-n", NS, "-l", "env=prod", "-o", "name"]), "");
    const overwrite = await tug.kubectl(["label", "cm", "settings", "-n", NS, "app=other"]);
    assert.notEqual(overwrite.code, 0, "relabel without --overwrite must fail");
    assert.match(await ok(["annotate", "cm", "settings", "-n", NS, "owner=team-a"]), /configmap\/settings annotated/);
    assert.equal(await ok(["get", "cm", "settings", "-n", NS, "-o", "jsonpath={.metadata.annotations.owner}"]), "team-a");
  });

  test("scale deployment", async () => {
    assert.match(await ok(["scale", "deployment", "web", "-n", NS, "--replicas=3"]), /deployment\.apps\/web scaled/);
    assert.equal(await ok(["get", "deploy", "web", "-n", NS, "-o", "jsonpath={.spec.replicas}"]), "3");
    // The deployment and replicaset controllers follow: three pods carry the template labels.
    await eventually(async () => (await ok(["get", "pods", "-n", NS, "-l", "app=web", "-o", "name"])).trim().split("\n").filter(Boolean).length === 3, 20_000, 300, "3 pods for deployment web");
  });

  test("edit with KUBE_EDITOR", async () => {
    const editor = writeScript(scratch, "editor.sh", `sed -i 's#web:v1#web:v2#' "$1"`);
    assert.match(await ok(["edit", "deployment", "web", "-n", NS], { env: { KUBE_EDITOR: editor } }), /deployment\.apps\/web edited/);
    assert.equal(await ok(["get", "deploy", "web", "-n", NS, "-o", "jsonpath={.spec.template.spec.containers[0].image}"]), "registry.local/web:v2");
    const gen = Number(await ok(["get", "deploy", "web", "-n", NS, "-o", "jsonpath={.metadata.generation}"]));
    assert.ok(gen >= 2, `generation should grow on a spec change, got ${gen}`);
    // An editor that changes nothing: kubectl reports "Edit cancelled, no changes made."
    const noop = writeScript(scratch, "noop.sh", "true");
    const r = await tug.kubectl(["edit", "cm", "settings", "-n", NS], { env: { KUBE_EDITOR: noop } });
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout + r.stderr, /Edit cancelled, no changes made/);
  });

  for (const version of ["1.32", "1.31"] as const) {
    test(`typed kubectl create generators with kubectl ${version} (${version === "1.32" ? "protobuf" : "JSON"} bodies)`, async () => {
      const ns = `e2e-create-${version.replace(".", "")}`;
      const o = { version };
      const get = async (what: string[]) => JSON.parse(await ok(["get", ...what, "-n", ns, "-o", "json"], o));
      assert.match(await ok(["create", "namespace", ns], o), new RegExp(`namespace/${ns} created`));
      assert.equal((await get(["namespace", ns])).status.phase, "Active");

      await ok(["create", "deployment", "dep", "--image=registry.local/app:1", "--replicas=2", "--port=8080", "-n", ns], o);
      const dep = await get(["deployment", "dep"]);
      assert.equal(dep.spec.replicas, 2);
      assert.deepEqual(dep.spec.selector, { matchLabels: { app: "dep" } });
      assert.deepEqual(dep.spec.template.metadata.labels, { app: "dep" });
      assert.equal(dep.spec.template.spec.containers[0].image, "registry.local/app:1");
      assert.equal(dep.spec.template.spec.containers[0].name, "app");
      assert.equal(dep.spec.template.spec.containers[0].ports[0].containerPort, 8080);
      assert.equal(dep.spec.strategy.type, "RollingUpdate", "defaulted strategy");
      assert.equal(dep.spec.template.spec.restartPolicy, "Always", "defaulted restartPolicy");

      // -v=7 logs request headers: prove which encoding this kubectl sent.
      const cfgRun = await tug.kubectl(["create", "configmap", "cfg", "--from-literal=k1=v1", "--from-literal=k2=v2", "-n", ns, "-v=7"], o);
      assert.equal(cfgRun.code, 0, show(cfgRun));
      assert.match(cfgRun.stderr, new RegExp(`Content-Type: application/${version === "1.32" ? "vnd\\.kubernetes\\.protobuf" : "json"}`));
      const cfg = JSON.parse(await ok(["get", "configmap", "cfg", "-n", ns, "-o", "json", "--show-managed-fields"], o));
      assert.deepEqual(cfg.data, { k1: "v1", k2: "v2" });
      const mf = (cfg.metadata.managedFields ?? []).find((m: any) => m.manager === "kubectl-create");
      assert.equal(mf?.operation, "Update", `managedFields record the kubectl-create manager: ${JSON.stringify(cfg.metadata.managedFields)}`);
      assert.ok(mf.fieldsV1?.["f:data"]?.["f:k1"], "kubectl-create owns data.k1");

      await ok(["create", "secret", "generic", "sec", "--from-literal=password=hunter2", "-n", ns], o);
      const sec = await get(["secret", "sec"]);
      assert.equal(sec.type, "Opaque");
      assert.equal(Buffer.from(sec.data.password, "base64").toString(), "hunter2");

      await ok(["create", "job", "job1", "--image=registry.local/busybox:1", "-n", ns, "--", "echo", "hi"], o);
      const job = await get(["job", "job1"]);
      assert.deepEqual(job.spec.template.spec.containers[0].command, ["echo", "hi"]);
      assert.equal(job.spec.template.spec.restartPolicy, "Never");

      await ok(["create", "service", "clusterip", "svc1", "--tcp=80:8080", "-n", ns], o);
      const svc = await get(["service", "svc1"]);
      assert.equal(svc.spec.type, "ClusterIP");
      assert.equal(svc.spec.ports[0].port, 80);
      assert.equal(svc.spec.ports[0].targetPort, 8080);
      assert.equal(svc.spec.ports[0].protocol, "TCP");
      assert.deepEqual(svc.spec.selector, { app: "svc1" });

      await ok(["create", "serviceaccount", "robot", "-n", ns], o);
      assert.equal((await get(["serviceaccount", "robot"])).metadata.name, "robot");

      await ok(["create", "cronjob", "cj1", "--image=registry.local/busybox:1", "--schedule=*/5 * * * *", "-n", ns, "--", "date"], o);
      const cj = await get(["cronjob", "cj1"]);
      assert.equal(cj.spec.schedule, "*/5 * * * *");
      assert.deepEqual(cj.spec.jobTemplate.spec.template.spec.containers[0].command, ["date"]);
      assert.equal(cj.spec.concurrencyPolicy, "Allow", "defaulted concurrencyPolicy");

      await ok(["create", "ingress", "ing1", "--rule=foo.example.com/bar=svc1:8080", "-n", ns], o);
      const ing = await get(["ingress", "ing1"]);
      const rule = ing.spec.rules[0];
      assert.equal(rule.host, "foo.example.com");
      assert.equal(rule.http.paths[0].path, "/bar");
      assert.equal(rule.http.paths[0].pathType, "Exact");
      assert.deepEqual(rule.http.paths[0].backend, { service: { name: "svc1", port: { number: 8080 } } });

      // The same objects are listed by name in one call.
      const all = await ok(["get", "deploy,cm,secret,job,svc,sa,cj,ing", "-n", ns, "-o", "name"], o);
      for (const n of ["deployment.apps/dep", "configmap/cfg", "secret/sec", "job.batch/job1", "service/svc1", "serviceaccount/robot", "cronjob.batch/cj1", "ingress.networking.k8s.io/ing1"]) {
        assert.ok(all.split("\n").includes(n), `missing ${n} in\n${all}`);
      }
      // Last, so a missing allocator does not hide the checks above.
      assert.match(svc.spec.clusterIP ?? "", /^\d+\.\d+\.\d+\.\d+$/, `a ClusterIP is allocated: ${JSON.stringify(svc.spec)}`);
    });
  }

  test("create -f with a duplicate name is AlreadyExists", async () => {
    const r = await tug.kubectl(["create", "-f", join(testdataDir, "basics.yaml")]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /AlreadyExists|already exists/);
  });

  test("get of a missing object is NotFound", async () => {
    const r = await tug.kubectl(["get", "cm", "does-not-exist", "-n", NS]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Error from server \(NotFound\): configmaps "does-not-exist" not found/);
  });
});
