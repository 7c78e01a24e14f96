// Container runtime configuration (containerconfig.ts): CPU shares/quota, memory limit,
// oom_score_adj per QoS class, the security context with pod defaults, and runAsNonRoot
// against explicit and image users.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../../apimachinery/types.js";
import { containerResources, containerSecurity, DEFAULT_MASKED_PATHS, milliCPUToQuota, milliCPUToShares, verifyRunAsNonRoot } from "./containerconfig.js";
import { ContainerConfigError } from "./env.js";
import type { ImageInfo } from "../runtime/types.js";

const GiB = 1024 ** 3;
const pod = (containers: any[], securityContext: any = {}): KObject => ({ apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "ns", uid: "u" }, spec: { containers, securityContext } });

test("CPU shares and quota", () => {
  assert.equal(milliCPUToShares(0), 2);
  assert.equal(milliCPUToShares(1), 2);
  assert.equal(milliCPUToShares(250), 256);
  assert.equal(milliCPUToShares(2000), 2048);
  assert.equal(milliCPUToQuota(500), 50_000);
  assert.equal(milliCPUToQuota(1), 1000, "minimum quota");
});

test("resources → linux resources with oom_score_adj per QoS class", () => {
  const g = { name: "g", resources: { requests: { cpu: "500m", memory: "64Mi" }, limits: { cpu: "500m", memory: "64Mi" } } };
  const r = containerResources(pod([g]), g, 4 * GiB);
  assert.equal(r.cpuShares, 512);
  assert.equal(r.cpuQuota, 50_000);
  assert.equal(r.cpuPeriod, 100_000);
  assert.equal(r.memoryLimitBytes, 64 * 1024 * 1024);
  assert.equal(r.oomScoreAdj, -997);
  const be = { name: "b" };
  const rb = containerResources(pod([be]), be, 4 * GiB);
  assert.deepEqual({ s: rb.cpuShares, q: rb.cpuQuota, m: rb.memoryLimitBytes, o: rb.oomScoreAdj }, { s: 2, q: undefined, m: undefined, o: 1000 });
  const bu = { name: "u", resources: { requests: { memory: "1Gi" }, limits: { cpu: "2" } } };
  const ru = containerResources(pod([bu]), bu, 4 * GiB);
  assert.equal(ru.oomScoreAdj, 750);
  assert.equal(ru.cpuShares, 2048, "no cpu request: shares from the limit");
});

test("security context: pod defaults, capabilities, privilege escalation, masked paths", () => {
  const c = { name: "c", securityContext: { runAsUser: 1001, capabilities: { add: ["NET_ADMIN"], drop: ["all"] }, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true } };
  const p = pod([c], { runAsUser: 1000, runAsGroup: 2000, fsGroup: 3000, supplementalGroups: [4000] });
  const sc = containerSecurity(p, c);
  assert.equal(sc.runAsUser, 1001);
  assert.equal(sc.runAsGroup, 2000);
  assert.deepEqual(sc.supplementalGroups, [4000, 3000]);
  assert.deepEqual(sc.capabilities, { add: ["NET_ADMIN"], drop: ["ALL"] });
  assert.equal(sc.noNewPrivs, true);
  assert.equal(sc.readOnlyRootFilesystem, true);
  assert.deepEqual(sc.maskedPaths, DEFAULT_MASKED_PATHS);
  const priv = containerSecurity(p, { name: "p", securityContext: { privileged: true } });
  assert.equal(priv.privileged, true);
  assert.equal(priv.maskedPaths, undefined);
  assert.equal(priv.noNewPrivs, false);
});

test("runAsNonRoot checks explicit and image users", () => {
  const img = (x: Partial<ImageInfo>): ImageInfo => ({ id: "sha256:1", repoTags: [], repoDigests: [], size: 1, pinned: false, ...x });
  const c = { name: "c" };
  const p = pod([c], { runAsNonRoot: true });
  assert.throws(() => verifyRunAsNonRoot(p, c, img({})), (e: unknown) => e instanceof ContainerConfigError && /image will run as root \(pod: "p_ns\(u\)", container: c\)/.test(e.message));
  assert.throws(() => verifyRunAsNonRoot(p, c, img({ uid: 0 })), /image will run as root/);
  assert.throws(() => verifyRunAsNonRoot(p, c, img({ username: "app" })), /non-numeric user \(app\)/);
  verifyRunAsNonRoot(p, c, img({ uid: 1000 }));
  verifyRunAsNonRoot(pod([c], { runAsNonRoot: true, runAsUser: 5 }), c, img({}));
  assert.throws(() => verifyRunAsNonRoot(pod([c], { runAsNonRoot: true, runAsUser: 0 }), c, img({ uid: 1 })), /runAsUser breaks non-root policy/);
  verifyRunAsNonRoot(pod([c]), c, img({ uid: 0 }));
});
