// The core/v1 Service and Endpoints resources: service defaults (type, affinity, protocol,
// targetPort, traffic policies, IP families), validation (ports, type, clusterIP
// immutability), the `kubectl get svc|ep` tables
// (https://kubernetes.io/docs/reference/kubernetes-api/service-resources/service-v1/,
// https://kubernetes.io/docs/concepts/services-networking/service/). ClusterIP and NodePort
// allocation happen in the server; prepareForUpdate only carries allocated values over
// when an update omits them, as upstream's patchAllocatedValues does.

import { isIP } from "node:net";
import { fieldError, type StatusCause } from "../apimachinery/errors.js";
import type { KObject } from "../apimachinery/types.js";
import { validatePortOrName } from "./core-podspec.js";
import { ageColumn, ageSince, column, formatLabels, list, obj, str } from "./table.js";
import type { ResourceDef, ValidationContext } from "./types.js";
import {
  asArray, asInt, asObject, asString, invalidEach, isDNS1035Label, isDNS1123Label, isDNS1123Subdomain,
  isPlainObject, isValidIP, isValidPortNum, objectItems, validateEnum, validateLabels, validateObjectMeta,
  validateObjectMetaUpdate, type JSONObject,
} from "./validation.js";

const SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
const PROTOCOLS = ["SCTP", "TCP", "UDP"];

function externallyAccessible(spec: JSONObject): boolean {
  return spec.type === "LoadBalancer" || spec.type === "NodePort" || (spec.type === "ClusterIP" && list(spec.externalIPs).length > 0);
}

export function defaultService(svc: KObject): void {
  if (!isPlainObject(svc.spec)) svc.spec = svc.spec ?? {};
  const spec = svc.spec;
  if (!isPlainObject(spec)) return;
  if (!spec.sessionAffinity) spec.sessionAffinity = "None";
  if (spec.sessionAffinity === "None") delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === "ClientIP" && typeof obj(obj(spec.sessionAffinityConfig).clientIP).timeoutSeconds !== "number") {
    spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
  }
  if (!spec.type) spec.type = "ClusterIP";
  for (const p of Array.isArray(spec.ports) ? spec.ports : []) {
    if (!isPlainObject(p)) continue;
    if (!p.protocol) p.protocol = "TCP";
    if (p.targetPort === undefined || p.targetPort === null || p.targetPort === 0 || p.targetPort === "") p.targetPort = p.port;
  }
  if (externallyAccessible(spec) && !spec.externalTrafficPolicy) spec.externalTrafficPolicy = "Cluster";
  if (spec.internalTrafficPolicy == null && spec.type !== "ExternalName") spec.internalTrafficPolicy = "Cluster";
  if (spec.type === "LoadBalancer" && spec.allocateLoadBalancerNodePorts == null) spec.allocateLoadBalancerNodePorts = true;
  if (spec.type !== "ExternalName") {
    // clusterIP and clusterIPs[0] are one value written two ways; keep them in step.
    if (typeof spec.clusterIP === "string" && spec.clusterIP && !Array.isArray(spec.clusterIPs)) spec.clusterIPs = [spec.clusterIP];
    if (!spec.clusterIP && Array.isArray(spec.clusterIPs) && typeof spec.clusterIPs[0] === "string") spec.clusterIP = spec.clusterIPs[0];
    spec.ipFamilyPolicy ??= "SingleStack";
    if (!Array.isArray(spec.ipFamilies) || spec.ipFamilies.length === 0) {
      const ip = typeof spec.clusterIP === "string" ? spec.clusterIP : "";
      spec.ipFamilies = [isIP(ip) === 6 ? "IPv6" : "IPv4"];
    }
  }
}

