// A container's environment as the kubelet builds it
// (https://kubernetes.io/docs/tasks/inject-data-application/define-environment-variable-container/,
// .../environment-variable-expose-pod-information/, and the EnvVar / EnvFromSource API
// reference): service link variables first (enableServiceLinks, plus the `kubernetes`
// Service of the default namespace always), then envFrom (ConfigMaps/Secrets, optional
// prefix), then env in order — literal values with $(VAR) expansion against what is
// already defined, valueFrom configMapKeyRef / secretKeyRef / fieldRef /
// resourceFieldRef. A missing required ConfigMap/Secret/key fails the container start
// with CreateContainerConfigError and the kubelet's message. command and args are
// expanded against the final environment ($$ escapes a dollar).

import type { KObject } from "../../apimachinery/types.js";
import { isStatusError } from "../../apimachinery/errors.js";
import { tryParseQuantity } from "../../apimachinery/quantity.js";
import type { Client } from "../../client/types.js";

/** A container config problem the user must fix: becomes waiting reason CreateContainerConfigError. */
export class ContainerConfigError extends Error {
  readonly reason = "CreateContainerConfigError";
}

export interface EnvVar {
  name: string;
  value: string;
}

/** What the node knows that fieldRef / resourceFieldRef need. */
export interface EnvContext {
  client: Client;
  hostIP: string;
  podIPs: string[];
  /** Node allocatable, the default for unset limits: CPU in millicores, memory and ephemeral-storage in bytes. */
  allocatable: { cpuMillis: number; memoryBytes: number; ephemeralStorageBytes?: number };
  /** Master services (the `kubernetes` Service in default); when absent they are listed through the client. */
  masterServices?: KObject[];
}

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/**
 * $(VAR) expansion as the kubelet does it: a defined name is replaced, an undefined one
 * is left as written, `$$` is a literal `$`, any other `$` stays.
 */
export function expandVars(input: string, lookup: (name: string) => string | undefined): string {
  let out = "";
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (ch !== "$" || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const next = input[i + 1];
    if (next === "$") {
      out += "$";
      i++;
    } else if (next === "(") {
      const close = input.indexOf(")", i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const v = name ? lookup(name) : undefined;
      out += v ?? `$(${name})`;
      i = close;
    } else {
      out += ch;
    }
  }
  return out;
}

/** command/args with $(VAR) expanded against the container's final environment. */
export function expandCommand(list: unknown, env: EnvVar[]): string[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const m = new Map(env.map((e) => [e.name, e.value]));
  return list.map((s) => expandVars(String(s), (n) => m.get(n)));
}

const upperName = (s: string): string => s.toUpperCase().replace(/-/g, "_");

/** Docker-link style variables of one Service (FOO_SERVICE_HOST, FOO_PORT_80_TCP, …). */
export function serviceEnvFor(svc: KObject): EnvVar[] {
  const ip = svc.spec?.clusterIP;
  if (!ip || ip === "None") return [];
  const ports: any[] = Array.isArray(svc.spec?.ports) ? svc.spec.ports : [];
  if (ports.length === 0) return [];
  const n = upperName(svc.metadata.name ?? "");
  const out: EnvVar[] = [{ name: `${n}_SERVICE_HOST`, value: ip }, { name: `${n}_SERVICE_PORT`, value: String(ports[0].port) }];
  for (const p of ports) if (p.name) out.push({ name: `${n}_SERVICE_PORT_${upperName(p.name)}`, value: String(p.port) });
  const proto0 = String(ports[0].protocol ?? "TCP").toLowerCase();
  out.push({ name: `${n}_PORT`, value: `${proto0}://${ip}:${ports[0].port}` });
  for (const p of ports) {
    const proto = String(p.protocol ?? "TCP");
    const prefix = `${n}_PORT_${p.port}_${proto.toUpperCase()}`;
    out.push(
      { name: prefix, value: `${proto.toLowerCase()}://${ip}:${p.port}` },
      { name: `${prefix}_PROTO`, value: proto.toLowerCase() },
      { name: `${prefix}_PORT`, value: String(p.port) },
      { name: `${prefix}_ADDR`, value: ip },
    );
  }
  return out;
}

async function serviceLinkEnv(pod: KObject, ctx: EnvContext): Promise<EnvVar[]> {
  const ns = pod.metadata.namespace ?? "default";
  const bySvc = new Map<string, KObject>();
  const master = ctx.masterServices ?? (await ctx.client.list("v1/services", { namespace: "default" }).catch(() => ({ items: [] as KObject[] }))).items.filter((s) => s.metadata.name === "kubernetes");
  if (pod.spec?.enableServiceLinks !== false) {
    const items = (await ctx.client.list("v1/services", { namespace: ns }).catch(() => ({ items: [] as KObject[] }))).items;
    for (const s of items) bySvc.set(s.metadata.name ?? "", s);
  }
  // The master services are always present, unless the namespace has its own of that name.
  for (const s of master) if (!bySvc.has(s.metadata.name ?? "")) bySvc.set(s.metadata.name ?? "", s);
  return [...bySvc.keys()].sort().flatMap((k) => serviceEnvFor(bySvc.get(k)!));
}

async function getOptional(client: Client, gvr: string, ns: string, name: string): Promise<KObject | undefined> {
  try {
    return await client.get(gvr, ns, name);
  } catch (err) {
    if (isStatusError(err) && err.code === 404) return undefined;
    throw err;
  }
}

/** One object's data as strings (Secrets are base64 in the API). */
function dataOf(obj: KObject, secret: boolean): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries((obj as any).data ?? {})) out.set(k, secret ? Buffer.from(String(v), "base64").toString("utf8") : String(v));
  if (!secret) for (const [k, v] of Object.entries((obj as any).binaryData ?? {})) if (!out.has(k)) out.set(k, Buffer.from(String(v), "base64").toString("utf8"));
  return out;
}

