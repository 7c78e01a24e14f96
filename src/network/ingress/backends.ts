// Ingress backends to endpoints: an Ingress names a Service and a service port (by
// number or name, https://kubernetes.io/docs/reference/kubernetes-api/service-resources/ingress-v1/#IngressBackend);
// the proxy goes to the Service's ready endpoints directly (as ingress-nginx does, not
// through the ClusterIP), taking each endpoint's port from the EndpointSlice port of the
// same name (https://kubernetes.io/docs/concepts/services-networking/endpoint-slices/), i.e.
// the resolved targetPort. Endpoints whose ready condition is false are skipped (nil
// counts as ready). ExternalName Services go to their external name at the port asked.
// The Balancer hands out targets round-robin per backend.

import type { KObject } from "../../apimachinery/types.js";
import type { Backend } from "./rules.js";

export interface BackendView {
  service(namespace: string, name: string): KObject | undefined;
  slicesFor(namespace: string, serviceName: string): KObject[];
}

export interface Target {
  host: string;
  port: number;
}

export type ResolvedBackend = { ok: true; key: string; targets: Target[] } | { ok: false; reason: string };

/** The Service port an Ingress backend refers to. */
function servicePort(svc: KObject, port: { number?: number; name?: string }): Record<string, any> | undefined {
  const ports: Record<string, any>[] = Array.isArray(svc.spec?.ports) ? svc.spec.ports : [];
  const tcp = ports.filter((p) => (p?.protocol ?? "TCP") === "TCP");
  if (port.name) return tcp.find((p) => p.name === port.name);
  if (port.number !== undefined) return tcp.find((p) => p.port === port.number);
  return tcp.length === 1 ? tcp[0] : undefined;
}

export function resolveBackend(view: BackendView, backend: Backend): ResolvedBackend {
  if (!backend.service) return { ok: false, reason: `resource backends are not supported (${backend.resource?.kind ?? "?"}/${backend.resource?.name ?? "?"})` };
  const { name, port } = backend.service;
  const key = `${backend.namespace}/${name}:${port.name ?? port.number ?? ""}`;
  const svc = view.service(backend.namespace, name);
  if (!svc) return { ok: false, reason: `service ${backend.namespace}/${name} not found` };
  if (svc.spec?.type === "ExternalName") {
    const host = String(svc.spec.externalName ?? "");
    const p = port.number ?? servicePort(svc, port)?.port;
    if (!host || !p) return { ok: false, reason: `service ${backend.namespace}/${name} has no usable external name or port` };
    return { ok: true, key, targets: [{ host, port: p }] };
  }
  const sp = servicePort(svc, port);
  if (!sp) return { ok: false, reason: `service ${backend.namespace}/${name} has no TCP port ${port.name ?? port.number}` };
  const portName = typeof sp.name === "string" ? sp.name : "";
  const targets: Target[] = [];
  const seen = new Set<string>();
  for (const slice of view.slicesFor(backend.namespace, name)) {
    if (slice.addressType !== "IPv4" && slice.addressType !== "IPv6") continue;
    const slicePorts: Record<string, any>[] = Array.isArray(slice.ports) ? slice.ports : [];
    const p = slicePorts.find((x) => (x?.name ?? "") === portName && (x?.protocol ?? "TCP") === "TCP") ?? (slicePorts.length === 1 && (svc.spec?.ports ?? []).length === 1 ? slicePorts[0] : undefined);
    if (!p || typeof p.port !== "number") continue;
    for (const ep of Array.isArray(slice.endpoints) ? slice.endpoints : []) {
      if (ep?.conditions?.ready === false) continue;
      // Addresses of one endpoint are fungible: the first is enough.
      const ip = Array.isArray(ep?.addresses) ? ep.addresses[0] : undefined;
      if (typeof ip !== "string") continue;
      const id = `${ip}:${p.port}`;
      if (seen.has(id)) continue;
      seen.add(id);
      targets.push({ host: ip, port: p.port });
    }
  }
  if (!targets.length) return { ok: false, reason: `service ${backend.namespace}/${name} has no ready endpoints` };
  return { ok: true, key, targets };
}

/** Round-robin order per backend: each call starts one further along. */
export class Balancer {
  private next = new Map<string, number>();

  order(key: string, targets: Target[]): Target[] {
    if (targets.length <= 1) return targets;
    const i = (this.next.get(key) ?? 0) % targets.length;
    this.next.set(key, i + 1);
    return [...targets.slice(i), ...targets.slice(0, i)];
  }
}
