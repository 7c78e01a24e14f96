// The volume manager against a real API (startTestApi) and a temp data dir: each volume
// type set up and checked on disk, the atomic ConfigMap update read through the
// user-visible symlink, tmpfs mounts for emptyDir medium Memory and secrets, tokens
// from the TokenRequest subresource, CRI mounts for volumeMounts, and a tear-down that
// leaves no directory and no mount behind (/proc/self/mountinfo). tmpfs checks need root.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestApi, type TestApi } from "../../../apiserver/testing.js";
import { ServiceAccountTokenIssuer, setServiceAccountTokenIssuer } from "../../../apiserver/tokenrequest.js";
import { silentLogger } from "../../../client/runnable.js";
import type { KObject } from "../../../apimachinery/types.js";
import { VolumeManager, VolumeSetupError, expandSubPathExpr } from "./index.js";
import { ServiceAccountTokenCache } from "./serviceaccounttoken.js";
import { readMounts } from "./mounts.js";
import { formatMap } from "./downwardapi.js";

const isRoot = process.getuid?.() === 0;
const mountsUnder = (dir: string) => readMounts().filter((m) => m.mountPoint.startsWith(dir));
const read = (p: string) => readFileSync(p, "utf8");
const mode = (p: string) => statSync(p).mode & 0o777;

