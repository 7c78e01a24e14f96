// Pod lifecycle on a real node (startTestNode: private containerd, CNI bridge, local
// busybox image) driven by the kubelet against a real API: CrashLoopBackOff with growing
// delays, liveness restarts, readiness toggling Ready, OOMKilled under a 32Mi limit, env
// from ConfigMap/Secret/fieldRef, DNS and hosts files, resources and security context as
// seen inside the container, init containers in order, termination messages, preStop on
// delete within the grace period. Needs root and the node packages; skips otherwise.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import type { KObject } from "../../apimachinery/types.js";
import { startTestApi } from "../../apiserver/testing.js";
import { SharedInformerFactory } from "../../client/sharedinformers.js";
import { consoleLogger } from "../../client/runnable.js";
import { BUSYBOX_IMAGE } from "../images/build.js";
import { realNodeSkipReason, startTestNode, waitFor } from "../testing.js";
import { kubeletRunnable } from "./kubelet.js";
import { POD_UID_LABEL } from "./podworker.js";

const NODE = "lc-node";
const POD_CIDR = "10.42.91.0/24";

test("pod lifecycle on a real node", { skip: realNodeSkipReason(), timeout: 180_000 }, async () => {
  const node = await startTestNode({ bridge: "tugk1a", podCIDR: POD_CIDR, prefix: "tugk1a-" });
  const api = await startTestApi();
  let abort = new AbortController();
  let kubeletDone: Promise<void> | undefined;
  let failed = false;
  const hits: string[] = [];
  const hookServer = http.createServer((req, res) => {
    hits.push(req.url ?? "");
    res.end("ok");
  });
  await new Promise<void>((r) => hookServer.listen(0, "127.0.0.1", r));
  const hookPort = (hookServer.address() as AddressInfo).port;
  try {
    const c = api.client;
    await c.create("v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: NODE }, spec: { podCIDR: POD_CIDR, podCIDRs: [POD_CIDR] } });
    await c.create("v1/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg", namespace: "default" }, data: { color: "blue" } });
    await c.create("v1/secrets", { apiVersion: "v1", kind: "Secret", metadata: { name: "sec", namespace: "default" }, data: { password: Buffer.from("s3cret").toString("base64") } });
    const kubeletOpts = {
      client: c,
      informers: new SharedInformerFactory(c),
      runtime: node.runtime,
      nodeName: NODE,
      podCIDR: POD_CIDR,
      dataDir: node.dir,
      hostIP: "10.42.91.1",
      backoffBaseMs: 1000,
      backoffMaxMs: 8000,
      log: process.env.K1_DEBUG ? consoleLogger("kubelet ") : undefined,
    };
    const kubelet = kubeletRunnable(kubeletOpts);
    kubeletDone = kubelet.start(abort.signal);
    await kubelet.ready!();

    const mk = async (name: string, spec: any): Promise<KObject> => {
      const p = await c.create("v1/pods", { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default", labels: { app: name } }, spec: { nodeName: NODE, automountServiceAccountToken: false, ...spec } });
      node.trackPod(p.metadata.uid!);
      return p;
    };
    const get = (name: string) => c.get("v1/pods", "default", name);
    const until = async (name: string, what: string, pred: (p: KObject) => boolean, ms = 30_000) => {
      let last: KObject | undefined;
      try {
        return await waitFor(`${name}: ${what}`, async () => {
          last = await get(name);
          return pred(last) ? last : undefined;
        }, ms);
      } catch (err) {
        throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last?.status)}`);
      }
    };
    const cs = (p: KObject, i = 0) => p.status?.containerStatuses?.[i];
    const cond = (p: KObject, t: string) => p.status?.conditions?.find((x: any) => x.type === t)?.status;
    const sh = (script: string, extra: any = {}) => ({ name: "main", image: BUSYBOX_IMAGE, command: ["sh", "-c", script], ...extra });
    const execIn = async (p: KObject, cmd: string[], i = 0) => {
      const id = String(cs(p, i).containerID).replace("containerd://", "");
      const r = await node.runtime.execSync(id, cmd, 5);
      return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
    };

    const crash = await mk("crash", { containers: [sh("echo boom; exit 1")] });
    await mk("live", {
      terminationGracePeriodSeconds: 1,
      containers: [sh("touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 600", { livenessProbe: { exec: { command: ["cat", "/tmp/healthy"] }, periodSeconds: 1, failureThreshold: 2 } })],
    });
    await mk("oom", {
      restartPolicy: "Never",
      containers: [sh("x=$(head -c 64m /dev/zero | tr '\\0' a); echo survived; sleep 1", { resources: { limits: { memory: "32Mi" } } })],
    });
    await mk("ready", {
      terminationGracePeriodSeconds: 0,
      containers: [sh("sleep 600", { readinessProbe: { exec: { command: ["cat", "/tmp/ready"] }, periodSeconds: 1 } })],
    });
    await mk("env", {
      hostname: "envhost",
      subdomain: "sub",
      terminationGracePeriodSeconds: 0,
      securityContext: { fsGroup: 2000 },
      containers: [
        sh("sleep 600", {
          env: [
            { name: "COLOR", valueFrom: { configMapKeyRef: { name: "cfg", key: "color" } } },
            { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "sec", key: "password" } } },
            { name: "MY_POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "MY_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
            { name: "MEM_MI", valueFrom: { resourceFieldRef: { resource: "limits.memory", divisor: "1Mi" } } },
            { name: "GREETING", value: "$(COLOR)-$(MY_POD)" },
          ],
          resources: { requests: { cpu: "250m", memory: "64Mi" }, limits: { cpu: "500m", memory: "64Mi" } },
        }),
        { name: "sec", image: BUSYBOX_IMAGE, command: ["sleep", "600"], securityContext: { runAsUser: 1000, runAsGroup: 1000, readOnlyRootFilesystem: true } },
      ],
    });
    await mk("missing", { containers: [sh("sleep 600", { env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "nope", key: "k" } } }] })] });
    const work = { volumeMounts: [{ name: "work", mountPath: "/work" }] };
    await mk("init", {
      volumes: [{ name: "work", emptyDir: {} }],
      initContainers: [sh("sleep 0.5; echo i1 >> /work/order", { name: "i1", ...work }), sh("sleep 0.5; echo i2 >> /work/order", { name: "i2", ...work })],
      terminationGracePeriodSeconds: 0,
      containers: [sh("sleep 600", work)],
    });
    await mk("initfail", { restartPolicy: "Never", initContainers: [sh("exit 3", { name: "i1" })], containers: [sh("sleep 600")] });
    await mk("msg", {
      restartPolicy: "Never",
      containers: [
        sh("echo -n 'all done' > /dev/termination-log"),
        sh("echo from-the-log; exit 2", { name: "fallback", terminationMessagePolicy: "FallbackToLogsOnError" }),
      ],
    });
    await mk("stopper", {
      terminationGracePeriodSeconds: 2,
      containers: [sh("sleep 600", { lifecycle: { preStop: { httpGet: { host: "127.0.0.1", port: hookPort, path: "/prestop" } } } })],
    });

    await mk("startup", {
      terminationGracePeriodSeconds: 0,
      containers: [sh("sleep 600", { startupProbe: { exec: { command: ["cat", "/tmp/started"] }, periodSeconds: 1, failureThreshold: 60 }, readinessProbe: { exec: { command: ["true"] }, periodSeconds: 1 } })],
    });
    await mk("hooks", { terminationGracePeriodSeconds: 0, containers: [sh("sleep 600", { lifecycle: { postStart: { exec: { command: ["sh", "-c", "echo hooked > /tmp/hook"] } } } })] });
    await mk("badhook", { restartPolicy: "Never", terminationGracePeriodSeconds: 0, containers: [sh("sleep 600", { lifecycle: { postStart: { exec: { command: ["sh", "-c", "exit 1"] } } } })] });
    await mk("sidecar", {
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 0,
      initContainers: [{ name: "side", image: BUSYBOX_IMAGE, command: ["sleep", "600"], restartPolicy: "Always" }, sh("sleep 0.2", { name: "i1" })],
      containers: [sh("sleep 6; exit 0")],
    });
    await mk("hostnet", { hostNetwork: true, terminationGracePeriodSeconds: 0, containers: [sh("sleep 600")] });
    await mk("imgchange", { terminationGracePeriodSeconds: 0, containers: [sh("sleep 600")] });
    await mk("deadline", { activeDeadlineSeconds: 2, terminationGracePeriodSeconds: 0, containers: [sh("sleep 600")] });

    // A sidecar (restartable init container) runs beside the app container; the pod completes without it.
    const side = await until("sidecar", "Running", (p) => p.status?.phase === "Running" && cs(p)?.state?.running !== undefined);
    const sideStatus = side.status.initContainerStatuses[0];
    assert.ok(sideStatus.state.running, "sidecar running");
    assert.equal(sideStatus.started, true);
    assert.equal(sideStatus.ready, true);
    assert.ok(side.status.initContainerStatuses[1].state.terminated, "the regular init container ran after the sidecar started");
    assert.equal(cond(side, "Initialized"), "True");
    // CrashLoopBackOff: the delay doubles (1s, 2s, 4s with the test's base).
    const messages = new Set<string>();
    await waitFor("crash restarted 4 times", async () => {
      const p = await get("crash");
      const w = cs(p)?.state?.waiting;
      if (w?.reason === "CrashLoopBackOff") messages.add(w.message);
      return (cs(p)?.restartCount ?? 0) >= 4 ? p : undefined;
    }, 60_000, 50);
    const uid = crash.metadata.uid;
    const delays = [...messages].map((m) => {
      const mm = /^back-off (\d+)s restarting failed container=main pod=crash_default\((.*)\)$/.exec(m);
      assert.ok(mm && mm[2] === uid, m);
      return Number(mm[1]);
    });
    assert.ok(delays.length >= 2, `growing delays seen: ${[...messages].join("; ")}`);
    for (const d of delays) assert.ok([1, 2, 4, 8].includes(d), `delay ${d}s`);
    const crashed = await get("crash");
    const logs = readdirSync(join(node.dir, "pods", `default_crash_${uid}`, "main"));
    assert.ok(logs.length <= 2 && logs.includes(`${cs(crashed).restartCount}.log`), `only the current and previous logs are kept: ${logs.join(" ")}`);
    assert.equal(cs(crashed).lastState.terminated.exitCode, 1);
    assert.equal(crashed.status.phase, "Running");

    // Liveness failure restarts the container.
    const live = await until("live", "restarted by liveness", (p) => (cs(p)?.restartCount ?? 0) >= 1, 30_000);
    assert.match(cs(live).lastState.terminated.message ?? "", /failed liveness probe/);

    // OOMKilled under a 32Mi limit.
    const oom = await until("oom", "Failed", (p) => p.status?.phase === "Failed");
    assert.equal(cs(oom).state.terminated.reason, "OOMKilled");
    assert.equal(cs(oom).state.terminated.exitCode, 137);

    // Readiness toggles Ready.
    let ready = await until("ready", "Running, not ready", (p) => p.status?.phase === "Running" && cs(p)?.started === true);
    assert.equal(cond(ready, "Ready"), "False");
    assert.equal(cs(ready).ready, false);
    await execIn(ready, ["touch", "/tmp/ready"]);
    ready = await until("ready", "Ready", (p) => cond(p, "Ready") === "True");
    assert.equal(cs(ready).ready, true);
    assert.equal(cond(ready, "ContainersReady"), "True");
    await execIn(ready, ["rm", "/tmp/ready"]);
    await until("ready", "not Ready again", (p) => cond(p, "Ready") === "False");

    // Env, DNS, hosts file, resources and security context inside the container.
    const envPod = await until("env", "Running", (p) => p.status?.phase === "Running" && cond(p, "Ready") === "True");
    const env = (await execIn(envPod, ["env"])).out;
    assert.match(env, /^COLOR=blue$/m);
    assert.match(env, /^PASSWORD=s3cret$/m);
    assert.match(env, /^MY_POD=env$/m);
    assert.match(env, new RegExp(`^MY_IP=${envPod.status.podIP.replace(/\./g, "\\.")}$`, "m"));
    assert.match(env, /^MEM_MI=64$/m);
    assert.match(env, /^GREETING=blue-env$/m);
    const resolv = (await execIn(envPod, ["cat", "/etc/resolv.conf"])).out;
    assert.match(resolv, /nameserver 10\.43\.0\.10/);
    assert.match(resolv, /search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local/);
    assert.match(resolv, /options ndots:5/);
    const hosts = (await execIn(envPod, ["cat", "/etc/hosts"])).out;
    assert.match(hosts, new RegExp(`${envPod.status.podIP.replace(/\./g, "\\.")}\\tenvhost\\.sub\\.default\\.svc\\.cluster\\.local\\tenvhost`));
    assert.equal((await execIn(envPod, ["hostname"])).out.trim(), "envhost");
    assert.equal((await execIn(envPod, ["cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"])).out.trim(), String(64 * 1024 * 1024));
    assert.equal((await execIn(envPod, ["cat", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"])).out.trim(), "50000");
    assert.equal((await execIn(envPod, ["cat", "/sys/fs/cgroup/cpu/cpu.shares"])).out.trim(), "256");
    assert.equal((await execIn(envPod, ["id", "-u"], 1)).out.trim(), "1000");
    assert.match((await execIn(envPod, ["id", "-G"], 1)).out, /\b2000\b/, "fsGroup is a supplemental group");
    const ro = await execIn(envPod, ["touch", "/x"], 1);
    assert.notEqual(ro.code, 0, "read-only root filesystem");
    assert.equal(envPod.status.qosClass, "Burstable");

    // A missing ConfigMap: CreateContainerConfigError with the kubelet's message.
    const missing = await until("missing", "config error", (p) => cs(p)?.state?.waiting?.reason === "CreateContainerConfigError");
    assert.equal(cs(missing).state.waiting.message, 'configmap "nope" not found');
    assert.equal(missing.status.phase, "Pending");

    // Init containers run in order, before the app container.
    const init = await until("init", "Running", (p) => p.status?.phase === "Running");
    const [i1, i2] = init.status.initContainerStatuses.map((s: any) => s.state.terminated);
    assert.equal(i1.exitCode, 0);
    assert.ok(Date.parse(i1.finishedAt) <= Date.parse(i2.startedAt), "i2 after i1");
    assert.ok(Date.parse(i2.finishedAt) <= Date.parse(cs(init).state.running.startedAt), "app after i2");
    assert.equal(cond(init, "Initialized"), "True");
    assert.equal((await execIn(init, ["cat", "/work/order"])).out, "i1\ni2\n", "an emptyDir (volume manager) shared by init and app containers");
    const initfail = await until("initfail", "Failed", (p) => p.status?.phase === "Failed");
    assert.equal(initfail.status.initContainerStatuses[0].state.terminated.exitCode, 3);
    assert.equal(cond(initfail, "Initialized"), "False");
    assert.equal(cs(initfail).state.waiting.reason, "PodInitializing");

    // Termination messages.
    const msg = await until("msg", "Failed", (p) => p.status?.phase === "Failed");
    assert.equal(cs(msg, 0).state.terminated.message, "all done");
    assert.equal(cs(msg, 0).state.terminated.reason, "Completed");
    assert.equal(cs(msg, 1).state.terminated.message, "from-the-log\n");

    // Startup probe gates readiness; started flips when it passes.
    let startup = await until("startup", "Running", (p) => p.status?.phase === "Running");
    await new Promise((r) => setTimeout(r, 1500));
    startup = await get("startup");
    assert.equal(cs(startup).started, false);
    assert.equal(cs(startup).ready, false);
    await execIn(startup, ["touch", "/tmp/started"]);
    startup = await until("startup", "started and ready", (p) => cs(p)?.started === true && cs(p)?.ready === true);

    // postStart hooks: one runs in the container, a failing one kills it.
    const hooks = await until("hooks", "Running", (p) => p.status?.phase === "Running");
    assert.equal((await execIn(hooks, ["cat", "/tmp/hook"])).out.trim(), "hooked");
    const badhook = await until("badhook", "Failed", (p) => p.status?.phase === "Failed");
    assert.match(cs(badhook).state.terminated.message ?? "", /Exec lifecycle hook .* failed/);

    await until("sidecar", "Succeeded", (p) => p.status?.phase === "Succeeded");

    // Host network: the pod IP is the node's, the host's resolv.conf (dnsPolicy ClusterFirst falls back to Default).
    const hostnet = await until("hostnet", "Running", (p) => p.status?.phase === "Running");
    assert.equal(hostnet.status.podIP, "10.42.91.1");
    assert.doesNotMatch((await execIn(hostnet, ["cat", "/etc/resolv.conf"])).out, /10\.43\.0\.10/);

    // A new image (the one mutable container field) replaces the container.
    const img0 = await until("imgchange", "Running", (p) => p.status?.phase === "Running");
    await c.patch("v1/pods", "default", "imgchange", "strategic", { spec: { containers: [{ name: "main", image: `docker.io/${BUSYBOX_IMAGE}` }] } });
    const img1 = await until("imgchange", "restarted with the new image", (p) => cs(p)?.restartCount === 1 && cs(p)?.state?.running !== undefined);
    assert.notEqual(cs(img1).containerID, cs(img0).containerID);
    assert.equal(cs(img1).image, `docker.io/${BUSYBOX_IMAGE}`);

    // activeDeadlineSeconds fails the pod.
    const deadline = await until("deadline", "Failed", (p) => p.status?.phase === "Failed", 20_000);
    assert.equal(deadline.status.reason, "DeadlineExceeded");

    // Events went to the API.
    const events = (await c.list("v1/events", { namespace: "default" })).items;
    const reasons = new Set(events.map((e: any) => `${e.involvedObject.name}/${e.reason}`));
    for (const want of ["crash/BackOff", "live/Unhealthy", "live/Killing", "env/Started", "env/Created", "env/Pulled", "missing/Failed", "badhook/FailedPostStartHook", "startup/Unhealthy"]) assert.ok(reasons.has(want), `event ${want}`);

    // The kubelet restarts: running containers are adopted, not restarted; status stays as it was.
    abort.abort();
    await kubeletDone;
    const before = new Map<string, KObject>();
    for (const n of ["env", "live", "startup", "init", "crash"]) before.set(n, await get(n));
    await c.delete("v1/pods", "default", "hooks", { gracePeriodSeconds: 0 }); // vanishes while the kubelet is away
    const hooksUid = hooks.metadata.uid!;
    abort = new AbortController();
    const kubelet2 = kubeletRunnable({ ...kubeletOpts, informers: new SharedInformerFactory(c) });
    kubeletDone = kubelet2.start(abort.signal);
    await kubelet2.ready!();
    await waitFor("orphaned sandbox removed", async () => ((await node.runtime.listPodSandboxes({ labelSelector: { [POD_UID_LABEL]: hooksUid } })).length === 0 ? true : undefined), 15_000);
    await new Promise((r) => setTimeout(r, 3000));
    for (const n of ["env", "startup", "init"]) {
      const now = await get(n);
      assert.equal(now.metadata.resourceVersion, before.get(n)!.metadata.resourceVersion, `${n}: no status change after the kubelet restart`);
    }
    assert.equal((await node.runtime.listContainers({ labelSelector: { [POD_UID_LABEL]: before.get("env")!.metadata.uid! } })).length, 2, "no duplicated containers");
    assert.equal(cs(await get("env")).containerID, cs(before.get("env")!).containerID);

    // preStop runs on delete; the container ignores SIGTERM (sh as PID 1) and is killed after the grace period.
    const stopper = await until("stopper", "Running", (p) => p.status?.phase === "Running");
    const t0 = Date.now();
    await c.delete("v1/pods", "default", "stopper");
    await waitFor("stopper gone", async () => ((await c.list("v1/pods", { namespace: "default", fieldSelector: "metadata.name=stopper" })).items.length === 0 ? true : undefined), 20_000);
    const took = Date.now() - t0;
    assert.deepEqual(hits, ["/prestop"]);
    assert.ok(took >= 1500 && took < 10_000, `deletion took ${took} ms`);
    assert.deepEqual(await node.runtime.listPodSandboxes({ labelSelector: { [POD_UID_LABEL]: stopper.metadata.uid! } }), []);

    for (const p of (await c.list("v1/pods", { namespace: "default" })).items) await c.delete("v1/pods", "default", p.metadata.name!, { gracePeriodSeconds: 0 });
    await waitFor("all sandboxes gone", async () => ((await node.runtime.listPodSandboxes()).length === 0 ? true : undefined), 30_000);
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    abort.abort();
    await kubeletDone?.catch(() => {});
    hookServer.closeAllConnections();
    await new Promise<void>((r) => hookServer.close(() => r()));
    await api.close();
    // After a failure the kubelet had no chance to remove its pods: report the failure, not the leak.
    await node.cleanup().catch((err) => {
      if (!failed) throw err;
    });
  }
});
