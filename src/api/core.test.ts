import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../apimachinery/types.js";
import type { ResourceDef } from "./types.js";
import { coreResources } from "./core.js";

const now = new Date("2024-01-01T01:00:00Z");
const created = "2024-01-01T00:00:00Z";
const def = (plural: string): ResourceDef => coreResources.find((d) => d.plural === plural)!;

function create(plural: string, o: KObject) {
  const d = def(plural);
  d.defaults?.(o);
  d.prepareForCreate?.(o);
  return d.validate!(o, { operation: "create" });
}
function update(plural: string, o: KObject, old: KObject) {
  const d = def(plural);
  d.defaults?.(o);
  d.prepareForUpdate?.(o, old);
  return d.validate!(o, { operation: "update", old });
}
const meta = (name: string, ns?: string) => ({ name, ...(ns ? { namespace: ns } : {}), uid: "u1", resourceVersion: "1", creationTimestamp: created });
const fields = (errs: { field?: string }[]) => errs.map((e) => e.field);

test("catalogue entries have identities", () => {
  assert.deepEqual(coreResources.map((d) => d.plural), ["namespaces", "pods", "nodes", "services", "endpoints", "configmaps", "secrets", "serviceaccounts", "events", "persistentvolumes", "persistentvolumeclaims"]);
  assert.equal(def("namespaces").namespaced, false);
  assert.deepEqual(def("namespaces").subresources, ["status", "finalize"]);
  assert.deepEqual(def("services").shortNames, ["svc"]);
});

test("namespace defaults, name rule, table", () => {
  const ns: KObject = { metadata: { name: "team-a" } };
  assert.deepEqual(create("namespaces", ns), []);
  assert.deepEqual(ns.spec, { finalizers: ["kubernetes"] });
  assert.deepEqual(ns.status, { phase: "Active" });
  assert.equal(ns.metadata.labels!["kubernetes.io/metadata.name"], "team-a");
  assert.deepEqual(fields(create("namespaces", { metadata: { name: "a.b" } })), ["metadata.name"]);
  ns.metadata.creationTimestamp = created;
  assert.deepEqual(def("namespaces").table!.cells(ns, now), ["Active", "60m"]);
});

test("service defaults and table", () => {
  const svc: KObject = { metadata: { name: "web", namespace: "default", creationTimestamp: created }, spec: { selector: { app: "web" }, ports: [{ port: 80 }] } };
  assert.deepEqual(create("services", svc), []);
  assert.equal(svc.spec.type, "ClusterIP");
  assert.equal(svc.spec.sessionAffinity, "None");
  assert.deepEqual(svc.spec.ports, [{ port: 80, protocol: "TCP", targetPort: 80 }]);
  assert.equal(svc.spec.ipFamilyPolicy, "SingleStack");
  assert.deepEqual(svc.spec.ipFamilies, ["IPv4"]);
  assert.equal(svc.spec.internalTrafficPolicy, "Cluster");
  assert.equal(svc.spec.externalTrafficPolicy, undefined);
  svc.spec.clusterIP = "10.43.0.10";
  svc.spec.clusterIPs = ["10.43.0.10"];
  assert.deepEqual(def("services").table!.cells(svc, now), ["ClusterIP", "10.43.0.10", "<none>", "80/TCP", "60m", "app=web"]);
  const np: KObject = { metadata: { name: "np", namespace: "default" }, spec: { type: "LoadBalancer", ports: [{ port: 80, nodePort: 30080 }] } };
  assert.deepEqual(create("services", np), []);
  assert.equal(np.spec.externalTrafficPolicy, "Cluster");
  assert.deepEqual(def("services").table!.cells(np, now).slice(2, 4), ["<pending>", "80:30080/TCP"]);
});

