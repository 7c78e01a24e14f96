// networking.k8s.io/v1 Ingress and IngressClass: HTTP routing rules for the ingress proxy,
// validated as upstream's pkg/apis/networking/validation (hosts, paths, pathType, backends)
// with its `kubectl get` columns. Reference: https://kubernetes.io/docs/concepts/services-networking/ingress/
// and https://kubernetes.io/docs/reference/kubernetes-api/service-resources/ingress-v1/

import { isIP } from "node:net";
import { fieldError, type StatusCause } from "../apimachinery/errors.js";
import type { KObject } from "../apimachinery/types.js";
import { ageColumn, ageSince, column, list, obj } from "./table.js";
import type { ResourceDef, TableSpec, ValidationContext } from "./types.js";
import {
  asObject,
  asString,
  immutableField,
  invalidEach,
  isDNS1035Label,
  isDNS1123Subdomain,
  isValidPortName,
  isValidPortNum,
  objectItems,
  regexError,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from "./validation.js";

const WILDCARD_FMT = "\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const WILDCARD_MSG =
  "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character";

/** IsWildcardDNS1123Subdomain: "*." followed by a DNS subdomain. */
export function isWildcardDNS1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 253) errs.push("must be no more than 253 characters");
  if (!new RegExp(`^${WILDCARD_FMT}$`).test(v)) errs.push(regexError(WILDCARD_MSG, WILDCARD_FMT, "*.example.com"));
  return errs;
}

/** Host checks shared by rules and TLS entries: DNS name, "*." allowed as the first label. */
function hostErrors(host: string, path: string, rejectIP: boolean): StatusCause[] {
  const errs: StatusCause[] = [];
  if (rejectIP && isIP(host)) errs.push(fieldError.invalid(path, host, "must be a DNS name, not an IP address"));
  const msgs = host.includes("*") ? isWildcardDNS1123Subdomain(host) : isDNS1123Subdomain(host);
  errs.push(...invalidEach(host, msgs, path));
  return errs;
}

const PATH_TYPES = ["Exact", "ImplementationSpecific", "Prefix"];
const INVALID_PATH_SEQUENCES = ["//", "/./", "/../", "%2f", "%2F"];
const INVALID_PATH_SUFFIXES = ["/..", "/."];

function validateTypedRef(ref: Record<string, any>, path: string, errs: StatusCause[]): void {
  const apiGroup = asString(ref.apiGroup, `${path}.apiGroup`, errs);
  if (apiGroup) errs.push(...invalidEach(apiGroup, isDNS1123Subdomain(apiGroup), `${path}.apiGroup`));
  const kind = asString(ref.kind, `${path}.kind`, errs);
  if (!kind) {
    if (ref.kind === undefined || ref.kind === null || ref.kind === "") errs.push(fieldError.required(`${path}.kind`));
  } else if (kind.includes("/") || kind.includes("%")) errs.push(fieldError.invalid(`${path}.kind`, kind, "may not contain '/' or '%'"));
  const name = asString(ref.name, `${path}.name`, errs);
  if (!name) {
    if (ref.name === undefined || ref.name === null || ref.name === "") errs.push(fieldError.required(`${path}.name`));
  } else if (name.includes("/") || name.includes("%")) errs.push(fieldError.invalid(`${path}.name`, name, "may not contain '/' or '%'"));
}

/** validateIngressBackend: exactly one of service (name + port name xor number) or resource. */
function validateBackend(backend: unknown, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  const b = asObject(backend, path, errs);
  if (!b) return backend === undefined || backend === null ? [fieldError.invalid(path, "", "resource or service backend is required")] : errs;
  const hasResource = b.resource !== undefined && b.resource !== null;
  const hasService = b.service !== undefined && b.service !== null;
  if (hasResource && hasService) return [fieldError.invalid(path, "", "cannot set both resource and service backends")];
  if (hasResource) {
    const r = asObject(b.resource, `${path}.resource`, errs);
    if (r) validateTypedRef(r, `${path}.resource`, errs);
    return errs;
  }
  if (!hasService) return [fieldError.invalid(path, "", "resource or service backend is required")];
  const svc = asObject(b.service, `${path}.service`, errs);
  if (!svc) return errs;
  const name = asString(svc.name, `${path}.service.name`, errs);
  if (!name) {
    if (typeof svc.name !== "string" && svc.name !== undefined && svc.name !== null) {
      // type error reported
    } else errs.push(fieldError.required(`${path}.service.name`));
  } else errs.push(...invalidEach(name, isDNS1035Label(name), `${path}.service.name`));
  const port = asObject(svc.port, `${path}.service.port`, errs) ?? {};
  const portName = asString(port.name, `${path}.service.port.name`, errs) ?? "";
  let portNumber = 0;
  if (port.number !== undefined && port.number !== null) {
    if (typeof port.number !== "number" || !Number.isInteger(port.number)) {
      errs.push(fieldError.typeInvalid(`${path}.service.port.number`, port.number, "must be of type integer"));
    } else portNumber = port.number;
  }
  if (portName && portNumber) errs.push(fieldError.invalid(path, "", "cannot set both port name & port number"));
  else if (portName) errs.push(...invalidEach(portName, isValidPortName(portName), `${path}.service.port.name`));
  else if (portNumber) errs.push(...isValidPortNum(portNumber).map((m) => fieldError.invalid(`${path}.service.port.number`, portNumber, m)));
  else errs.push(fieldError.required(path, "Required value: port name or number is required"));
  return errs;
}

