// End-to-end, issue 3 Acceptance (workload controllers) on `tug up --hollow-nodes 5`
// with the real kubectl: a StatefulSet of 3 is created in order and a deleted pod comes
// back under its name with the same PersistentVolumeClaim
// (https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/); a Job with
// completions=5, parallelism=2 completes and a failing Job stops at backoffLimit
// (https://kubernetes.io/docs/concepts/workloads/controllers/job/); a `*/1 * * * *`
// CronJob creates a Job within 70 s; a DaemonSet covers every node, including one that
// joins later through a second `tug agent --hollow 1` process
// (https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/).
// Scenarios run concurrently, one namespace each.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { missingKubectl, openWatch, repoRoot } from "./harness.js";
import { isReady, sleep, startHollowCluster, type HollowCluster } from "./convergence-cluster.js";

const skip = missingKubectl();
let c: HollowCluster;
let extraAgent: ChildProcess | undefined;

/** `tug agent …` the way the harness runs `tug`: compiled from dist, or source through tsx. */
function spawnTug(args: string[]): ChildProcess {
  const fromDist = fileURLToPath(import.meta.url).endsWith(".js");
  const argv = fromDist ? [join(repoRoot, "bin", "tug.js"), ...args] : ["--import", "tsx", join(repoRoot, "src", "cli", "main.ts"), ...args];
  return spawn(process.execPath, argv, { cwd: repoRoot, stdio: ["ignore", "ignore", "pipe"] });
}

