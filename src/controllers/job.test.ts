import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../apimachinery/types.js";
import { nowRFC3339 } from "../apimachinery/types.js";
import { FakeClock } from "../client/clock.js";
import { JOB_COMPLETION_INDEX, JOB_TRACKING_FINALIZER, formatIndexes, jobController, parseIndexes } from "./job.js";
import { type AfterHook, startControllers, until } from "./testing.js";

function jobObj(name: string, spec: Record<string, unknown>): KObject {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: "default" },
    spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } }, ...spec },
  };
}

/** Plays the kubelet: the pod ran and exited with `exitCode` at `at`. */
function terminated(pod: KObject, exitCode: number, at: number): KObject {
  return {
    ...pod,
    status: {
      phase: exitCode === 0 ? "Succeeded" : "Failed",
      containerStatuses: [{ name: "c", image: "busybox", imageID: "", ready: false, restartCount: 0, state: { terminated: { exitCode, reason: exitCode ? "Error" : "Completed", finishedAt: nowRFC3339(new Date(at)) } } }],
    },
  };
}

async function setup(t: AfterHook, clock = new FakeClock(Math.ceil(Date.now() / 1000) * 1000 + 1000)) {
  const { api, recorder } = await startControllers(t, jobController, { clock });
  const pods = async (job: string) => (await api.client.list("v1/pods", { namespace: "default" })).items.filter((p) => p.metadata.ownerReferences?.[0]?.name === job);
  return { api, clock, recorder, pods };
}

test("completedIndexes round-trips", () => {
  assert.equal(formatIndexes([4, 0, 1, 2, 7, 8]), "0-2,4,7-8");
  assert.deepEqual(parseIndexes("0-2,4,7-8"), [0, 1, 2, 4, 7, 8]);
  assert.deepEqual(parseIndexes(""), []);
});

test("completions=5 parallelism=2 runs at most 2 pods at a time and completes", async (t) => {
  const { api, clock, recorder, pods } = await setup(t);
  await api.client.create("batch/v1/jobs", jobObj("work", { completions: 5, parallelism: 2 }));
  let finishedPods = 0;
  while (finishedPods < 5) {
    const running = await until("running pods", async () => {
      const ps = (await pods("work")).filter((p) => !p.status?.phase || p.status.phase === "Pending");
      return ps.length > 0 && ps;
    });
    assert.ok(running.length <= 2, `at most parallelism pods active, saw ${running.length}`);
    assert.ok(running.every((p) => p.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER)));
    await api.client.updateStatus("v1/pods", terminated(running[0], 0, clock.now()));
    finishedPods++;
  }
  const job = await until("Complete", async () => {
    const j = await api.client.get("batch/v1/jobs", "default", "work");
    return j.status?.conditions?.some((c: any) => c.type === "Complete" && c.status === "True") && j;
  });
  assert.equal(job.status.succeeded, 5);
  assert.equal(job.status.active, 0);
  assert.ok(job.status.completionTime);
  assert.ok(job.status.conditions.some((c: any) => c.type === "SuccessCriteriaMet"));
  // Every pod was counted and released.
  await until("finalizers removed", async () => (await pods("work")).every((p) => !p.metadata.finalizers?.length));
  assert.equal((await pods("work")).filter((p) => p.status?.phase === "Succeeded").length, 5);
  assert.equal(recorder.events.filter((e: any) => e.reason === "SuccessfulCreate").length, 5);
  assert.ok(recorder.events.some((e: any) => e.reason === "Completed"));
});

test("a failing job backs off between retries and fails at backoffLimit", async (t) => {
  const { api, clock, recorder, pods } = await setup(t);
  await api.client.create("batch/v1/jobs", jobObj("flaky", { backoffLimit: 2 }));
  const seen = new Set<string>();
  for (let attempt = 0; attempt < 3; attempt++) {
    const pod = await until(`pod ${attempt}`, async () => (await pods("flaky")).find((p) => !seen.has(p.metadata.name!)));
    seen.add(pod.metadata.name!);
    await api.client.updateStatus("v1/pods", terminated(pod, 1, clock.now()));
    if (attempt < 2) {
      // No replacement before the back-off (10 s, then 20 s) has passed.
      await until("failure counted", async () => (await api.client.get("batch/v1/jobs", "default", "flaky")).status?.failed === attempt + 1);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal((await pods("flaky")).length, attempt + 1, "no replacement during back-off");
      await clock.advance(10_000 * 2 ** attempt);
    }
  }
  const job = await until("Failed", async () => {
    const j = await api.client.get("batch/v1/jobs", "default", "flaky");
    return j.status?.conditions?.some((c: any) => c.type === "Failed" && c.status === "True") && j;
  });
  assert.equal(job.status.failed, 3);
  assert.equal(job.status.conditions.find((c: any) => c.type === "Failed").reason, "BackoffLimitExceeded");
  assert.equal((await pods("flaky")).length, 3);
  assert.ok(recorder.events.some((e: any) => e.reason === "BackoffLimitExceeded"));
});

