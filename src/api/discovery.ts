// discovery.k8s.io/v1 EndpointSlice: the scalable list of a Service's backends that the
// service proxy and DNS read. Defaulting and validation follow upstream's
// pkg/apis/discovery (address types, 1–100 addresses per endpoint, port names/protocols),
// columns pkg/printers. Reference: https://kubernetes.io/docs/concepts/services-networking/endpoint-slices/

import { isIP, isIPv4, isIPv6 } from "node:net";
import { fieldError, type StatusCause } from "../apimachinery/errors.js";
import type { KObject } from "../apimachinery/types.js";
import { ageColumn, ageSince, column, list, obj } from "./table.js";
import type { ResourceDef, TableSpec, ValidationContext } from "./types.js";
import { asInt, asString, immutableField, invalidEach, isDNS1123Label, isDNS1123Subdomain, isPlainObject, isValidPortNum, objectItems, validateObjectMeta, validateObjectMetaUpdate } from "./validation.js";

export const ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"];
const PROTOCOLS = ["SCTP", "TCP", "UDP"];
const MAX_ENDPOINTS = 1000;
const MAX_ADDRESSES = 100;
const MAX_PORTS = 20000;

const tooMany = (path: string, n: number, max: number): StatusCause => ({ reason: "FieldValueTooMany", field: path, message: `Too many: ${n}: must have at most ${max} items` });

function defaultEndpointSlice(o: KObject): void {
  // SetDefaults_EndpointPort: unnamed ports get name "" and protocol TCP.
  for (const p of list(o.ports)) {
    if (!isPlainObject(p)) continue;
    p.name ??= "";
    p.protocol ??= "TCP";
  }
}

/** ValidateNonSpecialIP: endpoints may not point at unspecified, loopback or link-local addresses. */
function specialIPError(ip: string): string | undefined {
  const v4 = isIPv4(ip) ? ip.split(".").map(Number) : undefined;
  const lower = ip.toLowerCase();
  if (ip === "0.0.0.0" || lower === "::") return "may not be unspecified (0.0.0.0)";
  if ((v4 && v4[0] === 127) || lower === "::1") return "may not be in the loopback range (127.0.0.0/8, ::1/128)";
  if ((v4 && v4[0] === 169 && v4[1] === 254) || /^fe[89ab]/.test(lower)) return "may not be in the link-local range (169.254.0.0/16, fe80::/10)";
  if ((v4 && v4[0] === 224 && v4[1] === 0 && v4[2] === 0) || lower.startsWith("ff02:")) return "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)";
  return undefined;
}

function addressErrors(addr: string, type: string, path: string): StatusCause[] {
  if (type === "IPv4" || type === "IPv6") {
    const ok = type === "IPv4" ? isIPv4(addr) : isIPv6(addr);
    if (!ok) return [fieldError.invalid(path, addr, `must be a valid ${type} address`)];
    const special = specialIPError(addr);
    return special ? [fieldError.invalid(path, addr, special)] : [];
  }
  if (type === "FQDN") {
    if (isIP(addr)) return [fieldError.invalid(path, addr, "should be a domain with at least two segments separated by dots")];
    const errs = invalidEach(addr, isDNS1123Subdomain(addr), path);
    if (!errs.length && addr.split(".").length < 2) errs.push(fieldError.invalid(path, addr, "should be a domain with at least two segments separated by dots"));
    return errs;
  }
  return [];
}

