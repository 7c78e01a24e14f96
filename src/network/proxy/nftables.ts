// Renders the service table (model.ts) as an nftables ruleset for one table `ip tugboat`
// and applies it in one `nft -f -` transaction, in the manner of kube-proxy's nftables
// mode (https://kubernetes.io/docs/reference/networking/virtual-ips/#proxy-mode-nftables,
// nft syntax: https://wiki.nftables.org/ and nft(8)). Shape of the table:
//   nat-prerouting / nat-output → services: `daddr . proto . port` vmap → per-port chain;
//     node-local addresses: `proto . nodePort` vmap → external chain.
//   svc-* (ClusterIP) marks non-pod sources for masquerade, then picks an endpoint with
//     `numgen random mod N` (equal probability), after ClientIP affinity sets.
//   ext-* (NodePort / LoadBalancer / externalIPs) masquerades (Cluster policy) or keeps
//     the client address and uses only this node's endpoints (Local policy).
//   sep-* (one endpoint) marks hairpin traffic (source == endpoint) and DNATs.
//   filter-input/forward/output → endpoints-check: Services without endpoints are
//     rejected (tcp reset / icmp port-unreachable) instead of timing out.
//   nat-postrouting masquerades marked packets.
// Every sync is one atomic transaction holding only the difference from the previous
// one: changed chains are flushed and refilled, changed map elements replaced, chains and
// sets no longer used deleted (kube-proxy's partial sync). The first sync after start or
// after a failure replaces the whole table. Affinity sets are never flushed, so client
// stickiness survives re-syncs.

import { createHash } from "node:crypto";
import type { ServiceEndpoint, ServicePortEntry, ServiceTable } from "./model.js";
import type { CommandRunner } from "./command.js";

export const DEFAULT_TABLE = "tugboat";
/** The fwmark bit meaning "masquerade this packet" (kube-proxy uses the same bit). */
export const MASQUERADE_MARK = 0x4000;

export interface RenderOptions {
  table?: string;
  /** The cluster pod range: ClusterIP traffic from outside it is masqueraded. */
  clusterCIDR?: string;
  /** Masquerade all Service traffic (needed when pod↔pod replies bypass this node's netfilter). */
  masqueradeAll?: boolean;
}

/**
 * What a sync left in the kernel: the next sync sends only the difference (changed
 * chains, changed map elements, deletions), so its cost follows the change, not the
 * cluster size.
 */
export interface RulesetState {
  /** chain name → base-chain definition (if any) and rules. */
  chains: Map<string, { def?: string; rules: string[] }>;
  /** affinity set name → definition. */
  sets: Map<string, string>;
  /** map name → key → verdict. */
  elements: Map<string, Map<string, string>>;
}

export interface RenderedRuleset {
  script: string;
  state: RulesetState;
  /** Counts for logs and tests. */
  stats: { services: number; endpointChains: number; elements: number; /** nft commands besides "add table"; 0 = nothing to apply. */ changes: number };
}

const BASE_CHAINS: [name: string, def: string][] = [
  ["nat-prerouting", "type nat hook prerouting priority dstnat ; policy accept ;"],
  ["nat-output", "type nat hook output priority -100 ; policy accept ;"],
  ["nat-postrouting", "type nat hook postrouting priority srcnat ; policy accept ;"],
  ["filter-input", "type filter hook input priority -110 ; policy accept ;"],
  ["filter-forward", "type filter hook forward priority -110 ; policy accept ;"],
  ["filter-output", "type filter hook output priority -110 ; policy accept ;"],
];
const FIXED_CHAINS = ["services", "masquerading", "mark-for-masquerade", "endpoints-check", "reject-chain"];
const MAPS: [name: string, type: string][] = [
  ["service-ips", "ipv4_addr . inet_proto . inet_service : verdict"],
  ["service-nodeports", "inet_proto . inet_service : verdict"],
  ["no-endpoint-services", "ipv4_addr . inet_proto . inet_service : verdict"],
  ["no-endpoint-nodeports", "inet_proto . inet_service : verdict"],
];

