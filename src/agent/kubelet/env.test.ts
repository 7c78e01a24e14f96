// Container environment (env.ts): $(VAR) expansion, resourceFieldRef arithmetic, service
// link variables, and resolution of ConfigMaps/Secrets/fieldRefs against a real test API,
// including the kubelet's CreateContainerConfigError messages.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../../apimachinery/types.js";
import { startTestApi } from "../../apiserver/testing.js";
import { ContainerConfigError, containerResourceValue, expandCommand, expandVars, resolveEnv, serviceEnvFor } from "./env.js";

test("$(VAR) expansion: defined, undefined, $$ escape, stray dollars", () => {
  const m = new Map([["A", "1"], ["B", "two"]]);
  const ex = (s: string) => expandVars(s, (n) => m.get(n));
  assert.equal(ex("x$(A)y$(B)"), "x1ytwo");
  assert.equal(ex("$(C)"), "$(C)");
  assert.equal(ex("$$(A)"), "$(A)");
  assert.equal(ex("cost $5 $"), "cost $5 $");
  assert.equal(ex("$(A"), "$(A");
  assert.deepEqual(expandCommand(["echo", "$(A)", "$$HOME"], [{ name: "A", value: "hi" }]), ["echo", "hi", "$HOME"]);
  assert.equal(expandCommand(undefined, []), undefined);
});

test("resourceFieldRef: divisors, rounding up, limits default to node allocatable", () => {
  const alloc = { cpuMillis: 2000, memoryBytes: 8 * 1024 ** 3 };
  const c = { resources: { requests: { cpu: "250m", memory: "64Mi" }, limits: { memory: "128Mi" } } };
  assert.equal(containerResourceValue(c, "requests.cpu", undefined, alloc), "1");
  assert.equal(containerResourceValue(c, "requests.cpu", "1m", alloc), "250");
  assert.equal(containerResourceValue(c, "limits.cpu", undefined, alloc), "2");
  assert.equal(containerResourceValue(c, "limits.memory", "1Mi", alloc), "128");
  assert.equal(containerResourceValue(c, "requests.memory", undefined, alloc), String(64 * 1024 * 1024));
  assert.equal(containerResourceValue({}, "limits.memory", "1Gi", alloc), "8");
  assert.throws(() => containerResourceValue(c, "bogus", undefined, alloc));
});

test("service link variables", () => {
  const env = serviceEnvFor({ apiVersion: "v1", kind: "Service", metadata: { name: "my-db" }, spec: { clusterIP: "10.43.0.7", ports: [{ name: "pg", port: 5432, protocol: "TCP" }] } });
  const m = Object.fromEntries(env.map((e) => [e.name, e.value]));
  assert.equal(m.MY_DB_SERVICE_HOST, "10.43.0.7");
  assert.equal(m.MY_DB_SERVICE_PORT, "5432");
  assert.equal(m.MY_DB_SERVICE_PORT_PG, "5432");
  assert.equal(m.MY_DB_PORT, "tcp://10.43.0.7:5432");
  assert.equal(m.MY_DB_PORT_5432_TCP_ADDR, "10.43.0.7");
  assert.deepEqual(serviceEnvFor({ apiVersion: "v1", kind: "Service", metadata: { name: "h" }, spec: { clusterIP: "None", ports: [{ port: 1 }] } }), []);
});