/** Cache of ConfigMaps/Secrets for one container's resolution (each is read once). */
class Sources {
  private cache = new Map<string, KObject | undefined>();
  constructor(
    private readonly client: Client,
    private readonly ns: string,
  ) {}
  async get(kind: "ConfigMap" | "Secret", name: string): Promise<KObject | undefined> {
    const key = `${kind}/${name}`;
    if (!this.cache.has(key)) this.cache.set(key, await getOptional(this.client, kind === "ConfigMap" ? "v1/configmaps" : "v1/secrets", this.ns, name));
    return this.cache.get(key);
  }
}

/** The value of a downward-API field path (fieldRef) for env. */
export function podFieldValue(pod: KObject, fieldPath: string, hostIP: string, podIPs: string[]): string {
  const m = pod.metadata;
  const sub = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(fieldPath);
  if (sub) return String((m as any)[sub[1]!]?.[sub[2]!] ?? "");
  switch (fieldPath) {
    case "metadata.name":
      return m.name ?? "";
    case "metadata.namespace":
      return m.namespace ?? "";
    case "metadata.uid":
      return m.uid ?? "";
    case "spec.nodeName":
      return pod.spec?.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec?.serviceAccountName ?? "";
    case "status.hostIP":
      return hostIP;
    case "status.hostIPs":
      return hostIP;
    case "status.podIP":
      return podIPs[0] ?? "";
    case "status.podIPs":
      return podIPs.join(",");
  }
  throw new ContainerConfigError(`unsupported fieldPath: ${fieldPath}`);
}

