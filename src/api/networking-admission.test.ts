import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestApi } from "../apiserver/testing.js";

const ingress = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "Ingress",
  metadata: { name, namespace: "default", ...extra },
  spec: { defaultBackend: { service: { name: "web", port: { number: 80 } } } },
});

test("DefaultIngressClass: a class-less Ingress gets the default IngressClass (tugboat)", async () => {
  const api = await startTestApi();
  try {
    const plain = await api.client.create("networking.k8s.io/v1/ingresses", ingress("plain"));
    assert.equal(plain.spec.ingressClassName, "tugboat");
    const legacy = await api.client.create("networking.k8s.io/v1/ingresses", ingress("legacy", { annotations: { "kubernetes.io/ingress.class": "other" } }));
    assert.equal(legacy.spec.ingressClassName, undefined, "the legacy annotation chooses the class");
    const explicit = await api.client.create("networking.k8s.io/v1/ingresses", { ...ingress("explicit"), spec: { ...ingress("x").spec, ingressClassName: "other" } });
    assert.equal(explicit.spec.ingressClassName, "other");
    // Updates never change the class.
    const upd = await api.client.update("networking.k8s.io/v1/ingresses", { ...legacy, metadata: { ...legacy.metadata, labels: { a: "b" } } });
    assert.equal(upd.spec.ingressClassName, undefined);
  } finally {
    await api.close();
  }
});
