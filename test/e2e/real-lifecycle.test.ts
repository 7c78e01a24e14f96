// End-to-end container lifecycle on a real node (issue 4 "Lifecycle" and Acceptance):
// one `tug up` with the containerd agent, driven only with the real kubectl (1.32, and
// 1.29 for `describe`/`get events`). Cases run concurrently on the one node: a container
// exiting 1 goes into CrashLoopBackOff with growing delays (0 s, 10 s, 20 s: the kubelet's
// restart back-off, https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-restarts)
// with BackOff events and `logs --previous`; a failing liveness probe restarts its
// container (Unhealthy + Killing events); a container over a 32Mi limit is OOMKilled;
// a failing readiness probe keeps the pod NotReady and not ready in its Service's
// EndpointSlice until `kubectl exec … touch` makes it pass; the pod's events list the
// Scheduled/Pulled/Created/Started story; restartPolicy OnFailure/Never end in Completed
// and Error; graceful deletion runs the preStop hook and delivers SIGTERM, and a container
// ignoring SIGTERM is killed when the grace period ends
// (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination).
// Own bridge and pod /24, free ports; `tug down` and a leak check end it. Needs root,
// containerd, runc, the CNI plugins, busybox-static and kubectl (skipped otherwise).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { eventually, missingKubectl, show, startTug, type KubectlOptions, type Tug } from "./harness.js";
import { stopAndTearDown } from "./real-node.js";
import { realNodeSkipReason } from "../../src/agent/testing.js";

const BRIDGE = "tugrl0";
const POD_CIDR = "10.42.181.0/24";
const NODE = "rl-e2e-node";

const skip = realNodeSkipReason() || missingKubectl(undefined, "1.29");

const PODS = `apiVersion: v1
kind: Pod
metadata: {name: crasher}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: app
    image: tugboat/busybox:1
    command: ["sh", "-c", "echo crashed-run-$(date +%s); sleep 1; exit 1"]
---
apiVersion: v1
kind: Pod
metadata: {name: unhealthy}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: tugboat/busybox:1
    # httpd serves /www without /healthz: the probe gets 404.
    command: ["sh", "-c", "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"]
    livenessProbe:
      httpGet: {path: /healthz, port: 8080}
      initialDelaySeconds: 1
      periodSeconds: 1
      failureThreshold: 2
---
apiVersion: v1
kind: Pod
metadata: {name: hog}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: hog
    image: tugboat/busybox:1
    command: ["sh", "-c", "x=$(head -c 64m /dev/zero | tr '\\\\0' a); echo survived; sleep 600"]
    resources: {limits: {memory: 32Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: gated, labels: {app: gated}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: web
    image: tugboat/busybox:1
    command: ["sh", "-c", "mkdir -p /www && echo gated > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: [{containerPort: 8080}]
    readinessProbe:
      exec: {command: ["cat", "/tmp/ready"]}
      periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: gated}
spec:
  selector: {app: gated}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: graceful}
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: app
    image: tugboat/busybox:1
    command: ["sh", "-c", "trap 'echo got-sigterm; exit 0' TERM; echo started; while true; do sleep 0.2; done"]
    lifecycle:
      preStop:
        exec: {command: ["sh", "-c", "echo prestop-ran > /proc/1/fd/1; sleep 1"]}
---
apiVersion: v1
kind: Pod
metadata: {name: stubborn}
spec:
  terminationGracePeriodSeconds: 3
  containers:
  - name: app
    image: tugboat/busybox:1
    # PID 1 without a handler: the kernel drops SIGTERM, so only the SIGKILL after the grace ends it.
    command: ["sleep", "600"]
---
apiVersion: v1
kind: Pod
metadata: {name: finished}
spec:
  restartPolicy: OnFailure
  containers:
  - name: app
    image: tugboat/busybox:1
    command: ["sh", "-c", "echo all-good; exit 0"]
---
apiVersion: v1
kind: Pod
metadata: {name: failed}
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: tugboat/busybox:1
    command: ["sh", "-c", "echo -n 'gave up' > /dev/termination-log; exit 3"]
`;

const POD_NAMES = ["crasher", "unhealthy", "hog", "gated", "graceful", "stubborn", "finished", "failed"];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cs = (p: any) => p?.status?.containerStatuses?.[0];
const ts = (s: string | undefined) => (s ? Date.parse(s) : NaN);