/** Quantity of a container resource, limits defaulting to node allocatable (in base units: cores, bytes). */
export function containerResourceValue(container: any, resource: string, divisor: unknown, alloc: EnvContext["allocatable"]): string {
  const [kind, name] = resource.split(".", 2) as [string, string | undefined];
  if ((kind !== "limits" && kind !== "requests") || !name) throw new ContainerConfigError(`unsupported container resource : ${resource}`);
  const raw = container?.resources?.[kind]?.[name];
  const q = raw === undefined ? undefined : tryParseQuantity(String(raw));
  const div = tryParseQuantity(String(divisor ?? "1"));
  if (!div || div.nanos <= 0n) throw new ContainerConfigError(`invalid divisor ${String(divisor)} for ${resource}`);
  let nanos: bigint;
  if (q) nanos = q.nanos;
  else if (kind === "limits" && name === "cpu") nanos = BigInt(alloc.cpuMillis) * 1_000_000n;
  else if (kind === "limits" && name === "memory") nanos = BigInt(alloc.memoryBytes) * 1_000_000_000n;
  else if (kind === "limits" && name === "ephemeral-storage") nanos = BigInt(alloc.ephemeralStorageBytes ?? 0) * 1_000_000_000n;
  else nanos = 0n;
  // Always rounded up: 250m of CPU with divisor 1 is "1".
  const v = (nanos + div.nanos - 1n) / div.nanos;
  return String(v);
}

/**
 * The container's environment in the order the runtime receives it. Throws
 * ContainerConfigError for a missing required source; other errors (API down) propagate.
 */
export async function resolveEnv(pod: KObject, container: any, ctx: EnvContext): Promise<EnvVar[]> {
  const ns = pod.metadata.namespace ?? "default";
  const sources = new Sources(ctx.client, ns);
  const vars = new Map<string, string>();
  for (const e of await serviceLinkEnv(pod, ctx)) vars.set(e.name, e.value);

  for (const from of Array.isArray(container.envFrom) ? container.envFrom : []) {
    const ref = from?.configMapRef ?? from?.secretRef;
    if (!ref?.name) continue;
    const kind = from.configMapRef ? "ConfigMap" : "Secret";
    const obj = await sources.get(kind, ref.name);
    if (!obj) {
      if (ref.optional === true) continue;
      throw new ContainerConfigError(`${kind.toLowerCase()} "${ref.name}" not found`);
    }
    for (const [k, v] of dataOf(obj, kind === "Secret")) {
      const name = `${from.prefix ?? ""}${k}`;
      // Keys that are not valid variable names are skipped (upstream emits an event).
      if (ENV_NAME.test(name)) vars.set(name, v);
    }
  }

  for (const e of Array.isArray(container.env) ? container.env : []) {
    if (typeof e?.name !== "string") continue;
    const vf = e.valueFrom;
    if (!vf) {
      vars.set(e.name, expandVars(String(e.value ?? ""), (n) => vars.get(n)));
      continue;
    }
    if (vf.fieldRef) {
      vars.set(e.name, podFieldValue(pod, String(vf.fieldRef.fieldPath ?? ""), ctx.hostIP, ctx.podIPs));
    } else if (vf.resourceFieldRef) {
      const target = vf.resourceFieldRef.containerName ? findContainer(pod, vf.resourceFieldRef.containerName) : container;
      vars.set(e.name, containerResourceValue(target, String(vf.resourceFieldRef.resource ?? ""), vf.resourceFieldRef.divisor, ctx.allocatable));
    } else if (vf.configMapKeyRef || vf.secretKeyRef) {
      const ref = vf.configMapKeyRef ?? vf.secretKeyRef;
      const kind = vf.configMapKeyRef ? "ConfigMap" : "Secret";
      const obj = await sources.get(kind, String(ref.name ?? ""));
      if (!obj) {
        if (ref.optional === true) continue;
        throw new ContainerConfigError(`${kind.toLowerCase()} "${ref.name}" not found`);
      }
      const v = dataOf(obj, kind === "Secret").get(String(ref.key));
      if (v === undefined) {
        if (ref.optional === true) continue;
        throw new ContainerConfigError(`couldn't find key ${ref.key} in ${kind} ${ns}/${ref.name}`);
      }
      vars.set(e.name, v);
    }
  }
  return [...vars].map(([name, value]) => ({ name, value }));
}

function findContainer(pod: KObject, name: string): any {
  const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  const c = all.find((x: any) => x?.name === name);
  if (!c) throw new ContainerConfigError(`container ${name} not found in pod`);
  return c;
}
