// Pod status (status.ts): upstream phase rules with and without init containers, the
// kubelet's conditions and messages (readiness gates included), container states for
// CrashLoopBackOff and OOMKilled, and identical output for identical input (no churn).

import { test } from "node:test";
import assert from "node:assert/strict";
import type { ContainerStatus } from "../runtime/types.js";
import { buildPodStatus, canonicalJSON, podPhase, type ContainerRecord } from "./status.js";

const st = (state: ContainerStatus["state"], exitCode = 0, extra: Partial<ContainerStatus> = {}): ContainerStatus =>
  ({ id: "abc", state, exitCode, startedAt: 1_700_000_000_000, finishedAt: state === "Exited" ? 1_700_000_001_000 : 0, reason: "", message: "", mounts: [], ...extra }) as ContainerStatus;
const rec = (name: string, status?: ContainerStatus, extra: Partial<ContainerRecord> = {}): ContainerRecord => ({ name, image: "img", restartCount: 0, ...(status ? { id: "abc", status } : {}), ...extra });

test("phase: upstream getPhase rules", () => {
  assert.equal(podPhase([rec("a")], "Always"), "Pending");
  assert.equal(podPhase([rec("a", st("Running")), rec("b")], "Always"), "Pending", "a container not started yet keeps the pod Pending");
  assert.equal(podPhase([rec("a", st("Running"))], "Never"), "Running");
  assert.equal(podPhase([rec("a", st("Exited", 0))], "Never"), "Succeeded");
  assert.equal(podPhase([rec("a", st("Exited", 0)), rec("b", st("Exited", 2))], "Never"), "Failed");
  assert.equal(podPhase([rec("a", st("Exited", 0))], "OnFailure"), "Succeeded");
  assert.equal(podPhase([rec("a", st("Exited", 1))], "OnFailure"), "Running");
  assert.equal(podPhase([rec("a", st("Exited", 0))], "Always"), "Running");
  const crashLooping = rec("a", st("Exited", 1), { waiting: { reason: "CrashLoopBackOff" }, lastTerminated: { exitCode: 1, reason: "Error" } });
  assert.equal(podPhase([crashLooping], "Always"), "Running");
  assert.equal(podPhase([rec("a", undefined, { waiting: { reason: "CreateContainerConfigError" } })], "Always"), "Pending");
});

test("phase with init containers", () => {
  const app = [rec("app")];
  assert.equal(podPhase(app, "Always", [rec("i1", st("Running"))]), "Pending");
  assert.equal(podPhase(app, "Never", [rec("i1", st("Exited", 1))]), "Failed");
  assert.equal(podPhase(app, "OnFailure", [rec("i1", st("Exited", 1))]), "Pending");
  assert.equal(podPhase([rec("app", st("Running"))], "Always", [rec("i1", st("Exited", 0))]), "Running");
});

test("status: conditions, readiness, init statuses, readiness gates, no churn", () => {
  const base = { restartPolicy: "Always" as const, podIP: "10.42.0.5", hostIP: "192.0.2.1", startTime: "2024-01-01T00:00:00Z", qosClass: "Burstable" };
  const initRecords = [rec("init", st("Running"))];
  const pending = buildPodStatus({ ...base, records: [rec("app")], initRecords, initialized: false, sandboxReady: true });
  assert.equal(pending.phase, "Pending");
  const cond = (s: any, t: string) => s.conditions.find((c: any) => c.type === t);
  assert.equal(cond(pending, "Initialized").status, "False");
  assert.equal(cond(pending, "Initialized").reason, "ContainersNotInitialized");
  assert.equal(cond(pending, "Initialized").message, "containers with incomplete status: [init]");
  assert.equal(pending.containerStatuses[0].state.waiting.reason, "PodInitializing");
  assert.equal(pending.initContainerStatuses[0].state.running !== undefined, true);
  assert.equal(pending.initContainerStatuses[0].ready, false);
  assert.equal(cond(pending, "PodReadyToStartContainers").status, "True");
  assert.equal(pending.qosClass, "Burstable");

  const done = [rec("init", st("Exited", 0))];
  const unready = buildPodStatus({ ...base, records: [rec("app", st("Running"), { ready: false, started: true })], initRecords: done, initialized: true });
  assert.equal(unready.phase, "Running");
  assert.equal(unready.initContainerStatuses[0].ready, true);
  assert.equal(unready.initContainerStatuses[0].state.terminated.reason, "Completed");
  assert.equal(cond(unready, "ContainersReady").message, "containers with unready status: [app]");
  assert.equal(cond(unready, "Ready").reason, "ContainersNotReady");
  assert.equal(unready.containerStatuses[0].ready, false);
  assert.equal(unready.containerStatuses[0].started, true);

  const gated = buildPodStatus({ ...base, records: [rec("app", st("Running"))], readinessGates: ["example.com/lb"], previous: unready });
  assert.equal(cond(gated, "ContainersReady").status, "True");
  assert.equal(cond(gated, "Ready").status, "False");
  assert.equal(cond(gated, "Ready").reason, "ReadinessGatesNotReady");
  assert.equal(cond(gated, "Ready").message, 'corresponding condition of pod readiness gate "example.com/lb" does not exist.');
  const withGate = { ...gated, conditions: [...gated.conditions, { type: "example.com/lb", status: "True" }] };
  const ready = buildPodStatus({ ...base, records: [rec("app", st("Running"))], readinessGates: ["example.com/lb"], previous: withGate });
  assert.equal(cond(ready, "Ready").status, "True");
  assert.ok(cond(ready, "example.com/lb"), "foreign conditions are kept");
  // The same inputs give the same status: no write when nothing changed.
  const again = buildPodStatus({ ...base, records: [rec("app", st("Running"))], readinessGates: ["example.com/lb"], previous: ready });
  assert.equal(canonicalJSON(again), canonicalJSON(ready));

  const crash = buildPodStatus({
    ...base,
    records: [rec("app", st("Exited", 1), { restartCount: 2, waiting: { reason: "CrashLoopBackOff", message: "back-off 20s restarting failed container=app pod=p_ns(u)" }, lastTerminated: { exitCode: 1, reason: "Error" } })],
  });
  assert.deepEqual(crash.containerStatuses[0].state, { waiting: { reason: "CrashLoopBackOff", message: "back-off 20s restarting failed container=app pod=p_ns(u)" } });
  assert.deepEqual(crash.containerStatuses[0].lastState, { terminated: { exitCode: 1, reason: "Error" } });
  assert.equal(crash.containerStatuses[0].restartCount, 2);

  const oom = buildPodStatus({ ...base, restartPolicy: "Never", records: [rec("app", st("Exited", 137, { reason: "OOMKilled" }), { message: "bye" })] });
  assert.equal(oom.phase, "Failed");
  assert.equal(oom.containerStatuses[0].state.terminated.reason, "OOMKilled");
  assert.equal(oom.containerStatuses[0].state.terminated.message, "bye");
  assert.equal(cond(oom, "Ready").reason, "PodCompleted");
});

test("container events name their container as upstream's fieldPath", async () => {
  const { containerFieldPath } = await import("./podworker.js");
  const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { initContainers: [{ name: "setup" }], containers: [{ name: "web" }] } };
  assert.equal(containerFieldPath(pod, "web"), "spec.containers{web}");
  assert.equal(containerFieldPath(pod, "setup"), "spec.initContainers{setup}");
});