test("service validation", () => {
  const errs = create("services", { metadata: { name: "1web", namespace: "d" }, spec: { type: "Weird", ports: [{ port: 80 }, { port: 80 }] } });
  assert.deepEqual(fields(errs), ["metadata.name", "spec.type", "spec.ports[0].name", "spec.ports[1].name", "spec.ports[1]"]);
  assert.equal(errs[1]!.message, 'Unsupported value: "Weird": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"');
  assert.deepEqual(fields(create("services", { metadata: { name: "ext", namespace: "d" }, spec: { type: "ExternalName" } })), ["spec.externalName"]);
  assert.deepEqual(create("services", { metadata: { name: "ext", namespace: "d" }, spec: { type: "ExternalName", externalName: "example.com" } }), []);
  assert.deepEqual(fields(create("services", { metadata: { name: "x", namespace: "d" }, spec: { ports: "80" } })), ["spec.ports"]);
});

test("service clusterIP is kept on update and immutable", () => {
  const old: KObject = { metadata: meta("web", "d"), spec: { ports: [{ port: 80 }], clusterIP: "10.43.0.10" } };
  def("services").defaults!(old);
  const omitted: KObject = { metadata: meta("web", "d"), spec: { ports: [{ port: 81 }] } };
  assert.deepEqual(update("services", omitted, old), []);
  assert.equal(omitted.spec.clusterIP, "10.43.0.10");
  const changed: KObject = { metadata: meta("web", "d"), spec: { ports: [{ port: 80 }], clusterIP: "10.43.0.11", clusterIPs: ["10.43.0.11"] } };
  const errs = update("services", changed, old);
  assert.deepEqual(fields(errs), ["spec.clusterIPs[0]"]);
  assert.match(errs[0]!.message, /may not change once set/);
  const toExt: KObject = { metadata: meta("web", "d"), spec: { type: "ExternalName", externalName: "a.example" } };
  assert.deepEqual(update("services", toExt, old), []);
});

test("endpoints table", () => {
  const ep: KObject = { metadata: { name: "web", namespace: "d", creationTimestamp: created }, subsets: [{ addresses: [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }, { ip: "10.0.0.3" }, { ip: "10.0.0.4" }], ports: [{ port: 80 }] }] };
  assert.deepEqual(create("endpoints", ep), []);
  assert.deepEqual(def("endpoints").table!.cells(ep, now), ["10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...", "60m"]);
  assert.deepEqual(def("endpoints").table!.cells({ metadata: {} }, now)[0], "<none>");
});

test("configmap keys and immutability", () => {
  const errs = create("configmaps", { metadata: { name: "c", namespace: "d" }, data: { "ok.key": "v", "bad key": "v" } });
  assert.deepEqual(fields(errs), ["data[bad key]"]);
  assert.equal(errs[0]!.message, `Invalid value: "bad key": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`);
  const old: KObject = { metadata: meta("c", "d"), immutable: true, data: { a: "1" } };
  const errs2 = update("configmaps", { metadata: meta("c", "d"), immutable: true, data: { a: "2" } }, old);
  assert.deepEqual(errs2, [{ reason: "FieldValueForbidden", field: "data", message: "Forbidden: field is immutable when `immutable` is set" }]);
  const cm: KObject = { metadata: { name: "c", creationTimestamp: created }, data: { a: "1" }, binaryData: { b: "AA==" } };
  assert.deepEqual(def("configmaps").table!.cells(cm, now), [2, "60m"]);
});