function validateHTTPPath(p: Record<string, any>, path: string, errs: StatusCause[]): void {
  const pathType = p.pathType;
  const value = asString(p.path, `${path}.path`, errs) ?? "";
  if (pathType === undefined || pathType === null) {
    errs.push(fieldError.required(`${path}.pathType`, "Required value: pathType must be specified"));
    return;
  }
  if (pathType === "Exact" || pathType === "Prefix") {
    if (!value.startsWith("/")) errs.push(fieldError.invalid(`${path}.path`, value, "must be an absolute path"));
    if (value.length > 0) {
      for (const seq of INVALID_PATH_SEQUENCES) if (value.includes(seq)) errs.push(fieldError.invalid(`${path}.path`, value, `must not contain '${seq}'`));
      for (const suf of INVALID_PATH_SUFFIXES) if (value.endsWith(suf)) errs.push(fieldError.invalid(`${path}.path`, value, `cannot end with '${suf}'`));
    }
  } else if (pathType === "ImplementationSpecific") {
    if (value.length > 0 && !value.startsWith("/")) errs.push(fieldError.invalid(`${path}.path`, value, "must be an absolute path"));
  } else {
    errs.push(fieldError.notSupported(`${path}.pathType`, pathType, PATH_TYPES));
  }
  errs.push(...validateBackend(p.backend, `${path}.backend`));
}

function validateIngress(o: KObject, ctx: ValidationContext): StatusCause[] {
  const errs: StatusCause[] = [];
  if (ctx.operation === "update" && ctx.old) errs.push(...validateObjectMetaUpdate(o.metadata, ctx.old.metadata));
  else errs.push(...validateObjectMeta(o.metadata, { namespaced: true }));
  if (ctx.subresource === "status") {
    const lb = obj(obj(o.status).loadBalancer);
    for (const [ing, p] of objectItems(lb.ingress, "status.loadBalancer.ingress", errs)) {
      const ip = asString(ing.ip, `${p}.ip`, errs);
      if (ip && !isIP(ip)) errs.push(fieldError.invalid(`${p}.ip`, ip, "must be a valid IP address"));
      const host = asString(ing.hostname, `${p}.hostname`, errs);
      if (host) errs.push(...invalidEach(host, isDNS1123Subdomain(host), `${p}.hostname`));
    }
    return errs;
  }
  const spec = asObject(o.spec, "spec", errs) ?? {};
  const rules = objectItems(spec.rules, "spec.rules", errs);
  const hasDefault = spec.defaultBackend !== undefined && spec.defaultBackend !== null;
  if (rules.length === 0 && !hasDefault) errs.push(fieldError.invalid("spec", spec.rules ?? null, "either `defaultBackend` or `rules` must be specified"));
  if (hasDefault) errs.push(...validateBackend(spec.defaultBackend, "spec.defaultBackend"));
  for (const [rule, rp] of rules) {
    const host = asString(rule.host, `${rp}.host`, errs);
    if (host) errs.push(...hostErrors(host, `${rp}.host`, true));
    const http = asObject(rule.http, `${rp}.http`, errs);
    if (!http) continue;
    const paths = objectItems(http.paths, `${rp}.http.paths`, errs);
    if (paths.length === 0 && (http.paths === undefined || http.paths === null || Array.isArray(http.paths))) errs.push(fieldError.required(`${rp}.http.paths`));
    for (const [p, pp] of paths) validateHTTPPath(p, pp, errs);
  }
  for (const [tls, tp] of objectItems(spec.tls, "spec.tls", errs)) {
    for (const [i, h] of (Array.isArray(tls.hosts) ? tls.hosts : []).entries()) {
      const host = asString(h, `${tp}.hosts[${i}]`, errs);
      if (host) errs.push(...hostErrors(host, `${tp}.hosts[${i}]`, false));
    }
    asString(tls.secretName, `${tp}.secretName`, errs);
  }
  const cls = asString(spec.ingressClassName, "spec.ingressClassName", errs);
  if (cls !== undefined) errs.push(...invalidEach(cls, isDNS1123Subdomain(cls), "spec.ingressClassName"));
  return errs;
}

/** formatHosts: up to three hosts, "*" when none. */
function hostsCell(rules: unknown): string {
  const rs = list(rules).map(obj);
  const hosts: string[] = [];
  for (const r of rs) if (hosts.length < 3 && typeof r.host === "string" && r.host) hosts.push(r.host);
  if (hosts.length === 0) return "*";
  return rs.length > 3 ? `${hosts.join(",")} + ${rs.length - 3} more...` : hosts.join(",");
}

