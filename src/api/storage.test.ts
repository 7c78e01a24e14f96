import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../apimachinery/types.js";
import { startTestApi } from "../apiserver/testing.js";
import { defaultStorageClass, LOCAL_PATH_STORAGE_CLASS, STORAGE_CLASSES, storageClassResource as def } from "./storage.js";
import { schema } from "./schema/registry.js";

const now = new Date("2024-01-01T01:00:00Z");

test("storageclass defaults, validation, table, schema", () => {
  const sc: KObject = { metadata: { name: "fast", creationTimestamp: "2024-01-01T00:00:00Z" }, provisioner: "example.com/disk", parameters: { type: "ssd" } };
  def.defaults!(sc);
  assert.equal(sc.reclaimPolicy, "Delete");
  assert.equal(sc.volumeBindingMode, "Immediate");
  assert.deepEqual(def.validate!(sc, { operation: "create" }), []);
  assert.deepEqual(def.table!.cells(sc, now), ["example.com/disk", "Delete", "Immediate", false, "60m"]);
  assert.equal(def.table!.nameCell!(sc), sc.metadata.name);
  assert.equal(def.table!.nameCell!({ ...sc, metadata: { ...sc.metadata, annotations: { "storageclass.kubernetes.io/is-default-class": "true" } } }), `${sc.metadata.name} (default)`);
  assert.deepEqual(def.validate!(structuredClone(LOCAL_PATH_STORAGE_CLASS), { operation: "create" }), []);

  const bad = def.validate!({ metadata: { name: "x" }, reclaimPolicy: "Recycle", volumeBindingMode: "Later", allowedTopologies: [{ matchLabelExpressions: [{ key: "zone", values: [] }] }] }, { operation: "create" });
  assert.deepEqual(bad.map((e) => e.field), ["provisioner", "reclaimPolicy", "volumeBindingMode", "allowedTopologies[0].matchLabelExpressions[0].values"]);
  assert.match(def.validate!({ metadata: { name: "x" }, provisioner: "not a name!", volumeBindingMode: "Immediate" }, { operation: "create" })[0].message, /name part must consist of alphanumeric characters/);

  const old = { ...sc, metadata: { ...sc.metadata, resourceVersion: "1" } };
  const upd = { ...old, provisioner: "other.io/x", parameters: { type: "hdd" }, reclaimPolicy: "Retain", volumeBindingMode: "WaitForFirstConsumer", allowVolumeExpansion: true };
  assert.deepEqual(def.validate!(upd, { operation: "update", old }).map((e) => e.field), ["provisioner", "parameters", "reclaimPolicy", "volumeBindingMode"]);
  assert.deepEqual(def.validate!({ ...old, allowVolumeExpansion: true, metadata: { ...old.metadata, labels: { a: "b" } } }, { operation: "update", old }), []);

  const t = schema.forKind("storage.k8s.io", "v1", "StorageClass")!;
  assert.equal(t.name, "io.k8s.api.storage.v1.StorageClass");
  assert.deepEqual(t.fields.map((f) => [f.name, f.tag]), [["metadata", 1], ["provisioner", 2], ["parameters", 3], ["reclaimPolicy", 4], ["mountOptions", 5], ["allowVolumeExpansion", 6], ["volumeBindingMode", 7], ["allowedTopologies", 8]]);
});

test("the newest default class wins", () => {
  const mk = (name: string, ts: string, isDefault: boolean): KObject => ({ metadata: { name, creationTimestamp: ts, annotations: isDefault ? { "storageclass.kubernetes.io/is-default-class": "true" } : {} } });
  assert.equal(defaultStorageClass([mk("a", "2024-01-01T00:00:00Z", true), mk("b", "2024-01-02T00:00:00Z", true), mk("c", "2024-01-03T00:00:00Z", false)])?.metadata.name, "b");
  assert.equal(defaultStorageClass([mk("c", "2024-01-03T00:00:00Z", false)]), undefined);
});

test("bootstrap creates local-path; DefaultStorageClass admission fills in claims without a class", async () => {
  const api = await startTestApi();
  try {
    const sc = await api.client.get(STORAGE_CLASSES, undefined, "local-path");
    assert.equal(sc.provisioner, "tugboat.io/local-path");
    assert.equal(sc.volumeBindingMode, "WaitForFirstConsumer");
    assert.equal(sc.reclaimPolicy, "Delete");
    assert.equal(sc.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"], "true");
    const claim = (name: string, spec: Record<string, unknown> = {}): KObject => ({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name, namespace: "default" },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, ...spec },
    });
    assert.equal((await api.client.create("v1/persistentvolumeclaims", claim("plain"))).spec.storageClassName, "local-path");
    assert.equal((await api.client.create("v1/persistentvolumeclaims", claim("none", { storageClassName: "" }))).spec.storageClassName, "");
    assert.equal((await api.client.create("v1/persistentvolumeclaims", claim("other", { storageClassName: "fast" }))).spec.storageClassName, "fast");
    await api.client.patch(STORAGE_CLASSES, undefined, "local-path", "merge", { metadata: { annotations: { "storageclass.kubernetes.io/is-default-class": "false" } } });
    assert.equal((await api.client.create("v1/persistentvolumeclaims", claim("nodefault"))).spec.storageClassName, undefined);
  } finally {
    await api.close();
  }
});