function validateEndpointSlice(o: KObject, ctx: ValidationContext): StatusCause[] {
  const errs: StatusCause[] = [];
  const old = ctx.operation === "update" ? ctx.old : undefined;
  if (old) errs.push(...validateObjectMetaUpdate(o.metadata, old.metadata));
  else errs.push(...validateObjectMeta(o.metadata, { namespaced: true }));

  const type = o.addressType;
  if (type === undefined || type === null || type === "") errs.push(fieldError.required("addressType"));
  else if (!ADDRESS_TYPES.includes(type)) errs.push(fieldError.notSupported("addressType", type, ADDRESS_TYPES));
  // Only a valid old address type is locked in (upstream lets a bad one be repaired).
  if (old && ADDRESS_TYPES.includes(old.addressType)) errs.push(...immutableField(o.addressType, old.addressType, "addressType"));

  const endpoints = objectItems(o.endpoints, "endpoints", errs);
  if (endpoints.length > MAX_ENDPOINTS) errs.push(tooMany("endpoints", endpoints.length, MAX_ENDPOINTS));
  else {
    for (const [ep, p] of endpoints) {
      const addrs = Array.isArray(ep.addresses) ? ep.addresses : undefined;
      if (ep.addresses !== undefined && ep.addresses !== null && !addrs) errs.push(fieldError.typeInvalid(`${p}.addresses`, ep.addresses, "must be of type array"));
      else if (!addrs || addrs.length === 0) errs.push(fieldError.required(`${p}.addresses`, "Required value: must contain at least 1 address"));
      else if (addrs.length > MAX_ADDRESSES) errs.push(tooMany(`${p}.addresses`, addrs.length, MAX_ADDRESSES));
      (addrs ?? []).forEach((a, i) => {
        const s = asString(a, `${p}.addresses[${i}]`, errs);
        if (s !== undefined) errs.push(...addressErrors(s, String(type), `${p}.addresses[${i}]`));
      });
      const node = asString(ep.nodeName, `${p}.nodeName`, errs);
      if (node) errs.push(...invalidEach(node, isDNS1123Subdomain(node), `${p}.nodeName`));
      const host = asString(ep.hostname, `${p}.hostname`, errs);
      if (host) errs.push(...invalidEach(host, isDNS1123Label(host), `${p}.hostname`));
    }
  }

  const ports = objectItems(o.ports, "ports", errs);
  if (ports.length > MAX_PORTS) errs.push(tooMany("ports", ports.length, MAX_PORTS));
  const names = new Set<string>();
  for (const [port, p] of ports) {
    const name = asString(port.name, `${p}.name`, errs) ?? "";
    if (name !== "") errs.push(...invalidEach(name, isDNS1123Label(name), `${p}.name`));
    if (names.has(name)) errs.push(fieldError.duplicate(`${p}.name`, name));
    names.add(name);
    const proto = port.protocol;
    if (proto === undefined || proto === null) errs.push(fieldError.required(`${p}.protocol`));
    else if (!PROTOCOLS.includes(proto)) errs.push(fieldError.notSupported(`${p}.protocol`, proto, PROTOCOLS));
    const num = asInt(port.port, `${p}.port`, errs);
    if (num !== undefined && num !== 0) errs.push(...isValidPortNum(num).map((m) => fieldError.invalid(`${p}.port`, num, m)));
  }
  return errs;
}

/** Up to three items, then "+ N more..."; "<unset>" when empty (listWithMoreString). */
function firstThree(items: string[]): string {
  if (items.length === 0) return "<unset>";
  const shown = items.slice(0, 3).join(",");
  return items.length > 3 ? `${shown} + ${items.length - 3} more...` : shown;
}

const endpointSliceTable: TableSpec = {
  columns: [
    column("AddressType", "addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type."),
    column("Ports", "ports specifies the list of network ports exposed by each endpoint in this slice."),
    column("Endpoints", "endpoints is a list of unique endpoints in this slice."),
    ageColumn(),
  ],
  cells(o, now) {
    const ports = list(o.ports).map(obj).map((p) => (typeof p.port === "number" ? String(p.port) : typeof p.name === "string" ? p.name : "*"));
    const addrs = list(o.endpoints).flatMap((e) => list(obj(e).addresses)).map(String);
    return [typeof o.addressType === "string" ? o.addressType : "", firstThree(ports), firstThree(addrs), ageSince(o.metadata?.creationTimestamp, now)];
  },
};

export const discoveryResources: ResourceDef[] = [
  {
    group: "discovery.k8s.io",
    version: "v1",
    kind: "EndpointSlice",
    plural: "endpointslices",
    singular: "endpointslice",
    namespaced: true,
    // Upstream bumps generation on any change besides metadata (there is no status).
    tracksGeneration: true,
    defaults: defaultEndpointSlice,
    validate: validateEndpointSlice,
    table: endpointSliceTable,
  },
];