describe("convergence: workload controllers", { skip, timeout: 180_000, concurrency: true }, () => {
  before(async () => {
    c = await startHollowCluster();
    for (const ns of ["sts", "jobs", "cron", "ds", "storage"]) await c.ok(["create", "namespace", ns]);
  });
  after(async () => {
    if (extraAgent && extraAgent.exitCode === null && extraAgent.signalCode === null) {
      const gone = new Promise((r) => extraAgent!.once("exit", r));
      extraAgent.kill("SIGTERM");
      await gone;
    }
    await c?.cleanup();
  });

  test("StatefulSet: pods created in order; a deleted pod returns with the same claim", async () => {
    const ns = "sts";
    const watch = await openWatch(c.tug.port, c.tug.tls, `/api/v1/namespaces/${ns}/pods`);
    try {
      await c.apply(`
apiVersion: v1
kind: Service
metadata: {name: db}
spec: {clusterIP: None, selector: {app: db}, ports: [{port: 5432}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: "db:1"}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`, ns);
      await c.until("3 ready replicas", async () => (await c.json(["get", "sts", "db", "-n", ns])).status?.readyReplicas === 3);
      // OrderedReady: db-i is created only once db-(i-1) was seen Running and Ready.
      const firstAdded = (name: string) => watch.events.findIndex((e) => e.type === "ADDED" && e.object.metadata.name === name);
      const firstReady = (name: string) => watch.events.findIndex((e) => e.object.metadata.name === name && isReady(e.object));
      for (const [prev, next] of [["db-0", "db-1"], ["db-1", "db-2"]] as const) {
        assert.ok(firstReady(prev) >= 0 && firstAdded(next) > firstReady(prev), `${next} created after ${prev} became Ready (events: ${watch.events.map((e) => `${e.type} ${e.object.metadata.name} ${isReady(e.object) ? "ready" : ""}`).join("; ")})`);
      }
      const stamps = ["db-0", "db-1", "db-2"].map((n) => watch.events[firstAdded(n)]!.object.metadata.creationTimestamp);
      assert.deepEqual([...stamps].sort(), stamps, "creationTimestamps in ordinal order");
    } finally {
      watch.close();
    }

    // The hollow fleet provisions local-path volumes (objects only) where the pods landed.
    const claims = await c.until("3 claims Bound", async () => {
      const items = (await c.json(["get", "pvc", "-n", ns])).items as any[];
      return items.length === 3 && items.every((p) => p.status?.phase === "Bound") && items;
    });
    assert.deepEqual(claims.map((p) => p.metadata.name).sort(), ["data-db-0", "data-db-1", "data-db-2"]);
    const claim1 = claims.find((p) => p.metadata.name === "data-db-1")!;
    const old = await c.json(["get", "pod", "db-1", "-n", ns]);
    await c.ok(["delete", "pod", "db-1", "-n", ns, "--wait=false"]);
    const back = await c.until("db-1 recreated and ready", async () => {
      const p = await c.json(["get", "pod", "db-1", "-n", ns]);
      return p.metadata.uid !== old.metadata.uid && isReady(p) && p;
    });
    const vol = back.spec.volumes.find((v: any) => v.name === "data");
    assert.equal(vol?.persistentVolumeClaim?.claimName, "data-db-1");
    const after = (await c.json(["get", "pvc", "-n", ns])).items as any[];
    assert.equal(after.length, 3, "no new claims");
    assert.equal(after.find((p) => p.metadata.name === "data-db-1")!.metadata.uid, claim1.metadata.uid, "the same PVC object");
    assert.equal(after.find((p) => p.metadata.name === "data-db-1")!.spec.volumeName, claim1.spec.volumeName, "bound to the same volume");
    // The volume lives on one node: the replacement pod is scheduled back there.
    const pv = await c.json(["get", "pv", claim1.spec.volumeName]);
    assert.deepEqual(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values, [old.spec.nodeName]);
    assert.equal(back.spec.nodeName, old.spec.nodeName);
    assert.equal(back.metadata.labels["statefulset.kubernetes.io/pod-name"], "db-1");
    // The default class (local-path, WaitForFirstConsumer) was filled in, the scheduler
    // told the provisioner where each claim's first pod went, and the volume is there.
    for (const p of after) {
      assert.equal(p.spec.storageClassName, "local-path");
      const pod = await c.json(["get", "pod", p.metadata.name.replace(/^data-/, ""), "-n", ns]);
      assert.equal(p.metadata.annotations?.["volume.kubernetes.io/selected-node"], pod.spec.nodeName, p.metadata.name);
    }
  });

  test("storage: default StorageClass, a PV binds to a claim, Retain keeps it Released", async () => {
    const ns = "storage";
    const sc = await c.ok(["get", "storageclass"]);
    assert.match(sc.split("\n")[0]!, /^NAME\s+PROVISIONER\s+RECLAIMPOLICY\s+VOLUMEBINDINGMODE\s+ALLOWVOLUMEEXPANSION\s+AGE/);
    assert.match(sc, /local-path \(default\)\s+tugboat\.io\/local-path\s+Delete\s+WaitForFirstConsumer\s+false\s/);
    await c.apply(`
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: manual-${ns}}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: Immediate
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-${ns}}
spec:
  storageClassName: manual-${ns}
  capacity: {storage: 5Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: /tmp/tug-e2e-${ns}}
`);
    await c.apply(`
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: claim}
spec:
  storageClassName: manual-${ns}
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: defaulted}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`, ns);
    await c.until("claim Bound", async () => /claim\s+Bound\s+pv-storage\s+5Gi\s+RWO\s+manual-storage\s/.test(await c.ok(["get", "pvc", "claim", "-n", ns])));
    assert.match(await c.ok(["get", "pv", `pv-${ns}`]), new RegExp(`pv-${ns}\\s+5Gi\\s+RWO\\s+Retain\\s+Bound\\s+${ns}/claim\\s+manual-${ns}\\s`));
    const defaulted = await c.json(["get", "pvc", "defaulted", "-n", ns]);
    assert.equal(defaulted.spec.storageClassName, "local-path");
    await c.until("WaitForFirstConsumer event", async () => /WaitForFirstConsumer\s+.*waiting for first consumer to be created before binding/.test(await c.ok(["describe", "pvc", "defaulted", "-n", ns])));
    await c.ok(["delete", "pvc", "claim", "-n", ns]);
    await c.until("PV Released", async () => (await c.json(["get", "pv", `pv-${ns}`])).status?.phase === "Released");
    await sleep(1_000);
    assert.equal((await c.json(["get", "pv", `pv-${ns}`])).status.phase, "Released", "Retain keeps the volume");
  });

  test("Job: completions=5, parallelism=2 completes; a failing Job stops at backoffLimit", async () => {
    const ns = "jobs";
    await c.apply(`
apiVersion: batch/v1
kind: Job
metadata: {name: work}
spec:
  completions: 5
  parallelism: 2
  template:
    metadata: {annotations: {tugboat.dev/exit-after: 700ms}}
    spec: {restartPolicy: Never, containers: [{name: w, image: "busybox:1"}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: broken}
spec:
  backoffLimit: 1
  template:
    metadata: {annotations: {tugboat.dev/exit-after: 200ms, tugboat.dev/exit-code: "3"}}
    spec: {restartPolicy: Never, containers: [{name: w, image: "busybox:1"}]}
`, ns);
    let maxActive = 0;
    const done = await c.until("work complete", async () => {
      const j = await c.json(["get", "job", "work", "-n", ns]);
      const running = ((await c.json(["get", "pods", "-n", ns, "-l", "batch.kubernetes.io/job-name=work"])).items as any[]).filter((p) => p.status?.phase === "Running" || p.status?.phase === "Pending");
      maxActive = Math.max(maxActive, j.status?.active ?? 0, running.length);
      return j.status?.conditions?.some((x: any) => x.type === "Complete" && x.status === "True") && j;
    }, 60_000, 150);
    assert.equal(done.status.succeeded, 5);
    assert.ok(maxActive <= 2, `at most 2 pods at once, saw ${maxActive}`);
    assert.ok(maxActive >= 1);
    assert.match(await c.ok(["get", "job", "work", "-n", ns]), /work\s+Complete\s+5\/5\s/);

    // backoffLimit 1: the first failure is retried (after the 10 s backoff), the second ends it.
    const failed = await c.until("broken failed", async () => {
      const j = await c.json(["get", "job", "broken", "-n", ns]);
      return j.status?.conditions?.some((x: any) => x.type === "Failed" && x.status === "True") && j;
    }, 60_000, 500);
    const cond = failed.status.conditions.find((x: any) => x.type === "Failed");
    assert.equal(cond.reason, "BackoffLimitExceeded");
    assert.equal(failed.status.failed, 2);
    assert.ok(!failed.status.active, "no pods left running");
    await sleep(1_500);
    const pods = (await c.json(["get", "pods", "-n", ns, "-l", "batch.kubernetes.io/job-name=broken"])).items as any[];
    assert.equal(pods.length, 2, "no pod beyond backoffLimit + 1");
    for (const p of pods) assert.equal(p.status.containerStatuses[0].state.terminated.exitCode, 3);
  });

  test("CronJob */1 creates a Job within 70 s", async () => {
    const ns = "cron";
    await c.apply(`
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "*/1 * * * *"
  jobTemplate:
    spec:
      template:
        metadata: {annotations: {tugboat.dev/exit-after: 300ms}}
        spec: {restartPolicy: Never, containers: [{name: t, image: "busybox:1"}]}
`, ns);
    const cj = await c.json(["get", "cronjob", "tick", "-n", ns]);
    const job = await c.until("a scheduled Job", async () => ((await c.json(["get", "jobs", "-n", ns])).items as any[])[0], 70_000, 1_000);
    assert.match(job.metadata.name, /^tick-\d+$/);
    assert.equal(job.metadata.ownerReferences?.[0]?.uid, cj.metadata.uid);
    assert.equal(job.metadata.annotations?.["batch.kubernetes.io/cronjob-scheduled-timestamp"]?.slice(17, 19), "00", "scheduled on a minute boundary");
    await c.until("job completes and lastSuccessfulTime is set", async () => (await c.json(["get", "cronjob", "tick", "-n", ns])).status?.lastSuccessfulTime, 20_000);
  });

  test("DaemonSet covers every node, including one added later", async () => {
    const ns = "ds";
    await c.apply(`
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: a, image: "agent:1"}]}
`, ns);
    const nodesOf = async () => new Set(((await c.json(["get", "pods", "-n", ns, "-l", "app=agent"])).items as any[]).filter(isReady).map((p) => p.spec.nodeName));
    await c.until("one ready pod on each of the 5 nodes", async () => (await nodesOf()).size === 5 && (await c.json(["get", "ds", "agent", "-n", ns])).status?.numberReady === 5);

    extraAgent = spawnTug(["agent", "--hollow", "1", "--name-prefix", "extra-", "--kubeconfig", c.tug.kubeconfig]);
    await c.until("node extra-0 Ready", async () => (await c.json(["get", "node", "extra-0"])).status?.conditions?.some((x: any) => x.type === "Ready" && x.status === "True"), 40_000, 500);
    await c.until("a daemon pod on extra-0 too", async () => {
      const nodes = await nodesOf();
      return nodes.size === 6 && nodes.has("extra-0");
    }, 30_000);
    const ds = await c.json(["get", "ds", "agent", "-n", ns]);
    await c.until("status counts 6", async () => {
      const s = (await c.json(["get", "ds", "agent", "-n", ns])).status;
      return s?.desiredNumberScheduled === 6 && s?.numberReady === 6 && s?.numberAvailable === 6;
    });
    assert.ok(ds);
  });
});