const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;

function hash(s: string): string {
  return createHash("sha256").update(s).digest("hex").slice(0, 10);
}

/** A readable, nft-safe suffix: chain names must be identifiers. */
function readable(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60);
}

function entryLabel(e: ServicePortEntry): string {
  return readable(`${e.namespace}-${e.name}-${e.portName || String(e.port)}-${e.protocol.toLowerCase()}`);
}

export function serviceChainName(e: ServicePortEntry): string {
  return `svc-${hash(e.id)}-${entryLabel(e)}`;
}
export function externalChainName(e: ServicePortEntry): string {
  return `ext-${hash(e.id)}-${entryLabel(e)}`;
}
function clusterChainName(e: ServicePortEntry): string {
  return `cls-${hash(e.id)}-${entryLabel(e)}`;
}
export function endpointChainName(e: ServicePortEntry, ep: ServiceEndpoint): string {
  return `sep-${hash(`${e.id}|${ep.ip}:${ep.port}`)}-${readable(`${ep.ip}-${ep.port}`)}`;
}
function affinitySetName(e: ServicePortEntry, ep: ServiceEndpoint): string {
  // The timeout is part of the name: an existing set's timeout cannot be changed in place.
  return `aff-${hash(`${e.id}|${ep.ip}:${ep.port}|${e.affinityTimeoutSeconds}`)}`;
}

const proto = (e: ServicePortEntry) => e.protocol.toLowerCase();

