// End-to-end image pulls from a real OCI registry (issue 4 "Images"; upstream:
// https://kubernetes.io/docs/concepts/containers/images/ — image pull policy, ErrImagePull /
// ImagePullBackOff, imagePullSecrets). Debian's `docker-registry` (distribution 2.8) serves
// on 127.0.0.1:<free port> with htpasswd (bcrypt) auth and storage in a temp dir; the test
// pushes a busybox httpd image to it over the registry HTTP API
// (https://distribution.github.io/distribution/spec/api/: blob upload POST + PUT, manifest
// PUT) and then, with one `tug up` and the real kubectl: a pod without credentials fails
// with ErrImagePull/ImagePullBackOff and a Failed event naming the 401; a
// `kubectl create secret docker-registry` secret in imagePullSecrets gets it Running;
// after the tag is re-pushed with new content, IfNotPresent keeps the cached image (no
// registry request) while Always pulls the new one; Never with a missing image is
// ErrImageNeverPull. containerd 1.6 talks plain HTTP to loopback registries by default.
// Own bridge and pod /24; `tug down`, a leak check, killing the registry and removing
// its temp dir end it. Needs root, containerd, runc, the CNI plugins, busybox-static,
// kubectl and docker-registry (scripts/install-node-deps.sh installs them).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { eventually, freePort, missingKubectl, show, startTug, type Tug } from "./harness.js";
import { getJSON, httpGet, stopAndTearDown } from "./real-node.js";
import { realNodeSkipReason } from "../../src/agent/testing.js";
import { busyboxImage, dockerArchive } from "../../src/agent/images/build.js";

const BRIDGE = "tugrg0";
const POD_CIDR = "10.42.185.0/24";
const NODE = "rg-e2e-node";
const REGISTRY_BIN = "/usr/bin/docker-registry";
const USER = "tug";
const PASS = "s3cret-pull";

