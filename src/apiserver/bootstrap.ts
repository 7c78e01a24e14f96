// Objects every cluster has from the start (https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/#initial-namespaces):
// the namespaces default, kube-system, kube-public and kube-node-lease. Idempotent:
// runs at every server start and creates only what is missing.

import { AlreadyExists } from "../apimachinery/errors.js";
import type { Registry } from "./registry.js";
import { systemNamespaces } from "./admission.js";
import { LOCAL_PATH_STORAGE_CLASS, STORAGE_CLASSES } from "../api/storage.js";

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
  // The default StorageClass, served by the agents' local-path provisioner.
  await ensure(reg, STORAGE_CLASSES, undefined, structuredClone(LOCAL_PATH_STORAGE_CLASS));
  if (opts.apiServer) {
    // `kubernetes.default` takes the first service address and points at the API server.
    await ensure(reg, "v1/services", "default", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "kubernetes", namespace: "default", labels: { component: "apiserver", provider: "kubernetes" } },
      spec: { type: "ClusterIP", ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: opts.apiServer.port }] },
    });
    await ensureServerEndpoints(reg, "default", "kubernetes", opts.apiServer.host, [{ name: "https", port: opts.apiServer.port, protocol: "TCP" }]);
  }
}

/** Who writes the Endpoints/EndpointSlices of Services the server itself backs. */
export const SERVER_ENDPOINTS_MANAGER = "tugboat-server";

/**
 * The Endpoints and the EndpointSlice (both named after the Service) of a selector-less
 * Service the server itself backs — `kubernetes` (the API) and `kube-dns` (the cluster DNS
 * server) — pointing at this server's address. Rewritten at every start, only when they
 * differ, so a changed advertise address or port takes effect. The endpoints and
 * endpointslice controllers leave selector-less Services alone.
 */
export async function ensureServerEndpoints(reg: Registry, namespace: string, name: string, ip: string, ports: { name: string; port: number; protocol: string }[]): Promise<void> {
  const ep = {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name, namespace, labels: { "endpointslice.kubernetes.io/skip-mirror": "true" } },
    subsets: [{ addresses: [{ ip }], ports }],
  };
  const slice = {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name, namespace, labels: { "kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": SERVER_ENDPOINTS_MANAGER } },
    addressType: ip.includes(":") ? "IPv6" : "IPv4",
    endpoints: [{ addresses: [ip], conditions: { ready: true, serving: true, terminating: false } }],
    ports,
  };
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  // EndpointSlice validation refuses loopback addresses (a server advertising 127.0.0.1,
  // e.g. on a host without another address): then only the Endpoints are written.
  const loopback = /^127\./.test(ip) || ip === "::1";
  const objects = [
    ["v1/endpoints", ep, ["subsets"]],
    ["discovery.k8s.io/v1/endpointslices", slice, ["addressType", "endpoints", "ports"]],
  ] as const;
  for (const [gvr, want, fields] of loopback ? objects.slice(0, 1) : objects) {
    const def = reg.def(gvr);
    let cur: Record<string, any> | undefined;
    try {
      cur = await reg.get(def, namespace, name);
    } catch {
      cur = undefined;
    }
    if (!cur) {
      await ensure(reg, gvr, namespace, want);
      continue;
    }
    if (fields.every((f) => same(cur![f], (want as Record<string, unknown>)[f])) && same(cur.metadata?.labels ?? {}, want.metadata.labels)) continue;
    await reg.update(def, namespace, name, { ...want, metadata: { ...want.metadata, resourceVersion: cur.metadata.resourceVersion } }, { fieldManager: "tug-bootstrap" });
  }
}