test("resolveEnv against a real API: ConfigMaps, Secrets, fieldRef, envFrom, optional, errors", async () => {
  const api = await startTestApi();
  try {
    const c = api.client;
    await c.create("v1/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg", namespace: "default" }, data: { color: "blue", "1st": "x", size: "L" } });
    await c.create("v1/secrets", { apiVersion: "v1", kind: "Secret", metadata: { name: "sec", namespace: "default" }, data: { password: Buffer.from("s3cret").toString("base64") } });
    await c.get("v1/services", "default", "kubernetes").catch(() =>
      c.create("v1/services", { apiVersion: "v1", kind: "Service", metadata: { name: "kubernetes", namespace: "default" }, spec: { clusterIP: "10.43.0.1", ports: [{ name: "https", port: 443, protocol: "TCP" }] } }),
    );
    const pod: KObject = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", namespace: "default", uid: "uid-1", labels: { app: "web" }, annotations: { note: "hi" } },
      spec: { nodeName: "n1", serviceAccountName: "default", enableServiceLinks: false, containers: [] },
    };
    const ctx = { client: c, hostIP: "192.0.2.1", podIPs: ["10.42.0.9"], allocatable: { cpuMillis: 2000, memoryBytes: 1 << 30 } };
    const container = {
      name: "main",
      envFrom: [{ configMapRef: { name: "cfg" }, prefix: "CFG_" }, { configMapRef: { name: "cfg" } }, { secretRef: { name: "missing", optional: true } }],
      env: [
        { name: "COLOR", valueFrom: { configMapKeyRef: { name: "cfg", key: "color" } } },
        { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "sec", key: "password" } } },
        { name: "OPT", valueFrom: { secretKeyRef: { name: "sec", key: "nope", optional: true } } },
        { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        { name: "NS", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
        { name: "UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } },
        { name: "APP", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: "NOTE", valueFrom: { fieldRef: { fieldPath: "metadata.annotations['note']" } } },
        { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
        { name: "SA", valueFrom: { fieldRef: { fieldPath: "spec.serviceAccountName" } } },
        { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
        { name: "HOST", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } },
        { name: "MEM", valueFrom: { resourceFieldRef: { resource: "limits.memory", divisor: "1Mi" } } },
        { name: "GREETING", value: "$(COLOR)-$(POD)-$(UNSET)" },
      ],
    };
    const env = Object.fromEntries((await resolveEnv(pod, container, ctx)).map((e) => [e.name, e.value]));
    assert.equal(env.CFG_color, "blue");
    assert.equal(env.CFG_size, "L");
    assert.equal(env["CFG_1st"], "x", "the prefix makes it a valid name");
    assert.equal(env.color, "blue");
    assert.equal("1st" in env, false, "invalid names skipped");
    assert.equal(env.COLOR, "blue");
    assert.equal(env.PASSWORD, "s3cret");
    assert.equal("OPT" in env, false);
    assert.equal(env.POD, "p");
    assert.equal(env.NS, "default");
    assert.equal(env.UID, "uid-1");
    assert.equal(env.APP, "web");
    assert.equal(env.NOTE, "hi");
    assert.equal(env.NODE, "n1");
    assert.equal(env.SA, "default");
    assert.equal(env.IP, "10.42.0.9");
    assert.equal(env.HOST, "192.0.2.1");
    assert.equal(env.MEM, "1024");
    assert.equal(env.GREETING, "blue-p-$(UNSET)");
    // The kubernetes Service's variables are always there.
    assert.equal(env.KUBERNETES_SERVICE_HOST, "10.43.0.1");

    const reject = async (e: any, msg: string) => {
      await assert.rejects(resolveEnv(pod, { name: "x", env: [e] }, ctx), (err: unknown) => err instanceof ContainerConfigError && err.message === msg);
    };
    await reject({ name: "A", valueFrom: { configMapKeyRef: { name: "nope", key: "k" } } }, 'configmap "nope" not found');
    await reject({ name: "A", valueFrom: { configMapKeyRef: { name: "cfg", key: "k" } } }, "couldn't find key k in ConfigMap default/cfg");
    await reject({ name: "A", valueFrom: { secretKeyRef: { name: "nope", key: "k" } } }, 'secret "nope" not found');
    await reject({ name: "A", valueFrom: { secretKeyRef: { name: "sec", key: "k" } } }, "couldn't find key k in Secret default/sec");
    await assert.rejects(resolveEnv(pod, { name: "x", envFrom: [{ secretRef: { name: "nope" } }] }, ctx), /secret "nope" not found/);
  } finally {
    await api.close();
  }
});
