// The `kube-dns` Service in kube-system: the fixed cluster address pods get as their
// nameserver (https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/,
// https://kubernetes.io/docs/tasks/administer-cluster/dns-debugging-resolution/ — the
// Service keeps the historical kube-dns name whatever server implements it). Ports
// dns 53/UDP and dns-tcp 53/TCP go to the in-process DNS server; the Service has no
// selector and the server writes its Endpoints and EndpointSlice itself, pointing at its
// advertise address, like the `kubernetes` Service. Idempotent: runs at every start.

import { AlreadyExists } from "../../apimachinery/errors.js";
import type { Registry } from "../../apiserver/registry.js";
import { ensureServerEndpoints } from "../../apiserver/bootstrap.js";

export interface KubeDNSServiceOptions {
  /** The service address (10.43.0.10 by default, dnsServiceIP()). */
  clusterIP: string;
  /** Where the DNS server is reached: the server's advertise address. */
  address: string;
  /** The DNS server's port (10053 by default). */
  port: number;
}

export const KUBE_DNS_NAMESPACE = "kube-system";
export const KUBE_DNS_NAME = "kube-dns";

export function kubeDNSService(o: KubeDNSServiceOptions): Record<string, any> {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: KUBE_DNS_NAME,
      namespace: KUBE_DNS_NAMESPACE,
      labels: { "k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS" },
    },
    spec: {
      type: "ClusterIP",
      clusterIP: o.clusterIP,
      ports: [
        { name: "dns", port: 53, protocol: "UDP", targetPort: o.port },
        { name: "dns-tcp", port: 53, protocol: "TCP", targetPort: o.port },
      ],
    },
  };
}

/**
 * Creates the Service if missing (its target ports follow a changed DNS port) and points
 * its endpoints at address:port. Errors are returned, not thrown: a cluster whose
 * 10.43.0.10 is already taken by another Service still starts.
 */
export async function ensureKubeDNSService(reg: Registry, o: KubeDNSServiceOptions): Promise<Error | undefined> {
  const def = reg.def("v1/services");
  const want = kubeDNSService(o);
  try {
    try {
      await reg.create(def, KUBE_DNS_NAMESPACE, want, { fieldManager: "tug-bootstrap" });
    } catch (e) {
      if (!(e instanceof AlreadyExists)) throw e;
      const cur = await reg.get(def, KUBE_DNS_NAMESPACE, KUBE_DNS_NAME);
      const ports = (cur.spec?.ports ?? []) as Record<string, unknown>[];
      if (ports.length !== 2 || ports.some((p) => p.targetPort !== o.port)) {
        await reg.update(def, KUBE_DNS_NAMESPACE, KUBE_DNS_NAME, { ...cur, spec: { ...cur.spec, ports: want.spec.ports } }, { fieldManager: "tug-bootstrap" });
      }
    }
    const ports = [
      { name: "dns", port: o.port, protocol: "UDP" },
      { name: "dns-tcp", port: o.port, protocol: "TCP" },
    ];
    await ensureServerEndpoints(reg, KUBE_DNS_NAMESPACE, KUBE_DNS_NAME, o.address, ports);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}