function validateServiceSpec(svc: KObject): StatusCause[] {
  const errs: StatusCause[] = [];
  const spec = asObject(svc.spec, "spec", errs);
  if (!spec) return svc.spec == null ? [fieldError.required("spec")] : errs;
  const type = spec.type;
  errs.push(...validateEnum(type, SERVICE_TYPES, "spec.type"));
  const clusterIP = asString(spec.clusterIP, "spec.clusterIP", errs) ?? "";
  const headless = clusterIP === "None";
  const ports = objectItems(spec.ports, "spec.ports", errs);
  if (ports.length === 0 && !headless && type !== "ExternalName" && !(spec.ports != null && !Array.isArray(spec.ports))) {
    errs.push(fieldError.required("spec.ports"));
  }
  if (type === "ExternalName") {
    if (clusterIP) errs.push(fieldError.forbidden("spec.clusterIP", "may not be set for ExternalName services"));
    const en = asString(spec.externalName, "spec.externalName", errs);
    if (!spec.externalName) errs.push(fieldError.required("spec.externalName"));
    else if (en !== undefined) errs.push(...invalidEach(en, isDNS1123Subdomain(en.replace(/\.$/, "")), "spec.externalName"));
  } else {
    if (clusterIP && !headless) errs.push(...invalidEach(clusterIP, isValidIP(clusterIP), "spec.clusterIP"));
    const ips = asArray(spec.clusterIPs, "spec.clusterIPs", errs);
    if (ips && ips.length && clusterIP && ips[0] !== clusterIP) errs.push(fieldError.invalid("spec.clusterIPs", ips, "first value must match `clusterIP`"));
    ips?.forEach((ip, i) => {
      if (typeof ip !== "string") errs.push(fieldError.typeInvalid(`spec.clusterIPs[${i}]`, ip, "must be of type string"));
      else if (ip !== "None" && ip !== "") errs.push(...invalidEach(ip, isValidIP(ip), `spec.clusterIPs[${i}]`));
    });
  }
  const names = new Set<string>();
  const seen = new Set<string>();
  const nodePorts = new Set<string>();
  for (const [p, pp] of ports) {
    const name = asString(p.name, `${pp}.name`, errs);
    if (ports.length > 1 && !p.name) errs.push(fieldError.required(`${pp}.name`));
    else if (name) {
      errs.push(...invalidEach(name, isDNS1123Label(name), `${pp}.name`));
      if (names.has(name)) errs.push(fieldError.duplicate(`${pp}.name`, name));
      names.add(name);
    }
    const port = asInt(p.port, `${pp}.port`, errs);
    if (p.port === undefined || p.port === null) errs.push(fieldError.invalid(`${pp}.port`, 0, isValidPortNum(0)[0]!));
    else if (port !== undefined) errs.push(...isValidPortNum(port).map((m) => fieldError.invalid(`${pp}.port`, port, m)));
    if (!p.protocol) errs.push(fieldError.required(`${pp}.protocol`));
    else errs.push(...validateEnum(p.protocol, PROTOCOLS, `${pp}.protocol`));
    if (p.targetPort !== undefined) errs.push(...validatePortOrName(p.targetPort, `${pp}.targetPort`));
    const key = `${p.protocol}/${p.port}`;
    if (seen.has(key)) errs.push(fieldError.duplicate(pp, { protocol: p.protocol, port: p.port }));
    seen.add(key);
    const np = asInt(p.nodePort, `${pp}.nodePort`, errs);
    if (np) {
      if (type === "ClusterIP") errs.push(fieldError.forbidden(`${pp}.nodePort`, "may not be used when `type` is 'ClusterIP'"));
      errs.push(...isValidPortNum(np).map((m) => fieldError.invalid(`${pp}.nodePort`, np, m)));
      const nk = `${p.protocol}/${np}`;
      if (nodePorts.has(nk)) errs.push(fieldError.duplicate(`${pp}.nodePort`, np));
      nodePorts.add(nk);
    }
  }
  if (!spec.sessionAffinity) errs.push(fieldError.required("spec.sessionAffinity"));
  else errs.push(...validateEnum(spec.sessionAffinity, ["ClientIP", "None"], "spec.sessionAffinity"));
  errs.push(...validateLabels(spec.selector, "spec.selector"));
  if (spec.externalTrafficPolicy) {
    if (!externallyAccessible(spec)) errs.push(fieldError.invalid("spec.externalTrafficPolicy", spec.externalTrafficPolicy, "may only be set for externally-accessible services"));
    else errs.push(...validateEnum(spec.externalTrafficPolicy, ["Cluster", "Local"], "spec.externalTrafficPolicy"));
  }
  if (spec.internalTrafficPolicy != null) errs.push(...validateEnum(spec.internalTrafficPolicy, ["Cluster", "Local"], "spec.internalTrafficPolicy"));
  else if (type !== "ExternalName") errs.push(fieldError.required("spec.internalTrafficPolicy"));
  if (spec.ipFamilyPolicy != null) errs.push(...validateEnum(spec.ipFamilyPolicy, ["PreferDualStack", "RequireDualStack", "SingleStack"], "spec.ipFamilyPolicy"));
  asArray(spec.ipFamilies, "spec.ipFamilies", errs)?.forEach((f, i) => errs.push(...validateEnum(f, ["IPv4", "IPv6"], `spec.ipFamilies[${i}]`)));
  asArray(spec.externalIPs, "spec.externalIPs", errs)?.forEach((ip, i) => {
    if (typeof ip !== "string") errs.push(fieldError.typeInvalid(`spec.externalIPs[${i}]`, ip, "must be of type string"));
    else errs.push(...invalidEach(ip, isValidIP(ip), `spec.externalIPs[${i}]`));
  });
  return errs;
}