/** Renders one sync as the difference from `previous` (undefined: replace the whole table). */
export function renderRuleset(table: ServiceTable, opts: RenderOptions = {}, previous?: RulesetState): RenderedRuleset {
  const t = opts.table ?? DEFAULT_TABLE;
  if (!/^[A-Za-z][A-Za-z0-9_.-]{0,31}$/.test(t)) throw new Error(`invalid nft table name "${t}"`);
  if (opts.clusterCIDR !== undefined && !CIDR.test(opts.clusterCIDR)) throw new Error(`invalid clusterCIDR "${opts.clusterCIDR}"`);
  const state: RulesetState = { chains: new Map(), sets: new Map(), elements: new Map(MAPS.map(([m]) => [m, new Map()])) };
  let endpointChains = 0;

  const chain = (name: string, def?: string) => state.chains.set(name, { def, rules: [] });
  const rule = (c: string, r: string) => state.chains.get(c)!.rules.push(r);
  const element = (m: string, key: string, verdict: string) => {
    const els = state.elements.get(m)!;
    if (!els.has(key)) els.set(key, verdict);
  };

  for (const [name, def] of BASE_CHAINS) chain(name, def);
  for (const name of FIXED_CHAINS) chain(name);
  rule("nat-prerouting", "jump services");
  rule("nat-output", "jump services");
  rule("nat-postrouting", "jump masquerading");
  for (const c of ["filter-input", "filter-forward", "filter-output"]) rule(c, "ct state new jump endpoints-check");
  rule("endpoints-check", "ip daddr . meta l4proto . th dport vmap @no-endpoint-services");
  rule("endpoints-check", "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports");
  rule("reject-chain", "meta l4proto tcp reject with tcp reset");
  rule("reject-chain", "reject");
  rule("mark-for-masquerade", `meta mark set meta mark or 0x${MASQUERADE_MARK.toString(16)}`);
  rule("masquerading", `meta mark and 0x${MASQUERADE_MARK.toString(16)} == 0 return`);
  // Clear the bit so a packet re-entering netfilter (e.g. via a bridge) is judged afresh.
  rule("masquerading", `meta mark set meta mark xor 0x${MASQUERADE_MARK.toString(16)}`);
  rule("masquerading", "masquerade fully-random");
  rule("services", "ip daddr . meta l4proto . th dport vmap @service-ips");
  rule("services", "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports");

  // Endpoint chains are shared by the internal and external paths of one port.
  const endpointChain = (e: ServicePortEntry, ep: ServiceEndpoint): string => {
    const name = endpointChainName(e, ep);
    if (state.chains.has(name)) return name;
    chain(name);
    endpointChains++;
    // Hairpin: a pod reaching itself through the Service must see the reply come from the node.
    rule(name, `ip saddr ${ep.ip} jump mark-for-masquerade`);
    if (e.affinityTimeoutSeconds !== undefined) rule(name, `update @${affinitySetName(e, ep)} { ip saddr }`);
    rule(name, `meta l4proto ${proto(e)} dnat to ${ep.ip}:${ep.port}`);
    return name;
  };
  // The balancing rules over a set of endpoints (appended to chain c).
  const balance = (c: string, e: ServicePortEntry, eps: ServiceEndpoint[]) => {
    const targets = eps.map((ep) => endpointChain(e, ep));
    if (e.affinityTimeoutSeconds !== undefined) {
      eps.forEach((ep, i) => {
        const set = affinitySetName(e, ep);
        state.sets.set(set, `type ipv4_addr ; flags dynamic,timeout ; timeout ${e.affinityTimeoutSeconds}s ;`);
        rule(c, `ip saddr @${set} goto ${targets[i]}`);
      });
    }
    if (targets.length === 1) rule(c, `goto ${targets[0]}`);
    else rule(c, `numgen random mod ${targets.length} vmap { ${targets.map((x, i) => `${i} : goto ${x}`).join(" , ")} }`);
  };

  for (const e of table.entries) {
    const p = proto(e);
    // Internal (ClusterIP) path.
    let svcChain: string | undefined;
    if (e.internalEndpoints.length > 0) {
      svcChain = serviceChainName(e);
      chain(svcChain);
      if (opts.masqueradeAll) rule(svcChain, "jump mark-for-masquerade");
      else if (opts.clusterCIDR) rule(svcChain, `ip saddr != ${opts.clusterCIDR} jump mark-for-masquerade`);
      balance(svcChain, e, e.internalEndpoints);
      for (const ip of e.clusterIPs) element("service-ips", `${ip} . ${p} . ${e.port}`, `goto ${svcChain}`);
    } else {
      // iTP Local without local endpoints drops (the cluster has endpoints, just not here).
      const verdict = e.internalLocal && e.clusterEndpoints.length > 0 ? "drop" : "goto reject-chain";
      for (const ip of e.clusterIPs) element("no-endpoint-services", `${ip} . ${p} . ${e.port}`, verdict);
    }

    // External path (NodePort, LoadBalancer ingress, externalIPs).
    if (e.nodePort === undefined && e.externalAddresses.length === 0) continue;
    if (e.clusterEndpoints.length === 0) {
      if (e.nodePort !== undefined) element("no-endpoint-nodeports", `${p} . ${e.nodePort}`, "goto reject-chain");
      for (const ip of e.externalAddresses) element("no-endpoint-services", `${ip} . ${p} . ${e.port}`, "goto reject-chain");
      continue;
    }
    const ext = externalChainName(e);
    chain(ext);
    if (!e.externalLocal) {
      rule(ext, "jump mark-for-masquerade");
      balance(ext, e, e.clusterEndpoints);
    } else {
      // Local policy keeps the client address, so only this node's endpoints qualify;
      // pods and the node itself are not "external" and may use any endpoint.
      if (svcChain && opts.clusterCIDR) rule(ext, `ip saddr ${opts.clusterCIDR} goto ${svcChain}`);
      const cls = clusterChainName(e);
      chain(cls);
      balance(cls, e, e.clusterEndpoints);
      rule(ext, "fib saddr type local jump mark-for-masquerade");
      rule(ext, `fib saddr type local goto ${cls}`);
      if (e.externalEndpoints.length > 0) balance(ext, e, e.externalEndpoints);
      else rule(ext, "drop");
    }
    if (e.nodePort !== undefined) element("service-nodeports", `${p} . ${e.nodePort}`, `goto ${ext}`);
    for (const ip of e.externalAddresses) element("service-ips", `${ip} . ${p} . ${e.port}`, `goto ${ext}`);
  }

  const script = diffScript(`ip ${t}`, state, previous);
  let elementCount = 0;
  for (const els of state.elements.values()) elementCount += els.size;
  const changes = script.split("\n").length - 2;
  return { script, state, stats: { services: table.entries.length, endpointChains, elements: elementCount, changes } };
}

