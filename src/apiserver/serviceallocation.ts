// Service ClusterIP and NodePort allocation, done at admission like upstream's service
// REST storage (https://kubernetes.io/docs/concepts/services-networking/cluster-ip-allocation/,
// https://kubernetes.io/docs/concepts/services-networking/service/#type-nodeport).
// Every allocation is a key in the store (`/registry/ranges/serviceips/<ip>`,
// `/registry/ranges/servicenodeports/<port>`) created atomically, so two Services can
// never share an address or port — even across several servers on one store — and
// allocations survive restarts. Keys are released when the Service goes away.

import { Invalid } from "../apimachinery/errors.js";
import type { KObject } from "../apimachinery/types.js";
import { KeyExistsError, KeyNotFoundError, type Store } from "../store/types.js";
import type { AdmissionPlugin, AdmissionRequest } from "./admission.js";

export interface ServiceRanges {
  /** IPv4 service CIDR (default 10.43.0.0/16). */
  serviceCIDR: string;
  nodePortMin: number;
  nodePortMax: number;
}

export const defaultServiceRanges: ServiceRanges = { serviceCIDR: "10.43.0.0/16", nodePortMin: 30000, nodePortMax: 32767 };

const IP_PREFIX = "/registry/ranges/serviceips/";
const PORT_PREFIX = "/registry/ranges/servicenodeports/";

function ipToInt(ip: string): number | undefined {
  const p = ip.split(".").map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) return undefined;
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export function parseServiceCIDR(cidr: string): { base: number; size: number } {
  const [ip, bits] = cidr.split("/");
  const base = ipToInt(ip ?? "");
  const b = Number(bits);
  if (base === undefined || !Number.isInteger(b) || b < 8 || b > 30) throw new Error(`invalid service CIDR ${cidr}`);
  const size = 2 ** (32 - b);
  return { base: (base & ~(size - 1)) >>> 0, size };
}

/** The first usable address of the range: the `kubernetes` Service's ClusterIP. */
export function apiServerServiceIP(ranges: ServiceRanges = defaultServiceRanges): string {
  return intToIp(parseServiceCIDR(ranges.serviceCIDR).base + 1);
}

/** The cluster DNS Service address (the tenth, as k3s uses 10.43.0.10). */
export function dnsServiceIP(ranges: ServiceRanges = defaultServiceRanges): string {
  return intToIp(parseServiceCIDR(ranges.serviceCIDR).base + 10);
}

function isService(req: AdmissionRequest): boolean {
  return req.def.group === "" && req.def.plural === "services" && !req.subresource;
}

function owner(obj: KObject): string {
  return JSON.stringify({ namespace: obj.metadata.namespace, name: obj.metadata.name });
}

function needsNodePorts(spec: any): boolean {
  return spec?.type === "NodePort" || (spec?.type === "LoadBalancer" && spec?.allocateLoadBalancerNodePorts !== false);
}