/** Primary/secondary cluster IPs may not change, except to or from ExternalName. */
function validateClusterIPsUpdate(svc: KObject, old: KObject): StatusCause[] {
  const spec = obj(svc.spec);
  const oldSpec = obj(old.spec);
  if (spec.type === "ExternalName" || oldSpec.type === "ExternalName") return [];
  const ips = list<string>(spec.clusterIPs);
  const oldIPs = list<string>(oldSpec.clusterIPs);
  const errs: StatusCause[] = [];
  if (ips.length === oldIPs.length) {
    oldIPs.forEach((ip, i) => {
      if (ip !== ips[i]) errs.push(fieldError.invalid(`spec.clusterIPs[${i}]`, ips, "may not change once set"));
    });
  } else if (oldIPs.length > ips.length) {
    if (ips.length === 0) errs.push(fieldError.invalid("spec.clusterIPs[0]", ips, "primary clusterIP can not be unset"));
    else if (ips[0] !== oldIPs[0]) errs.push(fieldError.invalid("spec.clusterIPs[0]", ips, "may not change once set"));
  } else if (oldIPs.length > 0 && ips[0] !== oldIPs[0]) {
    errs.push(fieldError.invalid("spec.clusterIPs[0]", ips, "may not change once set"));
  }
  return errs;
}

function validateService(svc: KObject, ctx: ValidationContext): StatusCause[] {
  if (ctx.operation === "create") return [...validateObjectMeta(svc.metadata, { namespaced: true, nameFn: isDNS1035Label }), ...validateServiceSpec(svc)];
  const old = ctx.old ?? svc;
  const errs = validateObjectMetaUpdate(svc.metadata, old.metadata);
  if (ctx.subresource === "status") {
    for (const [ing, p] of objectItems(obj(obj(svc.status).loadBalancer).ingress, "status.loadBalancer.ingress", errs)) {
      if (typeof ing.ip === "string" && ing.ip) errs.push(...invalidEach(ing.ip, isValidIP(ing.ip), `${p}.ip`));
    }
    return errs;
  }
  return [...errs, ...validateServiceSpec(svc), ...validateClusterIPsUpdate(svc, old)];
}

