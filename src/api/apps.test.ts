import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../apimachinery/types.js";
import { appsResources } from "./apps.js";
import type { ResourceDef } from "./types.js";

const def = (kind: string): ResourceDef => appsResources.find((d) => d.kind === kind)!;
const now = new Date("2024-01-01T01:00:00Z");

function deployment(): KObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default", creationTimestamp: "2024-01-01T00:00:00Z" },
    spec: {
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "nginx", image: "nginx:1.25" }] } },
    },
  };
}

const fields = (errs: { field?: string }[]) => errs.map((e) => e.field);

test("deployment defaults, including the pod template", () => {
  const d = deployment();
  def("Deployment").defaults!(d);
  assert.equal(d.spec.replicas, 1);
  assert.deepEqual(d.spec.strategy, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" } });
  assert.equal(d.spec.revisionHistoryLimit, 10);
  assert.equal(d.spec.progressDeadlineSeconds, 600);
  assert.equal(d.spec.template.spec.restartPolicy, "Always");
  assert.deepEqual(def("Deployment").validate!(d, { operation: "create" }), []);
  // Recreate gets no rollingUpdate.
  const r = deployment();
  r.spec.strategy = { type: "Recreate" };
  def("Deployment").defaults!(r);
  assert.deepEqual(r.spec.strategy, { type: "Recreate" });
});

test("deployment validation", () => {
  const v = (mut: (d: KObject) => void, ctx: any = { operation: "create" }) => {
    const d = deployment();
    def("Deployment").defaults!(d);
    mut(d);
    return def("Deployment").validate!(d, ctx);
  };
  assert.deepEqual(fields(v((d) => delete d.spec.selector)), ["spec.selector"]);
  assert.match(v((d) => (d.spec.selector = { matchLabels: { app: "db" } }))[0].message, /`selector` does not match template `labels`/);
  assert.match(v((d) => (d.spec.selector = {}))[0].message, /empty selector is invalid for deployment/);
  assert.deepEqual(fields(v((d) => (d.spec.replicas = -1))), ["spec.replicas"]);
  assert.equal(v((d) => (d.spec.replicas = "3"))[0].reason, "FieldValueTypeInvalid");
  assert.deepEqual(fields(v((d) => (d.spec.strategy.type = "Blue"))), ["spec.strategy.type"]);
  const both0 = v((d) => (d.spec.strategy.rollingUpdate = { maxSurge: 0, maxUnavailable: "0%" }));
  assert.match(both0[0].message, /may not be 0 when `maxSurge` is 0/);
  assert.match(v((d) => (d.spec.strategy.rollingUpdate.maxUnavailable = "150%"))[0].message, /must not be greater than 100%/);
  assert.match(v((d) => (d.spec.strategy.rollingUpdate.maxSurge = "abc"))[0].message, /a valid percent string/);
  assert.match(v((d) => (d.spec.template.spec.restartPolicy = "Never"))[0].message, /Unsupported value: "Never": supported values: "Always"/);
  assert.deepEqual(fields(v((d) => (d.spec = "nope"))), ["spec"]);
  // Selector is immutable.
  const old = deployment();
  def("Deployment").defaults!(old);
  old.metadata.resourceVersion = "1";
  const errs = v(
    (d) => {
      d.metadata.resourceVersion = "1";
      d.spec.selector = { matchLabels: { app: "web", tier: "x" } };
      d.spec.template.metadata.labels.tier = "x";
    },
    { operation: "update", old },
  );
  assert.deepEqual(fields(errs), ["spec.selector"]);
  assert.match(errs[0].message, /field is immutable/);
});

test("deployment table and scale", () => {
  const d = deployment();
  def("Deployment").defaults!(d);
  d.spec.replicas = 3;
  d.status = { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2, replicas: 3 };
  const t = def("Deployment").table!;
  assert.deepEqual(t.columns.map((c) => c.name), ["Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"]);
  assert.deepEqual(t.cells(d, now), ["2/3", 3, 2, "60m", "nginx", "nginx:1.25", "app=web"]);
  assert.equal(def("Deployment").scale!.selector(d), "app=web");
  assert.deepEqual(def("Deployment").shortNames, ["deploy"]);
  // Malformed objects still render.
  assert.doesNotThrow(() => t.cells({ metadata: {}, spec: 5, status: "x" } as KObject, now));
});

test("replicaset, statefulset, daemonset defaults and tables", () => {
  const rs = deployment();
  def("ReplicaSet").defaults!(rs);
  assert.equal(rs.spec.replicas, 1);
  assert.deepEqual(def("ReplicaSet").table!.cells(rs, now), [1, 0, 0, "60m", "nginx", "nginx:1.25", "app=web"]);

  const sts = deployment();
  sts.spec.volumeClaimTemplates = [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"] } }];
  def("StatefulSet").defaults!(sts);
  assert.equal(sts.spec.podManagementPolicy, "OrderedReady");
  assert.deepEqual(sts.spec.updateStrategy, { type: "RollingUpdate", rollingUpdate: { partition: 0 } });
  assert.deepEqual(sts.spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: "Retain", whenScaled: "Retain" });
  assert.equal(sts.spec.volumeClaimTemplates[0].spec.volumeMode, "Filesystem");
  assert.deepEqual(def("StatefulSet").validate!(sts, { operation: "create" }), []);
  // Mounts may name a claim template; other unknown names are still refused.
  const mounted = structuredClone(sts);
  mounted.spec.template.spec.containers[0].volumeMounts = [{ name: "data", mountPath: "/data" }];
  assert.deepEqual(def("StatefulSet").validate!(mounted, { operation: "create" }), []);
  mounted.spec.template.spec.containers[0].volumeMounts.push({ name: "nope", mountPath: "/nope" });
  assert.deepEqual(def("StatefulSet").validate!(mounted, { operation: "create" }).map((c) => c.field), ["spec.template.spec.containers[0].volumeMounts[1].name"]);
  assert.deepEqual(def("StatefulSet").table!.cells(sts, now), ["0/1", "60m", "nginx", "nginx:1.25"]);
  const sts2 = structuredClone(sts);
  sts2.metadata.resourceVersion = sts.metadata.resourceVersion = "1";
  sts2.spec.replicas = 5;
  assert.deepEqual(def("StatefulSet").validate!(sts2, { operation: "update", old: sts }), []);
  sts2.spec.serviceName = "other";
  assert.match(def("StatefulSet").validate!(sts2, { operation: "update", old: sts })[0].message, /updates to statefulset spec for fields other than/);

  const ds = deployment();
  ds.spec.template.spec.nodeSelector = { disk: "ssd" };
  def("DaemonSet").defaults!(ds);
  assert.deepEqual(ds.spec.updateStrategy, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
  assert.deepEqual(def("DaemonSet").validate!(ds, { operation: "create" }), []);
  ds.spec.updateStrategy.rollingUpdate = { maxUnavailable: 1, maxSurge: 1 };
  assert.match(def("DaemonSet").validate!(ds, { operation: "create" })[0].message, /may not be set when maxUnavailable is non-zero/);
  assert.deepEqual(def("DaemonSet").table!.cells(ds, now).slice(0, 7), [0, 0, 0, 0, 0, "disk=ssd", "60m"]);
});

test("controllerrevision", () => {
  const cr: KObject = {
    metadata: { name: "web-5d8f", namespace: "default", creationTimestamp: "2024-01-01T00:00:00Z", ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "web", uid: "u", controller: true }] },
    data: {},
    revision: 2,
  };
  const d = def("ControllerRevision");
  assert.deepEqual(d.validate!(cr, { operation: "create" }), []);
  assert.deepEqual(d.table!.cells(cr, now), ["statefulset.apps/web", 2, "60m"]);
  assert.deepEqual(fields(d.validate!({ ...cr, data: undefined }, { operation: "create" })), ["data"]);
});
