import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../apimachinery/types.js";
import { podResource, podQOSClass, podSummary } from "./core-pod.js";

const now = new Date("2024-01-01T01:00:00Z");
const created = "2024-01-01T00:00:00Z";

function newPod(spec: any = {}): KObject {
  return { apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace: "default" }, spec: { containers: [{ name: "app", image: "nginx" }], ...spec } };
}

function create(pod: KObject) {
  podResource.defaults!(pod);
  podResource.prepareForCreate!(pod);
  return podResource.validate!(pod, { operation: "create" });
}

test("pod defaults follow upstream SetDefaults", () => {
  const pod = newPod({
    containers: [
      { name: "a", image: "nginx", ports: [{ containerPort: 80 }], livenessProbe: { httpGet: { port: 80 } }, resources: { limits: { cpu: "1", memory: "1Gi" } } },
      { name: "b", image: "busybox:1.36" },
      { name: "c", image: "localhost:5000/x@sha256:abc" },
    ],
    volumes: [{ name: "v" }],
  });
  assert.deepEqual(create(pod), []);
  const s = pod.spec;
  assert.equal(s.restartPolicy, "Always");
  assert.equal(s.dnsPolicy, "ClusterFirst");
  assert.equal(s.terminationGracePeriodSeconds, 30);
  assert.equal(s.schedulerName, "default-scheduler");
  assert.deepEqual(s.securityContext, {});
  assert.equal(s.enableServiceLinks, true);
  const [a, b, c] = s.containers;
  assert.equal(a.imagePullPolicy, "Always");
  assert.equal(b.imagePullPolicy, "IfNotPresent");
  assert.equal(c.imagePullPolicy, "IfNotPresent");
  assert.equal(a.terminationMessagePath, "/dev/termination-log");
  assert.equal(a.terminationMessagePolicy, "File");
  assert.equal(a.ports[0].protocol, "TCP");
  assert.deepEqual(a.livenessProbe, { httpGet: { port: 80, path: "/", scheme: "HTTP" }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
  assert.deepEqual(a.resources.requests, { cpu: "1", memory: "1Gi" });
  assert.deepEqual(s.volumes[0], { name: "v", emptyDir: {} });
  assert.deepEqual(pod.status, { phase: "Pending", qosClass: "Burstable" });
});

test("QoS classes", () => {
  const g = newPod({ containers: [{ name: "a", image: "x", resources: { limits: { cpu: "1", memory: "1Gi" } } }] });
  podResource.defaults!(g);
  assert.equal(podQOSClass(g), "Guaranteed");
  assert.equal(podQOSClass(newPod()), "BestEffort");
  assert.equal(podQOSClass(newPod({ containers: [{ name: "a", image: "x", resources: { requests: { cpu: "100m" } } }] })), "Burstable");
});

test("pod validation messages and fields", () => {
  const dup = create(newPod({ containers: [{ name: "a", image: "x" }, { name: "a", image: "" }], restartPolicy: "Sometimes" }));
  assert.deepEqual(dup.map((c) => [c.field, c.message]), [
    ["spec.containers[1].name", 'Duplicate value: "a"'],
    ["spec.containers[1].image", "Required value"],
    ["spec.restartPolicy", 'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'],
  ]);
  const none = create(newPod({ containers: [] }));
  assert.deepEqual(none.map((c) => c.field), ["spec.containers"]);
  const mounts = create(newPod({
    containers: [{ name: "a", image: "x", imagePullPolicy: "Sometimes", ports: [{ containerPort: 70000 }], volumeMounts: [{ name: "missing", mountPath: "/x" }], resources: { requests: { cpu: "2" }, limits: { cpu: "1" } } }],
    volumes: [{ name: "v", emptyDir: {} }, { name: "v", emptyDir: {} }],
  }));
  assert.deepEqual(mounts.map((c) => c.field), [
    "spec.volumes[1].name",
    "spec.containers[0].ports[0].containerPort",
    "spec.containers[0].volumeMounts[0].name",
    "spec.containers[0].resources.requests",
    "spec.containers[0].imagePullPolicy",
  ]);
  assert.equal(mounts[3]!.message, 'Invalid value: "2": must be less than or equal to cpu limit of 1');
  assert.equal(mounts[2]!.message, 'Not found: "missing"');
  const sized = create(newPod({ containers: [{ name: "a", image: "x" }], volumes: [{ name: "m", emptyDir: { medium: "Memory", sizeLimit: "8Mi" } }, { name: "b", emptyDir: { sizeLimit: "lots" } }] }));
  assert.deepEqual(sized.map((c) => c.field), ["spec.volumes[1].emptyDir.sizeLimit"]);
});

test("pod validation never throws on wrong JSON types", () => {
  const bad: KObject = { metadata: { name: "x", namespace: "d" }, spec: { containers: "nope", volumes: [1], tolerations: {}, nodeSelector: [] } };
  const errs = create(bad);
  assert.ok(errs.some((e) => e.field === "spec.containers" && e.reason === "FieldValueTypeInvalid"));
  assert.ok(errs.some((e) => e.field === "spec.volumes[0]"));
  const bad2: KObject = { metadata: { name: "x", namespace: "d" }, spec: { containers: [{ name: 3, image: [], ports: "80", env: [{ name: "A", valueFrom: 1 }], resources: { limits: { cpu: "lots" } } }] } };
  const errs2 = create(bad2);
  assert.ok(errs2.some((e) => e.field === "spec.containers[0].name"));
  assert.ok(errs2.some((e) => e.field === "spec.containers[0].ports"));
  assert.ok(errs2.some((e) => e.field === "spec.containers[0].resources.limits[cpu]"));
  assert.doesNotThrow(() => create({ metadata: { name: "x", namespace: "d" }, spec: "str" } as KObject));
  assert.doesNotThrow(() => podResource.table!.cells({ metadata: {}, spec: 1, status: "x" } as KObject, now));
});

test("pod update: only images, deadline, tolerations", () => {
  const old = newPod();
  create(old);
  old.metadata = { ...old.metadata, uid: "u", resourceVersion: "1", creationTimestamp: created };
  const img = structuredClone(old);
  img.spec.containers[0].image = "nginx:2";
  assert.deepEqual(podResource.validate!(img, { operation: "update", old }), []);
  const bad = structuredClone(old);
  bad.spec.restartPolicy = "Never";
  const errs = podResource.validate!(bad, { operation: "update", old });
  assert.equal(errs.length, 1);
  assert.equal(errs[0]!.field, "spec");
  assert.match(errs[0]!.message, /^Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`,/);
  assert.match(errs[0]!.message, /restartPolicy/);
});

function cells(pod: KObject) {
  return podResource.table!.cells({ ...pod, metadata: { name: "p", creationTimestamp: created, ...pod.metadata } }, now);
}

test("pod table: Running 1/1, CrashLoopBackOff, Terminating, Completed, Init:0/1", () => {
  const running = cells({
    metadata: {}, spec: { containers: [{ name: "a" }], nodeName: "n1" },
    status: { phase: "Running", podIPs: [{ ip: "10.0.0.5" }], conditions: [{ type: "Ready", status: "True" }], containerStatuses: [{ name: "a", ready: true, restartCount: 0, state: { running: { startedAt: created } } }] },
  });
  assert.deepEqual(running, ["1/1", "Running", "0", "60m", "10.0.0.5", "n1", "<none>", "<none>"]);

  const crash = cells({
    metadata: {}, spec: { containers: [{ name: "a" }] },
    status: { phase: "Running", containerStatuses: [{ name: "a", ready: false, restartCount: 3, state: { waiting: { reason: "CrashLoopBackOff" } }, lastState: { terminated: { exitCode: 1, finishedAt: "2024-01-01T00:58:00Z" } } }] },
  });
  assert.deepEqual(crash.slice(0, 3), ["0/1", "CrashLoopBackOff", "3 (2m ago)"]);

  const term = cells({
    metadata: { deletionTimestamp: "2024-01-01T00:59:00Z" }, spec: { containers: [{ name: "a" }] },
    status: { phase: "Running", containerStatuses: [{ name: "a", ready: true, state: { running: {} } }] },
  });
  assert.deepEqual(term.slice(0, 2), ["1/1", "Terminating"]);

  const done = cells({
    metadata: {}, spec: { containers: [{ name: "a" }], restartPolicy: "Never" },
    status: { phase: "Succeeded", containerStatuses: [{ name: "a", ready: false, state: { terminated: { exitCode: 0, reason: "Completed" } } }] },
  });
  assert.deepEqual(done.slice(0, 2), ["0/1", "Completed"]);

  const init = cells({
    metadata: {}, spec: { initContainers: [{ name: "i" }], containers: [{ name: "a" }] },
    status: { phase: "Pending", initContainerStatuses: [{ name: "i", ready: false, state: { running: {} } }], containerStatuses: [{ name: "a", state: { waiting: { reason: "PodInitializing" } } }] },
  });
  assert.deepEqual(init.slice(0, 2), ["0/1", "Init:0/1"]);

  const initErr = podSummary({ metadata: {}, spec: { initContainers: [{ name: "i" }], containers: [{ name: "a" }] }, status: { phase: "Pending", initContainerStatuses: [{ name: "i", state: { waiting: { reason: "ImagePullBackOff" } } }] } } as KObject, now);
  assert.equal(initErr.status, "Init:ImagePullBackOff");

  const gated = podSummary({ metadata: {}, spec: { containers: [{ name: "a" }] }, status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "SchedulingGated" }] } } as KObject, now);
  assert.equal(gated.status, "SchedulingGated");
});

test("pod field selectors", () => {
  const pod = newPod({ nodeName: "n1" });
  create(pod);
  const fs = podResource.fieldSelectors!;
  assert.equal(fs["spec.nodeName"]!(pod), "n1");
  assert.equal(fs["status.phase"]!(pod), "Pending");
  assert.equal(fs["spec.hostNetwork"]!(pod), "false");
  assert.equal(fs["spec.restartPolicy"]!(pod), "Always");
  assert.equal(fs["status.podIP"]!(pod), "");
});