test("Indexed jobs label pods with their index and track completedIndexes", async (t) => {
  const { api, clock, pods } = await setup(t);
  await api.client.create("batch/v1/jobs", jobObj("idx", { completions: 3, parallelism: 3, completionMode: "Indexed" }));
  const ps = await until("3 pods", async () => {
    const x = await pods("idx");
    return x.length === 3 && x;
  });
  const indexes = ps.map((p) => p.metadata.annotations?.[JOB_COMPLETION_INDEX]).sort();
  assert.deepEqual(indexes, ["0", "1", "2"]);
  const p1 = ps.find((p) => p.metadata.annotations?.[JOB_COMPLETION_INDEX] === "1")!;
  assert.equal(p1.spec.hostname, "idx-1");
  assert.ok(p1.spec.containers[0].env.some((e: any) => e.name === "JOB_COMPLETION_INDEX"));
  for (const p of ps) await api.client.updateStatus("v1/pods", terminated(p, 0, clock.now()));
  const job = await until("Complete", async () => {
    const j = await api.client.get("batch/v1/jobs", "default", "idx");
    return j.status?.conditions?.some((c: any) => c.type === "Complete") && j;
  });
  assert.equal(job.status.completedIndexes, "0-2");
});

test("podFailurePolicy FailJob fails the job at once", async (t) => {
  const { api, clock, pods } = await setup(t);
  await api.client.create(
    "batch/v1/jobs",
    jobObj("pfp", { backoffLimit: 6, podFailurePolicy: { rules: [{ action: "FailJob", onExitCodes: { operator: "In", values: [42] } }] } }),
  );
  const pod = await until("pod", async () => (await pods("pfp"))[0]);
  await api.client.updateStatus("v1/pods", terminated(pod, 42, clock.now()));
  const job = await until("Failed", async () => {
    const j = await api.client.get("batch/v1/jobs", "default", "pfp");
    return j.status?.conditions?.find((c: any) => c.type === "Failed");
  });
  assert.equal(job.reason, "PodFailurePolicy");
});

test("suspend deletes active pods; resume recreates; ttlSecondsAfterFinished deletes the finished job", async (t) => {
  const { api, clock, pods } = await setup(t);
  await api.client.create("batch/v1/jobs", jobObj("ttl", { ttlSecondsAfterFinished: 30 }));
  const first = await until("pod", async () => (await pods("ttl"))[0]);
  const j = await api.client.get("batch/v1/jobs", "default", "ttl");
  await api.client.update("batch/v1/jobs", { ...j, spec: { ...j.spec, suspend: true } });
  await until("suspended", async () => {
    const x = await api.client.get("batch/v1/jobs", "default", "ttl");
    return x.status?.conditions?.some((c: any) => c.type === "Suspended" && c.status === "True") && (await pods("ttl")).length === 0;
  });
  const j2 = await api.client.get("batch/v1/jobs", "default", "ttl");
  await api.client.update("batch/v1/jobs", { ...j2, spec: { ...j2.spec, suspend: false } });
  const second = await until("new pod", async () => (await pods("ttl")).find((p) => p.metadata.uid !== first.metadata.uid));
  await api.client.updateStatus("v1/pods", terminated(second, 0, clock.now()));
  await until("Complete", async () => (await api.client.get("batch/v1/jobs", "default", "ttl")).status?.completionTime);
  await new Promise((r) => setTimeout(r, 50));
  await clock.advance(31_000);
  await until("job deleted", async () => {
    try {
      const x = await api.client.get("batch/v1/jobs", "default", "ttl");
      return !!x.metadata.deletionTimestamp;
    } catch {
      return true;
    }
  });
});