describe("real node: container lifecycle through tug up and kubectl", { skip, timeout: 300_000, concurrency: true }, () => {
  let tug: Tug;
  const podUIDs = new Set<string>();

  const kc = async (args: string[], o?: KubectlOptions): Promise<string> => {
    const r = await tug.kubectl(args, o);
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}\n${show(r)}`);
    return r.stdout;
  };
  const getPod = async (name: string): Promise<any> => JSON.parse(await kc(["get", "pod", name, "-o", "json"]));
  const describePod = (name: string, o?: KubectlOptions) => kc(["describe", "pod", name], o);

  before(async () => {
    tug = await startTug({
      command: "up",
      args: ["--node-name", NODE, "--pod-cidr", POD_CIDR, "--cni-bridge", BRIDGE, "--kubelet-port", "0", "--no-install", "--no-demo"],
      readyTimeoutMs: 90_000,
    });
    await eventually(async () => (await tug.kubectl(["get", "node", NODE, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}"])).stdout === "True", 90_000, 500, "node Ready");
    // The default ServiceAccount must exist before pods are admitted.
    await eventually(async () => (await tug.kubectl(["get", "serviceaccount", "default"])).code === 0, 30_000, 250, "default ServiceAccount");
    await kc(["apply", "-f", "-"], { stdin: PODS });
    for (const n of POD_NAMES) podUIDs.add((await getPod(n)).metadata.uid);
  });

  after(async () => {
    if (!tug) return;
    assert.deepEqual(await stopAndTearDown(tug, BRIDGE, podUIDs), [], "tug down left things behind");
  });

  test("a container exiting 1 goes into CrashLoopBackOff with growing delays, BackOff events and logs --previous", async () => {
    // Instance k's {startedAt, finishedAt}: at restartCount n, state is instance n (the kubelet's attempt number).
    const inst = new Map<number, { startedAt?: number; finishedAt?: number }>();
    const note = (k: number, startedAt?: string, finishedAt?: string) => {
      const e = inst.get(k) ?? {};
      if (startedAt) e.startedAt = ts(startedAt);
      if (finishedAt) e.finishedAt = ts(finishedAt);
      inst.set(k, e);
    };
    let sawCrashLoop = false;
    let waitingMessage = "";
    const done = await eventually(async () => {
      const p = await getPod("crasher");
      const c = cs(p);
      if (!c) return false;
      const n: number = c.restartCount;
      // Waiting in back-off, lastState is the instance that just exited (restartCount not yet bumped).
      const lastIdx = c.state?.waiting ? n : n - 1;
      if (c.lastState?.terminated) note(lastIdx, c.lastState.terminated.startedAt, c.lastState.terminated.finishedAt);
      if (c.state?.running) note(n, c.state.running.startedAt);
      if (c.state?.terminated) note(n, c.state.terminated.startedAt, c.state.terminated.finishedAt);
      if (c.state?.waiting?.reason === "CrashLoopBackOff") {
        sawCrashLoop = true;
        waitingMessage = c.state.waiting.message ?? "";
        assert.equal(p.status.phase, "Running", "a crash-looping pod stays Running");
        assert.equal(c.lastState.terminated.exitCode, 1);
        assert.equal(c.lastState.terminated.reason, "Error");
      }
      return n >= 3 && inst.get(3)?.startedAt && p;
    }, 75_000, 1000, "restartCount 3 with the fourth instance started");
    assert.ok(sawCrashLoop, "the pod was seen waiting in CrashLoopBackOff");
    assert.match(waitingMessage, /^back-off (10|20)s restarting failed container=app pod=crasher_default\(/);
    const gaps: number[] = [];
    for (let k = 0; k < 3; k++) {
      const a = inst.get(k)?.finishedAt;
      const b = inst.get(k + 1)?.startedAt;
      if (a !== undefined && b !== undefined) gaps.push((b - a) / 1000);
    }
    console.log(`crash loop: gaps between exit and next start ${gaps.join(" s, ")} s (restartCount ${cs(done).restartCount})`);
    // Gaps 1→2 and 2→3 can always be computed (instances 1..3 were each seen); 0→1 too unless
    // the first crash went by between two polls.
    assert.ok(gaps.length >= 2, `gaps known: ${JSON.stringify([...inst])}`);
    for (let i = 1; i < gaps.length; i++) assert.ok(gaps[i]! >= gaps[i - 1]!, `gaps grow: ${gaps.join(", ")}`);
    const last = gaps[gaps.length - 1]!;
    assert.ok(last >= 18 && last <= 26, `the last back-off is ~20 s: ${gaps.join(", ")}`);
    assert.ok(gaps[gaps.length - 2]! >= 8 && gaps[gaps.length - 2]! <= 16, `the one before ~10 s: ${gaps.join(", ")}`);

    // STATUS column of `kubectl get pod` while waiting.
    const row = await eventually(async () => {
      const out = await kc(["get", "pod", "crasher", "--no-headers"]);
      return /CrashLoopBackOff/.test(out) && out;
    }, 30_000, 1000, "STATUS CrashLoopBackOff");
    // RESTARTS shows the count and how long ago the last instance finished (from lastState).
    assert.match(row, /^crasher\s+0\/1\s+CrashLoopBackOff\s+\d+ \(\d+s ago\)/);

    const desc = await describePod("crasher");
    assert.match(desc, /BackOff\s+.*Back-off restarting failed container app in pod crasher_default/);
    assert.match(desc, /State:\s+Waiting\s+Reason:\s+CrashLoopBackOff\s+Last State:\s+Terminated\s+Reason:\s+Error\s+Exit Code:\s+1/);
    assert.match(desc, /Restart Count:\s+[3-9]/);
    const prev = await kc(["logs", "crasher", "--previous"]);
    assert.match(prev, /^crashed-run-\d+\n$/);
  });

  test("restartPolicy OnFailure/Never: exit 0 ends Succeeded (Completed), exit 3 Failed (Error) with its termination message", async () => {
    const done = await eventually(async () => {
      const p = await getPod("finished");
      return p.status?.phase === "Succeeded" && p;
    }, 60_000, 1000, "finished Succeeded");
    assert.equal(cs(done).restartCount, 0);
    assert.equal(cs(done).state.terminated.reason, "Completed");
    assert.equal(cs(done).state.terminated.exitCode, 0);
    assert.match(await kc(["get", "pod", "finished", "--no-headers"]), /^finished\s+0\/1\s+Completed\s+0\s/);
    assert.equal(await kc(["logs", "finished"]), "all-good\n");
    const failed = await eventually(async () => {
      const p = await getPod("failed");
      return p.status?.phase === "Failed" && p;
    }, 60_000, 1000, "failed Failed");
    assert.equal(cs(failed).restartCount, 0, "restartPolicy Never");
    assert.deepEqual([cs(failed).state.terminated.reason, cs(failed).state.terminated.exitCode, cs(failed).state.terminated.message], ["Error", 3, "gave up"]);
    assert.match(await kc(["get", "pod", "failed", "--no-headers"]), /^failed\s+0\/1\s+Error\s+0\s/);
    assert.match(await describePod("failed"), /State:\s+Terminated\s+Reason:\s+Error\s+Message:\s+gave up\s+Exit Code:\s+3/);
  });

  test("a failing liveness probe restarts its container with Unhealthy and Killing events", async () => {
    const first = await eventually(async () => {
      const p = await getPod("unhealthy");
      return (cs(p)?.restartCount ?? 0) >= 1 && p;
    }, 45_000, 1000, "a liveness restart");
    const term = cs(first).lastState.terminated;
    // httpd is PID 1 without a SIGTERM handler, so the kernel ignores SIGTERM and the grace ends in SIGKILL.
    assert.ok([137, 143].includes(term.exitCode), JSON.stringify(term));
    assert.ok(ts(term.finishedAt) - ts(term.startedAt) >= 2000, "the probe needed two failures after its initial delay");
    await eventually(async () => (cs(await getPod("unhealthy"))?.restartCount ?? 0) >= 2, 45_000, 1000, "restartCount to grow again");
    const desc = await describePod("unhealthy");
    assert.match(desc, /Unhealthy\s+.*Liveness probe failed: HTTP probe failed with statuscode: 404/);
    assert.match(desc, /Killing\s+.*Container web failed liveness probe, will be restarted/);
  });

  test("a container over its 32Mi memory limit is OOMKilled (kubectl 1.32 and 1.29)", async () => {
    const p = await eventually(async () => {
      const p = await getPod("hog");
      return cs(p)?.lastState?.terminated && p;
    }, 60_000, 1000, "the first OOM kill");
    assert.equal(cs(p).lastState.terminated.reason, "OOMKilled");
    assert.equal(cs(p).lastState.terminated.exitCode, 137);
    const jp = await kc(["get", "pod", "hog", "-o", "jsonpath={.status.containerStatuses[0].lastState.terminated.reason} {.status.containerStatuses[0].lastState.terminated.exitCode}"]);
    assert.equal(jp, "OOMKilled 137");
    for (const version of [undefined, "1.29"] as const) {
      const desc = await describePod("hog", { version });
      assert.match(desc, /Last State:\s+Terminated\s+Reason:\s+OOMKilled\s+Exit Code:\s+137/, `kubectl ${version ?? "1.32"}:\n${desc}`);
      assert.match(desc, /Limits:\s+memory:\s+32Mi/);
    }
    const logs = await kc(["logs", "hog", "--previous"]).catch(() => "");
    assert.doesNotMatch(logs, /survived/);
  });

  test("a failing readiness probe keeps the pod out of its Service until it passes", async () => {
    const ip = await eventually(async () => {
      const p = await getPod("gated");
      return cs(p)?.state?.running && p.status.podIP;
    }, 60_000, 1000, "gated Running");
    // A few probe periods: still NotReady, and not a ready endpoint.
    await sleep(3000);
    const row = await kc(["get", "pod", "gated", "--no-headers"]);
    assert.match(row, /^gated\s+0\/1\s+Running\s+0/);
    const p = await getPod("gated");
    assert.equal(p.status.conditions.find((c: any) => c.type === "Ready")?.status, "False");
    assert.equal(cs(p).ready, false);
    const readyIPs = async () => {
      const slices = JSON.parse(await kc(["get", "endpointslices", "-l", "kubernetes.io/service-name=gated", "-o", "json"]));
      const eps = slices.items.flatMap((s: any) => s.endpoints ?? []);
      return { all: eps.flatMap((e: any) => e.addresses), ready: eps.filter((e: any) => e.conditions?.ready === true).flatMap((e: any) => e.addresses) };
    };
    const before = await eventually(async () => {
      const r = await readyIPs();
      return r.all.includes(ip) && r;
    }, 20_000, 1000, "the pod listed, not ready, in the EndpointSlice");
    // Like upstream, the slice lists the not-ready pod with conditions.ready false (not omitted).
    assert.ok(!before.ready.includes(ip), `not a ready endpoint: ${JSON.stringify(before)}`);

    await kc(["exec", "gated", "--", "touch", "/tmp/ready"]);
    await eventually(async () => /^gated\s+1\/1\s+Running\s+0/.test(await kc(["get", "pod", "gated", "--no-headers"])), 20_000, 500, "READY 1/1");
    await eventually(async () => (await readyIPs()).ready.includes(ip), 20_000, 500, "the pod a ready endpoint");
  });

  test("kubectl get events lists the pod's story (1.32 and 1.29)", async () => {
    await eventually(async () => cs(await getPod("gated"))?.state?.running, 60_000, 1000, "gated Running");
    for (const version of [undefined, "1.29"] as const) {
      const out = await eventually(async () => {
        const o = await kc(["get", "events", "--field-selector", "involvedObject.name=gated"], { version });
        return ["Scheduled", "Pulled", "Created", "Started"].every((r) => new RegExp(`\\s${r}\\s`).test(o)) && o;
      }, 20_000, 1000, `events via kubectl ${version ?? "1.32"}`);
      assert.match(out, /Successfully assigned default\/gated to rl-e2e-node/);
      assert.match(out, /Created container:? web/);
      assert.doesNotMatch(out, /crasher|unhealthy|hog/, "only the selected pod's events");
    }
  });

  test("graceful deletion runs the preStop hook, then SIGTERM, within terminationGracePeriodSeconds 5", async () => {
    await eventually(async () => cs(await getPod("graceful"))?.state?.running, 60_000, 1000, "graceful Running");
    const follow = tug.spawnKubectl(["logs", "-f", "graceful"]);
    let out = "";
    follow.stdout!.on("data", (b) => (out += b));
    const ended = new Promise<void>((r) => follow.once("exit", () => r()));
    try {
      await eventually(async () => out.includes("started"), 20_000, 200, "logs -f streaming");
      const t0 = Date.now();
      const del = await tug.kubectl(["delete", "pod", "graceful", "--wait=true"], { timeoutMs: 60_000 });
      const took = Date.now() - t0;
      assert.equal(del.code, 0, show(del));
      // The follow ends with the container, as upstream's does.
      const followEnded = await Promise.race([ended.then(() => true), sleep(10_000).then(() => false)]);
      assert.ok(followEnded, `kubectl logs -f still running after the pod was deleted; output:\n${out}`);
      assert.match(out, /started\n(.*\n)*prestop-ran\n(.*\n)*got-sigterm\n/, `logs -f output:\n${out}`);
      // preStop (~1 s) then a quick exit on SIGTERM: well inside the 5 s grace, not the SIGKILL path.
      console.log(`graceful deletion (preStop 1 s, SIGTERM trapped, grace 5 s) took ${took} ms`);
      assert.ok(took < 5_000, `deletion took ${took} ms`);
    } finally {
      if (follow.exitCode === null) follow.kill("SIGKILL");
    }
    const ev = await kc(["get", "events", "--field-selector", "involvedObject.name=graceful"]);
    assert.match(ev, /Killing\s+.*Stopping container app/);
  });

  test("a container ignoring SIGTERM is killed when terminationGracePeriodSeconds (3) runs out", async () => {
    await eventually(async () => cs(await getPod("stubborn"))?.state?.running, 60_000, 1000, "stubborn Running");
    const t0 = Date.now();
    const del = await tug.kubectl(["delete", "pod", "stubborn", "--wait=true"], { timeoutMs: 60_000 });
    const took = Date.now() - t0;
    assert.equal(del.code, 0, show(del));
    console.log(`deletion of a SIGTERM-ignoring container with grace 3 s took ${took} ms`);
    assert.ok(took >= 2_500 && took < 3_000 + 5_000, `deletion took ${took} ms`);
  });
});