/** Load-balancer ingress points: IPs (or hostnames), de-duplicated. */
export function loadBalancerCell(status: unknown): string {
  const seen = new Set<string>();
  for (const i of list(obj(obj(status).loadBalancer).ingress).map(obj)) {
    if (typeof i.ip === "string" && i.ip) seen.add(i.ip);
    else if (typeof i.hostname === "string" && i.hostname) seen.add(i.hostname);
  }
  return [...seen].join(",");
}

const ingressTable: TableSpec = {
  columns: [
    column("Class", "The name of the IngressClass resource that should be used for additional configuration"),
    column("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
    column("Address", "Address is a list containing ingress points for the load-balancer"),
    column("Ports", "Ports of TLS configurations that open"),
    ageColumn(),
  ],
  cells(o, now) {
    const spec = obj(o.spec);
    const cls = typeof spec.ingressClassName === "string" ? spec.ingressClassName : "<none>";
    return [cls, hostsCell(spec.rules), loadBalancerCell(o.status), list(spec.tls).length ? "80, 443" : "80", ageSince(o.metadata?.creationTimestamp, now)];
  },
};

// ---------------------------------------------------------------------------------------
// IngressClass

function defaultIngressClass(o: KObject): void {
  const params = obj(obj(o.spec).parameters);
  if (o.spec?.parameters === params && (params.scope === undefined || params.scope === null)) params.scope = "Cluster";
}

const DOMAIN_PREFIXED_PATH = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/.*$/;

function validateIngressClass(o: KObject, ctx: ValidationContext): StatusCause[] {
  const errs: StatusCause[] = [];
  const old = ctx.operation === "update" ? ctx.old : undefined;
  if (old) errs.push(...validateObjectMetaUpdate(o.metadata, old.metadata));
  else errs.push(...validateObjectMeta(o.metadata, { namespaced: false }));
  const spec = asObject(o.spec, "spec", errs) ?? {};
  const controller = asString(spec.controller, "spec.controller", errs);
  if (!controller) {
    if (typeof spec.controller !== "string" && spec.controller !== undefined && spec.controller !== null) {
      // type error reported
    } else errs.push(fieldError.required("spec.controller"));
  } else {
    if (controller.length > 250) errs.push(fieldError.tooLong("spec.controller", 250));
    if (!DOMAIN_PREFIXED_PATH.test(controller)) errs.push(fieldError.invalid("spec.controller", controller, "must be a domain-prefixed path (such as \"acme.io/foo\")"));
  }
  if (old) errs.push(...immutableField(spec.controller, obj(old.spec).controller, "spec.controller"));
  const params = asObject(spec.parameters, "spec.parameters", errs);
  if (params) {
    validateTypedRef(params, "spec.parameters", errs);
    const scope = params.scope;
    if (scope !== "Cluster" && scope !== "Namespace") errs.push(fieldError.notSupported("spec.parameters.scope", scope ?? "", ["Cluster", "Namespace"]));
    else if (scope === "Namespace" && !params.namespace) errs.push(fieldError.required("spec.parameters.namespace", "Required value: `parameters.scope` is set to 'Namespace'"));
    else if (scope === "Cluster" && params.namespace) errs.push(fieldError.forbidden("spec.parameters.namespace", "`parameters.scope` is set to 'Cluster'"));
  }
  return errs;
}

const ingressClassTable: TableSpec = {
  nameCell: (o) => (o.metadata.annotations?.["ingressclass.kubernetes.io/is-default-class"] === "true" ? `${o.metadata.name} (default)` : String(o.metadata.name ?? "")),
  columns: [column("Controller", "Controller that is responsible for handling this class"), column("Parameters", "A reference to a resource with additional parameters"), ageColumn()],
  cells(o, now) {
    const spec = obj(o.spec);
    let parameters = "<none>";
    if (spec.parameters && typeof spec.parameters === "object") {
      const p = obj(spec.parameters);
      parameters = `${p.kind ?? ""}${typeof p.apiGroup === "string" ? "." + p.apiGroup : ""}/${p.name ?? ""}`;
    }
    return [typeof spec.controller === "string" ? spec.controller : "", parameters, ageSince(o.metadata?.creationTimestamp, now)];
  },
};

export const networkingResources: ResourceDef[] = [
  {
    group: "networking.k8s.io",
    version: "v1",
    kind: "Ingress",
    plural: "ingresses",
    singular: "ingress",
    namespaced: true,
    shortNames: ["ing"],
    subresources: ["status"],
    validate: validateIngress,
    table: ingressTable,
  },
  {
    group: "networking.k8s.io",
    version: "v1",
    kind: "IngressClass",
    plural: "ingressclasses",
    singular: "ingressclass",
    namespaced: false,
    defaults: defaultIngressClass,
    validate: validateIngressClass,
    table: ingressClassTable,
  },
];