/** patchAllocatedValues: an update that omits allocated IPs/nodePorts keeps them. */
function prepareServiceUpdate(svc: KObject, old: KObject): void {
  const spec = svc.spec;
  const oldSpec = obj(old.spec);
  if (!isPlainObject(spec) || spec.type === "ExternalName") return;
  if (oldSpec.type !== "ExternalName") {
    if (!spec.clusterIP && oldSpec.clusterIP) spec.clusterIP = oldSpec.clusterIP;
    if ((!Array.isArray(spec.clusterIPs) || spec.clusterIPs.length === 0) && Array.isArray(oldSpec.clusterIPs)) spec.clusterIPs = [...oldSpec.clusterIPs];
  }
  if (spec.type === "NodePort" || spec.type === "LoadBalancer") {
    const oldPorts = list(oldSpec.ports).map(obj);
    for (const p of list(spec.ports)) {
      if (!isPlainObject(p) || p.nodePort) continue;
      const match = oldPorts.find((o) => o.port === p.port && (o.protocol ?? "TCP") === (p.protocol ?? "TCP") && o.nodePort);
      if (match) p.nodePort = match.nodePort;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Tables

function lbIngress(svc: KObject): string {
  return list(obj(obj(svc.status).loadBalancer).ingress)
    .map(obj)
    .map((i) => str(i.ip) || str(i.hostname))
    .filter(Boolean)
    .join(",");
}

export function serviceExternalIP(svc: KObject): string {
  const spec = obj(svc.spec);
  const external = list<string>(spec.externalIPs);
  switch (spec.type) {
    case "ClusterIP":
    case "NodePort":
      return external.length ? external.join(",") : "<none>";
    case "LoadBalancer": {
      const lb = lbIngress(svc);
      if (external.length) return [...(lb ? lb.split(",") : []), ...external].join(",");
      return lb || "<pending>";
    }
    case "ExternalName":
      return str(spec.externalName);
  }
  return "<unknown>";
}

export function servicePorts(svc: KObject): string {
  const s = list(obj(svc.spec).ports)
    .map(obj)
    .map((p) => (typeof p.nodePort === "number" && p.nodePort > 0 ? `${p.port}:${p.nodePort}/${p.protocol}` : `${p.port}/${p.protocol}`))
    .join(",");
  return s || "<none>";
}

function serviceCells(svc: KObject, now: Date): unknown[] {
  const spec = obj(svc.spec);
  const ips = list(spec.clusterIPs);
  const clusterIP = ips.length ? str(ips[0]) : "<none>";
  return [str(spec.type), clusterIP, serviceExternalIP(svc), servicePorts(svc), ageSince(svc.metadata?.creationTimestamp, now), formatLabels(spec.selector)];
}

/** formatEndpoints: first three "ip:port", then "+ N more...". */
export function formatEndpoints(ep: KObject): string {
  const subsets = list(ep.subsets).map(obj);
  if (subsets.length === 0) return "<none>";
  const out: string[] = [];
  const max = 3;
  let more = false;
  let count = 0;
  for (const ss of subsets) {
    const addrs = list(ss.addresses).map(obj);
    const ports = list(ss.ports).map(obj);
    if (ports.length === 0) {
      count += addrs.length;
      for (const a of addrs) {
        if (out.length === max) {
          more = true;
          break;
        }
        out.push(str(a.ip));
      }
      continue;
    }
    for (const p of ports) {
      count += addrs.length;
      for (const a of addrs) {
        if (out.length === max) {
          more = true;
          break;
        }
        const ip = str(a.ip);
        out.push(`${ip.includes(":") ? `[${ip}]` : ip}:${p.port}`);
      }
    }
  }
  const s = out.join(",");
  if (more) return `${s} + ${count - max} more...`;
  return s || "<none>";
}

function validateEndpoints(ep: KObject, ctx: ValidationContext): StatusCause[] {
  const errs = ctx.operation === "create" ? validateObjectMeta(ep.metadata, { namespaced: true }) : validateObjectMetaUpdate(ep.metadata, ctx.old?.metadata);
  for (const [ss, sp] of objectItems(ep.subsets, "subsets", errs)) {
    for (const key of ["addresses", "notReadyAddresses"]) {
      for (const [a, ap] of objectItems(ss[key], `${sp}.${key}`, errs)) {
        const ip = asString(a.ip, `${ap}.ip`, errs);
        if (ip !== undefined) errs.push(...invalidEach(ip, isValidIP(ip), `${ap}.ip`));
        else if (a.ip == null) errs.push(fieldError.invalid(`${ap}.ip`, "", isValidIP("")[0]!));
      }
    }
    const ports = objectItems(ss.ports, `${sp}.ports`, errs);
    for (const [p, pp] of ports) {
      const name = asString(p.name, `${pp}.name`, errs);
      if (ports.length > 1 && !name) errs.push(fieldError.required(`${pp}.name`));
      else if (name) errs.push(...invalidEach(name, isDNS1123Label(name), `${pp}.name`));
      const port = asInt(p.port, `${pp}.port`, errs) ?? 0;
      errs.push(...isValidPortNum(port).map((m) => fieldError.invalid(`${pp}.port`, port, m)));
      if (!p.protocol) errs.push(fieldError.required(`${pp}.protocol`));
      else errs.push(...validateEnum(p.protocol, PROTOCOLS, `${pp}.protocol`));
    }
  }
  return errs;
}

export const serviceResource: ResourceDef = {
  group: "",
  version: "v1",
  kind: "Service",
  plural: "services",
  singular: "service",
  namespaced: true,
  shortNames: ["svc"],
  categories: ["all"],
  subresources: ["status", "proxy"],
  tracksGeneration: false,
  defaults: defaultService,
  validate: validateService,
  prepareForUpdate: prepareServiceUpdate,
  table: {
    columns: [
      column("Type", "type determines how the Service is exposed."),
      column("Cluster-IP", "clusterIP is the IP address of the service and is usually assigned randomly."),
      column("External-IP", "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service."),
      column("Port(s)", "The list of ports that are exposed by this service."),
      ageColumn(),
      column("Selector", "Route service traffic to pods with label keys and values matching this selector.", { priority: 1 }),
    ],
    cells: serviceCells,
  },
};

export const endpointsResource: ResourceDef = {
  group: "",
  version: "v1",
  kind: "Endpoints",
  plural: "endpoints",
  singular: "endpoints",
  namespaced: true,
  shortNames: ["ep"],
  tracksGeneration: false,
  defaults(ep) {
    for (const ss of list(ep.subsets)) for (const p of list(obj(ss).ports)) if (isPlainObject(p) && !p.protocol) p.protocol = "TCP";
  },
  validate: validateEndpoints,
  table: {
    columns: [column("Endpoints", "Endpoints is the list of endpoints in the service."), ageColumn()],
    cells: (ep, now) => [formatEndpoints(ep), ageSince(ep.metadata?.creationTimestamp, now)],
  },
};
