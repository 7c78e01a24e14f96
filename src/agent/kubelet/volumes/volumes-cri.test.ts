// Volumes inside a real container: a private containerd (startTestNode), a sandbox and a
// busybox container created through CRI with the VolumeManager's mounts. Inside the
// container the ConfigMap file, the decoded Secret, the downward-API name, the projected
// service-account token and a writable emptyDir (and a tmpfs one) are checked with exec;
// then the ConfigMap is updated and the running container reads the new content through
// the same path. Tear-down must leave no mount behind. Needs root, containerd, runc, CNI
// plugins and busybox-static; skips otherwise.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { realNodeSkipReason, startTestNode, waitFor } from "../../testing.js";
import { BUSYBOX_IMAGE } from "../../images/build.js";
import { qualifyImage } from "../../containerd.js";
import { startTestApi } from "../../../apiserver/testing.js";
import { ServiceAccountTokenIssuer, setServiceAccountTokenIssuer } from "../../../apiserver/tokenrequest.js";
import { silentLogger } from "../../../client/runnable.js";
import { POD_UID_LABEL, removePodCgroup } from "../podworker.js";
import type { PodSandboxConfig } from "../../runtime/types.js";
import { VolumeManager } from "./index.js";

const skip = realNodeSkipReason();

test("volumes reach a running container and ConfigMap updates show up in it", { skip, timeout: 180_000 }, async () => {
  const node = await startTestNode({ bridge: "tugk2v", podCIDR: "10.42.92.0/24", prefix: "tugk2v-" });
  const api = await startTestApi({ serviceAccounts: true });
  const dataDir = join(node.dir, "agent");
  let vm: VolumeManager | undefined;
  let uid = "";
  try {
    const issuer = ServiceAccountTokenIssuer.load(join(api.dir, "pki"));
    setServiceAccountTokenIssuer(api.registry, issuer);
    const c = api.client;
    await c.create("v1/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web-config", namespace: "default" }, data: { "index.html": "hello v1\n" } });
    await c.create("v1/secrets", { apiVersion: "v1", kind: "Secret", metadata: { name: "web-secret", namespace: "default" }, stringData: { token: "t0ps3cret" } });
    const container = {
      name: "web",
      image: BUSYBOX_IMAGE,
      command: ["sleep", "3600"],
      volumeMounts: [
        { name: "cfg", mountPath: "/etc/web" },
        { name: "sec", mountPath: "/etc/secret" },
        { name: "info", mountPath: "/etc/podinfo" },
        { name: "sa", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount" },
        { name: "scratch", mountPath: "/scratch" },
        { name: "mem", mountPath: "/mem" },
        { name: "cfg", mountPath: "/pinned.html", subPath: "index.html" },
      ],
    };
    const pod = await c.create("v1/pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "vol-pod", namespace: "default" },
      spec: {
        nodeName: "k2-node",
        containers: [container],
        volumes: [
          { name: "cfg", configMap: { name: "web-config" } },
          { name: "sec", secret: { secretName: "web-secret", defaultMode: 0o400 } },
          { name: "info", downwardAPI: { items: [{ path: "name", fieldRef: { fieldPath: "metadata.name" } }] } },
          { name: "sa", projected: { sources: [{ serviceAccountToken: { path: "token", expirationSeconds: 3600 } }, { downwardAPI: { items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }] } }] } },
          { name: "scratch", emptyDir: {} },
          { name: "mem", emptyDir: { medium: "Memory" } },
        ],
      },
    });
    uid = pod.metadata.uid!;
    node.trackPod(uid);
    vm = new VolumeManager({ client: c, dataDir, nodeName: "k2-node", log: silentLogger, refreshIntervalMs: 0 });
    await vm.setUp(pod);
    const mounts = vm.mountsFor(pod, container);
    assert.equal(mounts.length, 7);

    const rt = node.runtime;
    const sandboxConfig: PodSandboxConfig = {
      metadata: { name: "vol-pod", namespace: "default", uid, attempt: 0 },
      hostname: "vol-pod",
      logDirectory: join(dataDir, "pods", `default_vol-pod_${uid}`),
      labels: { [POD_UID_LABEL]: uid },
      cgroupParent: `/tugboat/pod${uid}`,
    };
    const sandboxId = await rt.runPodSandbox(sandboxConfig);
    const image = (await rt.imageStatus(qualifyImage(BUSYBOX_IMAGE)))?.id;
    assert.ok(image, "busybox image imported");
    const id = await rt.createContainer(sandboxId, { name: "web", attempt: 0, image, command: container.command, mounts, logPath: "web/0.log" }, sandboxConfig);
    await rt.startContainer(id);
    const sh = async (script: string) => {
      const r = await rt.execSync(id, ["sh", "-c", script], 10);
      return { out: r.stdout.toString(), err: r.stderr.toString(), code: r.exitCode };
    };

    assert.equal((await sh("cat /etc/web/index.html")).out, "hello v1\n");
    assert.equal((await sh("cat /pinned.html")).out, "hello v1\n");
    assert.equal((await sh("cat /etc/secret/token")).out, "t0ps3cret");
    assert.equal((await sh("stat -L -c %a /etc/secret/token")).out.trim(), "400");
    assert.equal((await sh("cat /etc/podinfo/name")).out, "vol-pod");
    assert.equal((await sh("cat /var/run/secrets/kubernetes.io/serviceaccount/namespace")).out, "default");
    const token = (await sh("cat /var/run/secrets/kubernetes.io/serviceaccount/token")).out;
    assert.equal(issuer.authenticate(token)?.name, "system:serviceaccount:default:default");
    // Config volumes are read-only; emptyDirs are writable, and Memory ones are tmpfs.
    assert.notEqual((await sh("echo x > /etc/web/new")).code, 0);
    assert.equal((await sh("echo data > /scratch/f && cat /scratch/f")).out, "data\n");
    assert.equal(readFileSync(join(dataDir, "pods", uid, "volumes", "kubernetes.io~empty-dir", "scratch", "f"), "utf8"), "data\n");
    assert.match((await sh("grep ' /mem ' /proc/mounts")).out, /^tmpfs \/mem tmpfs /);

    // Update the ConfigMap; the next sync swaps ..data and the running container sees it.
    const cm = await c.get("v1/configmaps", "default", "web-config");
    await c.update("v1/configmaps", { ...cm, data: { "index.html": "hello v2\n" } });
    await vm.setUp(pod);
    await waitFor("new ConfigMap content in the container", async () => ((await sh("cat /etc/web/index.html")).out === "hello v2\n" ? true : undefined), 10_000);
    // A subPath mount pins the file it was started with (as upstream documents).
    assert.equal((await sh("cat /pinned.html")).out, "hello v1\n");

    await rt.stopContainer(id, 0);
    await rt.removeContainer(id);
    await rt.stopPodSandbox(sandboxId);
    await rt.removePodSandbox(sandboxId);
    await removePodCgroup(uid);
    await vm.tearDown(uid);
    assert.deepEqual(readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(join(dataDir, "pods", uid))), []);
    assert.ok(!existsSync(join(dataDir, "pods", uid)));
  } catch (err) {
    console.error("volumes-cri test failed:", err);
    throw err;
  } finally {
    if (vm && uid) await vm.tearDown(uid).catch(() => {});
    await api.close();
    await node.cleanup();
  }
});
