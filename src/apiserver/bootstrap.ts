// Objects every cluster has from the start (https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/#initial-namespaces):
// the namespaces default, kube-system, kube-public and kube-node-lease. Idempotent:
// runs at every server start and creates only what is missing.

import { AlreadyExists } from "../apimachinery/errors.js";
import type { Registry } from "./registry.js";
import { systemNamespaces } from "./admission.js";

export interface BootstrapOptions {
  /** Where pods reach the API server: the `kubernetes` Service's endpoint. */
  apiServer?: { host: string; port: number };
}

async function ensure(reg: Registry, gvr: string, namespace: string | undefined, obj: Record<string, unknown>): Promise<void> {
  try {
    await reg.create(reg.def(gvr), namespace, obj, { fieldManager: "tug-bootstrap" });
  } catch (e) {
    if (!(e instanceof AlreadyExists)) throw e;
  }
}

export async function bootstrapCluster(reg: Registry, opts: BootstrapOptions = {}): Promise<void> {
  const nsDef = reg.def("v1/namespaces");
  for (const name of systemNamespaces) {
    try {
      await reg.create(nsDef, undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name } }, { fieldManager: "tug-bootstrap" });
    } catch (e) {
      if (!(e instanceof AlreadyExists)) throw e;
    }
  }
  // The default IngressClass of the built-in ingress controller.
  await ensure(reg, "networking.k8s.io/v1/ingressclasses", undefined, {
    apiVersion: "networking.k8s.io/v1",
    kind: "IngressClass",
    metadata: { name: "tugboat", annotations: { "ingressclass.kubernetes.io/is-default-class": "true" } },
    spec: { controller: "tugboat.dev/ingress" },
  });
  if (opts.apiServer) {
    // `kubernetes.default` takes the first service address and points at the API server.
    await ensure(reg, "v1/services", "default", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "kubernetes", namespace: "default", labels: { component: "apiserver", provider: "kubernetes" } },
      spec: { type: "ClusterIP", ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: opts.apiServer.port }] },
    });
    const ep = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "kubernetes", namespace: "default", labels: { "endpointslice.kubernetes.io/skip-mirror": "true" } },
      subsets: [{ addresses: [{ ip: opts.apiServer.host }], ports: [{ name: "https", port: opts.apiServer.port, protocol: "TCP" }] }],
    };
    const def = reg.def("v1/endpoints");
    try {
      const cur = await reg.get(def, "default", "kubernetes");
      await reg.update(def, "default", "kubernetes", { ...ep, metadata: { ...ep.metadata, resourceVersion: cur.metadata.resourceVersion } }, { fieldManager: "tug-bootstrap" });
    } catch {
      await ensure(reg, "v1/endpoints", "default", ep);
    }
  }
}