describe("VolumeManager", () => {
  let api: TestApi;
  let dataDir: string;
  let vm: VolumeManager;
  let issuer: ServiceAccountTokenIssuer;
  const uids: string[] = [];

  before(async () => {
    api = await startTestApi({ serviceAccounts: true });
    issuer = ServiceAccountTokenIssuer.load(join(api.dir, "pki"));
    setServiceAccountTokenIssuer(api.registry, issuer);
    dataDir = await mkdtemp(join(tmpdir(), "tugvol-"));
    vm = new VolumeManager({ client: api.client, dataDir, nodeName: "n1", log: silentLogger, refreshIntervalMs: 0 });
  });

  after(async () => {
    for (const u of uids) await vm.tearDown(u);
    const left = mountsUnder(dataDir);
    await rm(dataDir, { recursive: true, force: true });
    await api.close();
    assert.deepEqual(left, []);
  });

  async function makePod(name: string, volumes: any[], container: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<KObject> {
    const pod = await api.client.create("v1/pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "default", labels: { app: "web", tier: "front" }, annotations: { note: 'say "hi"' } },
      spec: { containers: [{ name: "c", image: "busybox", resources: { limits: { cpu: "250m", memory: "64Mi" } }, ...container }], volumes, ...extra },
    });
    uids.push(pod.metadata.uid!);
    return pod;
  }
  const volDir = (pod: KObject, plugin: string, name: string) => join(dataDir, "pods", pod.metadata.uid!, "volumes", plugin, name);

  it("emptyDir: a world-writable directory; medium Memory is a size-capped tmpfs", async () => {
    // Not created through the API: its Pod validation refuses emptyDir.sizeLimit (reported), and emptyDir needs no API object.
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "ed", namespace: "default", uid: "0d0e0f00-1111-4222-8333-444455556666" }, spec: { containers: [{ name: "c", image: "busybox" }], volumes: [{ name: "scratch", emptyDir: {} }, ...(isRoot ? [{ name: "mem", emptyDir: { medium: "Memory", sizeLimit: "8Mi" } }] : [])] } } as KObject;
    uids.push(pod.metadata.uid!);
    await vm.setUp(pod);
    await vm.setUp(pod); // idempotent: no second tmpfs stacked on the first
    const d = volDir(pod, "kubernetes.io~empty-dir", "scratch");
    assert.ok(statSync(d).isDirectory());
    assert.equal(mode(d), 0o777);
    if (isRoot) {
      const m = volDir(pod, "kubernetes.io~empty-dir", "mem");
      const entries = readMounts().filter((x) => x.mountPoint === m);
      assert.equal(entries.length, 1);
      assert.equal(entries[0]!.fsType, "tmpfs");
      const df = execFileSync("df", ["-k", m], { encoding: "utf8" }).trim().split("\n")[1]!.split(/\s+/);
      assert.equal(Number(df[1]), 8192);
      assert.equal(mode(m), 0o777);
    }
    await vm.tearDown(pod.metadata.uid!);
    assert.ok(!existsSync(join(dataDir, "pods", pod.metadata.uid!)));
    assert.deepEqual(mountsUnder(join(dataDir, "pods", pod.metadata.uid!)), []);
    await vm.tearDown(pod.metadata.uid!); // twice is fine
    await vm.tearDown("never-seen-uid");
  });

  it("configMap: items, modes, optional, and an atomic update visible through the same path", async () => {
    await api.client.create("v1/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg", namespace: "default" }, data: { "app.conf": "v1", other: "x" }, binaryData: { bin: Buffer.from([0, 1, 2]).toString("base64") } });
    const pod = await makePod("cm", [
      { name: "all", configMap: { name: "cfg", defaultMode: 0o600 } },
      { name: "some", configMap: { name: "cfg", items: [{ key: "app.conf", path: "conf/app.conf", mode: 0o400 }] } },
      { name: "opt", configMap: { name: "nope", optional: true } },
    ]);
    await vm.setUp(pod);
    const all = volDir(pod, "kubernetes.io~configmap", "all");
    assert.deepEqual(readdirSync(all).filter((e) => !e.startsWith("..")).sort(), ["app.conf", "bin", "other"]);
    assert.equal(readlinkSync(join(all, "app.conf")), "..data/app.conf");
    assert.ok(lstatSync(join(all, "..data")).isSymbolicLink());
    assert.equal(read(join(all, "app.conf")), "v1");
    assert.deepEqual([...readFileSync(join(all, "bin"))], [0, 1, 2]);
    assert.equal(mode(join(all, "app.conf")), 0o600);
    const some = volDir(pod, "kubernetes.io~configmap", "some");
    assert.equal(read(join(some, "conf/app.conf")), "v1");
    assert.equal(mode(join(some, "conf/app.conf")), 0o400);
    assert.deepEqual(readdirSync(some).filter((e) => !e.startsWith("..")), ["conf"]);
    assert.deepEqual(readdirSync(volDir(pod, "kubernetes.io~configmap", "opt")).filter((e) => !e.startsWith("..")), []);

    // Update: same user-visible path, new content, old timestamped dir gone, dropped key gone.
    const before = readlinkSync(join(all, "..data"));
    const cm = await api.client.get("v1/configmaps", "default", "cfg");
    await api.client.update("v1/configmaps", { ...cm, data: { "app.conf": "v2" }, binaryData: {} });
    await vm.setUp(pod);
    assert.equal(read(join(all, "app.conf")), "v2");
    assert.notEqual(readlinkSync(join(all, "..data")), before);
    assert.ok(!existsSync(join(all, before)));
    assert.deepEqual(readdirSync(all).filter((e) => !e.startsWith("..")), ["app.conf"]);
    assert.equal(readdirSync(all).filter((e) => e.startsWith("..2")).length, 1);
    // No change: nothing is rewritten.
    const cur = readlinkSync(join(all, "..data"));
    await vm.setUp(pod);
    assert.equal(readlinkSync(join(all, "..data")), cur);
  });

  it("configMap/secret: missing objects and keys fail with FailedMount unless optional", async () => {
    const pod = await makePod("missing", [{ name: "gone", configMap: { name: "absent" } }, { name: "ok", emptyDir: {} }]);
    await assert.rejects(vm.setUp(pod), (e: any) => e instanceof VolumeSetupError && e.reason === "FailedMount" && /configmap "absent" not found/.test(e.message) && /volume "gone"/.test(e.message));
    // The other volume was set up anyway.
    assert.ok(existsSync(volDir(pod, "kubernetes.io~empty-dir", "ok")));
    const pod2 = await makePod("badkey", [{ name: "s", secret: { secretName: "nosuch" } }]);
    await assert.rejects(vm.setUp(pod2), (e: any) => e.reason === "FailedMount" && /secret "nosuch" not found/.test(e.message));
    await api.client.create("v1/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "small", namespace: "default" }, data: { a: "1" } });
    const pod3 = await makePod("badkey2", [{ name: "k", configMap: { name: "small", items: [{ key: "b", path: "b" }] } }]);
    await assert.rejects(vm.setUp(pod3), (e: any) => e.reason === "FailedMount" && /non-existent config key: b/.test(e.message));
    // Once the ConfigMap appears, the next sync succeeds.
    await api.client.create("v1/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "absent", namespace: "default" }, data: { z: "late" } });
    await vm.setUp(pod);
    assert.equal(read(join(volDir(pod, "kubernetes.io~configmap", "gone"), "z")), "late");
  });

  it("secret: decoded data with defaultMode, on a tmpfs", async () => {
    await api.client.create("v1/secrets", { apiVersion: "v1", kind: "Secret", metadata: { name: "creds", namespace: "default" }, stringData: { password: "s3cret" }, data: { raw: Buffer.from("abc").toString("base64") } });
    const pod = await makePod("sec", [{ name: "s", secret: { secretName: "creds", defaultMode: 0o440 } }]);
    await vm.setUp(pod);
    const d = volDir(pod, "kubernetes.io~secret", "s");
    assert.equal(read(join(d, "password")), "s3cret");
    assert.equal(read(join(d, "raw")), "abc");
    assert.equal(mode(join(d, "password")), 0o440);
    if (isRoot) assert.equal(readMounts().find((m) => m.mountPoint === d)?.fsType, "tmpfs");
    const [m] = vm.mountsFor(pod, { name: "c", volumeMounts: [{ name: "s", mountPath: "/etc/creds" }] });
    assert.deepEqual(m, { containerPath: "/etc/creds", hostPath: d, readOnly: true, propagation: "Private" });
  });

  it("downwardAPI: pod fields and resource values", async () => {
    const pod = await makePod("dapi", [
      {
        name: "info",
        downwardAPI: {
          items: [
            { path: "name", fieldRef: { fieldPath: "metadata.name" } },
            { path: "ns", fieldRef: { fieldPath: "metadata.namespace" } },
            { path: "uid", fieldRef: { fieldPath: "metadata.uid" } },
            { path: "labels", fieldRef: { fieldPath: "metadata.labels" } },
            { path: "annotations", fieldRef: { fieldPath: "metadata.annotations" } },
            { path: "app", fieldRef: { fieldPath: "metadata.labels['app']" } },
            { path: "cpu_limit", resourceFieldRef: { containerName: "c", resource: "limits.cpu", divisor: "1m" } },
            { path: "cpu_limit_cores", resourceFieldRef: { containerName: "c", resource: "limits.cpu" } },
            { path: "mem_limit", resourceFieldRef: { containerName: "c", resource: "limits.memory", divisor: "1Mi" } },
          ],
        },
      },
    ]);
    await vm.setUp(pod);
    const d = volDir(pod, "kubernetes.io~downward-api", "info");
    assert.equal(read(join(d, "name")), "dapi");
    assert.equal(read(join(d, "ns")), "default");
    assert.equal(read(join(d, "uid")), pod.metadata.uid);
    assert.equal(read(join(d, "labels")), 'app="web"\ntier="front"');
    assert.equal(read(join(d, "annotations")), 'note="say \\"hi\\""');
    assert.equal(read(join(d, "app")), "web");
    assert.equal(read(join(d, "cpu_limit")), "250");
    assert.equal(read(join(d, "cpu_limit_cores")), "1"); // rounded up
    assert.equal(read(join(d, "mem_limit")), "64");
    assert.equal(formatMap({}), "");
    // Label changes reach the file on the next sync.
    const cur = await api.client.get("v1/pods", "default", "dapi");
    const updated = await api.client.update("v1/pods", { ...cur, metadata: { ...cur.metadata, labels: { app: "api" } } });
    await vm.setUp(updated);
    assert.equal(read(join(d, "labels")), 'app="api"');
  });

  it("projected: configMap + secret + downwardAPI + a pod-bound service-account token", async () => {
    const rootCA = (await api.client.get("v1/configmaps", "default", "kube-root-ca.crt")).data["ca.crt"]; // seeded by startTestApi
    const pod = await makePod("proj", [
      {
        name: "kube-api-access-abcde",
        projected: {
          defaultMode: 0o644,
          sources: [
            { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
            { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
            { downwardAPI: { items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }] } },
            { secret: { name: "creds", items: [{ key: "password", path: "pw", mode: 0o400 }] } },
            { serviceAccountToken: { audience: "vault", expirationSeconds: 600, path: "vault-token" } },
          ],
        },
      },
    ]);
    await vm.setUp(pod);
    const d = volDir(pod, "kubernetes.io~projected", "kube-api-access-abcde");
    assert.equal(read(join(d, "ca.crt")), rootCA);
    assert.equal(read(join(d, "namespace")), "default");
    assert.equal(read(join(d, "pw")), "s3cret");
    assert.equal(mode(join(d, "pw")), 0o400);
    const token = read(join(d, "token"));
    const user = issuer.authenticate(token);
    assert.equal(user?.name, "system:serviceaccount:default:default");
    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
    assert.deepEqual(claims["kubernetes.io"].pod, { name: "proj", uid: pod.metadata.uid });
    assert.equal(claims.exp - claims.iat, 3607);
    const vault = JSON.parse(Buffer.from(read(join(d, "vault-token")).split(".")[1]!, "base64url").toString());
    assert.deepEqual(vault.aud, ["vault"]);
    // A second sync reuses the cached token (no renewal before 80% of its lifetime).
    await vm.setUp(pod);
    assert.equal(read(join(d, "token")), token);
    if (isRoot) assert.equal(readMounts().find((m) => m.mountPoint === d)?.fsType, "tmpfs");
  });

  it("service-account tokens are renewed after 80% of their lifetime", async () => {
    let now = Date.now();
    const pod = await api.client.get("v1/pods", "default", "proj");
    const cache = new ServiceAccountTokenCache(api.client, silentLogger, () => now);
    const spec = { podNamespace: "default", podName: "proj", podUID: pod.metadata.uid!, serviceAccountName: "default", audience: "", expirationSeconds: 1000 };
    const t1 = await cache.get(spec);
    now += 700_000;
    assert.equal(await cache.get(spec), t1);
    now += 150_000; // 850 s of 1000: due
    // jti makes every token distinct even within the same second.
    const t2 = await cache.get(spec);
    assert.notEqual(t2, t1);
    assert.equal(cache.size, 1);
    cache.forget(pod.metadata.uid!);
    assert.equal(cache.size, 0);
    // A token bound to a pod that does not exist cannot be fetched.
    await assert.rejects(cache.get({ ...spec, podName: "ghost", podUID: "x" }), (e: any) => e.code === 404);
  });

  it("hostPath: type checks and creation", async () => {
    const host = join(dataDir, "host");
    mkdirSync(join(host, "dir"), { recursive: true });
    writeFileSync(join(host, "file"), "f");
    const sock = createServer();
    await new Promise<void>((r) => sock.listen(join(host, "sock"), r));
    try {
      const ok = await makePod("hp", [
        { name: "a", hostPath: { path: join(host, "dir"), type: "Directory" } },
        { name: "b", hostPath: { path: join(host, "made/deep"), type: "DirectoryOrCreate" } },
        { name: "c", hostPath: { path: join(host, "newfile"), type: "FileOrCreate" } },
        { name: "d", hostPath: { path: join(host, "file"), type: "File" } },
        { name: "e", hostPath: { path: join(host, "sock"), type: "Socket" } },
        { name: "f", hostPath: { path: "/dev/null", type: "CharDevice" } },
        { name: "g", hostPath: { path: join(host, "whatever") } },
      ]);
      await vm.setUp(ok);
      assert.ok(statSync(join(host, "made/deep")).isDirectory());
      assert.equal(mode(join(host, "newfile")), 0o644);
      const mounts = vm.mountsFor(ok, { name: "c", volumeMounts: [{ name: "a", mountPath: "/a", mountPropagation: "HostToContainer" }, { name: "d", mountPath: "/d", readOnly: true }] });
      assert.deepEqual(mounts, [
        { containerPath: "/a", hostPath: join(host, "dir"), readOnly: false, propagation: "HostToContainer" },
        { containerPath: "/d", hostPath: join(host, "file"), readOnly: true, propagation: "Private" },
      ]);
      for (const [type, path, msg] of [
        ["Directory", join(host, "file"), "is not a directory"],
        ["File", join(host, "dir"), "is not a file"],
        ["Socket", join(host, "file"), "is not a socket file"],
        ["BlockDevice", "/dev/null", "is not a block device"],
        ["Directory", join(host, "missing"), "is not a directory"],
      ] as const) {
        const p = await makePod(`hp-bad-${uids.length}`, [{ name: "x", hostPath: { path, type } }]);
        await assert.rejects(vm.setUp(p), (e: any) => e.reason === "FailedMount" && e.message.includes(msg), `${type} ${path}`);
      }
      // Host directories are never removed by tear-down.
      await vm.tearDown(ok.metadata.uid!);
      assert.ok(existsSync(join(host, "dir")) && existsSync(join(host, "file")));
    } finally {
      sock.close();
    }
  });

  it("persistentVolumeClaim: must be Bound; the PV's path is mounted, readOnly honoured", async () => {
    const pvPath = join(dataDir, "pv1");
    await api.client.create("v1/persistentvolumeclaims", {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "data", namespace: "default" },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    });
    const pod = await makePod("pvc", [{ name: "d", persistentVolumeClaim: { claimName: "data" } }, { name: "ro", persistentVolumeClaim: { claimName: "data", readOnly: true } }]);
    await assert.rejects(vm.setUp(pod), (e: any) => e.reason === "FailedMount" && /is not bound/.test(e.message));
    const pvc = await api.client.get("v1/persistentvolumeclaims", "default", "data");
    await api.client.create("v1/persistentvolumes", {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: "pv1" },
      spec: {
        capacity: { storage: "1Gi" },
        accessModes: ["ReadWriteOnce"],
        hostPath: { path: pvPath, type: "DirectoryOrCreate" },
        claimRef: { namespace: "default", name: "data", uid: pvc.metadata.uid },
      },
    });
    const bound = await api.client.update("v1/persistentvolumeclaims", { ...pvc, spec: { ...pvc.spec, volumeName: "pv1" } });
    await api.client.updateStatus("v1/persistentvolumeclaims", { ...bound, status: { phase: "Bound" } });
    await vm.setUp(pod);
    assert.ok(statSync(pvPath).isDirectory());
    const mounts = vm.mountsFor(pod, { name: "c", volumeMounts: [{ name: "d", mountPath: "/data" }, { name: "ro", mountPath: "/ro" }, { name: "d", mountPath: "/sub", subPath: "a/b" }] });
    assert.deepEqual(
      mounts.map((m) => [m.hostPath, m.readOnly]),
      [
        [pvPath, false],
        [pvPath, true],
        [join(pvPath, "a/b"), false],
      ],
    );
    assert.ok(statSync(join(pvPath, "a/b")).isDirectory(), "subPath created");
    await vm.tearDown(pod.metadata.uid!);
    assert.ok(existsSync(join(pvPath, "a/b")), "claim data survives the pod");
  });

  it("mountsFor: subPath/subPathExpr rules and missing volumes", async () => {
    const pod = await makePod("sub", [{ name: "w", emptyDir: {} }, { name: "cfg", configMap: { name: "small" } }]);
    await vm.setUp(pod);
    const w = volDir(pod, "kubernetes.io~empty-dir", "w");
    const c = { name: "c", env: [{ name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }, { name: "X", value: "x" }] };
    const [m1, m2] = vm.mountsFor(pod, { ...c, volumeMounts: [{ name: "w", mountPath: "/logs", subPathExpr: "$(POD)/$(X)/$(NOPE)$$" }, { name: "cfg", mountPath: "/etc/a", subPath: "a" }] });
    assert.equal(m1!.hostPath, join(w, "sub/x/$(NOPE)$"));
    assert.equal(m2!.hostPath, join(volDir(pod, "kubernetes.io~configmap", "cfg"), "a"));
    assert.equal(m2!.readOnly, true);
    assert.equal(expandSubPathExpr("$(A)", {}, { env: [{ name: "A", value: "1" }] }), "1");
    assert.throws(() => vm.mountsFor(pod, { name: "c", volumeMounts: [{ name: "w", mountPath: "/x", subPath: "../escape" }] }), /must not contain '\.\.'/);
    assert.throws(() => vm.mountsFor(pod, { name: "c", volumeMounts: [{ name: "w", mountPath: "/x", subPath: "/abs" }] }), /relative/);
    assert.throws(() => vm.mountsFor(pod, { name: "c", volumeMounts: [{ name: "cfg", mountPath: "/x", subPath: "missing" }] }), /does not exist/);
    assert.throws(() => vm.mountsFor(pod, { name: "c", volumeMounts: [{ name: "other", mountPath: "/x" }] }), (e: any) => e.reason === "FailedMount");
    // A symlink planted in a writable volume must not lead outside it.
    execFileSync("ln", ["-s", "/etc", join(w, "evil")]);
    assert.throws(() => vm.mountsFor(pod, { name: "c", volumeMounts: [{ name: "w", mountPath: "/x", subPath: "evil" }] }), /outside the volume/);
  });

  it("an unchanged pod is refreshed at most once per refresh interval", async () => {
    let now = 1_000_000;
    const throttled = new VolumeManager({ client: api.client, dataDir, nodeName: "n1", log: silentLogger, refreshIntervalMs: 5000, now: () => now });
    await api.client.create("v1/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "slow", namespace: "default" }, data: { k: "1" } });
    const pod = await makePod("throttle", [{ name: "c", configMap: { name: "slow" } }]);
    await throttled.setUp(pod);
    const file = join(volDir(pod, "kubernetes.io~configmap", "c"), "k");
    const cm = await api.client.get("v1/configmaps", "default", "slow");
    await api.client.update("v1/configmaps", { ...cm, data: { k: "2" } });
    now += 1000;
    await throttled.setUp(pod);
    assert.equal(read(file), "1");
    now += 5000;
    await throttled.setUp(pod);
    assert.equal(read(file), "2");
    await throttled.tearDown(pod.metadata.uid!);
  });

  it("unsupported volume types fail clearly", async () => {
    const pod = await makePod("nfs", [{ name: "n", nfs: { server: "x", path: "/" } }]);
    await assert.rejects(vm.setUp(pod), (e: any) => e.reason === "FailedMount" && /unsupported volume type/.test(e.message));
  });

  it("podUIDsOnDisk lists volume dirs, not log dirs", async () => {
    mkdirSync(join(dataDir, "pods", "default_x_123"), { recursive: true });
    const on = await vm.podUIDsOnDisk();
    assert.ok(!on.includes("default_x_123"));
    assert.ok(on.length > 0);
  });
});