export function serviceAllocation(store: Store, ranges: ServiceRanges = defaultServiceRanges): AdmissionPlugin {
  const { base, size } = parseServiceCIDR(ranges.serviceCIDR);
  const reserved = new WeakMap<AdmissionRequest, string[]>();

  async function reserve(key: string, obj: KObject, dryRun: boolean): Promise<boolean> {
    if (dryRun) return !(await store.get(key));
    try {
      await store.create(key, owner(obj));
      return true;
    } catch (e) {
      if (e instanceof KeyExistsError) {
        // A key left by this same Service (an update, or a retry) still belongs to it.
        const kv = await store.get(key);
        return kv?.value === owner(obj);
      }
      throw e;
    }
  }

  async function allocateIP(req: AdmissionRequest, keys: string[]): Promise<string> {
    const isKubernetes = req.namespace === "default" && req.name === "kubernetes";
    if (isKubernetes) {
      const ip = intToIp(base + 1);
      if (await reserve(IP_PREFIX + ip, req.object, req.dryRun)) {
        keys.push(IP_PREFIX + ip);
        return ip;
      }
    }
    // Upstream picks randomly, preferring the upper part of the range for dynamic IPs.
    const usable = size - 2;
    const start = Math.floor(Math.random() * usable);
    for (let i = 0; i < usable; i++) {
      const off = 2 + ((start + i) % (usable - 1));
      const ip = intToIp(base + off);
      if (await reserve(IP_PREFIX + ip, req.object, req.dryRun)) {
        keys.push(IP_PREFIX + ip);
        return ip;
      }
    }
    throw new Invalid("Service", req.name, [{ reason: "FieldValueInvalid", field: "spec.clusterIPs", message: "Internal error: range is full" }]);
  }

  async function allocatePort(req: AdmissionRequest, keys: string[]): Promise<number> {
    const n = ranges.nodePortMax - ranges.nodePortMin + 1;
    const start = Math.floor(Math.random() * n);
    for (let i = 0; i < n; i++) {
      const port = ranges.nodePortMin + ((start + i) % n);
      if (await reserve(PORT_PREFIX + port, req.object, req.dryRun)) {
        keys.push(PORT_PREFIX + port);
        return port;
      }
    }
    throw new Invalid("Service", req.name, [{ reason: "FieldValueInvalid", field: "spec.ports", message: "Internal error: node port range is full" }]);
  }

  async function admitService(req: AdmissionRequest): Promise<void> {
    const spec = req.object.spec;
    if (!spec || typeof spec !== "object") return;
    const keys: string[] = [];
    reserved.set(req, keys);
    const old = req.old?.spec;
    const causes: { reason: string; field: string; message: string }[] = [];
    if (spec.type !== "ExternalName" && spec.clusterIP !== "None") {
      const want: string | undefined = spec.clusterIP || spec.clusterIPs?.[0] || undefined;
      if (old?.clusterIP && old.clusterIP !== "None" && (!want || want === old.clusterIP)) {
        spec.clusterIP = old.clusterIP;
      } else if (want) {
        const n = ipToInt(want);
        if (n === undefined || n <= base || n >= base + size - 1) {
          causes.push({ reason: "FieldValueInvalid", field: "spec.clusterIPs", message: `Invalid value: ["${want}"]: failed to allocate IP ${want}: the provided IP (${want}) is not in the valid range. The range of valid IPs is ${ranges.serviceCIDR}` });
        } else if (!(await reserve(IP_PREFIX + want, req.object, req.dryRun))) {
          causes.push({ reason: "FieldValueInvalid", field: "spec.clusterIPs", message: `Invalid value: ["${want}"]: failed to allocate IP ${want}: provided IP is already allocated` });
        } else keys.push(IP_PREFIX + want);
      } else {
        spec.clusterIP = await allocateIP(req, keys);
      }
      if (!causes.length) spec.clusterIPs = [spec.clusterIP];
    }
    if (needsNodePorts(spec) && Array.isArray(spec.ports)) {
      const oldPorts: any[] = Array.isArray(old?.ports) ? old.ports : [];
      for (const [i, p] of spec.ports.entries()) {
        if (!p || typeof p !== "object") continue;
        const prev = oldPorts.find((o) => o.port === p.port && (o.protocol ?? "TCP") === (p.protocol ?? "TCP"))?.nodePort;
        if (!p.nodePort && prev) p.nodePort = prev;
        if (p.nodePort) {
          if (p.nodePort === prev) continue;
          if (p.nodePort < ranges.nodePortMin || p.nodePort > ranges.nodePortMax) {
            causes.push({ reason: "FieldValueInvalid", field: `spec.ports[${i}].nodePort`, message: `Invalid value: ${p.nodePort}: provided port is not in the valid range. The range of valid ports is ${ranges.nodePortMin}-${ranges.nodePortMax}` });
          } else if (!(await reserve(PORT_PREFIX + p.nodePort, req.object, req.dryRun))) {
            causes.push({ reason: "FieldValueInvalid", field: `spec.ports[${i}].nodePort`, message: `Invalid value: ${p.nodePort}: provided port is already allocated` });
          } else keys.push(PORT_PREFIX + p.nodePort);
        } else p.nodePort = await allocatePort(req, keys);
      }
    }
    if (causes.length) {
      await releaseKeys(keys);
      reserved.delete(req);
      throw new Invalid("Service", req.name, causes);
    }
  }

  async function releaseKeys(keys: string[]): Promise<void> {
    for (const k of keys) {
      try {
        await store.delete(k);
      } catch (e) {
        if (!(e instanceof KeyNotFoundError)) throw e;
      }
    }
  }

  function keysOf(obj: KObject): string[] {
    const spec = obj.spec ?? {};
    const keys: string[] = [];
    for (const ip of spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])) if (ip && ip !== "None") keys.push(IP_PREFIX + ip);
    for (const p of Array.isArray(spec.ports) ? spec.ports : []) if (p?.nodePort) keys.push(PORT_PREFIX + p.nodePort);
    return keys;
  }

  return {
    name: "ServiceIPAllocation",
    async admit(req) {
      if (!isService(req) || req.operation === "delete") return;
      await admitService(req);
    },
    async release(req) {
      if (!isService(req) || req.dryRun) return;
      if (req.operation === "delete") {
        await releaseKeys(keysOf(req.object));
        return;
      }
      // A failed create/update gives back what this request reserved.
      const keys = reserved.get(req);
      reserved.delete(req);
      if (keys) await releaseKeys(keys);
    },
  };
}
