// imagePullSecrets (pullsecrets.ts): registry host of image references and the matching
// credentials from a dockerconfigjson Secret in a real test API.

import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestApi } from "../../apiserver/testing.js";
import { imagePullAuth, registryHost } from "./pullsecrets.js";

test("registry host of image references", () => {
  assert.equal(registryHost("busybox"), "docker.io");
  assert.equal(registryHost("library/busybox:1"), "docker.io");
  assert.equal(registryHost("localhost:5000/x/y:1"), "localhost:5000");
  assert.equal(registryHost("registry.example.com/app@sha256:abc"), "registry.example.com");
  assert.equal(registryHost("localhost/app"), "localhost");
});

test("imagePullSecrets give the matching registry's credentials", async () => {
  const api = await startTestApi();
  try {
    const cfg = { auths: { "http://localhost:5000": { username: "u", password: "p", auth: Buffer.from("u:p").toString("base64") }, "https://index.docker.io/v1/": { auth: "aHViOmh1Yg==" } } };
    await api.client.create("v1/secrets", {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "regcred", namespace: "default" },
      type: "kubernetes.io/dockerconfigjson",
      data: { ".dockerconfigjson": Buffer.from(JSON.stringify(cfg)).toString("base64") },
    });
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "default" }, spec: { imagePullSecrets: [{ name: "absent" }, { name: "regcred" }], containers: [] } };
    assert.deepEqual(await imagePullAuth(api.client, pod, "localhost:5000/app:1"), { serverAddress: "http://localhost:5000", username: "u", password: "p", auth: Buffer.from("u:p").toString("base64") });
    const hub = await imagePullAuth(api.client, pod, "docker.io/library/busybox:1");
    assert.equal(hub?.auth, "aHViOmh1Yg==");
    assert.equal(hub?.serverAddress, undefined, "containerd pulls Docker Hub from registry-1.docker.io: no index.docker.io serverAddress");
    assert.equal(await imagePullAuth(api.client, pod, "quay.io/x/y"), undefined);
    // A bare host:port key (kubectl create secret docker-registry --docker-server=HOST:PORT) gets a scheme containerd can parse.
    const bare = { auths: { "127.0.0.1:5000": { username: "b", password: "q" } } };
    await api.client.create("v1/secrets", {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "bare", namespace: "default" },
      type: "kubernetes.io/dockerconfigjson",
      data: { ".dockerconfigjson": Buffer.from(JSON.stringify(bare)).toString("base64") },
    });
    assert.deepEqual(await imagePullAuth(api.client, { ...pod, spec: { imagePullSecrets: [{ name: "bare" }], containers: [] } }, "127.0.0.1:5000/app:1"), { serverAddress: "https://127.0.0.1:5000", username: "b", password: "q" });
    assert.equal(await imagePullAuth(api.client, { ...pod, spec: { containers: [] } }, "localhost:5000/app:1"), undefined);
  } finally {
    await api.close();
  }
});