const sameRules = (a: string[], b: string[]) => a.length === b.length && a.every((r, i) => r === b[i]);

/**
 * The nft commands turning `prev` into `next` (everything when `prev` is undefined), in
 * an order one transaction accepts: new sets and chains first, then chain contents, then
 * map elements, and deletions last, once nothing points at what is deleted.
 */
function diffScript(T: string, next: RulesetState, prev?: RulesetState): string {
  const out: string[] = [`add table ${T}`];
  if (!prev) out.push(`delete table ${T}`, `add table ${T}`);
  for (const [name, def] of next.sets) if (!prev?.sets.has(name)) out.push(`add set ${T} ${name} { ${def} }`);
  for (const [name, c] of next.chains) if (!prev?.chains.has(name)) out.push(c.def ? `add chain ${T} ${name} { ${c.def} }` : `add chain ${T} ${name}`);
  for (const [m, type] of MAPS) if (!prev) out.push(`add map ${T} ${m} { type ${type} ; }`);
  const stale = prev ? [...prev.chains.keys()].filter((n) => !next.chains.has(n)) : [];
  // Stale chains are emptied before anything is deleted (they may jump to each other).
  for (const name of stale) out.push(`flush chain ${T} ${name}`);
  for (const [name, c] of next.chains) {
    const old = prev?.chains.get(name);
    if (old && sameRules(old.rules, c.rules)) continue;
    if (old) out.push(`flush chain ${T} ${name}`);
    for (const r of c.rules) out.push(`add rule ${T} ${name} ${r}`);
  }
  for (const [m] of MAPS) {
    const want = next.elements.get(m)!;
    const had = prev?.elements.get(m) ?? new Map<string, string>();
    const del = [...had].filter(([k, v]) => want.get(k) !== v).map(([k]) => k);
    const add = [...want].filter(([k, v]) => had.get(k) !== v).map(([k, v]) => `${k} : ${v}`);
    // Chunks keep single lines reasonable for big clusters.
    for (let i = 0; i < del.length; i += 500) out.push(`delete element ${T} ${m} { ${del.slice(i, i + 500).join(" , ")} }`);
    for (let i = 0; i < add.length; i += 500) out.push(`add element ${T} ${m} { ${add.slice(i, i + 500).join(" , ")} }`);
  }
  for (const name of stale) out.push(`delete chain ${T} ${name}`);
  if (prev) for (const name of prev.sets.keys()) if (!next.sets.has(name)) out.push(`delete set ${T} ${name}`);
  return out.join("\n") + "\n";
}

/** Applies a rendered ruleset atomically (`nft -f -`: one transaction, all or nothing). */
export async function applyRuleset(runner: CommandRunner, script: string): Promise<void> {
  await runner.run(["nft", "-f", "-"], script);
}

/** Deletes the proxy's table; a table that is already gone is fine. */
export async function deleteTable(runner: CommandRunner, table = DEFAULT_TABLE): Promise<void> {
  // "add" first makes the delete succeed whether or not the table exists, in one transaction.
  await runner.run(["nft", "-f", "-"], `add table ip ${table}\ndelete table ip ${table}\n`);
}

/** `nft list table ip T` output, or "" when the table does not exist. */
export async function listTable(runner: CommandRunner, table = DEFAULT_TABLE): Promise<string> {
  try {
    return await runner.run(["nft", "list", "table", "ip", table]);
  } catch {
    return "";
  }
}