/** A bcrypt htpasswd line for USER/PASS from what is available offline, or undefined. */
function htpasswdLine(): string | undefined {
  try {
    return execFileSync("htpasswd", ["-nbB", USER, PASS], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    // not installed
  }
  try {
    // libxcrypt (behind python3's crypt module) supports bcrypt ($2b$).
    const script = "import crypt,sys;print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))";
    const hash = execFileSync("python3", ["-W", "ignore", "-c", script, PASS], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    if (/^\$2[aby]\$/.test(hash)) return `${USER}:${hash}`;
  } catch {
    // no python3 / no bcrypt
  }
  return undefined;
}

const HTPASSWD = htpasswdLine();
const skip =
  realNodeSkipReason() ||
  missingKubectl() ||
  (!existsSync(REGISTRY_BIN) && "docker-registry not installed (scripts/install-node-deps.sh installs it)") ||
  (!HTPASSWD && "no way to make a bcrypt htpasswd entry offline (neither apache2-utils' htpasswd nor python3 crypt with bcrypt)");

const ready = (p: any) => p?.status?.phase === "Running" && (p.status.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True");
const waitingReason = (p: any): string | undefined => p?.status?.containerStatuses?.[0]?.state?.waiting?.reason;

// ---- a minimal registry client: docker-archive → registry (what `skopeo copy` does) ----

/** Files of a ustar archive (regular files only), by path. */
function untar(buf: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (let off = 0; off + 512 <= buf.length; ) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const str = (a: number, n: number) => h.subarray(a, a + n).toString("utf8").replace(/\0.*$/s, "");
    const name = [str(345, 155), str(0, 100)].filter(Boolean).join("/");
    const size = parseInt(str(124, 12).trim() || "0", 8);
    if (str(156, 1) === "0" || str(156, 1) === "") files.set(name, buf.subarray(off + 512, off + 512 + size));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

function call(port: number, method: string, path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, any>; body: string }> {
  return new Promise((resolve, reject) => {
    const auth = `Basic ${Buffer.from(`${USER}:${PASS}`).toString("base64")}`;
    const req = request({ host: "127.0.0.1", port, method, path, agent: false, timeout: 10_000, headers: { authorization: auth, ...(body ? { "content-length": String(body.length) } : {}), ...headers } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on("error", reject);
    req.end(body);
  });
}

const digestOf = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

async function pushBlob(port: number, repo: string, blob: Buffer): Promise<string> {
  const digest = digestOf(blob);
  if ((await call(port, "HEAD", `/v2/${repo}/blobs/${digest}`)).status === 200) return digest;
  const start = await call(port, "POST", `/v2/${repo}/blobs/uploads/`);
  assert.equal(start.status, 202, `start upload: ${start.status} ${start.body}`);
  const loc = new URL(String(start.headers.location), `http://127.0.0.1:${port}`);
  loc.searchParams.set("digest", digest);
  const put = await call(port, "PUT", `${loc.pathname}${loc.search}`, blob, { "content-type": "application/octet-stream" });
  assert.equal(put.status, 201, `finish upload: ${put.status} ${put.body}`);
  return digest;
}

/** Pushes a single-layer busybox image serving `index` from /www as REPO:TAG (gzip layer, Docker schema 2 manifest). */
async function pushImage(port: number, repo: string, tag: string, index: string): Promise<string> {
  const def = busyboxImage();
  def.name = `${repo}:${tag}`;
  def.entries = def.entries.map((e) => (e.type === "file" && e.path === "www/index.html" ? { ...e, data: Buffer.from(index) } : e));
  const files = untar(dockerArchive(def).archive);
  const [m] = JSON.parse(files.get("manifest.json")!.toString("utf8"));
  const config = files.get(m.Config)!;
  const layer = gzipSync(files.get(m.Layers[0])!);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.docker.distribution.manifest.v2+json",
    config: { mediaType: "application/vnd.docker.container.image.v1+json", size: config.length, digest: await pushBlob(port, repo, config) },
    layers: [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", size: layer.length, digest: await pushBlob(port, repo, layer) }],
  }));
  const put = await call(port, "PUT", `/v2/${repo}/manifests/${tag}`, manifest, { "content-type": "application/vnd.docker.distribution.manifest.v2+json" });
  assert.equal(put.status, 201, `manifest PUT: ${put.status} ${put.body}`);
  return digestOf(manifest);
}

describe("real node: pulling from a docker-registry on 127.0.0.1 with imagePullSecrets and pull policies", { skip, timeout: 300_000 }, () => {
  let tug: Tug;
  let registry: ChildProcess | undefined;
  let regDir = "";
  let port = 0;
  let image = "";
  let firstDigest = "";
  const podUIDs = new Set<string>();

  const kc = async (args: string[], stdin?: string): Promise<string> => {
    const r = await tug.kubectl(args, stdin === undefined ? undefined : { stdin });
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}\n${show(r)}`);
    return r.stdout;
  };
  const registryLog = () => readFileSync(join(regDir, "registry.log"), "utf8");
  /** Registry access-log lines resolving TAG of demo/web (containerd resolves with HEAD, then GETs by digest). */
  const manifestGets = (tag: string) => registryLog().split("\n").filter((l) => new RegExp(`"(GET|HEAD) /v2/demo/web/manifests/${tag} HTTP/[0-9.]+" 200 `).test(l)).length;
  const podYaml = (name: string, img: string, policy: string, secret = false) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  terminationGracePeriodSeconds: 0
${secret ? "  imagePullSecrets: [{name: regcred}]\n" : ""}  containers:
  - name: web
    image: ${img}
    imagePullPolicy: ${policy}
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
`;
  const create = async (yaml: string, name: string) => {
    await kc(["apply", "-f", "-"], yaml);
    podUIDs.add((await getJSON(tug, ["get", "pod", name])).metadata.uid);
  };
  const runningBody = async (name: string) => {
    const p = await eventually(async () => {
      const p = await getJSON(tug, ["get", "pod", name]);
      return ready(p) && p;
    }, 60_000, 500, `${name} Ready`).catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${(await tug.kubectl(["describe", "pod", name])).stdout}`);
    });
    const r = await eventually(() => httpGet(`http://${p.status.podIP}:8080/`).catch(() => undefined), 10_000, 250, `HTTP from ${name}`);
    return { pod: p, body: r.body };
  };

  before(async () => {
    regDir = mkdtempSync(join(tmpdir(), "tug-rg-registry-"));
    port = await freePort();
    image = `127.0.0.1:${port}/demo/web:1`;
    writeFileSync(join(regDir, "htpasswd"), `${HTPASSWD}\n`);
    writeFileSync(join(regDir, "config.yml"), `version: 0.1
log:
  level: info
  accesslog: {disabled: false}
storage:
  filesystem: {rootdirectory: ${join(regDir, "data")}}
  delete: {enabled: true}
http:
  addr: 127.0.0.1:${port}
  secret: tugboat-e2e-only
auth:
  htpasswd:
    realm: tugboat-e2e
    path: ${join(regDir, "htpasswd")}
`);
    const fd = openSync(join(regDir, "registry.log"), "a");
    registry = spawn(REGISTRY_BIN, ["serve", join(regDir, "config.yml")], { stdio: ["ignore", fd, fd] });
    closeSync(fd);
    process.once("exit", () => registry?.exitCode === null && registry.kill("SIGKILL"));
    await eventually(async () => (await call(port, "GET", "/v2/").catch(() => ({ status: 0 }))).status === 200, 20_000, 100, `registry on 127.0.0.1:${port}\n${registryLog()}`);
    firstDigest = await pushImage(port, "demo/web", "1", "from-registry-v1");

    tug = await startTug({
      command: "up",
      args: ["--node-name", NODE, "--pod-cidr", POD_CIDR, "--cni-bridge", BRIDGE, "--kubelet-port", "0", "--no-install", "--no-demo"],
      readyTimeoutMs: 90_000,
    });
    await eventually(async () => (await tug.kubectl(["get", "node", NODE, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}"])).stdout === "True", 90_000, 500, "node Ready");
    await eventually(async () => (await tug.kubectl(["get", "serviceaccount", "default"])).code === 0, 30_000, 250, "default ServiceAccount");
  });

  after(async () => {
    try {
      if (tug) assert.deepEqual(await stopAndTearDown(tug, BRIDGE, podUIDs), [], "tug down left things behind");
    } finally {
      if (registry?.pid !== undefined && registry.exitCode === null) {
        const exited = new Promise((r) => registry!.once("exit", r));
        process.kill(registry.pid, "SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (registry.exitCode === null && registry.signalCode === null) process.kill(registry.pid, "SIGKILL");
      }
      // The registry's access log is the first thing to read when a pull fails.
      if (process.env.TUG_SHOW_REGISTRY_LOG && regDir) console.log(registryLog());
      if (regDir) rmSync(regDir, { recursive: true, force: true });
    }
  });

  test("without credentials the pull fails: ErrImagePull/ImagePullBackOff and a Failed event naming the 401", async () => {
    await create(podYaml("noauth", image, "IfNotPresent"), "noauth");
    const row = await eventually(async () => {
      const out = await kc(["get", "pod", "noauth", "--no-headers"]);
      return /^noauth\s+0\/1\s+(ErrImagePull|ImagePullBackOff)\s/.test(out) && out;
    }, 60_000, 500, "STATUS ErrImagePull or ImagePullBackOff");
    console.log(`no credentials: ${row.trim()}`);
    const desc = await eventually(async () => {
      const d = await kc(["describe", "pod", "noauth"]);
      return /Failed\s+.*Failed to pull image/.test(d) && d;
    }, 30_000, 500, "a Failed event");
    assert.match(desc, new RegExp(`Failed to pull image "${image.replace(/[.]/g, "\\.")}":.*(401 Unauthorized|authoriz)`, "i"));
    assert.match(desc, /Pulling\s+.*Pulling image/);
    // The back-off follows: the waiting reason becomes ImagePullBackOff between attempts.
    await eventually(async () => waitingReason(await getJSON(tug, ["get", "pod", "noauth"])) === "ImagePullBackOff", 30_000, 500, "ImagePullBackOff");
  });

  test("kubectl create secret docker-registry + imagePullSecrets: the pod pulls and runs", async () => {
    await kc(["create", "secret", "docker-registry", "regcred", `--docker-server=127.0.0.1:${port}`, `--docker-username=${USER}`, `--docker-password=${PASS}`]);
    await create(podYaml("authed", image, "IfNotPresent", true), "authed");
    const { pod, body } = await runningBody("authed");
    assert.equal(body, "from-registry-v1");
    assert.ok(pod.status.podIP.startsWith("10.42.185."), pod.status.podIP);
    const cs = pod.status.containerStatuses[0];
    assert.equal(cs.imageID, `127.0.0.1:${port}/demo/web@${firstDigest}`);
    const ev = await kc(["get", "events", "--field-selector", "involvedObject.name=authed"]);
    assert.match(ev, /Successfully pulled image/);
  });

  test("after the tag moves, IfNotPresent keeps the cached image and Always pulls the new one", async () => {
    const newDigest = await pushImage(port, "demo/web", "1", "from-registry-v2");
    assert.notEqual(newDigest, firstDigest);
    const before = manifestGets("1");
    await create(podYaml("cached", image, "IfNotPresent", true), "cached");
    const cached = await runningBody("cached");
    assert.equal(cached.body, "from-registry-v1", "IfNotPresent used the image already on the node");
    assert.equal(manifestGets("1"), before, "IfNotPresent made no manifest request");
    const cachedEv = await kc(["get", "events", "--field-selector", "involvedObject.name=cached"]);
    assert.match(cachedEv, /already present on machine/);

    await create(podYaml("fresh", image, "Always", true), "fresh");
    const fresh = await runningBody("fresh");
    assert.equal(fresh.body, "from-registry-v2", "Always pulled the moved tag");
    assert.ok(manifestGets("1") > before, "Always fetched the manifest again");
    assert.equal(fresh.pod.status.containerStatuses[0].imageID, `127.0.0.1:${port}/demo/web@${newDigest}`);
    console.log(`registry manifest GETs for tag 1: ${before} before, ${manifestGets("1")} after the Always pull`);
  });

  test("imagePullPolicy Never with an image not on the node is ErrImageNeverPull", async () => {
    const missing = `127.0.0.1:${port}/demo/missing:1`;
    await create(podYaml("never", missing, "Never", true), "never");
    const row = await eventually(async () => {
      const out = await kc(["get", "pod", "never", "--no-headers"]);
      return /^never\s+0\/1\s+ErrImageNeverPull\s/.test(out) && out;
    }, 60_000, 500, "STATUS ErrImageNeverPull");
    assert.ok(row);
    const desc = await kc(["describe", "pod", "never"]);
    assert.match(desc, new RegExp(`Container image "${missing.replace(/[.]/g, "\\.")}" is not present with pull policy of Never`));
    assert.doesNotMatch(registryLog(), /demo\/missing/, "Never does not contact the registry");
  });
});