test("secrets: type default, base64, required keys, type immutable", () => {
  const s: KObject = { metadata: { name: "s", namespace: "d", creationTimestamp: created }, stringData: { user: "admin" } };
  assert.deepEqual(create("secrets", s), []);
  assert.equal(s.type, "Opaque");
  assert.deepEqual(s.data, { user: "YWRtaW4=" });
  assert.equal(s.stringData, undefined);
  assert.deepEqual(def("secrets").table!.cells(s, now), ["Opaque", 1, "60m"]);
  assert.deepEqual(fields(create("secrets", { metadata: { name: "s", namespace: "d" }, data: { a: "not base64!" } })), ["data[a]"]);
  assert.deepEqual(fields(create("secrets", { metadata: { name: "t", namespace: "d" }, type: "kubernetes.io/tls", data: { "tls.crt": "" } })), ["data[tls.key]"]);
  assert.deepEqual(fields(create("secrets", { metadata: { name: "t", namespace: "d" }, type: "kubernetes.io/service-account-token" })), ["metadata.annotations[kubernetes.io/service-account.name]"]);
  const bad = Buffer.from("{not json").toString("base64");
  assert.deepEqual(fields(create("secrets", { metadata: { name: "t", namespace: "d" }, type: "kubernetes.io/dockerconfigjson", data: { ".dockerconfigjson": bad } })), ["data[.dockerconfigjson]"]);
  const old: KObject = { metadata: meta("s", "d"), type: "Opaque", data: {} };
  const errs = update("secrets", { metadata: meta("s", "d"), type: "kubernetes.io/tls", data: { "tls.crt": "", "tls.key": "" } }, old);
  assert.deepEqual(errs, [{ reason: "FieldValueInvalid", field: "type", message: 'Invalid value: "kubernetes.io/tls": field is immutable' }]);
});

test("serviceaccount table", () => {
  const sa: KObject = { metadata: { name: "default", namespace: "d", creationTimestamp: created }, secrets: [{ name: "x" }] };
  assert.deepEqual(create("serviceaccounts", sa), []);
  assert.deepEqual(def("serviceaccounts").table!.cells(sa, now), [1, "60m"]);
});

test("node status, roles, table, field selector", () => {
  const node: KObject = {
    metadata: { name: "n1", creationTimestamp: created, labels: { "node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/master": "" } },
    spec: { unschedulable: true },
    status: {
      capacity: { cpu: "2", memory: "4Gi" },
      conditions: [{ type: "Ready", status: "True" }],
      addresses: [{ type: "InternalIP", address: "192.168.1.10" }],
      nodeInfo: { kubeletVersion: "v1.32.0", osImage: "Debian", kernelVersion: "6.1", containerRuntimeVersion: "containerd://1.6" },
    },
  };
  assert.deepEqual(create("nodes", node), []);
  assert.deepEqual(node.status.allocatable, { cpu: "2", memory: "4Gi" });
  assert.deepEqual(def("nodes").table!.cells(node, now), ["Ready,SchedulingDisabled", "control-plane,master", "60m", "v1.32.0", "192.168.1.10", "<none>", "Debian", "6.1", "containerd://1.6"]);
  assert.equal(def("nodes").fieldSelectors!["spec.unschedulable"]!(node), "true");
  assert.equal(def("nodes").table!.cells({ metadata: {}, status: { conditions: [{ type: "Ready", status: "Unknown" }] } }, now)[0], "NotReady");
  assert.equal(def("nodes").table!.cells({ metadata: {} }, now)[0], "Unknown");
  assert.deepEqual(fields(create("nodes", { metadata: { name: "n2" }, spec: { taints: [{ key: "k", effect: "Sometimes" }] } })), ["spec.taints[0].effect"]);
});

test("events: involvedObject required, table, field selectors", () => {
  assert.deepEqual(fields(create("events", { metadata: { name: "e", namespace: "d" } })), ["involvedObject"]);
  const ev: KObject = {
    metadata: { name: "web.17a", namespace: "d" },
    involvedObject: { kind: "Pod", name: "web", namespace: "d", fieldPath: "spec.containers{app}" },
    reason: "Pulled", message: "Pulled image ", type: "Normal", source: { component: "kubelet", host: "n1" },
    firstTimestamp: "2024-01-01T00:50:00Z", lastTimestamp: "2024-01-01T00:59:00Z", count: 2,
  };
  assert.deepEqual(create("events", ev), []);
  assert.deepEqual(def("events").table!.cells(ev, now), ["60s", "Normal", "Pulled", "pod/web", "spec.containers{app}", "kubelet, n1", "Pulled image", "10m", 2]);
  assert.deepEqual(fields(create("events", { ...ev, involvedObject: { kind: "Pod", name: "web", namespace: "other" } })), ["involvedObject.namespace"]);
  const fs = def("events").fieldSelectors!;
  assert.equal(fs["involvedObject.name"]!(ev), "web");
  assert.equal(fs["source"]!(ev), "kubelet");
  assert.equal(fs["type"]!(ev), "Normal");
});

test("persistent volumes", () => {
  const pv: KObject = { metadata: { name: "pv1", creationTimestamp: created }, spec: { capacity: { storage: "1024Mi" }, accessModes: ["ReadWriteMany", "ReadWriteOnce"], hostPath: { path: "/data" }, storageClassName: "local" } };
  assert.deepEqual(create("persistentvolumes", pv), []);
  assert.equal(pv.spec.persistentVolumeReclaimPolicy, "Retain");
  assert.equal(pv.spec.volumeMode, "Filesystem");
  assert.equal(pv.status.phase, "Pending");
  pv.spec.claimRef = { namespace: "d", name: "data" };
  assert.deepEqual(def("persistentvolumes").table!.cells(pv, now), ["1Gi", "RWO,RWX", "Retain", "Pending", "d/data", "local", "<unset>", "", "60m", "Filesystem"]);
  const errs = create("persistentvolumes", { metadata: { name: "pv2" }, spec: { accessModes: ["Sometimes"] } });
  assert.deepEqual(fields(errs), ["spec.accessModes", "spec.capacity", "spec"]);
});

test("persistent volume claims: defaults, table, immutability except growth", () => {
  const pvc: KObject = { metadata: { name: "data", namespace: "d", creationTimestamp: created }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } };
  assert.deepEqual(create("persistentvolumeclaims", pvc), []);
  assert.equal(pvc.spec.volumeMode, "Filesystem");
  assert.equal(pvc.status.phase, "Pending");
  assert.deepEqual(def("persistentvolumeclaims").table!.cells(pvc, now), ["Pending", "", "", "", "", "<unset>", "60m", "Filesystem"]);
  assert.deepEqual(fields(create("persistentvolumeclaims", { metadata: { name: "x", namespace: "d" }, spec: {} })), ["spec.accessModes", "spec.resources[storage]"]);

  const old: KObject = { metadata: meta("data", "d"), spec: { ...pvc.spec, volumeName: "pv1" }, status: { phase: "Bound", capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"] } };
  assert.deepEqual(def("persistentvolumeclaims").table!.cells({ ...old, metadata: { ...old.metadata } }, now).slice(0, 4), ["Bound", "pv1", "1Gi", "RWO"]);
  const grow: KObject = structuredClone(old);
  grow.spec.resources.requests.storage = "2Gi";
  assert.deepEqual(update("persistentvolumeclaims", grow, old), []);
  const shrink: KObject = structuredClone(old);
  shrink.spec.resources.requests.storage = "500Mi";
  assert.deepEqual(fields(update("persistentvolumeclaims", shrink, old)), ["spec.resources.requests.storage"]);
  const modes: KObject = structuredClone(old);
  modes.spec.accessModes = ["ReadWriteMany"];
  const errs = update("persistentvolumeclaims", modes, old);
  assert.deepEqual(fields(errs), ["spec"]);
  assert.match(errs[0]!.message, /^Forbidden: spec is immutable after creation except resources.requests/);
});

test("every kind survives garbage input without throwing", () => {
  const junk: unknown[] = [null, 1, "x", [], { a: 1 }, [1, "a"], true];
  for (const d of coreResources) {
    for (const j of junk) {
      const o = { metadata: { name: "x", namespace: d.namespaced ? "d" : undefined }, spec: j, status: j, data: j, subsets: j, involvedObject: j, secrets: j } as KObject;
      assert.doesNotThrow(() => {
        d.defaults?.(o);
        d.prepareForCreate?.(o);
        d.validate?.(o, { operation: "create" });
        d.validate?.(o, { operation: "update", old: structuredClone(o) });
        d.table?.cells(o, now);
        for (const f of Object.values(d.fieldSelectors ?? {})) f(o);
      }, `${d.plural} with ${JSON.stringify(j)}`);
    }
  }
});
